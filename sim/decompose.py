"""Which rule makes the difference: Shapley values of rule groups between two policies.

For two single-regime policies A (the reference) and B and one population, every coalition
S of rule groups (`RULE_GROUPS`) gives a hybrid regime: A's law with B's fields for the
groups in S. Each hybrid is applied to the population with equal exposure (in force from
the population's first day over its whole horizon; statuses matched as in
`sim.counterfactual.counterfactual`) and run with the same seeds (common random numbers:
replicate r uses one seed in every coalition). With k groups and all 2^k coalitions run,
the Shapley value of group i in replicate r is exact:

    phi_i = sum over S not containing i of |S|! (k-|S|-1)! / k! * (v(S + i) - v(S))

and the contributions add up to v(all of B's groups) - v(none) in every replicate
(efficiency). Behaviour belongs to the population, which every coalition shares
(`BEHAVIOUR` lists regime fields that would be behaviour: none since the law/behaviour
split), and bookkeeping (`BOOKKEEPING`: label and dates) is taken from policy A, so the
total difference is the effect of the law alone. A policy with several regimes on a
timeline (russia_2022_2025) is refused: its law changes over time and has no single set of
fields to swap.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from .counterfactual import counterfactual
from .scenario import Regime, Scenario, ScenarioError, bundled_scenarios
from .scenario import load_scenario as _load_scenario

# Groups of the law, in the order they are shown. Every `Regime` field is in exactly one
# group, or in BEHAVIOUR or BOOKKEEPING (tests/test_decompose.py checks it), so a new field
# must be classified here before the decomposition accepts it.
RULE_GROUPS: dict[str, tuple[str, ...]] = {
    "eligibility": (
        "statuses",
        "excluded_offences",
        "admits_life_sentences",
        "admits_former_officials",
        "sexes",
        "min_age_years",
        "max_age_years",
        "admits_former_recruits",
    ),
    "remaining_sentence": ("max_remaining_sentence_days",),
    "approval": (
        "screening_days",
        "excludes_infectious_carriers",
        "min_fitness",
        "psych_reject_prob",
        "polygraph_reject_prob",
        "commander_refusal_prob",
        "approval",
        "approval_capacity_per_day",
        "approval_refusal_prob",
        "approval_days",
        "training_places",
        "reapply_wait_days",
    ),
    "contract": (
        "contract",
        "contract_days",
        "overrides_existing_contracts",
        "max_service_age_years",
    ),
    "release_and_pay": (
        "release_type",
        "pay_wages",
        "signup_bonus_wages",
        "signup_bonus_end_date",
        "home_leave",
    ),
    "front_line": (
        "killed_per_day",
        "wounded_discharged_per_day",
        "deserted_per_day",
        "captured_per_day",
        "award_release_per_day",
        "awol_caught_per_day",
        "awol_added_sentence_days",
        "training_days",
        "formation_days",
        "wounded_returned_per_day",
        "treatment_days",
        "awol_returned_per_day",
        "deserter_execution_prob",
    ),
}
GROUP_LABELS = {
    "eligibility": "eligibility and exclusions",
    "remaining_sentence": "remaining-sentence limit",
    "approval": "approval procedure and capacity",
    "contract": "contract term",
    "release_and_pay": "release type and pay",
    "front_line": "front-line use",
}
# Behaviour lives in the population (baseline, response, campaigns), which every coalition
# shares; the regime's name and dates are bookkeeping, taken from policy A.
BEHAVIOUR: tuple[str, ...] = ()
BOOKKEEPING = ("label", "start_date", "end_date")

METRICS = ("released_to_army", "killed", "deserted", "prison_population_change_pct")
DEFAULT_SIZE = 20_000
DEFAULT_REPLICATES = 5

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- Shapley


def shapley_weights(k: int) -> np.ndarray:
    """Weight |S|! (k-|S|-1)! / k! of a coalition of size |S| (index) that a player joins.

    Args:
        k: Number of players.

    Returns:
        The weights, indexed by coalition size 0 to k-1.
    """
    return np.array(
        [math.factorial(s) * math.factorial(k - s - 1) / math.factorial(k) for s in range(k)]
    )


def shapley(values: np.ndarray) -> np.ndarray:
    """Exact Shapley values of k players from a value function over all 2^k coalitions.

    `values[mask, ...]`: the value of the coalition whose members are the set bits of
    `mask` (player i is bit i); trailing axes (replicates, metrics) are kept. Returns
    `phi[i, ...]`; sum over i equals values[full] - values[0] up to rounding.

    Args:
        values: Coalition values, indexed by coalition bit mask first.

    Returns:
        The Shapley value of each player, indexed by player first.
    """
    values = np.asarray(values, dtype=np.float64)
    k = int(round(math.log2(values.shape[0])))
    if values.shape[0] != 1 << k or k < 1:
        raise ValueError(f"need values for all 2^k coalitions, got {values.shape[0]}")
    weights = shapley_weights(k)
    phi = np.zeros((k, *values.shape[1:]))
    for i in range(k):
        bit = 1 << i
        for mask in range(1 << k):
            if not mask & bit:
                size = bin(mask).count("1")
                phi[i] += weights[size] * (values[mask | bit] - values[mask])
    return phi


def mean_interval(x: np.ndarray) -> tuple[float, float, float]:
    """Mean and 95% t-interval of the mean over replicates (NaN bounds with one value).

    Args:
        x: One value per replicate.

    Returns:
        The mean and the interval's lower and upper bounds.
    """
    from scipy import stats

    x = np.asarray(x, dtype=np.float64)
    mean = float(x.mean())
    if len(x) < 2:
        return mean, math.nan, math.nan
    half = float(stats.t.ppf(0.975, len(x) - 1)) * float(x.std(ddof=1)) / math.sqrt(len(x))
    return mean, mean - half, mean + half


# --------------------------------------------------------------------------- policies


def single_regime_policies() -> list[str]:
    """Bundled scenarios with one regime: the policies `decompose` accepts by name.

    Returns:
        Their names.
    """
    out = []
    for name in bundled_scenarios():
        try:
            if len(_load_scenario(name).regimes) == 1:
                out.append(name)
        except ScenarioError:
            continue
    return out


def load_policy(item: str | os.PathLike | Scenario, argument: str) -> Scenario:
    """A policy for `decompose`: a scenario with exactly one regime (ScenarioError naming
    `argument` otherwise).

    Args:
        item: Bundled name, file path or Scenario.
        argument: Name of the argument, for errors.

    Returns:
        The scenario.
    """
    try:
        scn = item if isinstance(item, Scenario) else _load_scenario(item)
    except ScenarioError as exc:
        raise ScenarioError(str(item), argument, exc.message) from None
    if len(scn.regimes) != 1:
        raise ScenarioError(
            scn.name,
            argument,
            f"has {len(scn.regimes)} regimes on a timeline ({', '.join(scn.regimes)}); "
            "decompose compares two single-regime policies; allowed: "
            + ", ".join(single_regime_policies()),
        )
    return scn


def load_population(item: str | os.PathLike | Scenario) -> Scenario:
    """The scenario whose population and horizon the laws apply to (errors name
    `--population`).

    Args:
        item: Bundled name, file path or Scenario.

    Returns:
        The scenario.
    """
    if isinstance(item, Scenario):
        return item
    try:
        return _load_scenario(item)
    except ScenarioError as exc:
        raise ScenarioError(exc.file, "--population", exc.message) from None


def regime_of(policy: Scenario) -> tuple[str, Regime]:
    """The single regime of a policy scenario, whose rules are decomposed.

    Args:
        policy: A scenario with one regime.

    Returns:
        The regime's id and the regime.
    """
    return next(iter(policy.regimes.items()))


def differing_fields(a: Regime, b: Regime) -> dict[str, list[str]]:
    """Per rule group, the fields in which the two regimes' laws differ.

    Args:
        a: The reference regime.
        b: The other regime.

    Returns:
        The differing field names, by rule group.
    """
    da, db = a.model_dump(), b.model_dump()
    return {g: [f for f in fields if da[f] != db[f]] for g, fields in RULE_GROUPS.items()}


def hybrid(a: Regime, b: Regime, groups: tuple[str, ...]) -> Regime:
    """A's regime with B's fields for `groups` (validated: a hybrid may be inconsistent).

    Args:
        a: The reference regime.
        b: The regime whose fields are taken.
        groups: Rule groups taken from B.

    Returns:
        The hybrid regime.
    """
    data = a.model_dump()
    db = b.model_dump()
    for g in groups:
        for f in RULE_GROUPS[g]:
            data[f] = db[f]
    try:
        return Regime.model_validate(data)
    except ValidationError as exc:
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise ScenarioError(
            b.label,
            "POLICY_B",
            f"A's rules with B's {', '.join(groups)} are inconsistent ({message}); move the "
            "fields involved into one rule group (sim.decompose.RULE_GROUPS)",
        ) from None


def apply_with_equal_exposure(policy: Scenario, regime: Regime, population: Scenario) -> Scenario:
    """`regime` in force on `population` from its first day over its whole horizon (no end
    date; the population's war end), statuses matched as in `counterfactual`.

    Args:
        policy: The scenario the regime comes from.
        regime: The regime to apply.
        population: The scenario whose population and horizon are used.

    Returns:
        The scenario to run.
    """
    start = population.scenario.start_date
    rid = regime_of(policy)[0]
    meta = policy.scenario.model_copy(
        update={
            "start_date": start,
            "end_date": population.scenario.end_date,
            "war_end_date": population.scenario.war_end_date,
        }
    )
    law = regime.model_copy(update={"start_date": start, "end_date": None})
    shifted = policy.model_copy(update={"scenario": meta, "regimes": {rid: law}, "sources": {}})
    return counterfactual(shifted, population)


# --------------------------------------------------------------------------- the runs


@dataclass
class Decomposition:
    """What `decompose` found; `table` is decomposition.csv, `replicate_values` the
    per-replicate contributions and endpoint values (replicates.csv)."""

    policy_a: str
    policy_b: str
    population: str
    size: int
    replicates: int
    seed: int
    seeds: list[int]
    groups: tuple[str, ...]
    differing: dict[str, list[str]]
    values: np.ndarray  # (2^k coalitions, replicates, metrics)
    contributions: np.ndarray  # (k groups, replicates, metrics)
    table: pd.DataFrame
    replicate_values: pd.DataFrame
    runs: int = 0
    wall_s: float = 0.0
    scenarios: dict[str, Any] = field(default_factory=dict)


def replicate_seeds(seed: int, replicates: int) -> list[int]:
    """One seed per replicate, shared by every coalition (SeedSequence children).

    Args:
        seed: Entropy from which the seeds are spawned.
        replicates: Number of replicates.

    Returns:
        The seeds.
    """
    children = np.random.SeedSequence(seed).spawn(replicates)
    return [int(c.generate_state(1)[0]) for c in children]


def _table(dec: Decomposition) -> pd.DataFrame:
    rows = []
    full = (1 << len(dec.groups)) - 1
    base = {
        "policy_a": dec.policy_a,
        "policy_b": dec.policy_b,
        "population": dec.population,
        "size": dec.size,
        "replicates": dec.replicates,
    }
    for m, metric in enumerate(METRICS):

        def row(kind, term, label, x, fields="", metric=metric):
            """One decomposition row: the mean and 95% interval of `x` over replicates."""
            mean, low, high = mean_interval(x)
            return {
                **base,
                "metric": metric,
                "kind": kind,
                "term": term,
                "label": label,
                "mean": mean,
                "low": low,
                "high": high,
                "fields_differing": fields,
            }

        rows.append(row("endpoint", "A", f"{dec.policy_a} law", dec.values[0, :, m]))
        for i, g in enumerate(dec.groups):
            fields = " ".join(dec.differing[g])
            rows.append(row("group", g, GROUP_LABELS[g], dec.contributions[i, :, m], fields))
        rows.append(row("endpoint", "B", f"{dec.policy_b} law", dec.values[full, :, m]))
        total = dec.values[full, :, m] - dec.values[0, :, m]
        rows.append(row("total", "total", "total difference A to B", total))
    return pd.DataFrame(rows)


def _replicate_values(dec: Decomposition) -> pd.DataFrame:
    full = (1 << len(dec.groups)) - 1
    rows = []
    for r, seed in enumerate(dec.seeds):
        for m, metric in enumerate(METRICS):
            terms = {"A": dec.values[0, r, m], "B": dec.values[full, r, m]}
            terms |= {g: dec.contributions[i, r, m] for i, g in enumerate(dec.groups)}
            rows += [
                {"replicate": r, "seed": seed, "metric": metric, "term": t, "value": v}
                for t, v in terms.items()
            ]
    return pd.DataFrame(rows)


def decompose(
    policy_a: str | os.PathLike | Scenario,
    policy_b: str | os.PathLike | Scenario,
    population: str | os.PathLike | Scenario | None = None,
    *,
    size: int | None = None,
    replicates: int = DEFAULT_REPLICATES,
    seed: int = 0,
    progress: Progress | None = None,
) -> Decomposition:
    """Shapley decomposition of the difference between two policies' laws on a population.

    Args:
        policy_a: single-regime scenario (name, path or Scenario); the reference, whose
            behaviour fields every coalition keeps.
        policy_b: single-regime scenario (name, path or Scenario) compared with A.
        population: scenario whose population and horizon are used (default: policy A's).
        size: initial population of every run (default: 20,000, or the population's own
            if smaller).
        replicates: seeds; replicate r uses one seed in every coalition.
        seed: entropy from which the replicate seeds are spawned.
        progress: called with (runs done, runs in total) after each run.

    Returns:
        The decomposition.

    Raises:
        ScenarioError: One line naming the argument, on bad input.
    """
    import sim

    a = load_policy(policy_a, "POLICY_A")
    b = load_policy(policy_b, "POLICY_B")
    if a.name == b.name:
        raise ScenarioError(
            b.name, "POLICY_B", "is the same policy as POLICY_A; name two different policies"
        )
    pop = a if population is None else load_population(population)
    if replicates < 1:
        raise ScenarioError(pop.name, "--replicates", f"must be at least 1, got {replicates}")
    if seed < 0:
        raise ScenarioError(pop.name, "--seed", f"must be at least 0, got {seed}")
    if size is None:
        size = min(DEFAULT_SIZE, pop.population.initial_size)
    if size < 1:
        raise ScenarioError(pop.name, "--size", f"must be at least 1, got {size}")

    started = time.perf_counter()
    groups = tuple(RULE_GROUPS)
    k = len(groups)
    ra, rb = regime_of(a)[1], regime_of(b)[1]
    seeds = replicate_seeds(seed, replicates)
    # Coalitions with the same hybrid law (groups where A and B agree) share their runs.
    scenarios: dict[int, Scenario] = {}
    key_of: dict[int, str] = {}
    for mask in range(1 << k):
        members = tuple(g for i, g in enumerate(groups) if mask >> i & 1)
        law = hybrid(ra, rb, members)
        key_of[mask] = law.model_dump_json()
        scenarios[mask] = apply_with_equal_exposure(a, law, pop)
    distinct = list(dict.fromkeys(key_of.values()))
    first_mask = {key: next(m for m in key_of if key_of[m] == key) for key in distinct}
    total = len(distinct) * replicates
    cache: dict[tuple[str, int], list[float]] = {}
    done = 0
    for key in distinct:
        scn = scenarios[first_mask[key]]
        for r, s in enumerate(seeds):
            summary = sim.run(scn, seed=s, population=size).summary
            cache[key, r] = [summary[m] for m in METRICS]
            done += 1
            if progress is not None:
                progress(done, total)
    values = np.array([[cache[key_of[mask], r] for r in range(replicates)] for mask in key_of])
    dec = Decomposition(
        policy_a=a.name,
        policy_b=b.name,
        population=pop.name,
        size=size,
        replicates=replicates,
        seed=seed,
        seeds=seeds,
        groups=groups,
        differing=differing_fields(ra, rb),
        values=values,
        contributions=shapley(values),
        table=pd.DataFrame(),
        replicate_values=pd.DataFrame(),
        runs=total,
        scenarios={"A": scenarios[0].to_dict(), "B": scenarios[(1 << k) - 1].to_dict()},
    )
    dec.table = _table(dec)
    dec.replicate_values = _replicate_values(dec)
    dec.wall_s = time.perf_counter() - started
    return dec


__all__ = [
    "BEHAVIOUR",
    "BOOKKEEPING",
    "GROUP_LABELS",
    "METRICS",
    "RULE_GROUPS",
    "Decomposition",
    "decompose",
    "shapley",
]
