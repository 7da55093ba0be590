"""Observed data with their sources, and how each metric maps onto model outputs.

Observation files are CSV with columns country, date, metric, value, kind
(observed/estimate/claim), qualifier (at_least/about/up_to/exact), source, note, and an
optional model_date (the day on which to read the model when it differs from the date of
the report, e.g. a total reported after recruitment had stopped), and an optional held_out
(`true` for rows that calibration must not use, so that validation on them is out of
sample; the six Russian rows added after the Russian calibration are held out). Every metric must be
known: either it maps to a model output (a time series column, or one of
`sim.observed_outputs.OUTPUTS`: custody stocks by legal status, counts per regime), or it
describes an input or context that the model does not produce (kept for the record, not
compared). Inputs that the model carries forward (custody stocks) are compared, not fitted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .scenario import ScenarioError, scenarios_dir

# metric -> model output compared with it: a time series column, or an output that needs
# more than the totals (`sim.observed_outputs.OUTPUTS`: custody by legal status, counts
# per regime from the recruits table); `sim.observed_outputs.model_values` reads both.
COMPARABLE = {
    "applications": "applications",
    "released_to_army": "released_to_army",
    "rejected_screening_health": "rejected_health",
    "wagner_recruits": "wagner_recruits",
    "wagner_pardoned_returned": "service_completed",
    "eligible_pool": "eligible",
    "killed": "killed",
    "wagner_killed": "wagner_killed",
    "wagner_killed_share": "wagner_killed_share",
    "prisoner_recruits_total": "released_to_army",
    "convicts_in_colonies": "incarcerated_convicted",
    "convicts_in_colonies_male": "incarcerated_convicted_male",
    "convicts_in_custody": "incarcerated_convicted",
    "pretrial_in_custody": "incarcerated_pretrial",
    "defendants_pool": "incarcerated_defendant",
}
# metric -> why it is not compared with an output
NOT_COMPARABLE = {
    "prisoners_total": "an input: sets the initial population",
    "expected_recruits": "an undated expectation",
    "defendants_recruit_target_share": "a planned share, not an outcome",
}
_INPUT = (
    "an input (it sets the initial population); compared to check that custody stays at "
    "its input level, not fitted"
)
# Comparable metrics that calibration leaves out (validation still shows them), and why.
NOT_FITTED = {
    "eligible_pool": (
        "officials' estimates of a wider pool (they include pre-trial detainees, whom "
        "Art 81-1 does not cover); fitting to them would push applications down"
    ),
    "convicts_in_custody": _INPUT,
    "pretrial_in_custody": _INPUT,
    "defendants_pool": _INPUT,
}
COLUMNS = ("country", "date", "metric", "value", "kind", "qualifier", "source")
KINDS = ("observed", "estimate", "claim")
QUALIFIERS = ("at_least", "about", "up_to", "exact")


def default_path() -> Path:
    """Path of the bundled public observations file.

    Returns:
        The path.
    """
    return scenarios_dir() / "observations" / "observations_public.csv"


def load_observations(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read and check an observations file; add `output` (canonical column or None).

    Args:
        path: The observations file, or None for the bundled public one.

    Returns:
        The observations table.
    """
    path = Path(path) if path is not None else default_path()
    if not path.is_file():
        raise ScenarioError(path, None, "file not found")
    try:
        obs = pd.read_csv(path, dtype={"model_date": "string"})
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ScenarioError(path, None, f"not a readable CSV: {exc}") from None
    missing = [c for c in COLUMNS if c not in obs.columns]
    if missing:
        raise ScenarioError(
            path, missing[0], f"required column is missing; need {', '.join(COLUMNS)}"
        )
    for i, row in obs.iterrows():
        line = f"row {i + 2}"
        if row["metric"] not in COMPARABLE and row["metric"] not in NOT_COMPARABLE:
            known = ", ".join([*COMPARABLE, *NOT_COMPARABLE])
            raise ScenarioError(
                path, f"{line}.metric", f"unknown metric {row['metric']!r}; known: {known}"
            )
        if row["kind"] not in KINDS:
            raise ScenarioError(
                path, f"{line}.kind", f"must be one of {', '.join(KINDS)}, got {row['kind']!r}"
            )
        if row["qualifier"] not in QUALIFIERS:
            raise ScenarioError(
                path,
                f"{line}.qualifier",
                f"must be one of {', '.join(QUALIFIERS)}, got {row['qualifier']!r}",
            )
    obs["date"] = pd.to_datetime(obs["date"], errors="coerce")
    if obs["date"].isna().any():
        i = int(obs["date"].isna().to_numpy().argmax())
        raise ScenarioError(path, f"row {i + 2}.date", "must be a date YYYY-MM-DD")
    if "model_date" not in obs.columns:
        obs["model_date"] = pd.NaT
    obs["model_date"] = pd.to_datetime(obs["model_date"], errors="coerce")
    obs["value"] = pd.to_numeric(obs["value"], errors="coerce")
    obs["output"] = obs["metric"].map(COMPARABLE)
    held_out = obs["held_out"] if "held_out" in obs.columns else pd.Series(False, obs.index)
    obs["held_out"] = held_out.astype("string").str.lower().isin(["true", "yes", "1"])
    obs["fitted"] = obs["output"].notna() & ~obs["metric"].isin(list(NOT_FITTED)) & ~obs["held_out"]
    obs["file"] = str(path)
    return obs


def for_country(obs: pd.DataFrame, country: str) -> pd.DataFrame:
    """The observations of one country.

    Args:
        obs: The observations table.
        country: The country code.

    Returns:
        The country's rows, reindexed from 0.
    """
    return obs[obs["country"] == country].reset_index(drop=True)
