"""Validation of experiment inputs by pydantic models, with one-line errors.

Sweep specs, batch and comparison arguments and the runner's options are pydantic models
(like scenarios); `validate` turns the first problem into a `SpecError` naming the file,
the key and what is allowed, so every bound is stated once, in a model.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import SpecError

Whole = Annotated[int, Field(ge=1)]
Entropy = Annotated[int, Field(ge=0)]
Number = int | float
_TYPE_TAGS = {"int", "float", "str", "bool"}


class StrictModel(BaseModel):
    """No unknown keys, no coercion (`True` is not 1, `"3"` is not 3)."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # what a key must be, for messages that say what is allowed
    allowed: ClassVar[dict[str, str]] = {}


def _lower_bound(model: type[BaseModel], name: str | None) -> Any:
    """The `ge` bound the model sets on a field (through Optional and Annotated), if any."""
    f = model.model_fields.get(name or "")
    if f is None:
        return None
    metas = list(f.metadata)
    for arg in typing.get_args(f.annotation):
        if typing.get_origin(arg) is Annotated:
            for m in typing.get_args(arg)[1:]:
                metas += getattr(m, "metadata", [m])
    return next((m.ge for m in metas if hasattr(m, "ge")), None)


def _error(file: str, prefix: str, err: Any, model: type[StrictModel]) -> SpecError:
    """One pydantic error as a SpecError naming the key and what is allowed."""
    # pydantic adds the member of a union (`low.int`) to the location: not a key
    loc = [str(p) for p in err["loc"] if str(p) not in _TYPE_TAGS and "[" not in str(p)]
    name = loc[0] if loc else ""
    key = prefix + ".".join(loc) if loc else (prefix.rstrip(".") or None)
    kind, value = err["type"], err.get("input")
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        message = f"unknown key; allowed keys: {', '.join(model.model_fields)}"
    elif kind in ("greater_than_equal", "too_short") and "ge" in ctx:
        message = f"must be a whole number >= {ctx['ge']}, got {value!r}"
    elif kind == "literal_error":
        message = f"unknown {name} {value!r}; {model.allowed.get(name, ctx.get('expected', ''))}"
    elif name in model.allowed:
        message = model.allowed[name]
        if kind != "missing" and not message.startswith("required"):
            message += f", got {value!r}"
    elif kind in ("int_type", "int_from_float", "greater_than_equal"):
        low = _lower_bound(model, name)
        message = f"must be a whole number{'' if low is None else f' >= {low}'}, got {value!r}"
    else:
        message = " ".join(str(err["msg"]).split())
    return SpecError(file, key, message)


def validate(model: type[StrictModel], data: Any, file: str, prefix: str = "") -> Any:
    """`model` validated from `data` (numpy integers count as integers); raises SpecError."""
    if isinstance(data, dict):
        data = {k: int(v) if isinstance(v, np.integer) else v for k, v in data.items()}
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        extra = [e for e in errors if e["type"] == "extra_forbidden"]  # unknown keys first
        raise _error(file, prefix, (extra or errors)[0], model) from None
