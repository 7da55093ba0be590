"""Frozen regression baseline: the exact outputs of fixed runs of both engines.

Every bundled scenario under the vector engine at real scale, a few variants that reach
mechanisms no bundled scenario uses (running contracts overridden by a later regime, court
and training-place capacity), and small Mesa runs. For each run the baseline keeps the full
`Result.summary` (each value by `repr`, so floats compare to the last bit) and a SHA-256 of
the whole time series (and of the per-person table where recorded).

Regenerate, only when an output change is deliberate (and say so in CHANGELOG.md):

    .venv/bin/python tests/baselines/regenerate.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import sim

BASELINE = Path(__file__).with_name("summary_baseline.json")
SEED = 0
OVERRIDE_CONTRACTS = {"regimes.RU_STORMV.overrides_existing_contracts": True}
QUEUES = {
    "regimes.UA_2024.approval_capacity_per_day": 20,
    "regimes.UA_2024.training_places": 300,
}


def runs() -> dict[str, dict]:
    """Name -> keyword arguments of `run_one`: what the baseline freezes."""
    out: dict[str, dict] = {}
    for name in sim.bundled_scenarios():
        out[f"vector/{name}"] = {"scenario": name, "engine": "vector"}
    out["vector/ukraine_2024/people"] = {
        "scenario": "ukraine_2024",
        "engine": "vector",
        "record_people": True,
    }
    out["vector/russia_2022_2025/override_contracts"] = {
        "scenario": "russia_2022_2025",
        "engine": "vector",
        "overrides": OVERRIDE_CONTRACTS,
    }
    out["vector/ukraine_2024/queues"] = {
        "scenario": "ukraine_2024",
        "engine": "vector",
        "overrides": QUEUES,
    }
    small = {"engine": "agents", "population": 1500, "days": 200}
    out["agents/ukraine_2024"] = {"scenario": "ukraine_2024", **small}
    out["agents/russia_2022_2025"] = {"scenario": "russia_2022_2025", **small}
    out["agents/ukraine_2024/queues"] = {"scenario": "ukraine_2024", "overrides": QUEUES, **small}
    out["agents/russia_2022_2025/override_contracts"] = {
        "scenario": "russia_2022_2025",
        "overrides": OVERRIDE_CONTRACTS,
        "engine": "agents",
        "population": 500,
    }
    return out


def frame_digest(df: pd.DataFrame) -> str:
    """SHA-256 of a DataFrame's column names, dtypes and values, column by column."""
    h = hashlib.sha256()
    for col in df.columns:
        values = df[col].to_numpy()
        h.update(f"{col}:{values.dtype}\n".encode())
        if values.dtype == object:
            h.update("\x1f".join(map(str, values)).encode())
        else:
            h.update(np.ascontiguousarray(values).tobytes())
    return h.hexdigest()


def run_one(
    scenario: str,
    engine: str,
    overrides: dict | None = None,
    population: int | None = None,
    days: int | None = None,
    record_people: bool = False,
) -> dict:
    """The frozen record of one run: summary values by repr and digests of its tables."""
    scn = sim.load_scenario(scenario, overrides)
    kwargs = {"record_people": True} if record_people else {}
    result = sim.run(scn, engine=engine, seed=SEED, population=population, days=days, **kwargs)
    record = {
        "summary": {k: repr(v) for k, v in result.summary.items()},
        "timeseries_sha256": frame_digest(result.timeseries),
        "recruits_sha256": frame_digest(result.recruits),
    }
    if record_people:
        record["people_sha256"] = frame_digest(result.people)
    return record


def compute_one(name: str) -> dict:
    """The frozen record of the run called `name` in `runs()`."""
    return run_one(**runs()[name])


def compute() -> dict[str, dict]:
    return {name: compute_one(name) for name in runs()}


def main() -> int:
    baseline = compute()
    BASELINE.write_text(json.dumps(baseline, indent=1, sort_keys=True) + "\n")
    print(f"wrote {BASELINE} ({len(baseline)} runs)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
