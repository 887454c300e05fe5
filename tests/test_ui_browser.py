"""End to end in a real browser: `streamlit run` on a loopback port, Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
QUESTION = "70 kg, metastatic — dose, vials, waste?"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is not installed (make browser installs it)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"streamlit did not answer at {url} within {timeout} s")


@pytest.fixture
def server(tmp_path):
    port = _free_port()
    streamlit = Path(sys.executable).parent / "streamlit"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    log = (tmp_path / "streamlit.log").open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        [str(streamlit), "run", str(ROOT / "streamlit_app.py"), "--server.address", "127.0.0.1",
         "--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, started
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def idle(page) -> None:
    """Wait until Streamlit has finished running the script (the attribute its own tests wait on)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)


def open_lazy_expander(page, expander, content) -> None:
    """Open an expander whose content is built by the rerun its click starts, until `content` shows.
    Streamlit can drop a click that lands while a run is finishing (about 1 run in 15 here); a person
    would click again, and so does this, at most three times."""
    from playwright.sync_api import expect

    for attempt in range(3):
        idle(page)
        if not expander.locator("details").evaluate("d => d.open"):
            expander.locator("summary").click()
        try:
            expect(content).to_be_visible(timeout=15_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


@pytest.mark.timeout(300)
def test_dose_question_in_chromium(server):
    url, server_started = server
    from playwright.sync_api import expect, sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "ui_dose.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            box = page.get_by_test_id("stChatInputTextArea")
            expect(box).to_be_visible(timeout=120_000)  # the first run loads the model and index
            asked = time.monotonic()
            box.fill(QUESTION)
            box.press("Enter")
            table = page.get_by_test_id("stTable").first
            expect(table).to_contain_text("252 mg", timeout=60_000)
            answered = time.monotonic()
            expect(table).to_contain_text("J9354-JW (discarded)")
            expect(table).to_contain_text("8 units")
            main = page.locator("#stMain")
            expect(main).to_contain_text("Dose: 252 mg")
            expect(main.get_by_test_id("stExpander").first).to_contain_text("[1] Ado-trastuzumab emtansine")
            idle(page)  # a click while the answer's run is still finishing can be lost in the rerun
            page.get_by_test_id("stExpander").first.locator("summary").click()
            expect(main).to_contain_text("The recommended dose of ado-trastuzumab emtansine is 3.6 mg/kg")
            # the PA narrative is built when its expander is opened: plain text, a copy and a download button
            code = main.get_by_test_id("stCode")
            open_lazy_expander(page, page.get_by_test_id("stExpander").filter(has_text="Copy for PA narrative"), code)
            expect(code).to_contain_text("Sources:")
            expect(code).to_contain_text("8 units with JW")
            code.hover()  # the copy button sits in the toolbar shown on hover
            expect(code.locator("xpath=..").get_by_role("button", name="Copy to clipboard")).to_be_visible(timeout=30_000)
            expect(main.get_by_test_id("stDownloadButton")).to_contain_text("Download as text")
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar).to_contain_text("Patient facts")
            expect(sidebar.get_by_label("Weight")).to_have_value("70.0")
            page.set_viewport_size({"width": 1400, "height": 3600})  # the app scrolls inside; show it all
            main.evaluate("el => el.scrollTo(0, 0)")
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    # printed, not asserted: timings belong to benchmarks (the goal is < 10 s from server start)
    print(f"\nfirst answer {answered - server_started:.1f} s after server start "
          f"({answered - asked:.1f} s after asking); screenshot {shot}")
