"""The part store: one file per finished run, written atomically as runs arrive.

    parts/p00003-r0007.parquet      one finished run: its daily table (+ summary metadata)
    parts/p00004-r0000.failed.json  one failed run: its error message

An interrupted experiment leaves only complete parts (temporary file + `os.replace`).
On resume every stored part is read back and checked against its task; a part that is
corrupt, truncated or belongs to another run is removed and run again. The experiment's
tables are always assembled from the parts (`collect`), so a resumed experiment ends with
the same tables as an uninterrupted one.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..results import write_atomic
from ..taxonomy import OFFENCES
from .tasks import OFFENCE_COLUMNS, SUMMARY_METRICS, Task, error_text, run_task

PART_META = b"prisonflow.part"
OK_SUFFIX, FAILED_SUFFIX = ".parquet", ".failed.json"
PARAM_PREFIX = "param."  # summary columns of a replicate's drawn parameter values
PEOPLE_DIR = "people"  # people/<key>.parquet: per-person events of a run (record_people)
BY_GROUP_DIR = "by_group"  # by_group/<key>.parquet: a run's by-group table (sim.by_group)


def _json_float(v: float | None) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else v


def write_part(parts: Path, task: Task, out: dict) -> None:
    """Store one finished run atomically: a Parquet table, or a small JSON if it failed.

    Args:
        parts: Directory of the parts.
        task: The task run.
        out: The run's outputs and status.
    """
    meta: dict[str, Any] = {
        "point": task.point,
        "replicate": task.replicate,
        "seed": task.seed,
        "status": out["status"],
        "wall_s": round(out.get("wall_s", 0.0), 4),
    }
    if out["status"] != "ok":
        meta["error"] = out["error"]
        text = json.dumps(meta, indent=1) + "\n"
        write_atomic(parts / f"{task.key}{FAILED_SUFFIX}", lambda p: Path(p).write_text(text))
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    for name, folder in (("people", PEOPLE_DIR), ("by_group", BY_GROUP_DIR)):
        frame = out.get(name)  # before the part: a stored part has its people and groups
        if frame is not None:
            (parts.parent / folder).mkdir(exist_ok=True)
            extra = pa.Table.from_pandas(frame)
            path = parts.parent / folder / f"{task.key}.parquet"
            write_atomic(path, lambda p, t=extra: pq.write_table(t, p))
    meta["n_agents"] = out.get("n_agents", 0)
    meta["summary"] = {k: _json_float(v) for k, v in out["summary"].items()}
    if "recruits_by_offence" in out:
        meta["recruits_by_offence"] = out["recruits_by_offence"]
    table = arrow_table(out["timeseries"])
    metadata = dict(table.schema.metadata or {})
    metadata[PART_META] = json.dumps(meta).encode()
    table = table.replace_schema_metadata(metadata)
    # Counts, not categories: dictionary encoding only costs time (and bytes) here.
    write = functools.partial(pq.write_table, table, use_dictionary=False)
    write_atomic(parts / f"{task.key}{OK_SUFFIX}", write)


# Arrow schemas of the numeric tables stored so far, by (columns, dtypes): the time series
# of every run of an experiment have the same.
_SCHEMAS: dict[tuple, Any] = {}


def arrow_table(frame: pd.DataFrame):
    """`pyarrow.Table.from_pandas(frame, preserve_index=False)`, the same table and schema
    (pandas metadata included). For a frame of numbers and dates (a run's time series) the
    schema is worked out once per set of columns and dtypes and the columns are converted
    directly: from_pandas infers the schema again for every table, about half of its
    cost for a time series of 42 columns.

    Args:
        frame: The table to convert.

    Returns:
        The Arrow table (pyarrow.Table).
    """
    import pyarrow as pa

    # numpy's own dtypes only (not pandas' extension types: nullable, time-zoned, strings)
    if not all(isinstance(d, np.dtype) and d.kind in "biufM" for d in frame.dtypes):
        return pa.Table.from_pandas(frame, preserve_index=False)
    key = (tuple(frame.columns), tuple(map(str, frame.dtypes)), str(frame.columns.dtype))
    schema = _SCHEMAS.get(key)
    if schema is None:
        table = pa.Table.from_pandas(frame, preserve_index=False)
        if len(_SCHEMAS) < 64:
            _SCHEMAS[key] = table.schema
        return table
    columns = [
        pa.array(frame[name].to_numpy(), type=field.type)
        for name, field in zip(key[0], schema, strict=True)
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def run_and_store(tasks: Sequence[Task], parts: Path | None) -> list[dict]:
    """Run a chunk of tasks one after another (in a worker). With `parts` (a directory the
    worker shares with the parent) each run stores its own part and only its status comes
    back; without, the whole outputs come back for the parent to store.

    Args:
        tasks: The tasks, run in order.
        parts: Directory of the parts, or None.

    Returns:
        Per task: `key` and `status`; `error` if it failed; `write_error` if its part could
        not be written; `out` (the outputs) when `parts` is None.
    """
    done = []
    for task in tasks:
        out = run_task(task)
        row = {"key": task.key, "status": out["status"], "error": out.get("error")}
        if parts is None:
            row["out"] = out
        else:
            try:
                write_part(parts, task, out)
            except OSError as exc:
                row["write_error"] = exc.strerror or error_text(exc)
        done.append(row)
    return done


def remove_temporaries(parts: Path) -> None:
    """Remove the temporary files of parts whose writing was cut short (a worker stopped
    mid-write): the hidden `.<key>.*.tmp` siblings `write_atomic` makes."""
    if parts.is_dir():
        for path in parts.glob(".p*-r*.tmp"):
            path.unlink(missing_ok=True)


def part_key(path: Path) -> str | None:
    """The task key a part file stores, or None for anything else (temporaries)."""
    if path.name.startswith("."):
        return None
    for suffix in (FAILED_SUFFIX, OK_SUFFIX):
        if path.name.endswith(suffix):
            return path.name.removesuffix(suffix)
    return None


def finished_keys(parts: Path) -> set[str]:
    """Keys of runs with a stored part (temporary files are not parts).

    Args:
        parts: Directory of the parts.

    Returns:
        The task keys.
    """
    if not parts.is_dir():
        return set()
    return {k for p in parts.iterdir() if (k := part_key(p)) is not None}


def _read(path: Path) -> tuple[Any, dict]:
    """(Arrow table or None, metadata) of a part; raises if it is unreadable."""
    if path.name.endswith(FAILED_SUFFIX):
        return None, json.loads(path.read_text())
    import pyarrow.parquet as pq

    table = pq.ParquetFile(path).read(use_threads=False)
    return table, json.loads(table.schema.metadata[PART_META])


def _valid(path: Path, task: Task) -> bool:
    try:
        table, meta = _read(path)
    except Exception:  # truncated, corrupt, not a part
        return False
    same = (meta.get("point"), meta.get("replicate"), meta.get("seed")) == (
        task.point,
        task.replicate,
        task.seed,
    )
    if table is None:
        return same and meta.get("status") == "failed" and isinstance(meta.get("error"), str)
    return same and table.num_rows > 0 and isinstance(meta.get("summary"), dict)


def verified_keys(parts: Path, tasks: Sequence[Task]) -> tuple[set[str], list[str]]:
    """Keys of tasks whose stored part reads back whole and matches the task, and the
    names of the parts that did not (removed, so that their runs are run again)."""
    by_key = {t.key: t for t in tasks}
    stored = [(p, part_key(p)) for p in (parts.iterdir() if parts.is_dir() else ())]
    keyed = [(p, k) for p, k in stored if k is not None and k in by_key]
    with ThreadPoolExecutor(max_workers=4) as pool:  # reading Parquet releases the GIL
        valid = list(pool.map(lambda pk: _valid(pk[0], by_key[pk[1]]), keyed))
    good: set[str] = set()
    bad: list[str] = []
    for (path, key), ok in zip(keyed, valid, strict=True):
        if ok:
            good.add(key)
        else:
            bad.append(path.name)
            path.unlink(missing_ok=True)
    return good, sorted(bad)


def clean_temporaries(parts: Path) -> None:
    """Remove temporary files an interrupted write left (they are never parts)."""
    if parts.is_dir():
        for p in parts.glob(".*.tmp"):
            p.unlink(missing_ok=True)


def collect(
    parts: Path,
    tasks: Sequence[Task],
    points: pd.DataFrame,
    transient: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assemble (runs, summary) from the parts, ordered by (point, replicate, day).

    `points` has one row per design point: `point`, `scenario` and parameter columns.
    The summary holds each run's drawn parameters (`param.<key>`, when drawn) before its
    status, and ends with recruits by offence (`recruits_offence_<offence>`).

    Args:
        parts: Directory of the parts.
        tasks: The experiment's tasks.
        points: The design points.
        transient: Errors of runs without a stored part, by task key (else 'not run').

    Returns:
        The runs (time series) and the summary (one row per run).
    """
    transient = transient or {}
    ordered = sorted(tasks, key=lambda t: (t.point, t.replicate))
    ok_ids: list[tuple[int, int, int]] = []
    rows: list[dict] = []
    extra_metrics: list[str] = []

    def read(t: Task):
        """Read the stored outcome of a task, ok or failed."""
        for suffix in (OK_SUFFIX, FAILED_SUFFIX):
            path = parts / f"{t.key}{suffix}"
            if path.exists():
                return _read(path)
        return None, None

    with ThreadPoolExecutor(max_workers=4) as pool:  # reading Parquet releases the GIL
        stored = list(pool.map(read, ordered))
    tables = []
    for t, (table, meta) in zip(ordered, stored, strict=True):
        if table is not None:
            tables.append(table)
            ok_ids.append((t.point, t.replicate, t.seed))
            summary = {
                k: (float("nan") if v is None else float(v)) for k, v in meta["summary"].items()
            }
            extra_metrics += [k for k in summary if k not in SUMMARY_METRICS]
            offences = meta.get("recruits_by_offence") or {}
            rows.append(
                {
                    "status": "ok",
                    "error": "",
                    **summary,
                    **{
                        c: offences.get(o, np.nan)
                        for o, c in zip(OFFENCES, OFFENCE_COLUMNS, strict=True)
                    },
                }
            )
        elif meta is not None:
            rows.append({"status": "failed", "error": meta["error"]})
        else:
            rows.append({"status": "failed", "error": transient.get(t.key, "not run")})
    metrics = list(SUMMARY_METRICS) + list(dict.fromkeys(extra_metrics)) + list(OFFENCE_COLUMNS)
    by_point = points.set_index("point")

    def ids(point_ids, reps, seeds) -> pd.DataFrame:
        """Identifying columns (point fields, replicate, seed) for a set of runs."""
        sub = by_point.loc[list(point_ids)]
        cols: dict[str, Any] = {"point": np.asarray(point_ids, dtype=np.int64)}
        for c in by_point.columns:
            cols[c] = sub[c].to_numpy()
        cols["replicate"] = np.asarray(reps, dtype=np.int64)
        cols["seed"] = np.asarray(seeds, dtype=np.int64)
        return pd.DataFrame(cols)

    summary = ids(
        [t.point for t in ordered], [t.replicate for t in ordered], [t.seed for t in ordered]
    )
    columns: dict[str, Any] = {}  # added at once: one column at a time fragments the frame
    for key in dict.fromkeys(k for t in ordered for k in t.parameters):
        columns[f"{PARAM_PREFIX}{key}"] = [t.parameters.get(key, np.nan) for t in ordered]
    columns["status"] = [r["status"] for r in rows]
    columns["error"] = [r["error"] for r in rows]
    for m in metrics:
        columns[m] = np.array([r.get(m, np.nan) for r in rows], dtype=np.float64)
    summary = pd.concat([summary, pd.DataFrame(columns, index=summary.index)], axis=1)

    if tables:
        import pyarrow as pa

        lengths = [t.num_rows for t in tables]
        head = ids(*zip(*ok_ids, strict=True))
        head = head.iloc[np.repeat(np.arange(len(head)), lengths)].reset_index(drop=True)
        body = pa.concat_tables(tables).to_pandas()
        runs = pd.concat([head, body], axis=1)
    else:
        runs = ids([], [], [])
    return runs, summary
