"""Scenario schema and loading: TOML files validated into typed, immutable objects.

A scenario is a population, a timeline of regimes (each country's rules with the dates
they were in force), a horizon and an optional war end. Files may `extend` other files
and override their keys; users may override any key with dotted paths
(`regimes.UA_2024.court_hearings_per_day=80`). Every inconsistency is reported as one
`ScenarioError` naming the file, the key and what is allowed.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import importlib.util
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, model_validator

from .model.distributions import DIST_KINDS, Distribution, Prior
from .taxonomy import DEPLOYMENT_HAZARDS, OFFENCES, SEXES, STATUSES
from .volunteering import Response

Prob = Annotated[float, Field(ge=0, le=1)]
Rate = Annotated[float, Field(ge=0)]
Hazard = Annotated[float, Field(ge=0, le=1)]
Count = Annotated[int, Field(ge=0)]
Status = Literal["convicted", "pretrial", "suspect", "defendant"]
Offence = Literal[OFFENCES]  # type: ignore[valid-type]
Sex = Literal[SEXES]  # type: ignore[valid-type]

SHARE_TOLERANCE = 1e-3


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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_shares(shares: Mapping[Any, float], what: str) -> None:
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"{what}: shares must sum to 1, got {total:.4f}")


def _check_response(self):
    Response(**self.model_dump(exclude={"baseline_per_day"}))  # its ranges, stated once
    return self


# How people respond to what a law offers (behaviour): a baseline daily hazard of applying
# and the coefficients of `sim.volunteering.Response` (same names, defaults and ranges).
if TYPE_CHECKING:  # what type checkers see of the model built below

    class Volunteering(_Strict):
        baseline_per_day: float

else:
    Volunteering = create_model(
        "Volunteering",
        __base__=_Strict,
        __validators__={"_response": model_validator(mode="after")(_check_response)},
        baseline_per_day=(Hazard, ...),
        **{f.name: (float, f.default) for f in dataclasses.fields(Response)},
    )


class Campaign(_Strict):
    """A dated recruitment campaign as a population meets it (behaviour, not law): while it
    runs, the hazard of applying of the people it reaches is multiplied by its intensity,
    a publicity wave decaying from its start, a linear ramp-up and recruiter visits."""

    label: str = ""
    start_date: dt.date
    end_date: dt.date | None = None
    statuses: list[Status] = Field(  # whom it reaches
        default=["convicted", "pretrial", "suspect", "defendant"], min_length=1
    )
    intensity: Rate = 1.0
    boost: Rate = 0.0
    decay_days: Annotated[float, Field(gt=0)] = 7.0
    ramp_up_days: Annotated[float, Field(ge=0)] = 0.0
    visit_interval_days: Count = 0
    visit_multiplier: Rate = 1.0

    @model_validator(mode="after")
    def _dates(self):
        if self.end_date is not None and self.end_date <= self.start_date:
            raise ValueError(
                f"end_date: {self.end_date} must come after start_date {self.start_date}"
            )
        return self


class Population(_Strict):
    """Who is in custody at the start, who is admitted later, their attributes, and how
    they volunteer (behaviour: baseline, response to the law, campaign calendar)."""

    initial_size: Annotated[int, Field(ge=1)]
    facilities: Annotated[int, Field(ge=1, le=60000)]
    admissions_per_day: Rate
    status_shares: dict[Status, Prob]
    admission_status_shares: dict[Status, Prob]
    offence_shares: dict[Offence, Prob]
    sentence_years: Distribution
    life_sentence_share: Prob
    acquittal_share: Prob
    investigation_days: Distribution
    trial_days: Distribution
    male_share: Prob
    age_years: Distribution
    min_age_years: Annotated[float, Field(ge=14, le=100)] = 18.0
    max_age_years: Annotated[float, Field(ge=14, le=100)] = 80.0
    former_official_share: Prob
    infectious_carrier_share: Prob
    motivation_sigma: Annotated[float, Field(ge=0, le=5)]
    facility_climate_sigma: Annotated[float, Field(ge=0, le=5)]
    reoffend_per_day: Hazard
    reoffence_sentence_days: Distribution
    volunteering: Volunteering
    campaigns: dict[str, Campaign] = {}

    @model_validator(mode="after")
    def _shares(self):
        _check_shares(self.status_shares, "status_shares")
        _check_shares(self.admission_status_shares, "admission_status_shares")
        _check_shares(self.offence_shares, "offence_shares")
        if self.max_age_years <= self.min_age_years:
            raise ValueError("max_age_years: must be greater than min_age_years")
        return self


class Regime(_Strict):
    """One country's rules for some legal statuses, in force between two dates."""

    label: str
    start_date: dt.date
    end_date: dt.date | None = None
    statuses: list[Status] = Field(min_length=1)
    # eligibility
    excluded_offences: list[Offence] = []
    max_remaining_sentence_days: Annotated[int, Field(ge=0)] | None = None
    admits_life_sentences: bool = False
    admits_former_officials: bool = False
    sexes: list[Sex] = Field(default=["male", "female"], min_length=1)
    min_age_years: Annotated[float, Field(ge=14, le=100)] = 18.0
    max_age_years: Annotated[float, Field(ge=14, le=100)] = 60.0
    # what signing is worth (the offer people weigh; sim.volunteering.Offer)
    pay_wages: Rate = 1.0  # monthly pay as a multiple of the country's average wage
    signup_bonus_wages: Rate = 0.0  # one-off, as a multiple of the average monthly wage
    signup_bonus_end_date: dt.date | None = None  # no bonus on or after this date
    home_leave: bool = False
    # screening
    screening_days: Distribution
    excludes_infectious_carriers: bool = True
    min_fitness: Prob = 0.0
    psych_reject_prob: Prob = 0.0
    polygraph_reject_prob: Prob = 0.0
    commander_refusal_prob: Prob = 0.0
    # approval
    approval: Literal["court", "administrative"]
    approval_capacity_per_day: Count = 0
    approval_refusal_prob: Prob = 0.0
    approval_days: Distribution
    training_places: Count = 0
    # service
    training_days: Distribution
    contract: Literal["fixed", "until_war_end"]
    contract_days: Count = 0
    overrides_existing_contracts: bool = False
    release_type: Literal["pardon", "parole", "case_dismissed", "record_expunged"]
    max_service_age_years: Annotated[float, Field(ge=14, le=100)] = 65.0
    killed_per_day: Hazard
    wounded_discharged_per_day: Hazard
    deserted_per_day: Hazard
    captured_per_day: Hazard
    award_release_per_day: Hazard = 0.0
    awol_caught_per_day: Hazard
    awol_added_sentence_days: Distribution

    @model_validator(mode="after")
    def _consistent(self):
        if self.end_date is not None and self.end_date <= self.start_date:
            raise ValueError(
                f"end_date: {self.end_date} must come after start_date {self.start_date}"
            )
        if self.contract == "fixed" and self.contract_days <= 0:
            raise ValueError("contract_days: contract = 'fixed' needs contract_days > 0")
        if self.max_age_years <= self.min_age_years:
            raise ValueError("max_age_years: must be greater than min_age_years")
        return self

    @property
    def hazards_per_day(self) -> tuple[float, ...]:
        """Daily hazards of leaving deployment, in the order of DEPLOYMENT_HAZARDS."""
        return tuple(getattr(self, h) for h in DEPLOYMENT_HAZARDS)


SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


OWN_META_KEYS = ("short_label", "roles", "order")


class Meta(_Strict):
    name: str
    title: str = ""
    description: str = ""
    # A country code (ISO 3166 alpha-2 or -3, upper case) or "other"; observations match on it.
    country: Annotated[str, Field(pattern=r"^([A-Z]{2,3}|other)$")]
    # Presentation and compare defaults (countries and regimes as data; see sim.reporting):
    short_label: str = ""  # e.g. "UA Law 3687-IX"; tables and figures (default: the name)
    country_name: str = ""  # e.g. "Ukraine": "Ukraine's prisons" in labels and prose
    # "country": compared and used as a population by default in `prisonflow compare`;
    # "policy": its rules are applied to every population there.
    roles: list[Literal["country", "policy"]] = []
    order: int = 0  # position in those default lists (then by name)
    # short_label, roles and order describe one file: a file that extends it does not inherit them.
    extends: str | list[str] | None = None
    start_date: dt.date
    end_date: dt.date
    war_end_date: dt.date | None = None  # no contract is signed on or after it
    demobilisation_delay_days: Count = 0  # service "until the war ends" ends this much later
    exposure: Literal["equal", "historical"] | None = None  # set on counterfactuals
    abstract: bool = False

    @model_validator(mode="after")
    def _dates(self):
        # The name becomes a directory name in default output paths: keep it one safe word.
        if not SAFE_NAME.fullmatch(self.name) or ".." in self.name:
            raise ValueError(
                f"name: must be a safe identifier (letters, digits, '_', '.', '-'; starting "
                f"with a letter or digit; no '/' or '..'), got {self.name!r}"
            )
        if self.end_date <= self.start_date:
            raise ValueError(
                f"end_date: {self.end_date} must come after start_date {self.start_date}"
            )
        if self.war_end_date is not None and self.war_end_date <= self.start_date:
            raise ValueError(
                f"war_end_date: {self.war_end_date} must come after start_date "
                f"{self.start_date} (leave it out if the war does not end in the horizon)"
            )
        return self


class Scenario(_Strict):
    """A validated scenario. `source_file` and `sources` are provenance, not model inputs."""

    scenario: Meta
    population: Population
    regimes: dict[str, Regime] = Field(min_length=1)
    sources: dict[str, str] = {}
    priors: dict[str, Prior] = {}  # ranges of uncertain values (see sim.uncertainty)
    source_file: str = ""

    @model_validator(mode="after")
    def _timeline(self):
        end = self.scenario.end_date
        for rid, r in self.regimes.items():
            if r.start_date >= end:
                raise ValueError(
                    f"regimes.{rid}.start_date: {r.start_date} is on or after the scenario's "
                    f"end_date {end}, so the regime never applies; allowed: a start before {end}"
                )
        # Per legal status, regimes must not overlap: at any date one set of rules applies.
        for status in STATUSES:
            spans = sorted(
                (r.start_date, r.end_date or dt.date.max, rid)
                for rid, r in self.regimes.items()
                if status in r.statuses
            )
            for (_s0, e0, a), (s1, _e1, b) in zip(spans, spans[1:], strict=False):
                if s1 < e0:
                    raise ValueError(
                        f"regimes.{b}.start_date: {b} starts {s1}, before {a} ends "
                        f"({'never' if e0 == dt.date.max else e0}); regimes for the same "
                        f"status ('{status}') must not overlap"
                    )
        return self

    @property
    def name(self) -> str:
        """The scenario's name."""
        return self.scenario.name

    @property
    def n_days(self) -> int:
        """Number of days simulated, start and end dates included."""
        return (self.scenario.end_date - self.scenario.start_date).days + 1

    def horizon_days(self, days: int | None = None, extend: bool = False) -> int:
        """Days to simulate: to end_date, or `days`. Running past end_date is refused
        (ScenarioError, key `days`) unless `extend` is set: regimes without an end date
        would silently keep recruiting for years."""
        if days is None:
            return self.n_days
        if days > self.n_days and not extend:
            last = self.scenario.start_date + dt.timedelta(days=days - 1)
            raise ScenarioError(
                self.source_file or self.name,
                "days",
                f"{days} days run to {last}, past the scenario's end_date "
                f"{self.scenario.end_date}; allowed: 1 to {self.n_days}, or more with "
                "--extend (extend=True)",
            )
        return days

    def day_of(self, date: dt.date | None) -> int | None:
        """Day index of a date (day 0 is the start date); None stays None."""
        return None if date is None else (date - self.scenario.start_date).days

    def to_dict(self) -> dict[str, Any]:
        """The resolved scenario as plain data (for manifests)."""
        return self.model_dump(mode="json")


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


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(path, None, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(
            path, None, f"not UTF-8 text (byte {exc.start}); TOML files must be saved as UTF-8"
        ) from None
    except OSError as exc:
        raise ScenarioError(path, None, f"cannot read file: {exc.strerror}") from None


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
    out = copy.deepcopy(base)
    for k, v in child.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "dist" not in v:
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load_raw(path: Path, chain: tuple[Path, ...] = ()) -> dict[str, Any]:
    """Read a file and merge in the files it extends (bases first, then the file)."""
    path = path.resolve()
    if path in chain:
        cycle = " -> ".join(p.name for p in (*chain, path))
        raise ScenarioError(path, "scenario.extends", f"cyclic extends: {cycle}")
    raw = _read_toml(path)
    kind = wrong_kind(raw)
    if kind:
        raise ScenarioError(
            path,
            None,
            f"is {kind}, not a scenario; expected a scenario file ([scenario], [population], "
            "[regimes.ID]); a sweep spec runs with `prisonflow sweep FILE`",
        )
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
        base = _load_raw(base_path, (*chain, path))
        for key in ("abstract", *OWN_META_KEYS):  # said of a file itself, never inherited
            base.get("scenario", {}).pop(key, None)
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
    model: type[BaseModel] = Scenario
    parts, i = loc[:-1], 0
    while i < len(parts):
        if model is Scenario and parts[i] == "regimes":
            model, i = Regime, i + 2  # the part after "regimes" is a regime id
            continue
        if model is Population and parts[i] == "campaigns":
            model, i = Campaign, i + 2  # the part after "campaigns" is a campaign id
            continue
        field = model.model_fields.get(parts[i]) if isinstance(parts[i], str) else None
        ann = field.annotation if field is not None else None
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        model, i = ann, i + 1
    return model


def _describe(err: dict) -> tuple[str, str]:
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
    pop = raw.get("population", {})
    if not isinstance(pop, dict):
        return
    for key, names in (
        ("status_shares", STATUSES),
        ("admission_status_shares", STATUSES),
        ("offence_shares", OFFENCES),
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
    if raw.get("scenario", {}).get("abstract"):
        raise ScenarioError(file, "scenario.abstract", "is a base to extend, not a scenario to run")
    return validate_raw(raw, file)
