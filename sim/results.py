"""Run results: the daily time series, summary metrics, and writing them to disk atomically.

Both engines produce a `Result` with the same canonical columns (brief section 3), so
everything downstream (CLI, experiments, reports, tests) is engine-agnostic.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .scenario import ScenarioError
from .taxonomy import (
    CUSTODY_GROUP_COLUMNS,
    EXTRA_STOCK_COLUMNS,
    FLOW_COLUMNS,
    OFFENCES,
    STATES,
    STOCK_COLUMNS,
    VIOLENT_OFFENCES,
)

# `Result.recruits`: one row per enlistment (a contract signed), columns and dtypes in order.
# Days count from the scenario's start; -1: not within the horizon.
RECRUIT_COLUMNS = {
    "person": "int64",  # population row / agent id
    "regime": "object",  # regime id the contract was signed under
    "enlistment": "int8",  # 1: the person's first contract, 2: the second, ...
    "status": "object",  # legal status at application (taxonomy.STATUSES)
    "offence": "object",  # taxonomy.OFFENCES
    "male": "bool",
    "age_years": "float32",  # at the contract
    "sentence_years": "float32",  # imposed; inf: life; 0: not yet sentenced
    "remaining_sentence_days": "int32",  # custody left at application; -1: unknown
    "application_day": "int32",
    "contract_day": "int32",
    "deploy_day": "int32",
    "exit_day": "int32",
    "outcome": "object",  # flow that ended the deployment; "": still serving at the horizon
    "returned_to_custody_day": "int32",
}


def recruits_frame(columns: dict[str, Any] | None = None) -> pd.DataFrame:
    """The recruits table from per-column arrays (empty without them), in the canonical
    column order and dtypes (`RECRUIT_COLUMNS`).

    Args:
        columns: Values per column name, all of one length, or None for an empty table.
            Arrays already of their column's dtype become the table's columns (not copied).

    Returns:
        One row per enlistment.
    """
    columns = columns or {name: [] for name in RECRUIT_COLUMNS}
    table: dict[str, Any] = {}
    for name, dtype in RECRUIT_COLUMNS.items():
        values = np.asarray(columns[name]).astype(dtype, copy=False)
        # Object columns (names) stay object: pandas 3 would infer its str dtype from them.
        table[name] = pd.Series(values, dtype=object, copy=False) if dtype == "object" else values
    return pd.DataFrame(table, copy=False)  # arrays as they are: no copy, no consolidation


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
    recruits: pd.DataFrame = field(default_factory=recruits_frame)  # one row per enlistment

    def plot(self):
        """The main stocks and flows of this run as a matplotlib Figure (see
        `sim.explore.plots.result_figure`).

        Returns:
            figure (matplotlib.figure.Figure): The figure.
        """
        from .explore.plots import result_figure

        return result_figure(self)


def build_timeseries(
    start: dt.date,
    state_counts: np.ndarray,
    eligible: np.ndarray,
    flow_counts: np.ndarray,
    custody_groups: np.ndarray,
) -> pd.DataFrame:
    """Assemble the canonical table from end-of-day state stocks and daily flow counts.

    state_counts: (days, len(STATES)) stocks; flow_counts: (days, len(FLOW_COLUMNS)) daily.

    Args:
        start: Date of day 0.
        state_counts: End-of-day stock of each state, one row per day.
        eligible: Number eligible to sign up, per day.
        flow_counts: Daily count of each flow, one row per day.
        custody_groups: End-of-day incarcerated stock by legal status and sex, one row per
            day, columns in the order of `CUSTODY_GROUP_COLUMNS`.

    Returns:
        The time series table, one row per day.
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
    for i, name in enumerate(CUSTODY_GROUP_COLUMNS):
        cols[name] = custody_groups[:, i].astype(np.int64)
    cum = np.cumsum(flow_counts.astype(np.int64), axis=0)
    for i, name in enumerate(FLOW_COLUMNS):
        cols[name] = cum[:, i]
    return pd.DataFrame(cols)


def summarize(ts: pd.DataFrame, recruits_by_offence: dict[str, int], initial_custody: int) -> dict:
    """Summary metrics of one run (brief section 3).

    Args:
        ts: The run's time series table.
        recruits_by_offence: Number of recruits per offence.
        initial_custody: Number of people in custody on day 0.

    Returns:
        The summary metrics by name.
    """
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
    """Count people by offence.

    Args:
        offence_codes: Offence index of each person.

    Returns:
        Count per offence name, every offence included.
    """
    counts = np.bincount(offence_codes.astype(np.int64), minlength=len(OFFENCES))
    return {name: int(c) for name, c in zip(OFFENCES, counts, strict=True)}


# --------------------------------------------------------------------------- writing


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, write) -> None:
    """Write a file via a temporary sibling (`write(tmp_path)`) and rename it into place,
    so no reader ever sees half a file.

    Args:
        path: The file to write.
        write (Callable[[Path], object]): Function writing the content to the path it is given.
    """
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
    """Write text to a file atomically (via a temporary file), so readers never see half of it.

    Args:
        path: The file.
        text: The text.
    """
    write_atomic(path, lambda tmp: Path(tmp).write_text(text))


OWN_MARKER = ".prisonflow"  # written into every directory the tool creates
RUN_FILES = ("manifest.json", "timeseries.parquet", "summary.csv")


class OutputDirError(ScenarioError):
    """An output directory cannot be used: it holds files the tool did not write, names a
    file, is the working directory, or cannot be created or written (one line, exit 2)."""

    def __init__(self, path: str | os.PathLike, message: str, key: str = "--out"):
        super().__init__(path, key, message)

    def __reduce__(self):
        return (type(self), (self.file, self.message, self.key))


def _marker_names(path: Path) -> set[str] | None:
    """The names the tool recorded as its own in `path`'s marker (None: no valid marker)."""
    try:
        data = json.loads((path / OWN_MARKER).read_text())
    except (OSError, ValueError):
        return None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        return None
    return set(files)


def _legacy_run_dir(path: Path, names: set[str]) -> bool:
    """A run directory written before markers existed: exactly the three run files and a
    manifest that prisonflow wrote."""
    if names != set(RUN_FILES):
        return False
    try:
        manifest = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and manifest.get("kind") == "run" and "prisonflow" in manifest


def foreign_entries(path: Path) -> list[str]:
    """Entries of directory `path` that the tool did not write (sorted; [] if all are ours).

    Ours means: listed in the `.prisonflow` marker the tool wrote there (a listed
    directory is ours with everything in it), or a run directory from before markers.

    Args:
        path: The directory.

    Returns:
        Names of the entries the tool did not write.
    """
    names = {p.name for p in path.iterdir()}
    own = _marker_names(path)
    if own is None:
        return [] if _legacy_run_dir(path, names) else sorted(names)
    return sorted(names - own - {OWN_MARKER})


def mark_own(path: str | os.PathLike, kind: str, names: Iterable[str] | None = None) -> None:
    """Record entries of directory `path` as the tool's own (`kind`: run, batch, ...), so
    that a later `--overwrite` may replace the directory. `names`: the top-level files and
    directories the tool wrote (default: everything there, only right for a directory the
    tool has just created). Names already recorded are kept. `AtomicDir` calls it itself;
    code that builds a directory in place (experiments) calls it as it writes.

    Args:
        path: The directory.
        kind: Kind of output (run, batch, ...).
        names: Entries the tool wrote, or None for everything there.
    """
    path = Path(path)
    if names is None:
        names = (p.name for p in path.iterdir())
    files = sorted((_marker_names(path) or set()) | set(names) - {OWN_MARKER})
    data = {"prisonflow": kind, "files": files}
    write_atomic_text(path / OWN_MARKER, json.dumps(data, indent=1) + "\n")


def add_own(path: str | os.PathLike, names: Iterable[str]) -> None:
    """Add `names` (just written by the tool) to the marker of `path`, if it has one.

    Args:
        path: The directory.
        names: Entries just written.
    """
    path = Path(path)
    try:
        kind = json.loads((path / OWN_MARKER).read_text())["prisonflow"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    mark_own(path, kind, names)


def scenario_digest(scenario, extra: Any = None) -> str:
    """8 hex digits naming the resolved scenario (its overrides included) and `extra`.

    Args:
        scenario (Scenario): The resolved scenario.
        extra: Anything else that distinguishes the output (JSON-compatible).

    Returns:
        The digest.
    """
    data = scenario.to_dict()
    data.pop("source_file", None)
    text = json.dumps({"scenario": data, "extra": extra}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def default_output_dir(kind: str, scenario, *labels: str, extra: Any = None) -> Path:
    """results/KIND/NAME-LABELS-DIGEST: unique per distinct run, so that runs differing in
    anything (an override, the seed, the engine, ...) never share a directory.

    Args:
        kind: Kind of output (run, batch, ...).
        scenario (Scenario): The resolved scenario.
        *labels: Labels added to the name (engine, seed, ...).
        extra: Anything else that distinguishes the run, for the digest.

    Returns:
        The directory path.
    """
    name = "-".join([scenario.name, *labels, scenario_digest(scenario, extra)])
    return Path("results") / kind / name


def _nearest_existing(path: Path) -> Path:
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(path.anchor or ".")


def prepare_output_dir(path: str | os.PathLike, overwrite: bool = False) -> Path:
    """Check, before anything runs, that `path` may receive the tool's output; change nothing.

    The contract (for every command that writes a directory):
    - `path` does not exist, or is an empty directory: fine.
    - `path` is the tool's own earlier output (see `foreign_entries`): fine only with
      `overwrite=True`, and then the old output is replaced as a whole at the end.
    - anything else is refused, even with `overwrite`: a directory holding files the tool
      did not write (they are never deleted), a regular file, a symbolic link, the working
      directory or one of its parents, or a place where the directory cannot be created (read-only,
      under a file).
    Raises OutputDirError (a ScenarioError: one line naming the path and --out); returns
    `path` as a Path. Nothing is left here (writability is probed with a temporary directory,
    removed at once): `AtomicDir` creates the directory, or a caller that builds it in place
    (experiments) creates it and records what it writes with `mark_own`.

    Args:
        path: The output directory.
        overwrite: Allow replacing the tool's own earlier output.

    Returns:
        `path` as a Path.
    """
    path = Path(path)
    resolved = path.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise OutputDirError(
            path, "is the working directory or contains it; name a new directory for the output"
        )
    if os.path.lexists(path):
        if path.is_symlink():
            raise OutputDirError(path, "is a symbolic link; name a directory itself")
        if not path.is_dir():
            raise OutputDirError(path, "exists and is not a directory; name a directory")
        try:
            foreign = foreign_entries(path)
            empty = not any(path.iterdir())
        except OSError as exc:
            raise OutputDirError(path, f"cannot read: {exc.strerror}") from None
        if foreign:
            shown = ", ".join(foreign[:3]) + (", ..." if len(foreign) > 3 else "")
            raise OutputDirError(
                path,
                f"exists and holds files prisonflow did not write ({shown}); they are never "
                "replaced, even with --overwrite: choose another directory",
            )
        if not empty and not overwrite:
            raise OutputDirError(
                path, "holds earlier prisonflow output; give --overwrite to replace it"
            )
    _check_creatable(path)
    return path


def _check_creatable(path: Path) -> None:
    """Raise OutputDirError unless `path` (or a sibling) can be created: probe its nearest
    existing ancestor with a temporary directory, removed at once (so read-only file
    systems, permissions and a file in the way are all told the same way)."""
    parent = _nearest_existing(path.parent)
    if not parent.is_dir():
        raise OutputDirError(path, f"cannot be created: {parent} is not a directory")
    try:
        os.rmdir(tempfile.mkdtemp(dir=parent, prefix=".prisonflow-probe-"))
    except OSError as exc:
        raise OutputDirError(
            path, f"cannot be created in {parent}: {exc.strerror or exc}; choose a writable place"
        ) from None


def check_can_write_into(path: str | os.PathLike) -> Path:
    """For outputs that add files to a directory (bench reports): `path` must be a
    directory or creatable. Raises OutputDirError; returns `path` as a Path.

    Args:
        path: The directory.

    Returns:
        `path` as a Path.
    """
    path = Path(path)
    if os.path.lexists(path) and not path.is_dir():
        raise OutputDirError(path, "exists and is not a directory; name a directory")
    _check_creatable(path / "probe")
    return path


class AtomicDir:
    """Build a directory's contents in a temporary sibling, then move it into place.

    The target is checked by `prepare_output_dir(target, overwrite)` on entry and again
    before the swap; an existing target is replaced only when it is the tool's own output
    and `overwrite` is set. The new directory gets a `.prisonflow` marker listing what it
    holds. On any error the temporary directory is removed and the target is untouched;
    an OSError while writing becomes one-line OutputDirError.
    """

    def __init__(self, target: Path, overwrite: bool = False, kind: str = "output"):
        self.target = Path(target)
        self.overwrite = overwrite
        self.kind = kind

    def __enter__(self) -> Path:
        prepare_output_dir(self.target, self.overwrite)
        try:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            self.tmp = Path(
                tempfile.mkdtemp(dir=self.target.parent, prefix=f".{self.target.name}.tmp-")
            )
        except OSError as exc:
            raise OutputDirError(self.target, f"cannot be created: {exc.strerror}") from None
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if isinstance(exc, OSError) and not isinstance(exc, ScenarioError):
                raise OutputDirError(
                    self.target, f"cannot write: {exc.strerror or exc}; nothing was written"
                ) from None
            return
        try:
            mark_own(self.tmp, self.kind)
            os.chmod(self.tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; give the usual mode
            prepare_output_dir(self.target, self.overwrite)  # may have changed meanwhile
            self._swap()
        except BaseException as error:
            shutil.rmtree(self.tmp, ignore_errors=True)
            if isinstance(error, OSError):
                raise OutputDirError(
                    self.target, f"cannot write: {error.strerror or error}; nothing was written"
                ) from None
            raise

    def _swap(self) -> None:
        if not self.target.exists():
            os.replace(self.tmp, self.target)
            return
        if not any(self.target.iterdir()):
            os.rmdir(self.target)
            os.replace(self.tmp, self.target)
            return
        old = self.target.with_name(f".{self.target.name}.old-{os.getpid()}")
        os.replace(self.target, old)  # our own earlier output (checked just before)
        os.replace(self.tmp, self.target)
        shutil.rmtree(old, ignore_errors=True)


def write_run(
    result: Result,
    out_dir: Path,
    manifest: dict[str, Any],
    overwrite: bool = False,
    regimes: Iterable[str] = (),
) -> None:
    """Write manifest.json, timeseries.parquet, summary.csv, by_group.parquet (when the
    engine gave a recruits table; `sim.by_group`) and people.parquet (when the run recorded
    people) into out_dir atomically (rules for an existing out_dir: `prepare_output_dir`).

    Args:
        result: The run's result.
        out_dir: The output directory.
        manifest: The run's manifest.
        overwrite: Allow replacing the tool's own earlier output.
        regimes: Regime ids the by-group table shows even without recruits.
    """
    from .by_group import of_result

    groups = of_result(result, list(regimes))
    with AtomicDir(out_dir, overwrite, kind="run") as tmp:
        result.timeseries.to_parquet(tmp / "timeseries.parquet", index=False)
        if groups is not None:
            groups.to_parquet(tmp / "by_group.parquet", index=False)
        if result.people is not None:
            result.people.to_parquet(tmp / "people.parquet", index=False)
        pd.DataFrame([{"scenario": result.scenario, **result.summary}]).to_csv(
            tmp / "summary.csv", index=False
        )
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")
