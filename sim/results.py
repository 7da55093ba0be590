"""Run results: the daily time series, summary metrics, and writing them to disk atomically.

Both engines produce a `Result` with the same canonical columns (brief section 3), so
everything downstream (CLI, experiments, reports, tests) is engine-agnostic.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .taxonomy import (
    EXTRA_STOCK_COLUMNS,
    FLOW_COLUMNS,
    OFFENCES,
    STATES,
    STOCK_COLUMNS,
    VIOLENT_OFFENCES,
)

SUMMARY_EXTRA = (
    "peak_deployed",
    "days_to_first_release",
    "killed_per_1000_recruits",
    "share_violent_among_recruits",
    "prison_population_change_pct",
)


@dataclass
class Result:
    """What one run produced."""

    scenario: str
    engine: str
    seed: int
    timeseries: pd.DataFrame
    summary: dict[str, float]
    recruits_by_offence: dict[str, int]
    timings: dict[str, float] = field(default_factory=dict)
    n_agents: int = 0
    people: pd.DataFrame | None = None  # per-person events, when asked for (vector engine)


def build_timeseries(
    start: dt.date, state_counts: np.ndarray, eligible: np.ndarray, flow_counts: np.ndarray
) -> pd.DataFrame:
    """Assemble the canonical table from end-of-day state stocks and daily flow counts.

    state_counts: (days, len(STATES)) stocks; flow_counts: (days, len(FLOW_COLUMNS)) daily.
    """
    n_days = state_counts.shape[0]
    cols: dict[str, Any] = {
        "date": pd.date_range(pd.Timestamp(start), periods=n_days, freq="D"),
        "day": np.arange(n_days, dtype=np.int32),
    }
    stocks = {name: state_counts[:, i].astype(np.int64) for i, name in enumerate(STATES)}
    stocks["eligible"] = eligible.astype(np.int64)
    stocks["in_custody"] = stocks["incarcerated"] + stocks["screening"] + stocks["awaiting_court"]
    for name in (*STOCK_COLUMNS, *EXTRA_STOCK_COLUMNS):
        cols[name] = stocks[name]
    cum = np.cumsum(flow_counts.astype(np.int64), axis=0)
    for i, name in enumerate(FLOW_COLUMNS):
        cols[name] = cum[:, i]
    return pd.DataFrame(cols)


def summarize(ts: pd.DataFrame, recruits_by_offence: dict[str, int], initial_custody: int) -> dict:
    """Summary metrics of one run (brief section 3)."""
    last = ts.iloc[-1]
    out: dict[str, float] = {name: float(last[name]) for name in FLOW_COLUMNS}
    out["peak_deployed"] = float(ts["deployed"].max())
    released = ts["released_to_army"].to_numpy()
    first = np.flatnonzero(released > 0)
    out["days_to_first_release"] = float(first[0]) if len(first) else float("nan")
    recruits = out["released_to_army"]
    out["killed_per_1000_recruits"] = 1000 * out["killed"] / recruits if recruits else float("nan")
    violent = sum(n for o, n in recruits_by_offence.items() if o in VIOLENT_OFFENCES)
    total = sum(recruits_by_offence.values())
    out["share_violent_among_recruits"] = violent / total if total else float("nan")
    out["prison_population_change_pct"] = (
        100.0 * (float(last["in_custody"]) - initial_custody) / initial_custody
        if initial_custody
        else float("nan")
    )
    return out


def offence_counts(offence_codes: np.ndarray) -> dict[str, int]:
    counts = np.bincount(offence_codes.astype(np.int64), minlength=len(OFFENCES))
    return {name: int(c) for name, c in zip(OFFENCES, counts, strict=True)}


# --------------------------------------------------------------------------- writing


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write) -> None:
    """Write a file via a temporary sibling (`write(tmp_path)`) and rename it into place,
    so no reader ever sees half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic_text(path: Path, text: str) -> None:
    write_atomic(path, lambda tmp: Path(tmp).write_text(text))


class AtomicDir:
    """Build a directory's contents in a temporary sibling, then swap it into place."""

    def __init__(self, target: Path):
        self.target = Path(target)

    def __enter__(self) -> Path:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(
            tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}.tmp-")
        )
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        os.chmod(self.tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
        old = None
        if self.target.exists():
            old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def write_run(result: Result, out_dir: Path, manifest: dict[str, Any]) -> None:
    """Write manifest.json, timeseries.parquet and summary.csv into out_dir atomically."""
    with AtomicDir(out_dir) as tmp:
        result.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
        pd.DataFrame([{"scenario": result.scenario, **result.summary}]).to_csv(
            tmp / "summary.csv", index=False
        )
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
