"""End to end: `prisonflow explore` in a real headless Chromium (Debian's /usr/bin/chromium,
driven by Playwright). The app starts as a subprocess; the test changes a control, sees the
chart and the numbers change, downloads the scenario TOML and runs it with `prisonflow run`,
switches to another law, sees a validation message, and checks that every asset came from
the app itself, offline. It never skips: without a browser it fails and says why."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest

import sim

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "results" / "explorer.png"
SMALL_COPY = ROOT / "results" / "explorer-small.png"  # what docs/img/explorer.png is a copy of
KILLED = "Killed, per deployed person per day"
WAGNER = "russia_wagner_2022:RU_WAGNER"


def _browser_or_fail():
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the explorer's browser test needs Debian's chromium "
            "(`apt-get install -y chromium`, as root; .ci/run does it)"
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("Python Playwright is missing: install the test extra (pip install -e .[test])")
    return sync_playwright


def small_copy(src: Path, dst: Path, width: int = 1000) -> None:
    """A small copy of a screenshot for the docs: blank bottom cropped, 1000 px wide,
    256 colours (about 80 KB)."""
    import numpy as np
    from PIL import Image

    image = Image.open(src).convert("RGB")
    pixels = np.asarray(image)[:, : int(image.width * 0.8)]  # not the corner badge
    last = int(np.flatnonzero((pixels < 245).any(axis=(1, 2)))[-1])
    image = image.crop((0, 0, image.width, min(image.height, last + 16)))
    image = image.resize((width, round(image.height * width / image.width)), Image.LANCZOS)
    image.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(
        dst, optimize=True
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, server: subprocess.Popen, log: Path, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"the explorer exited with {server.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(
        f"the explorer did not answer at {url} within {timeout_s:.0f} s:\n{log.read_text()}"
    )


@pytest.fixture
def explorer(tmp_path):
    """The explorer served by `prisonflow explore` on a free port; yields its URL."""
    port = _free_port()
    log = tmp_path / "server.log"
    exe = shutil.which("prisonflow", path=str(Path(sys.executable).parent))
    cmd = [exe] if exe else [sys.executable, "-m", "sim"]
    # The server gets a dead proxy: an asset missing from solara-assets, which it would
    # otherwise fetch from a CDN, fails here as it would offline.
    dead = "http://127.0.0.1:9"
    env = {**os.environ, "HTTP_PROXY": dead, "HTTPS_PROXY": dead, "ALL_PROXY": dead}
    env.update(http_proxy=dead, https_proxy=dead, NO_PROXY="127.0.0.1,localhost")
    with log.open("w") as out:
        server = subprocess.Popen(
            [*cmd, "explore", "--port", str(port), "--no-browser"],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, server, log)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _numbers(page) -> str:
    return page.inner_text("table.pf-numbers")


def _row(table_text: str, metric: str) -> list[str]:
    for line in table_text.splitlines():
        cells = [c.strip() for c in line.split("\t")]
        if cells[0] == metric:
            return cells
    raise AssertionError(f"no row {metric!r} in the numbers table:\n{table_text}")


def _set_input(page, label: str, text: str) -> None:
    field = page.locator(".v-input", has_text=label).locator("input")
    field.fill(text)
    field.press("Enter")


def test_explorer_in_chromium(explorer, tmp_path, prisonflow):
    sync_playwright = _browser_or_fail()
    requests: list[str] = []
    failed: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-background-networking"],
        )
        try:
            context = browser.new_context(
                viewport={"width": 1400, "height": 1000}, accept_downloads=True
            )
            page = context.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.goto(explorer)
            page.wait_for_selector("table.pf-numbers", timeout=60_000)

            # Ukraine's own law on Ukraine's people: the paired difference is exactly zero.
            before = _numbers(page)
            killed = _row(before, "killed")
            assert killed[3] == "+0", killed
            chart = page.locator(".pf-chart img").first
            chart_before = chart.screenshot()

            # A deadlier front: more killed than under the population's own law.
            _set_input(page, KILLED, "0.002")
            page.wait_for_function(
                "old => document.querySelector('table.pf-numbers').innerText !== old",
                arg=before,
                timeout=30_000,
            )
            after = _numbers(page)
            killed_after = _row(after, "killed")
            assert int(killed_after[1].replace(",", "")) > int(killed[1].replace(",", ""))
            assert killed_after[3].startswith("+") and killed_after[3] != "+0", killed_after
            assert _row(after, "killed")[2] == killed[2]  # the own law is unchanged
            assert chart.screenshot() != chart_before, "the chart did not change"
            SCREENSHOT.parent.mkdir(exist_ok=True)
            page.set_viewport_size({"width": 1400, "height": 1750})  # the whole page
            page.locator("h2").first.scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT))

            # The settings download as a scenario TOML that `prisonflow run` accepts.
            with page.expect_download(timeout=30_000) as download:
                page.get_by_text("Download scenario TOML").click()
            toml_path = tmp_path / "explored.toml"
            download.value.save_as(toml_path)
            data = tomllib.loads(toml_path.read_text())
            assert data["regimes"]["UA_2024"]["killed_per_day"] == 0.002
            assert sim.load_scenario(toml_path).regimes["UA_2024"].killed_per_day == 0.002

            # Another law: Wagner's rules on Ukraine's people; the controls show its values.
            shown = _numbers(page)
            page.locator(".v-input", has_text="law (scenario:regime)").locator(".v-field").click()
            page.locator(".v-list-item", has_text=WAGNER).click()
            page.wait_for_function(
                "old => document.querySelector('table.pf-numbers').innerText !== old",
                arg=shown,
                timeout=30_000,
            )
            after = _numbers(page)
            wagner = sim.load_scenario(WAGNER.split(":")[0]).regimes["RU_WAGNER"]
            killed_input = page.locator(".v-input", has_text=KILLED).locator("input")
            assert float(killed_input.input_value()) == wagner.killed_per_day
            assert _row(after, "released to army")[2] == _row(before, "released to army")[2]

            # An invalid value shows the schema's message; the page keeps working.
            _set_input(page, KILLED, "2")
            error = page.wait_for_selector("text=must be a daily hazard in [0, 1]", timeout=30_000)
            assert "regimes.RU_WAGNER.killed_per_day" in error.inner_text()
            assert _numbers(page) == after  # the last valid view stays
        finally:
            browser.close()

    out = tmp_path / "run"  # `prisonflow run` in this process (the CLI, without a fresh start)
    code, _stdout, err = prisonflow("run", str(toml_path), "--out", str(out))
    assert code == 0, err
    assert (out / "summary.csv").is_file()

    # Offline: every request went to the app itself, and every asset it asked for was there.
    origin = explorer.rstrip("/")
    outside = [u for u in requests if not u.startswith((origin, "blob:", "data:"))]
    assert not outside, f"requests outside the app: {outside[:5]}"
    assert not failed, f"assets the app could not serve: {failed[:5]}"
    assert os.path.getsize(SCREENSHOT) > 10_000
    small_copy(SCREENSHOT, SMALL_COPY)
    assert os.path.getsize(SMALL_COPY) < 150_000


def test_a_missing_browser_fails_and_says_why(monkeypatch):
    """The browser test never skips: without chromium it fails with the reason."""
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y chromium"):
        _browser_or_fail()
