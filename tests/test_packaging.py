"""A normal (not editable) install works: the wheel ships the scenarios, sweep specs and
observations, and the installed `prisonflow` lists and runs them from any directory.

The wheel is installed with --no-deps into a fresh virtual environment that reuses this
environment's dependencies through a .pth file (fast, and no network needed for them).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from sim.scenario import bundled_scenarios

ROOT = Path(__file__).resolve().parent.parent
# What the wheel is not built from (environments, caches, outputs, earlier builds).
NOT_SOURCE = (
    ".git",
    ".venv",
    "results",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
)


def run(argv: list[str], cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def can_build_here() -> bool:
    """Whether this environment's setuptools can build the wheel itself (no download)."""
    try:
        import setuptools
    except ImportError:
        return False
    version = tuple(int(x) for x in setuptools.__version__.split(".")[:2])
    if version >= (70, 1):  # bdist_wheel built in
        return True
    try:
        import wheel  # noqa: F401
    except ImportError:
        return False
    return version >= (68, 0)


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """bin/ of a fresh venv holding the wheel built from this tree. It is built from a copy
    of the tree: setuptools builds in the source's `build/`, where two test processes that
    each set up this fixture (pytest-xdist) collided ("File exists")."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    build = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "-w", "dist"]
    built = run(build + (["--no-build-isolation"] if can_build_here() else []), tmp)
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = (tmp / "dist").glob("prisonflow-*.whl")
    venv = tmp / "venv"
    made = run([sys.executable, "-m", "venv", "--without-pip", str(venv)], tmp)
    assert made.returncode == 0, made.stderr
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install"]
    done = run([*pip, "--no-deps", "--no-index", str(wheel)], tmp)
    assert done.returncode == 0, done.stdout + done.stderr
    # Dependencies from this environment, after the venv's own site-packages (so the wheel's
    # `sim` wins over this tree's editable install, whose .pth is not processed from here).
    site = run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], tmp
    )
    deps = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.stdout.strip()) / "_test_deps.pth").write_text("\n".join(sorted(deps)) + "\n")
    return venv / "bin"


def clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PRISONFLOW_SCENARIOS")}
    return env | {"COLUMNS": "200"}


def test_installed_package_is_the_wheel_not_this_tree(installed, tmp_path):
    proc = run(
        [
            str(installed / "python"),
            "-c",
            "import sim, sim.scenario as s; print(sim.__file__); print(s.scenarios_dir())",
        ],
        tmp_path,
        clean_env(),
    )
    assert proc.returncode == 0, proc.stderr
    module, data = proc.stdout.split()
    assert Path(module).is_relative_to(installed.parent), module
    assert Path(data).is_relative_to(installed.parent), data
    names = {p.name for p in Path(data).rglob("*") if p.is_file()}
    assert "observations_public.csv" in names and "ukraine_sobol.toml" in names


def test_installed_prisonflow_lists_and_runs_scenarios_from_another_directory(installed, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    listed = run([str(installed / "prisonflow"), "scenarios"], elsewhere, clean_env())
    assert listed.returncode == 0, listed.stderr
    expected = set(bundled_scenarios())
    assert len(expected) == 7
    for name in expected:
        assert name in listed.stdout, name

    out = tmp_path / "out"
    argv = [str(installed / "prisonflow"), "run", "ukraine_2024", "--population", "2000"]
    ran = run([*argv, "--days", "30", "--out", str(out)], elsewhere, clean_env())
    assert ran.returncode == 0, ran.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["n_days"] == 30 and manifest["git_commit"] is None
    assert (out / "timeseries.parquet").is_file() and (out / "summary.csv").is_file()


def test_every_subpackage_is_listed_for_the_wheel():
    """pyproject lists packages by hand (for the scenarios' package-dir mapping): a new
    subpackage missing from the list would be absent from a normal install."""
    import tomllib

    root = Path(__file__).resolve().parent.parent
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(root).parts)
        for init in (root / "sim").rglob("__init__.py")
    }
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"
