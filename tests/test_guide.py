"""Every command in docs/guide.md runs as the guide says.

Rules, applied in the order the blocks appear in the guide, all in one temporary directory:

- A ```toml block whose first line is `# file: NAME` is written to NAME (the guide asks the
  reader to save it under that name).
- In ```bash blocks, each command (backslash continuations joined, `# comments` dropped):
  - the install command (`python3 -m venv ...`) is not run (it needs the network); it must
    be the install part of the README's Quick start, which is what a fresh machine runs;
  - a `prisonflow ...` command runs in this process. To keep the test fast, `run`, `batch`
    and `compare` without `--population` get `--population 2000`; `batch` and `compare`
    without `--replicates` get `--replicates 2`, and without `--workers` get `--workers 1`.
    A command whose comment says `exits with status 2` must exit 2 with one line on stderr;
    every other command must exit 0;
  - any other command fails the test, so that the guide shows nothing that is not run.
- ```python blocks are executed as they are (they use small sizes themselves).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

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


def small(argv: list[str]) -> list[str]:
    extra = SMALL.get(argv[0], {})
    for flag, value in extra.items():
        if flag not in argv:
            argv = [*argv, flag, value]
    return argv


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
            exec(compile(body, f"{GUIDE}:python", "exec"), {"__name__": "guide"})
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
    ):
        assert (tmp_path / path).is_file(), path
