"""Scenario schema: the typed, immutable objects a scenario file is validated into.

A `Scenario` is a `Meta` block, a `Population` (people and how they behave) and a timeline of
`Regime`s (the law, each with the dates it was in force), plus `sources` and `priors`. Loading,
inheritance and overrides are in `sim.scenario`; every inconsistency is one `ScenarioError`
naming the file, the key and what is allowed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from .model.distributions import Distribution, Fixed, Prior
from .scenario import ScenarioError  # defined with the loader, which reads files without pydantic
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


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_shares(shares: Mapping[Any, float], what: str, kind: str = "") -> None:
    total = sum(shares.values())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ValueError(f"{what}: {kind}shares must sum to 1, got {total:.4f}")


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


class OffenceProfile(_Strict):
    """Attributes that depend on the offence (`[population.offences.<offence>]`): its share of
    admissions and of convicts in the initial stock, and the distributions of the sentence
    imposed, age at entry and sex within it (each defaults to the population's)."""

    admission_share: Prob
    # Share among convicts in custody at the start; by default derived from the admission
    # shares and mean sentences (steady state: long sentences pile up in the stock).
    stock_share: Prob | None = None
    sentence_years: Distribution | None = None
    age_years: Distribution | None = None
    male_share: Prob | None = None


def _check_offences(p: Population) -> None:
    """One offence table, shares summing to 1, a sentence and an age for every offence."""
    if p.offences and p.offence_shares:
        raise ValueError("offence_shares: give either offence_shares or population.offences")
    if not p.offences:
        if not p.offence_shares:
            raise ValueError("offence_shares: required (or per-offence population.offences)")
        _check_shares(p.offence_shares, "offence_shares")
    else:
        admission = {k: v.admission_share for k, v in p.offences.items()}
        _check_shares(admission, "offences", "admission ")
        missing = [k for k, v in p.offences.items() if v.stock_share is None]
        if missing and len(missing) < len(p.offences):
            raise ValueError(
                f"offences.{missing[0]}.stock_share: give a stock_share for every offence or none"
            )
        if not missing:
            stock = {k: float(v.stock_share or 0) for k, v in p.offences.items()}
            _check_shares(stock, "offences", "stock ")
    for key in ("sentence_years", "age_years"):
        if getattr(p, key) is None:
            lacking = [k for k, v in p.offences.items() if getattr(v, key) is None]
            if lacking or not p.offences:
                where = f"offences.{lacking[0]}.{key}" if lacking else key
                raise ValueError(f"{where}: required (the population gives no {key} to default to)")


class Population(_Strict):
    """Who is in custody at the start, who is admitted later, their attributes, and how
    they volunteer (behaviour: baseline, response to the law, campaign calendar)."""

    initial_size: Annotated[int, Field(ge=1)]
    facilities: Annotated[int, Field(ge=1, le=60000)]
    admissions_per_day: Rate
    status_shares: dict[Status, Prob]
    admission_status_shares: dict[Status, Prob]
    # Offences: either one share table for everyone (`offence_shares`) or per-offence
    # profiles (`offences`, joint with sentence, age and sex); not both.
    offence_shares: dict[Offence, Prob] = {}
    offences: dict[Offence, OffenceProfile] = {}
    sentence_years: Distribution | None = None  # imposed; for offences without their own
    # Share of the imposed sentence actually spent in custody after conviction (parole,
    # credit for pre-trial detention, substitution of the rest).
    time_served_fraction: Annotated[float, Field(gt=0, le=1)] = 1.0
    life_sentence_share: Prob  # among convicts in the initial stock
    # among sentences handed down later (admissions, and the stock not yet convicted);
    # default: life_sentence_share
    admission_life_sentence_share: Prob | None = None
    acquittal_share: Prob
    investigation_days: Distribution
    trial_days: Distribution
    male_share: Prob
    age_years: Distribution | None = None  # at entry into custody; for offences without their own
    min_age_years: Annotated[float, Field(ge=14, le=100)] = 18.0
    max_age_years: Annotated[float, Field(ge=14, le=100)] = 80.0
    former_official_share: Prob
    infectious_carrier_share: Prob
    motivation_sigma: Annotated[float, Field(ge=0, le=5)]
    # Log-linear age term of motivation: x exp(-motivation_age_per_year * (age - reference))
    # with age at entry into custody (young men volunteer more).
    motivation_age_per_year: Annotated[float, Field(ge=-0.5, le=0.5)] = 0.0
    motivation_reference_age_years: Annotated[float, Field(ge=14, le=100)] = 35.0
    facility_climate_sigma: Annotated[float, Field(ge=0, le=5)]
    reoffend_per_day: Hazard
    reoffence_sentence_days: Distribution
    volunteering: Volunteering
    campaigns: dict[str, Campaign] = {}

    @model_validator(mode="after")
    def _shares(self):
        _check_shares(self.status_shares, "status_shares")
        _check_shares(self.admission_status_shares, "admission_status_shares")
        _check_offences(self)
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
    # after training, before the first deployment: the unit is formed (no exposure)
    formation_days: Distribution = Fixed(dist="fixed", value=0)
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
    # people who come back (issue 12); the defaults keep everyone to one pass
    reapply_wait_days: Count | None = None  # after a refusal; None: no re-application
    admits_former_recruits: bool = False  # people back in custody after a contract may sign
    wounded_returned_per_day: Hazard = 0.0  # wounded, then back to duty after treatment
    treatment_days: Distribution = Fixed(dist="fixed", value=0)
    awol_returned_per_day: Hazard = 0.0  # deserters coming back to their unit
    deserter_execution_prob: Prob = 0.0  # caught deserters executed (Wagner)

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
    # short_label, roles, order and the warm-up describe one file: a file that extends it does
    # not inherit them.
    extends: str | list[str] | None = None
    start_date: dt.date
    end_date: dt.date
    # Custody runs (admissions and cases, no recruitment) from this date to start_date, so a
    # regime run alone meets the stock the earlier timeline leaves; outputs start at start_date.
    warm_up_from: dt.date | None = None
    # A scenario (bundled name or path) whose regimes recruit during the warm-up: whoever
    # applied under them before start_date is not in the pool (nobody applies twice).
    warm_up_with: str | None = None
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
        if self.warm_up_with is not None and self.warm_up_from is None:
            raise ValueError("warm_up_with: needs warm_up_from (the date the warm-up starts)")
        if self.warm_up_from is not None and self.warm_up_from > self.start_date:
            raise ValueError(
                f"warm_up_from: {self.warm_up_from} must be on or before start_date "
                f"{self.start_date}"
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
