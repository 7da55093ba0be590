"""`build_report(directory)`: figures, report.md and report.html for a batch, sweep or
compare directory (its manifest says which); `prisonflow report DIR` and
`prisonflow compare` call it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ..results import write_atomic_text
from ..scenario import ScenarioError
from .blocks import P, render_html, render_markdown
from .compare_report import compare_report
from .experiment_reports import batch_report, sweep_report
from .files import read_manifest

BUILDERS = {"compare": compare_report, "batch": batch_report, "sweep": sweep_report}


def build_report(directory: str | Path, *, manifest: dict | None = None) -> dict[str, Path]:
    """Make figures, report.md and report.html in an experiment directory.

    Args:
        directory: a batch, sweep or compare directory.
        manifest: its manifest when the caller has it (default: read manifest.json).

    Returns:
        The paths written: {"markdown", "html", "figures"}.
    """
    directory = Path(directory)
    if manifest is None:
        manifest = read_manifest(directory)
    kind = manifest.get("kind")
    if kind not in BUILDERS:
        raise ScenarioError(directory / "manifest.json", "kind", f"no report for kind {kind!r}")
    title, blocks = BUILDERS[kind](directory, manifest)
    stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    blocks.append(P(f"Report written {stamp} by prisonflow report.", muted=True))
    md = render_markdown(blocks, directory)
    page = render_html(blocks, title)
    write_atomic_text(directory / "report.md", md)
    write_atomic_text(directory / "report.html", page)
    return {
        "markdown": directory / "report.md",
        "html": directory / "report.html",
        "figures": directory / "figures",
    }
