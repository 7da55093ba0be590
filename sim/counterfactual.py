"""Counterfactual scenarios: one country's law applied to another country's people, and
the same scenario without recruitment.

The policy's regimes (law) go onto the population's scenario (people and their behaviour),
shifted to the population's start; with equal exposure the policy stays in force over the
population's whole horizon. Legal statuses that one country distinguishes and the other
does not are matched through `STATUS_COUNTERPARTS`.

`no_recruitment` is the baseline that `run`, `batch` and `compare` run beside each scenario
with the same seed; `recruitment_effect` compares the two prison populations.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from .scenario import Regime, Scenario, ScenarioError, apply_overrides, validate_raw

# Ukraine holds one pre-trial status; Russia distinguishes suspects (investigation) and
# defendants (in court). Rules written for one are applied to the other as follows.
STATUS_COUNTERPARTS = {"pretrial": ("defendant",), "suspect": (), "defendant": ("pretrial",)}


EXPOSURES = ("equal", "historical")


def _open_ended(regimes: dict[str, Regime]) -> dict[str, Regime]:
    """The same regimes with the end date removed from the last regime for each status, so
    that the policy stays in force to the end of the horizon (equal exposure)."""
    last: dict[str, str] = {}
    for rid, r in sorted(regimes.items(), key=lambda item: item[1].start_date):
        for status in r.statuses:
            last[status] = rid
    return {
        rid: r.model_copy(update={"end_date": None}) if rid in last.values() else r
        for rid, r in regimes.items()
    }


def counterfactual(
    policy: Scenario, population: Scenario, exposure: Literal["equal", "historical"] = "equal"
) -> Scenario:
    """One country's law applied to another country's people (BRIEF 3, Law and behaviour).

    Takes the population of `population` (its people and its behaviour: baseline propensity,
    response coefficients and campaign calendar), its start date, horizon and war end, and
    the regimes (the law) of `policy`, with the policy's timeline shifted so that it starts
    on the population's start date (gaps between regimes keep their lengths); regimes that
    would then start after the horizon are left out. Regimes that cover Russian defendants
    also cover Ukrainian pre-trial detainees, and the reverse.

    Args:
        policy: the scenario whose law is applied.
        population: the scenario whose people respond to it.
        exposure: "equal" (default): the last regime for each legal status stays in force
            to the end of the population's horizon, so every policy is compared over the
            same time; "historical": the shifted historical end dates are kept, and the
            policy's war end (shifted) replaces the population's.
    Returns:
        A validated scenario; its description names the exposure used.
    """
    if exposure not in EXPOSURES:
        raise ScenarioError(
            "counterfactual", "exposure", f"{exposure!r}; allowed: {', '.join(EXPOSURES)}"
        )
    shift = population.scenario.start_date - policy.scenario.start_date
    regimes = {}
    for rid, regime in policy.regimes.items():
        statuses: list[Any] = list(regime.statuses)
        for s in regime.statuses:
            statuses += [c for c in STATUS_COUNTERPARTS.get(s, ()) if c not in statuses]
        bonus_end = regime.signup_bonus_end_date
        regimes[rid] = regime.model_copy(
            update={
                "start_date": regime.start_date + shift,
                "end_date": None if regime.end_date is None else regime.end_date + shift,
                "signup_bonus_end_date": None if bonus_end is None else bonus_end + shift,
                "statuses": statuses,
            }
        )
    # A regime that would start after the population's horizon never applies: leave it out.
    end = population.scenario.end_date
    regimes = {rid: r for rid, r in regimes.items() if r.start_date < end}
    if exposure == "equal":
        regimes = _open_ended(regimes)
        war_end = population.scenario.war_end_date
        delay = population.scenario.demobilisation_delay_days
    else:
        policy_war_end = policy.scenario.war_end_date
        war_end = None if policy_war_end is None else policy_war_end + shift
        delay = policy.scenario.demobilisation_delay_days
    kept_regime_keys = [["regimes", rid] for rid in regimes]
    meta = population.scenario.model_copy(
        update={
            "name": f"{policy.name}_rules_on_{population.name}_population",
            "title": f"{policy.scenario.title} applied to {population.scenario.title}",
            "description": (
                f"Counterfactual: the law of {policy.name} (shifted by {shift.days} days) "
                f"on the people of {population.name}, who keep their behaviour; "
                f"exposure: {exposure}."
            ),
            "war_end_date": war_end,
            "demobilisation_delay_days": delay,
            "exposure": exposure,
        }
    )
    sources = {k: v for k, v in population.sources.items() if k.startswith("population.")}
    sources.update(
        {k: v for k, v in policy.sources.items() if k.split(".")[:2] in kept_regime_keys}
    )
    data = {
        "scenario": meta.model_dump(),
        "population": population.population.model_dump(),
        "regimes": {rid: r.model_dump() for rid, r in regimes.items()},
        "sources": sources,
    }
    return validate_raw(data, f"{policy.source_file} x {population.source_file}")


# --------------------------------------------------------------------------- no recruitment

NO_RECRUITMENT_KEY = "population.volunteering.baseline_per_day"
# Summary metrics of a run measured against its no-recruitment baseline.
EFFECT_METRICS = ("in_custody_no_recruitment", "prison_population_effect_pct")


def no_recruitment(scenario: Scenario) -> Scenario:
    """The same scenario with nobody applying: the baseline hazard of applying
    (`population.volunteering.baseline_per_day`, which multiplies every other term of the
    hazard) is 0, so nobody applies, signs or comes back to re-enlist; admissions, case
    progress and ordinary releases are untouched, and a run with the same seed draws the
    same custody events. The regimes stay (a scenario needs one), but nobody uses them.

    Args:
        scenario: The scenario.

    Returns:
        A validated scenario named `<name>_no_recruitment`.
    """
    file = scenario.source_file or "<scenario>"
    raw = {k: v for k, v in scenario.to_dict().items() if k != "source_file"}
    raw = apply_overrides(raw, {NO_RECRUITMENT_KEY: 0.0}, file)
    raw["scenario"]["name"] = f"{scenario.name}_no_recruitment"
    raw["scenario"]["description"] = (
        f"{scenario.scenario.description} Baseline without recruitment: nobody applies."
    ).strip()
    return validate_raw(raw, file)


def effect_metrics(with_recruitment, without_recruitment) -> dict[str, float]:
    """The recruitment effect on the prison population at the horizon.

    `prison_population_effect_pct` = 100 x (custody with recruitment - custody without) /
    custody without, on the last day; `in_custody_no_recruitment` is custody without.

    Args:
        with_recruitment (pd.DataFrame): The run's time series.
        without_recruitment (pd.DataFrame): Its no-recruitment baseline's time series.

    Returns:
        The metrics of EFFECT_METRICS by name.
    """
    with_ = float(with_recruitment["in_custody"].iloc[-1])
    without = float(without_recruitment["in_custody"].iloc[-1])
    pct = 100.0 * (with_ - without) / without if without else math.nan
    return {"in_custody_no_recruitment": without, "prison_population_effect_pct": pct}


def recruitment_effect(scenario: Scenario, result, **run_options) -> dict[str, float]:
    """Run `scenario`'s no-recruitment baseline with the options (seed, engine, population,
    days, ...) that gave `result`, and measure the effect (`effect_metrics`).

    Args:
        scenario: The scenario that was run.
        result (sim.results.Result): Its result.
        **run_options: The keyword arguments `sim.run` was given (not `record_people`).

    Returns:
        The metrics of EFFECT_METRICS by name.
    """
    import sim

    run_options.pop("record_people", None)
    baseline = sim.run(no_recruitment(scenario), **run_options)
    return effect_metrics(result.timeseries, baseline.timeseries)
