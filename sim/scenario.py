"""Scenario loading: TOML files validated into the typed, immutable objects of `sim.schema`.

A scenario is a population, a timeline of regimes (each country's rules with the dates
they were in force), a horizon and an optional war end. Files may `extend` other files
and override their keys; users may override any key with dotted paths
(`regimes.UA_2024.court_hearings_per_day=80`). Every inconsistency is reported as one
`ScenarioError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import importlib.util
import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeGuard

# Reading files (TOML, `extends`) needs only the standard library, so that listing scenarios
# loads neither pydantic nor numpy; validation imports the schema when it runs.
if TYPE_CHECKING:
    from pydantic import BaseModel

    from .schema import Campaign, Meta, Population, Regime, Scenario, Volunteering

__all__ = [
    "Campaign",
    "Meta",
    "Population",
    "Regime",
    "Scenario",
    "ScenarioError",
    "Volunteering",
    "bundled_scenarios",
    "bundled_listing",
    "load_scenario",
    "scenarios_dir",
    "validate_raw",
]

_SCHEMA_EXPORTS = ("Campaign", "Meta", "Population", "Regime", "Scenario", "Volunteering")


def __getattr__(name: str) -> Any:
    """The schema's classes, re-exported here, are imported on first use (PEP 562)."""
    if name in _SCHEMA_EXPORTS:
        from . import schema

        return getattr(schema, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class ScenarioError(ValueError):
    """A scenario input is invalid; the message is one line: file: key: what is allowed."""

    def __init__(self, file: str | os.PathLike | None, key: str | None, message: str):
        self.file = str(file) if file is not None else "<scenario>"
        self.key = key
        self.message = message
        where = f"{self.file}: {key}: " if key else f"{self.file}: "
        super().__init__(where + message)

    def __reduce__(self):  # picklable, so process-pool workers can report it
        return (type(self), (self.file, self.key, self.message))


# Keys of [scenario] said of a file itself: a file that extends it does not inherit them.
OWN_META_KEYS = ("short_label", "roles", "order", "warm_up_from", "warm_up_with")

# --------------------------------------------------------------------------- loading


def scenarios_dir() -> Path:
    """Where bundled scenarios, sweep specs and observations live: PRISONFLOW_SCENARIOS if
    set; else the installed data package `sim._scenarios` (a wheel); else the source tree's
    `scenarios/` (a checkout or an editable install)."""
    env = os.environ.get("PRISONFLOW_SCENARIOS")
    if env:
        return Path(env)
    # A data directory without __init__.py is a namespace package: its location is the
    # spec's search path (importlib.resources would give a MultiplexedPath, not a Path).
    spec = importlib.util.find_spec("sim._scenarios")
    for location in (spec.submodule_search_locations or []) if spec else []:
        if Path(location, "ukraine_2024.toml").is_file():
            return Path(location)
    return Path(__file__).resolve().parent.parent / "scenarios"


def bundled_scenarios() -> dict[str, Path]:
    """Runnable bundled scenarios by name (bases under scenarios/base are not listed)."""
    return {p.stem: p for p in sorted(scenarios_dir().glob("*.toml"))}


def _resolve_path(name_or_path: str | os.PathLike, relative_to: Path | None = None) -> Path:
    text = str(name_or_path)
    candidates = []
    if text.endswith(".toml") or os.sep in text or "/" in text:
        p = Path(text)
        if not p.is_absolute() and relative_to is not None:
            candidates.append(relative_to / p)
            if not text.endswith(".toml"):  # "base/x" beside the file before the bundled one
                candidates.append(relative_to / f"{text}.toml")
        candidates.append(p)
        if not text.endswith(".toml"):
            candidates.append(scenarios_dir() / f"{text}.toml")
    else:
        candidates.append(scenarios_dir() / f"{text}.toml")
        if relative_to is not None:
            candidates.append(relative_to / f"{text}.toml")
    for c in candidates:
        if c.is_file():
            return c
    if not (text.endswith(".toml") or "/" in text):
        known = ", ".join(bundled_scenarios()) or "none"
        raise ScenarioError(text, None, f"unknown scenario name; bundled scenarios: {known}")
    raise ScenarioError(text, None, "file not found")


# Parsed TOML by content: a batch or a comparison reads the same few files hundreds of
# times (samplers, tasks, variants), and parsing costs ten times a copy.
_PARSED: dict[bytes, dict[str, Any]] = {}
_PARSED_MAX = 256


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed TOML of a file, a fresh copy each time (callers may change it)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(path, None, f"cannot read file: {exc.strerror}") from None
    key = hashlib.blake2b(data, digest_size=16).digest()
    parsed = _PARSED.get(key)
    if parsed is None:
        try:
            parsed = tomllib.loads(data.decode())
        except tomllib.TOMLDecodeError as exc:
            raise ScenarioError(path, None, f"not valid TOML: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ScenarioError(
                path, None, f"not UTF-8 text (byte {exc.start}); TOML files must be saved as UTF-8"
            ) from None
        if len(_PARSED) < _PARSED_MAX:
            _PARSED[key] = parsed
    return copy.deepcopy(parsed)


def wrong_kind(raw: dict[str, Any]) -> str | None:
    """What kind of prisonflow file `raw` (parsed TOML) is, if it is not a scenario:
    'a sweep spec' (top-level scenario = "name", method, parameters), else None."""
    if isinstance(raw.get("scenario"), str) or ("method" in raw and "parameters" in raw):
        return "a sweep spec"
    return None


def is_scenario(raw: dict[str, Any]) -> bool:
    """Whether parsed TOML looks like a scenario (a [scenario] table), for sweep-spec checks."""
    return isinstance(raw.get("scenario"), dict)


WRONG_KIND_SCENARIO = (
    "is a scenario, not a sweep spec; expected a sweep spec (scenario = NAME, method, "
    "outputs, [parameters.KEY]); a scenario runs with `prisonflow run FILE`"
)


def _deep_merge(base: dict, child: dict) -> dict:
    """`base` with `child`'s keys set, tables merged key by key (a table with a `dist` key
    is a distribution: replaced whole). New dicts along the merged paths; the values are
    those of `base` and `child`, not copies: `_load_raw` merges parses of its own
    (`_read_toml` gives a fresh copy each time), so nothing else holds them."""
    out = dict(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "dist" not in v:
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _load_raw(
    path: Path,
    chain: tuple[Path, ...] = (),
    files: dict[Path, dict] | None = None,
    tables: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Read a file and merge in the files it extends (bases first, then the file).

    A listing reads many scenarios and needs only some tables: `files` (parsed files by
    path) parses each shared base once, and the result may then be one of its values, which
    must not be changed; `tables` keeps only those top-level tables of each file (None: all)."""
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(path, "scenario.extends", f"cyclic extends: {cycle}")
    raw = files.get(path) if files is not None else None
    if raw is None:
        raw = _read_toml(path)
        kind = wrong_kind(raw)
        if kind:
            raise ScenarioError(
                path,
                None,
                f"is {kind}, not a scenario; expected a scenario file ([scenario], "
                "[population], [regimes.ID]); a sweep spec runs with `prisonflow sweep FILE`",
            )
        if tables is not None:
            raw = {key: value for key, value in raw.items() if key in tables}
        if files is not None:
            files[path] = raw
    meta = raw.get("scenario", {})
    extends = meta.get("extends") if isinstance(meta, dict) else None
    if extends is None:
        return raw
    if isinstance(extends, str):
        extends = [extends]
    if not isinstance(extends, list) or not all(isinstance(e, str) for e in extends):
        raise ScenarioError(path, "scenario.extends", "must be a scenario name or a list of names")
    merged: dict[str, Any] = {}
    for base_name in extends:
        try:
            base_path = _resolve_path(base_name, relative_to=path.parent)
        except ScenarioError as exc:
            raise ScenarioError(path, "scenario.extends", f"'{base_name}': {exc.message}") from None
        base = _load_raw(base_path, (*chain, path), files, tables)
        if isinstance(base.get("scenario"), dict):  # own keys of a file are never inherited
            own = ("abstract", *OWN_META_KEYS)
            base = {**base, "scenario": {k: v for k, v in base["scenario"].items() if k not in own}}
        merged = _deep_merge(merged, base)
    return _deep_merge(merged, raw)


def parse_value(text: str) -> Any:
    """Parse a CLI override value as a TOML value, falling back to a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any], file: str) -> dict[str, Any]:
    """`raw` with dotted keys set; a value set this way is no longer uncertain, so its
    prior (if any) is dropped."""
    out = copy.deepcopy(raw)
    priors = out.get("priors")
    if isinstance(priors, dict):
        for key in [k for k in priors if any(k == d or k.startswith(f"{d}.") for d in overrides)]:
            del priors[key]
    for dotted, value in overrides.items():
        parts = dotted.split(".")
        if not all(parts):
            raise ScenarioError(file, dotted, "override keys are dotted paths like a.b.c")
        node = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ScenarioError(file, ".".join(parts[: i + 1]), "is a value, not a table")
            node = nxt
        node[parts[-1]] = value
    return out


def _model_at(loc: tuple) -> type[BaseModel] | None:
    """The pydantic model class that owns a location (for listing allowed keys)."""
    from pydantic import BaseModel

    from .schema import Campaign, OffenceProfile, Population, Regime, Scenario

    model: type[BaseModel] = Scenario
    parts, i = loc[:-1], 0
    while i < len(parts):
        if model is Scenario and parts[i] == "regimes":
            model, i = Regime, i + 2  # the part after "regimes" is a regime id
            continue
        if model is Population and parts[i] in ("campaigns", "offences"):
            # the part after "campaigns" is a campaign id, after "offences" an offence
            model, i = (Campaign if parts[i] == "campaigns" else OffenceProfile), i + 2
            continue
        field = model.model_fields.get(parts[i]) if isinstance(parts[i], str) else None
        ann = field.annotation if field is not None else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model, i = ann, i + 1
    return model


def _describe(err: dict) -> tuple[str, str]:
    from .model.distributions import DIST_KINDS
    from .taxonomy import STATUSES

    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p in DIST_KINDS))
    # Discriminated unions put the tag in loc; drop it and function-validator tags.
    loc = tuple(p for p in loc if not (isinstance(p, str) and p.startswith("function-")))
    key = ".".join(str(p) for p in loc)
    kind = err["type"]
    got = err.get("input")
    if kind == "extra_forbidden":
        parent = _model_at(loc)
        allowed = (
            ", ".join(k for k in parent.model_fields if k != "source_file")
            if parent is not None
            else ""
        )
        if (
            parent is None
            and len(loc) >= 2
            and loc[-2]
            in (
                "status_shares",
                "admission_status_shares",
            )
        ):
            allowed = ", ".join(STATUSES)
        return key, "unknown key" + (f"; allowed keys: {allowed}" if allowed else "")
    if kind == "missing":
        return key, "required key is missing"
    if kind in ("less_than_equal", "greater_than_equal", "greater_than", "less_than"):
        field = loc[-1] if loc else ""
        if isinstance(field, str) and (field.endswith("_prob") or field.endswith("_share")):
            return key, f"must be a probability in [0, 1], got {got}"
        if isinstance(field, str) and field.endswith("_per_day") and "le" in err.get("ctx", {}):
            return key, f"must be a daily hazard in [0, 1], got {got}"
        if any(isinstance(p, str) and p.endswith("_days") for p in loc):
            return key, f"durations in days must be positive ({err['msg'].lower()}), got {got}"
        return key, f"{err['msg'].lower()}, got {got}"
    if kind == "literal_error":
        return key, f"{err['msg'].lower()}, got {got!r}"
    if kind == "union_tag_invalid" or kind == "union_tag_not_found":
        return key, f"distribution 'dist' must be one of {', '.join(DIST_KINDS)}, got {got!r}"
    if kind == "value_error":
        message = err["msg"].removeprefix("Value error, ")
        field, sep, rest = message.partition(": ")
        if sep and all(part.isidentifier() for part in field.split(".")):
            return ".".join(filter(None, (key, field))), rest
        return key, message
    return key, f"{err['msg'].lower()}, got {got!r}"


def _share_keys_error(raw: dict, file: str) -> None:
    from .taxonomy import OFFENCES, STATUSES

    pop = raw.get("population", {})
    if not isinstance(pop, dict):
        return
    for key, names in (
        ("status_shares", STATUSES),
        ("admission_status_shares", STATUSES),
        ("offence_shares", OFFENCES),
        ("offences", OFFENCES),
    ):
        table = pop.get(key)
        if isinstance(table, dict):
            for k in table:
                if k not in names:
                    raise ScenarioError(
                        file,
                        f"population.{key}.{k}",
                        f"unknown category; allowed: {', '.join(names)}",
                    )


def _check_sources(raw: dict, file: str) -> None:
    sources = raw.get("sources", {})
    if not isinstance(sources, dict):
        raise ScenarioError(file, "sources", "must be a table of dotted key = citation")
    for dotted in sources:
        node: Any = raw
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ScenarioError(
                    file, f"sources.{dotted}", "cites a key that is not in the scenario"
                )
            node = node[part]


def _check_priors(scn: Scenario, file: str) -> None:
    """Each prior names a numeric key of the scenario, and the scenario's value is inside."""
    data = scn.to_dict()
    for dotted, prior in scn.priors.items():
        node: Any = data
        for part in dotted.split("."):
            if not isinstance(node, dict) or part not in node:
                raise ScenarioError(
                    file, f"priors.{dotted}", "names a key that is not in the scenario"
                )
            node = node[part]
        if not isinstance(node, int | float) or isinstance(node, bool):
            raise ScenarioError(file, f"priors.{dotted}", f"names a non-numeric value ({node!r})")
        if not prior.contains(float(node)):
            raise ScenarioError(
                file,
                f"priors.{dotted}",
                f"the scenario's value {node} is outside the prior {prior.describe()}",
            )


def validate_raw(raw: dict[str, Any], file: str) -> Scenario:
    """Validate a scenario's raw data (from `file`, named in errors); raises ScenarioError."""
    from pydantic import ValidationError

    from .schema import Scenario

    _share_keys_error(raw, file)
    try:
        scn = Scenario.model_validate({**raw, "source_file": file})
    except ValidationError as exc:
        key, message = _describe(dict(exc.errors()[0]))
        raise ScenarioError(file, key or None, message) from None
    _check_sources(raw, file)
    _check_priors(scn, file)
    return scn


def load_scenario(
    name_or_path: str | os.PathLike, overrides: dict[str, Any] | None = None
) -> Scenario:
    """Load a bundled scenario by name, or a TOML file by path, with dotted-key overrides.

    Args:
        name_or_path: Bundled scenario name or TOML file path.
        overrides: Values by dotted key, or None.

    Returns:
        The scenario.
    """
    path = _resolve_path(name_or_path)
    raw = _load_raw(path)
    file = str(path)
    if overrides:
        raw = apply_overrides(raw, overrides, file)
    meta = raw.get("scenario")
    if isinstance(meta, dict) and meta.get("abstract"):
        raise ScenarioError(file, "scenario.abstract", "is a base to extend, not a scenario to run")
    return validate_raw(raw, file)


# What `prisonflow scenarios` prints of each scenario, with the type the loader gives it.
LISTED_META_TYPES = {"title": str, "country": str, "start_date": dt.date, "end_date": dt.date}


def _listable(meta: Any) -> TypeGuard[dict[str, Any]]:
    """Whether a [scenario] table as read shows what the loader would give: a table, not an
    abstract base, each key of LISTED_META_TYPES present with its type."""
    return (
        isinstance(meta, dict)
        and not meta.get("abstract")
        and all(type(meta.get(key)) is kind for key, kind in LISTED_META_TYPES.items())
    )


def bundled_listing() -> dict[str, dict[str, Any]]:
    """What a listing shows of each bundled scenario: its [scenario] table, `extends`
    resolved, by name.

    Files are read, not validated, so that listing loads neither pydantic nor numpy, and
    each shared base is parsed once: a value the loader would refuse (a date out of order,
    a bad population key) is not seen here. A file that cannot be read or extends what it
    cannot is reported as by the loader; one whose table is not `_listable` is loaded in
    full, so it gets the loader's error, or the loader's reading of it.

    Returns:
        Each bundled scenario's [scenario] keys and values (at least LISTED_META_TYPES').

    Raises:
        ScenarioError: For the first file, in name order, that is refused.
    """
    files: dict[Path, dict] = {}
    out: dict[str, dict[str, Any]] = {}
    for name, path in bundled_scenarios().items():
        meta = _load_raw(path, files=files, tables=("scenario",)).get("scenario")
        out[name] = meta if _listable(meta) else load_scenario(path).scenario.model_dump()
    return out
