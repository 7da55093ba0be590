"""Cross-check of the two engines: do they agree in distribution on a scenario?

Both engines read one law (`sim.model.rules`) with different dynamics: the vector engine
in event days, the Mesa engine in day steps and its own draws. For each seed both
engines run on the same synthetic population (it is drawn from the seed), so the final
cumulative flows (the loops' among them: re-applications, re-enlistments, returns to duty
and to the unit, executions) and the final custody stocks by legal status and sex are
paired; a paired t-test per column, Bonferroni-corrected over columns, bounds the
false-alarm rate of the whole check at `alpha`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..model.taxonomy import CUSTODY_GROUP_COLUMNS, FLOW_COLUMNS
from ..results import Result
from ..scenario import Scenario

Runner = Callable[..., Result]


@dataclass
class Agreement:
    table: pd.DataFrame  # one row per flow: means, mean difference, p-value, verdict
    alpha: float

    @property
    def agrees(self) -> bool:
        """Whether every flow agrees between the engines."""
        return bool(self.table["agrees"].all())

    def disagreeing(self) -> list[str]:
        """Names of the flows on which the engines disagree.

        Returns:
            The flows whose `agrees` is false.
        """
        return list(self.table.loc[~self.table["agrees"], "flow"])


COMPARED = (*FLOW_COLUMNS, *CUSTODY_GROUP_COLUMNS)  # final values compared


def _runs(runner: Runner, scenario: Scenario, seeds, population: int, days: int):
    """One run of `scenario` per seed (an iterator of results)."""
    return (runner(scenario, seed=s, population=population, days=days) for s in seeds)


def final_flows(runner: Runner, scenario: Scenario, seeds, population: int, days: int):
    """Final flow totals and custody stocks by group of one engine over several seeds.

    Args:
        runner: Function running a scenario (one engine).
        scenario: The scenario to run.
        seeds: Seeds, one run each.
        population: Initial population size.
        days: Number of days to simulate.

    Returns:
        One row per seed, one column per flow and custody group.
    """
    rows = [r.timeseries.iloc[-1] for r in _runs(runner, scenario, seeds, population, days)]
    return pd.DataFrame(rows)[list(COMPARED)].astype(float)


# By-group outputs compared (regime "all"): who is recruited, and who is killed or deserts.
GROUPS_COMPARED = {
    "recruits": ("offence_class", "age_band", "sentence_band", "status", "sex", "enlistment"),
    "killed": ("offence_class",),
    "deserted": ("offence_class",),
}


def final_groups(runner: Runner, scenario: Scenario, seeds, population: int, days: int):
    """By-group counts of one engine over several seeds (`sim.by_group`, regime "all"), as
    `GROUPS_COMPARED` lists them; arguments as for `final_flows`.

    Returns:
        One row per seed, one column per `metric:group=value`.
    """
    from .. import by_group

    rows = []
    for result in _runs(runner, scenario, seeds, population, days):
        t = by_group.table(result.recruits)
        t = t[t["regime"] == by_group.ALL]
        keep = np.zeros(len(t), dtype=bool)
        for metric, groups in GROUPS_COMPARED.items():
            keep |= (t["metric"] == metric).to_numpy() & t["group"].isin(groups).to_numpy()
        t = t[keep]
        names = t["metric"] + ":" + t["group"] + "=" + t["value"]
        rows.append(dict(zip(names, t["count"].astype(float), strict=True)))
    return pd.DataFrame(rows).fillna(0.0)


def compare_flows(a: pd.DataFrame, b: pd.DataFrame, alpha: float = 0.01) -> Agreement:
    """Paired test per column of mean(a - b) == 0, Bonferroni over the columns (family-wise
    alpha)."""
    per_test = alpha / len(a.columns)
    rows = []
    for flow in a.columns:
        d = a[flow].to_numpy(float) - b[flow].to_numpy(float)
        if np.allclose(d, d[0]):  # no spread: equal only if identical
            p = 1.0 if d[0] == 0 else 0.0
        else:
            p = float(stats.ttest_1samp(d, 0.0).pvalue)
        rows.append(
            {
                "flow": flow,
                "mean_a": a[flow].mean(),
                "mean_b": b[flow].mean(),
                "mean_diff": d.mean(),
                "se_diff": d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else np.nan,
                "p_value": p,
                "agrees": p >= per_test,
            }
        )
    return Agreement(pd.DataFrame(rows), alpha)


def check_engines(
    scenario: Scenario,
    replicates: int = 30,
    population: int = 2000,
    days: int = 365,
    alpha: float = 0.01,
    vector: Runner | None = None,
    agents: Runner | None = None,
) -> Agreement:
    """Run both engines `replicates` times and test every final cumulative flow."""
    import sim

    def default(engine):
        """A runner that runs a scenario with the given engine."""
        return lambda scn, **kw: sim.run(scn, engine=engine, **kw)

    days = min(days, scenario.n_days)
    seeds = range(replicates)
    a = final_flows(vector or default("vector"), scenario, seeds, population, days)
    b = final_flows(agents or default("agents"), scenario, seeds, population, days)
    return compare_flows(a, b, alpha)
