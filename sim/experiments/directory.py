"""The experiment directory: its manifest, resume checks, and the rule that output never
replaces what the tool did not create.

    manifest.json     what was run (design, entropy, seeds, argv, versions, git commit)
    parts/            one file per run (see `store`)
    runs.parquet      every run's daily table, long format, ordered (point, replicate, day)
    summary.parquet   one row per run: status, error, parameter values, summary metrics
    failures.csv      (only when runs failed) point, scenario, replicate, seed, error

An existing directory at `--out` is used only when it is empty, or holds an experiment to
`--resume`, or (with `--overwrite`) holds an earlier experiment, whose own files alone are
removed; anything else is refused before a run starts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..results import write_atomic, write_atomic_text
from ..scenario import Scenario
from .errors import SpecError
from .store import clean_temporaries
from .tasks import Task

KINDS = ("batch", "sweep", "compare")
FAILURES = "failures.csv"
# Every file an experiment, its report or a comparison writes at the top level, and the
# files it writes into its folders (a comparison's batch/ is an experiment directory).
OWN_FILES = (
    "runs.parquet",
    "summary.parquet",
    FAILURES,
    "intervals.csv",
    "by_group.parquet",
    "by_group_intervals.csv",
    "variance_shares.csv",
    "indices.csv",
    "point_means.csv",
    "spec.toml",
    "comparison.csv",
    "matrix.csv",
    "paired_differences.csv",
    "offences.csv",
    "who_is_recruited.csv",
    "observation_fit.csv",
    "report.md",
    "report.html",
    "manifest.json",  # last: without it the directory is no longer recognised as ours
)
OWN_FOLDERS = {
    "parts": ("*.parquet", "*.failed.json", ".*.tmp"),
    "people": ("*.parquet", ".*.tmp"),
    "by_group": ("*.parquet", ".*.tmp"),
    "figures": ("*.png", "*.svg"),
}


def jsonable(obj: Any) -> Any:
    """Plain JSON data (dates and paths as strings)."""
    return json.loads(json.dumps(obj, default=str))


def first_difference(a: Any, b: Any, path: str) -> str | None:
    """The dotted path of the first place two JSON values differ, or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in list(a) + [k for k in b if k not in a]:
            if k not in a or k not in b:
                return f"{path}.{k}"
            d = first_difference(a[k], b[k], f"{path}.{k}")
            if d:
                return d
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path} (length {len(a)} vs {len(b)})"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            d = first_difference(x, y, f"{path}[{i}]")
            if d:
                return d
        return None
    return None if a == b else path


def scenario_digest(scn: Scenario) -> str:
    """SHA-256 of a resolved scenario (without its file name)."""
    data = scn.to_dict()
    data.pop("source_file", None)
    text = json.dumps(data, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def read_manifest(path: Path) -> dict | None:
    """The manifest of an experiment directory, or None if there is none (or not ours)."""
    try:
        m = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    return m if isinstance(m, dict) and m.get("kind") in KINDS else None


def stored_entropy(out_dir: Path) -> int | None:
    """The entropy recorded in an output directory's manifest, to resume with it.

    Args:
        out_dir: The output directory.

    Returns:
        The entropy, or None if there is no manifest or no integer entropy.
    """
    m = read_manifest(out_dir)
    value = None if m is None else m.get("entropy")
    return value if isinstance(value, int) else None


def check_out_dir(out_dir: Path, *, resume: bool = False, overwrite: bool = False) -> None:
    """Refuse, before anything runs, an `--out` that is not ours to write.

    Args:
        out_dir: The output directory.
        resume: Whether an earlier experiment there is continued.
        overwrite: Whether an earlier experiment there is replaced.
    """
    if not out_dir.exists():
        if out_dir.is_symlink():
            raise SpecError(out_dir, None, "is a broken symbolic link; choose another --out")
        return
    if not out_dir.is_dir():
        raise SpecError(out_dir, None, "exists and is not a directory; choose another --out")
    try:
        if not any(out_dir.iterdir()):
            return
    except OSError as exc:
        raise SpecError(out_dir, None, f"cannot read the directory: {exc.strerror}") from None
    stored = read_manifest(out_dir)
    if stored is None:
        raise SpecError(
            out_dir, None, "exists and is not an experiment directory; choose another --out"
        )
    if not resume and not overwrite:
        raise SpecError(
            out_dir,
            None,
            f"holds an earlier {stored['kind']} experiment; add --resume to continue it or "
            "--overwrite to replace it (from Python: resume=True, overwrite=True), or choose "
            "another --out",
        )


def remove_own_outputs(out_dir: Path) -> None:
    """Delete what an earlier experiment wrote into `out_dir`; other files (and folders
    that still hold them) stay."""
    if read_manifest(out_dir / "batch") is not None:
        remove_own_outputs(out_dir / "batch")
    for folder, patterns in OWN_FOLDERS.items():
        path = out_dir / folder
        if path.is_dir() and not path.is_symlink():
            for pattern in patterns:
                for f in path.glob(pattern):
                    f.unlink()
    for name in (*OWN_FOLDERS, "batch"):
        with contextlib.suppress(OSError):  # not there, or holds someone else's files
            (out_dir / name).rmdir()
    for name in OWN_FILES:
        path = out_dir / name
        if path.is_file() or path.is_symlink():
            path.unlink()


def make_dir(out_dir: Path) -> None:
    """Create the directory and its parts/ folder; unwritable places are bad input."""
    try:
        (out_dir / "parts").mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError(out_dir, None, f"cannot create the directory: {exc.strerror}") from None


def check_resume(out_dir: Path, kind: str, design: dict, entropy: int) -> dict | None:
    """The stored manifest if `out_dir` holds this experiment; raise if it holds another."""
    mpath = out_dir / "manifest.json"
    if not mpath.exists():
        return None
    try:
        stored = json.loads(mpath.read_text())
    except ValueError as exc:
        raise SpecError(mpath, None, f"cannot resume: not valid JSON ({exc})") from None
    if stored.get("kind") != kind:
        raise SpecError(
            mpath,
            "kind",
            f"cannot resume: the stored experiment is a {stored.get('kind')}, not a {kind}",
        )
    if stored.get("entropy") != entropy:
        raise SpecError(
            mpath,
            "entropy",
            f"cannot resume: the stored entropy {stored.get('entropy')} differs from {entropy}; "
            "give the same entropy or choose another output directory",
        )
    diff = first_difference(stored.get("design"), jsonable(design), "design")
    if diff:
        raise SpecError(
            mpath,
            diff,
            "cannot resume: the stored design differs from this one; "
            "run the same design or choose another output directory",
        )
    return stored


def prepare_dir(out_dir: Path, manifest: dict, stored: dict | None, argv: list[str]) -> dict:
    """Create (or, resuming, reuse) the experiment directory and write its manifest."""
    if stored is not None:
        stored.setdefault("resumed", []).append(
            {"argv": list(argv), "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
        )
        stored["status"] = "running"
        write_atomic_text(out_dir / "manifest.json", json.dumps(stored, indent=2) + "\n")
        clean_temporaries(out_dir / "parts")
        make_dir(out_dir)
        return stored
    if read_manifest(out_dir) is not None:  # --overwrite (checked in check_out_dir)
        remove_own_outputs(out_dir)
    make_dir(out_dir)
    write_atomic_text(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def base_manifest(
    kind: str,
    design: dict,
    entropy: int,
    seeds: list[int],
    spawn_keys: list[list[int]],
    argv: list[str],
    tasks: Sequence[Task],
    extra: dict,
) -> dict:
    """The manifest written before any run starts (status 'running')."""
    from ..manifest import environment

    env = environment()
    return jsonable(
        {
            "kind": kind,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "status": "running",
            "argv": list(argv),
            "entropy": entropy,
            "seeds": seeds,
            "spawn_keys": spawn_keys,
            "seeding": "numpy.random.SeedSequence(entropy).spawn(replicates); seed = "
            "generate_state(1)[0]; replicate r of every point uses seeds[r]",
            "n_runs": len(tasks),
            **extra,
            "design": design,
            **env,
        }
    )


def finish_manifest(out_dir: Path, manifest: dict, stats: dict, outputs: list[str]) -> dict:
    """Mark the experiment complete, with counts, executor, wall time and its files."""
    manifest = dict(manifest)
    manifest.update(
        status="complete",
        finished=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        n_ok=stats["n_ok"],
        n_failed=stats["n_failed"],
        n_resumed=stats["resumed"],
        executor=stats["executor"],
        wall_s=round(stats["wall_s"], 3),
        files=["manifest.json", "parts/", "runs.parquet", "summary.parquet", *outputs],
    )
    write_atomic_text(out_dir / "manifest.json", json.dumps(manifest, indent=2) + "\n")
    return manifest


def write_csv(path: Path, df: pd.DataFrame) -> None:
    """Write a table as CSV (without index) atomically.

    Args:
        path: The file to write.
        df: The table.
    """
    write_atomic(path, lambda p: df.to_csv(p, index=False))


def write_failures(out_dir: Path, summary: pd.DataFrame) -> str | None:
    """`failures.csv` (one row per failed run with its error) when runs failed; a stale
    one from an earlier attempt is removed. Returns its name, or None."""
    path = out_dir / FAILURES
    failed = summary[summary["status"] != "ok"]
    if not len(failed):
        path.unlink(missing_ok=True)
        return None
    cols = [c for c in ("point", "scenario", "replicate", "seed", "error") if c in failed]
    write_csv(path, failed[cols])
    return FAILURES
