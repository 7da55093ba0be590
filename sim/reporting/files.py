"""Reading an experiment directory's files for reports and `sim.load_experiment`: a
missing or unreadable file is one ScenarioError line naming it."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..scenario import ScenarioError

KINDS = ("batch", "sweep", "compare")


def read_manifest(directory: Path) -> dict:
    """Read and check the manifest of a prisonflow output directory.

    Args:
        directory: The output directory.

    Returns:
        The manifest.

    Raises:
        ScenarioError: If it is missing, unreadable or not of a known kind.
    """
    path = directory / "manifest.json"
    try:
        manifest = json.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError(
            directory, None, "no manifest.json: not a prisonflow output directory"
        ) from None
    except (OSError, ValueError) as exc:
        raise ScenarioError(path, None, f"cannot read the manifest: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("kind") not in KINDS:
        kind = manifest.get("kind") if isinstance(manifest, dict) else None
        raise ScenarioError(
            path, "kind", f"expected a batch, sweep or compare directory, got {kind!r}"
        )
    return manifest


def read_parquet(path: Path) -> pd.DataFrame:
    """Read a Parquet table of an experiment.

    Args:
        path: The file.

    Returns:
        The table.

    Raises:
        ScenarioError: If the file does not exist.
    """
    if not path.is_file():
        raise ScenarioError(path, None, "file not found (the experiment did not finish?)")
    return pd.read_parquet(path)


def read_csv(path: Path) -> pd.DataFrame | None:
    """Read an optional CSV table.

    Args:
        path: The file.

    Returns:
        The table, or None if the file does not exist.
    """
    return pd.read_csv(path) if path.is_file() else None
