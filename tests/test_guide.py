"""Every command in docs/guide.md runs as the guide says.

Rules, applied in the order the blocks appear in the guide, all in one temporary directory:

- A ```toml block whose first line is `# file: NAME` is written to NAME (the guide asks the
  reader to save it under that name).
- In ```bash blocks, each command (backslash continuations joined, `# comments` dropped):
  - the install command (`python3 -m venv ...`) is not run (it needs the network); it must
    be the install part of the README's Quick start, which is what a fresh machine runs;
  - a `prisonflow ...` command runs in this process. To keep the test fast, `run`, `batch`
    and `compare` without `--population` get `--population 2000`; `batch` and `compare`
    without `--replicates` get `--replicates 2`, and without `--workers` get `--workers 1`;
    a larger `--replicates` is cut to 2 there and in `decompose`, whose `--size` is cut to
    2000.
    A command whose comment says `exits with status 2` must exit 2 with one line on stderr;
    every other command must exit 0;
  - any other command fails the test, so that the guide shows nothing that is not run.
- ```python blocks are saved as scripts and run with `python SCRIPT` in a subprocess, as a
  reader runs them (they use small sizes themselves): a script that starts worker processes
  without an `if __name__ == "__main__":` guard fails there, as it would for the reader.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import cli

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "guide.md"
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)
SMALL = {
    "run": {"--population": "2000"},
    "batch": {"--population": "2000", "--replicates": "2", "--workers": "1"},
    "compare": {"--population": "2000", "--replicates": "2", "--workers": "1"},
}


def blocks(text: str) -> list[tuple[str, str]]:
    return [(m.group(1), m.group(2)) for m in FENCE.finditer(text)]


def commands(block: str) -> list[tuple[str, str]]:
    """(command, comment) per logical line of a shell block."""
    out = []
    for line in block.replace("\\\n", " ").splitlines():
        command, _, comment = line.partition("  #")
        if command.strip().startswith("#"):
            command, comment = "", command.strip()[1:]
        if command.strip():
            out.append((command.strip(), comment.strip()))
    return out


def readme_install() -> str:
    for lang, body in blocks(README.read_text()):
        if lang == "bash" and "pip install" in body:
            return body.splitlines()[0].split(" && .venv/bin/prisonflow")[0]
    raise AssertionError("README has no install command")


# sizes the guide shows, capped to keep the suite quick
CAPS = {
    "batch": {"--replicates": 2},
    "compare": {"--replicates": 2},
    "decompose": {"--replicates": 2, "--size": 2000},
}


def small(argv: list[str]) -> list[str]:
    extra = SMALL.get(argv[0], {})
    for flag, value in extra.items():
        if flag not in argv:
            argv = [*argv, flag, value]
    if argv[0] in CAPS:
        for flag, cap in CAPS[argv[0]].items():
            if flag in argv[:-1]:
                i = argv.index(flag) + 1
                argv = [*argv[:i], str(min(int(argv[i]), cap)), *argv[i + 1 :]]
    return argv


def run_script(directory: Path, body: str, name: str) -> None:
    """Run a Python block as `python NAME` in `directory`, as a reader would; it must exit 0.
    The script is removed afterwards (the guide's outputs stay for the checks below)."""
    script = directory / name
    script.write_text(body)
    try:
        proc = subprocess.run(
            [sys.executable, name], cwd=directory, capture_output=True, text=True, timeout=600
        )
    finally:
        script.unlink()
    assert proc.returncode == 0, f"{name}:\n{body}\n{proc.stdout}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr


def test_a_script_that_starts_a_pool_without_a_guard_fails(tmp_path):
    """The subprocess check above would catch a guide block without the __main__ guard: the
    spawned workers re-import the script (tests of the test)."""
    body = (
        "import multiprocessing as mp\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "with ProcessPoolExecutor(1, mp_context=mp.get_context('spawn')) as pool:\n"
        "    print(list(pool.map(abs, [-1])))\n"
    )
    with pytest.raises(AssertionError):
        run_script(tmp_path, body, "unguarded.py")
    run_script(
        tmp_path,
        "if __name__ == '__main__':\n"
        + "".join("    " + line + "\n" for line in body.splitlines()),
        "guarded.py",
    )


def test_guide_lists_commands():
    kinds = [lang for lang, _ in blocks(GUIDE.read_text())]
    assert kinds.count("bash") >= 8 and "toml" in kinds and "python" in kinds


def test_every_guide_command_runs(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    ran = []
    for lang, body in blocks(GUIDE.read_text()):
        if lang == "toml":
            first, _, rest = body.partition("\n")
            name = first.removeprefix("# file:").strip()
            assert first.startswith("# file:") and name, f"toml block without a file name: {first}"
            (tmp_path / name).write_text(body)
        elif lang == "python":
            run_script(tmp_path, body, f"guide_block_{len(ran)}.py")
            ran.append("python block")
        elif lang == "bash":
            for command, comment in commands(body):
                if command.startswith("python3 -m venv"):
                    assert command == readme_install(), "install differs from the README"
                    continue
                argv = shlex.split(command)
                assert argv[0] == "prisonflow", f"the guide shows an untested command: {command}"
                argv = small(argv[1:])
                code, out, err = cli(monkeypatch, capsys, *argv)
                if "exits with status 2" in comment:
                    assert code == 2 and err.count("\n") == 1, (command, err)
                else:
                    assert code == 0, (command, err or out)
                ran.append(command)
        else:
            raise AssertionError(f"unexpected block language in the guide: {lang}")
    assert len(ran) >= 15
    # What the guide says it makes is there.
    for path in (
        "results/first-run/summary.csv",
        "results/five-years-batch/intervals.csv",
        "results/five-years-batch/report.html",
        "results/court-sweep/indices.csv",
        "results/court-sweep/report.html",
        "results/compare/report.html",
        "results/compare-5-years/matrix.csv",
        "results/compare-python/paired_differences.csv",
        "results/decompose-ua-wagner/decomposition.csv",
    ):
        assert (tmp_path / path).is_file(), path
