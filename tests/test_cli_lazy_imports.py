"""`prisonflow --help` and `prisonflow scenarios` load no heavy libraries (issue 14: lazy
imports). Checked by the modules loaded in a fresh interpreter, never by timing."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = ("pandas", "scipy", "pyarrow", "matplotlib", "mesa")

LOADED_AFTER = """
import sys
{before}
sys.argv = ["prisonflow", *sys.argv[1:]]
import sim.cli
try:
    sim.cli.main()
except SystemExit:
    pass
print(",".join(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r})), file=sys.stderr)
"""


def heavy_modules_loaded(*args: str, before: str = "") -> set[str]:
    """Top-level heavy packages in sys.modules after running the CLI with `args`."""
    code = LOADED_AFTER.format(before=before, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
    return {m.split(".")[0] for m in last.split(",") if m}


@pytest.mark.parametrize("args", [["--help"], ["scenarios"], ["run", "--help"]])
def test_cli_loads_no_heavy_library(args):
    assert heavy_modules_loaded(*args) == set()


def test_the_check_sees_a_heavy_import():
    """The check above cannot pass silently: a heavy import before the CLI is reported."""
    assert "pandas" in heavy_modules_loaded("--help", before="import pandas")
