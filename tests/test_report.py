"""Reports (issue 5): `prisonflow report DIR` rebuilds report.md and a self-contained
report.html from a batch or compare directory; nothing in them loads from the network, and
text from scenario files is escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import cli

import sim
import sim.cli
from sim import compare as cmp

EVIL_TOML = """
[scenario]
name = "evil"
title = "Evil <b>title</b>"
description = "A test <script>alert(1)</script> & <img src=https://example.com/x.png>"
extends = "ukraine_2024"

[sources]
"scenario.title" = "assumption: see <a href='http://example.com'>here</a>"
"""
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
TAG_URL = re.compile(
    r"<[a-z]+\b[^<>]*\b(?:src|href|data|action)\s*=\s*['\"]?\s*(?:https?:)?//", re.I
)


def assert_self_contained(page: str) -> None:
    """Nothing in the page can load anything: no scripts, no remote or relative resources."""
    assert "<script" not in page.lower()
    assert not TAG_URL.search(page)
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    for src in re.findall(r"\bsrc\s*=\s*\"([^\"]*)\"", page):
        assert src.startswith("data:image/png;base64,"), src[:60]
    for href in re.findall(r"\bhref\s*=\s*\"([^\"]*)\"", page):
        assert href.startswith("#"), href


@pytest.fixture(scope="module")
def evil(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenarios") / "evil.toml"
    path.write_text(EVIL_TOML)
    return path


@pytest.fixture(scope="module")
def batch_dir(tmp_path_factory, evil) -> Path:
    out = tmp_path_factory.mktemp("batch") / "b"
    sim.batch(
        [str(evil), "russia_wagner_2022"],
        replicates=2,
        population=1500,
        days=120,
        workers=1,
        entropy=1,
        out=out,
    )
    return out


@pytest.fixture(scope="module")
def compare_dir(tmp_path_factory, evil) -> Path:
    out = tmp_path_factory.mktemp("compare") / "c"
    cmp.compare(
        [str(evil)],
        policies=["ukraine_2024", "russia_wagner_2022"],
        populations=["ukraine_2024"],
        replicates=2,
        population=1500,
        days=120,
        workers=1,
        entropy=2,
        out=out,
        report=False,
    )
    return out


_REPORTED: dict[Path, tuple[int, str, str]] = {}


@pytest.fixture
def reported(request, monkeypatch, capsys):
    """`prisonflow report DIR` on the fixture named `which`, run once per directory (a report
    takes seconds to draw); returns the directory and the command's (exit code, stdout,
    stderr)."""

    def report(which: str) -> tuple[Path, tuple[int, str, str]]:
        directory = request.getfixturevalue(which)
        if directory not in _REPORTED:
            _REPORTED[directory] = cli(monkeypatch, capsys, "report", str(directory))
        return directory, _REPORTED[directory]

    return report


@pytest.mark.parametrize("which", ["batch_dir", "compare_dir"])
def test_report_rebuilds_offline_and_escaped(which, reported):
    directory, (code, out, err) = reported(which)
    assert code == 0, err
    assert "report.html" in out
    page = (directory / "report.html").read_text()
    md = (directory / "report.md").read_text()
    assert_self_contained(page)
    # Text from the scenario file shows as text, in both renderings.
    assert ESCAPED in page and ESCAPED in md
    assert "&lt;b&gt;title&lt;/b&gt;" in page
    assert "<script" not in md.lower() and "<img" not in md.lower()
    # Every figure is written (PNG and SVG) and embedded once.
    pngs = sorted((directory / "figures").glob("*.png"))
    assert pngs and all(p.with_suffix(".svg").stat().st_size > 1000 for p in pngs)
    assert page.count("<img") == len(pngs)
    for section in ("Scenarios", "Key assumptions and sources", "Figures", "Fit to observations"):
        assert f">{section}" in page, section
    assert "Figure 1." in md and "figures/" in md
    if which == "compare_dir":
        for section in ("Results", "Counterfactual matrix", "Paired differences", "At a glance"):
            assert f">{section}" in page, section
        names = {p.stem for p in pngs}
        assert {"stocks", "flows", "counterfactual_flows", "paired_differences"} <= names
        assert "offences" in names
        assert json.loads((directory / "manifest.json").read_text())["kind"] == "compare"


@pytest.mark.parametrize("which", ["batch_dir", "compare_dir"])
def test_report_leads_with_the_answer(which, reported):
    """Headline with rates per month of exposure and per 1,000 prisoners, then the key
    figure, then results; assumptions last, each calibration command once."""
    directory, (code, _out, err) = reported(which)
    assert code == 0, err
    md = (directory / "report.md").read_text()
    order = [
        md.index("## At a glance"),
        md.index("Figure 1."),
        md.index("## Results"),
        md.index("## Appendix"),
        md.index("## Key assumptions and sources"),
    ]
    assert order == sorted(order), order
    glance = md[order[0] : order[1]]
    # 120 simulated days at --population 1500; the evil scenario's law is in force throughout.
    assert "over 120 simulated days, 120 of them with recruiting rules in force" in glance
    assert "a month of exposure" in glance and "per 1,000 of the 1,500 people" in glance
    # Calibrated rows point to their command, which is printed once.
    assert md.count("reproduce with") == 0
    assert md.count("prisonflow refit") == 1  # in its code block, in no table row
    assert "command C1 (below)" in md
    if which == "compare_dir":
        assert "nothing is run again" in md and "run again with the same seeds" not in md


def test_wide_tables_are_split_to_fit_the_page():
    from sim.reporting.blocks import MAX_COLUMNS, Table, render_html, split_wide

    wide = Table(["metric", *(f"c{i}" for i in range(15))], [["x", *map(str, range(15))]])
    parts = split_wide(wide)
    assert len(parts) == 3 and all(len(t.headers) <= MAX_COLUMNS for t in parts)
    assert all(t.headers[0] == "metric" and t.rows[0][0] == "x" for t in parts)
    assert [c for t in parts for c in t.headers[1:]] == wide.headers[1:]
    page = render_html([wide], "t")
    assert page.count("<table>") == 3 and "(part 3 of 3)" in page


def test_report_refuses_what_it_cannot_read(tmp_path, monkeypatch, capsys):
    code, _, err = cli(monkeypatch, capsys, "report", str(tmp_path / "missing"))
    assert code == 2 and err.count("\n") == 1 and "not a directory" in err
    code, _, err = cli(monkeypatch, capsys, "report", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "manifest.json" in err
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "run"}))
    code, _, err = cli(monkeypatch, capsys, "report", str(tmp_path))
    assert code == 2 and err.count("\n") == 1 and "batch, sweep or compare" in err
