"""Provenance for every output directory: what was run, with what, where and when."""

from __future__ import annotations

import datetime as dt
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

LIBRARIES = (
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "pydantic",
    "mesa",
    "typer",
    "matplotlib",
    "SALib",
    "dask",
    "distributed",
)


def git_commit() -> str | None:
    """The commit of the source tree the package runs from, if it is a git checkout."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():  # installed from a wheel: not our checkout
        return None
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=5,
    ).stdout.strip()
    return out.stdout.strip() + ("-dirty" if dirty else "")


def environment() -> dict[str, Any]:
    """Versions of prisonflow, Python and the main libraries, for the manifest.

    Returns:
        The versions (None for a library not installed).
    """
    versions: dict[str, str | None] = {}
    for lib in LIBRARIES:
        try:
            versions[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            versions[lib] = None
    from . import __version__

    return {
        "prisonflow": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": versions,
    }


def run_manifest(scenario, result, argv: list[str], started: float) -> dict[str, Any]:
    """Manifest of a single run: what was run, when, how, and with which results.

    Args:
        scenario: The scenario run.
        result: The run's result.
        argv: The command line.
        started: Start time of the run, as a Unix timestamp (seconds).

    Returns:
        The manifest.
    """
    return {
        "kind": "run",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "argv": list(argv),
        "scenario_name": scenario.name,
        "scenario_file": scenario.source_file,
        "engine": result.engine,
        "seed": result.seed,
        "n_agents": result.n_agents,
        "n_days": len(result.timeseries),
        "timings_s": {k: round(v, 4) for k, v in result.timings.items()},
        "wall_s": round(dt.datetime.now().timestamp() - started, 3),
        **environment(),
        "scenario": scenario.to_dict(),
    }


def scenarios_from_manifest(manifest: dict) -> dict:
    """The resolved scenarios stored in a manifest (`scenario_data`), by name."""
    from .scenario import validate_raw

    out = {}
    for name, data in manifest.get("scenario_data", {}).items():
        data = dict(data)
        file = data.pop("source_file", "") or "<scenario>"
        out[name] = validate_raw(data, file)
    return out
