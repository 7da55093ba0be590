"""`prisonflow --help` and `prisonflow scenarios` load no heavy libraries, nor the scenario
schema (pydantic models over numpy): a listing reads the files without validating them
(issue 14: lazy imports). Checked by the modules loaded in a fresh interpreter, never by
timing. Nor pydantic, which typer 0.29 would import to read an unset `--help` option
(`sim.commands.common._Group`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

HEAVY = (
    "pandas",
    "scipy",
    "pyarrow",
    "matplotlib",
    "mesa",
    "numpy",
    "numba",
    "sim.schema",
    "pydantic",
)

LOADED_AFTER = """
import sys
{before}
sys.argv = ["prisonflow", *sys.argv[1:]]
import sim.cli
code = 0
try:
    sim.cli.main()
except SystemExit as exc:
    code = exc.code or 0
print(code, ",".join(m for m in {heavy!r} if m in sys.modules), file=sys.stderr)
"""


def heavy_modules_loaded(*args: str, before: str = "") -> set[str]:
    """The modules of HEAVY in sys.modules after running the CLI with `args`, which must
    succeed (a command that stopped early would load nothing)."""
    code = LOADED_AFTER.format(before=before, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )
    code, _, loaded = out.stderr.strip().splitlines()[-1].partition(" ")
    assert code == "0", out.stderr
    return {m for m in loaded.split(",") if m}


@pytest.mark.parametrize("args", [["--help"], ["scenarios"], ["run", "--help"]])
def test_cli_loads_no_heavy_library(args):
    assert heavy_modules_loaded(*args) == set()


def test_the_check_sees_a_heavy_import():
    """The check above cannot pass silently: a heavy import before the CLI is reported, and
    a listing that loaded a scenario in full would load numpy and the schema."""
    assert "pandas" in heavy_modules_loaded("--help", before="import pandas")
    loads = "import sim.scenario; sim.scenario.load_scenario('ukraine_2024')"
    assert {"numpy", "sim.schema"} <= heavy_modules_loaded("--help", before=loads)
    with pytest.raises(AssertionError):  # and a command that fails is not a pass
        heavy_modules_loaded("no-such-command")


def test_numba_is_loaded_by_a_run_not_by_loading_a_scenario():
    """The compiled kernels (`sim.jit`) import numba on their first call: validating a
    scenario does not pay for it (about half a second), running one does."""
    loads = "import sim; sim.load_scenario('ukraine_2024')"
    assert "numba" not in heavy_modules_loaded("--help", before=loads)
    runs = "import sim; sim.run(sim.load_scenario('ukraine_2024'), population=500)"
    assert "numba" in heavy_modules_loaded("--help", before=runs)
