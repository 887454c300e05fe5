"""End to end in a real browser: `streamlit run` on a loopback port, Debian's Chromium driven by Playwright.

One server and one browser page for the whole module (each test opens a fresh conversation by loading
the bare URL), so the module costs one server start and one model load. The server gets its own data
dir (the index, model and sentence vectors linked in from the project's) with the audit log on, so
stored conversations and audit ids are this test's own.
"""

from __future__ import annotations

import os
import re
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
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
QUESTION = "70 kg, metastatic — dose, vials, waste?"
POLICY_Q = "Does a 58 yo with HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and a taxane, meet Centene criteria?"
IDENTIFIED_MET = ("Patient Jane Doe, MRN 12345678, DOB 03/04/1961. Centene Medicaid, 58 yo, HER2 IHC 3+ metastatic "
                  "breast cancer, prior trastuzumab and taxane, prescribed by an oncologist, initial request, single agent, "
                  "3.6 mg/kg every 21 days. Meets criteria?")
IDENTIFIERS = ("Jane", "Doe", "12345678", "03/04/1961")
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"

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


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """A data dir of the server's own: the built index, model and sentence vectors linked in."""
    data = tmp_path_factory.mktemp("data")
    for name in ("index", "model", "sentences"):
        if (ROOT / ".data" / name).exists():
            (data / name).symlink_to(ROOT / ".data" / name)
    return data


@pytest.fixture(scope="module")
def server(data_dir, tmp_path_factory):
    port = _free_port()
    streamlit = Path(sys.executable).parent / "streamlit"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False",
           "ASSISTANT_DATA_DIR": str(data_dir), "ASSISTANT_AUDIT": "1", "ASSISTANT_TODAY": "2026-11-21"}
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("w")
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


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    tab = context.new_page()
    yield tab
    context.close()


def idle(page) -> None:
    """Wait until Streamlit has finished running the script (the attribute its own tests wait on)."""
    page.wait_for_selector(IDLE, timeout=60_000)


def fresh(page, url: str) -> None:
    """A new conversation: the bare URL (no conversation id) in the shared page."""
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(url)
    expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=120_000)  # the first run loads the model
    idle(page)


def ask(page, text: str, turn: int):
    """Send a question and wait for answer number `turn` (0-based); its bottom line is returned."""
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill(text)
    box.press("Enter")
    line = page.locator(f".st-key-bottom_line_{turn}")
    line.wait_for(state="visible", timeout=60_000)
    idle(page)
    return line


def click(page, locator) -> None:
    """Click once the script is idle (a click while a run is finishing can be lost in the rerun)."""
    idle(page)
    locator.click()


def choose(page, turn: int, label: str) -> None:
    """Click an offered choice of answer `turn - 1` until answer `turn` shows (a dropped click is clicked again)."""
    from playwright.sync_api import expect

    for attempt in range(3):
        idle(page)
        button = page.locator(f".st-key-needed_{turn - 1}").get_by_role("button", name=label, exact=True)
        if button.count():
            button.click()
        try:
            expect(page.locator(f".st-key-bottom_line_{turn}")).to_be_visible(timeout=20_000)
            idle(page)
            return
        except AssertionError:
            if attempt == 2:
                page.screenshot(path=str(ARTIFACTS / "ui_choice_failed.png"))
                raise


def open_lazy_expander(page, expander, content) -> None:
    """Open an expander whose content is built by the rerun its click starts, until `content` shows.
    Streamlit can drop a click that lands while a run is finishing; a person would click again, and so
    does this, at most three times."""
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
def test_dose_answer_bottom_line_first_then_details_sources_and_safety(server, page):
    from playwright.sync_api import expect

    url, server_started = server
    fresh(page, url)
    asked = time.monotonic()
    line = ask(page, QUESTION, 0)
    answered = time.monotonic()
    expect(line).to_have_text("252 mg · 1 × 100 mg + 1 × 160 mg · J9354-JZ 252 / JW 8 · 12.6 mL in 250 mL NS")
    main = page.locator("#stMain")
    expect(main).to_contain_text("Boxed warnings: Three — hepatotoxicity, left ventricular dysfunction")
    expect(main).to_contain_text("the newest price on file is Q2 2026")
    expect(main).not_to_contain_text("assistant prices load")
    # the details are one click away: the table, and each marker opens its quote in place
    expect(main.get_by_test_id("stTable")).to_have_count(0)
    table = main.get_by_test_id("stTable").first
    open_lazy_expander(page, main.get_by_test_id("stExpander").filter(has_text="Details"), table)
    expect(table).to_contain_text("J9354-JW (discarded)")
    click(page, main.get_by_role("button", name="[1]"))
    popover = page.get_by_test_id("stPopoverBody")
    expect(popover).to_contain_text("The recommended dose of ado-trastuzumab emtansine is 3.6 mg/kg")
    expect(popover).to_contain_text("Review status")
    page.keyboard.press("Escape")
    # Streamlit's developer menu and Deploy button are not shown to staff
    expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
    expect(page.get_by_test_id("kadCounter")).to_have_text("0 / 2,500 characters")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ui_dose.png"))
    # printed, not asserted: timings belong to benchmarks (the goal is < 10 s from server start)
    print(f"\nfirst answer {answered - server_started:.1f} s after server start ({answered - asked:.1f} s after asking)")


@pytest.mark.timeout(180)
def test_a_coverage_check_finished_by_clicking_the_offered_choices(server, page):
    from playwright.sync_api import expect

    fresh(page, server[0])
    line = ask(page, POLICY_Q, 0)
    expect(line).to_contain_text("Not settled for Centene CP.PHAR.229")
    # the page scrolls once the run has finished drawing (later under load): wait for it, then check
    shown = "() => { const el = document.querySelector('.st-key-turn_0'); if (!el) return false; " \
            "const top = el.getBoundingClientRect().top; return top >= -5 && top <= 200; }"
    try:
        page.wait_for_function(shown, timeout=10_000)
    except Exception:  # noqa: BLE001 - the assertion below says where the answer was
        pass
    top = page.locator(".st-key-turn_0").evaluate("el => el.getBoundingClientRect().top")
    assert -5 <= top <= 200, top  # the page shows the start of the new answer, not its end
    for turn, label in enumerate(("Initial request", "Oncologist: yes", "Single agent", "3.6 mg/kg (label dose)",
                                  "Every 21 days", "Medicaid"), start=1):
        choose(page, turn, label)
    expect(page.locator(".st-key-bottom_line_6")).to_have_text("✓ Meets Centene CP.PHAR.229 I.A · 12 months")
    expect(page.locator("#stMain")).to_contain_text("Superseded")


@pytest.mark.timeout(180)
def test_a_correction_in_the_panel_reruns_the_request(server, page):
    from playwright.sync_api import expect

    fresh(page, server[0])
    ask(page, QUESTION, 0)
    weight = page.get_by_test_id("stSidebar").get_by_label("Weight")
    expect(weight).to_have_value("70.0")
    idle(page)
    weight.fill("80")
    weight.press("Enter")
    line = page.locator(".st-key-bottom_line_1")
    line.wait_for(state="visible", timeout=60_000)
    expect(line).to_contain_text("288 mg")
    expect(page.locator(".st-key-bottom_line_0")).to_contain_text("252 mg")  # kept, struck through
    expect(page.locator("#stMain")).to_contain_text("Superseded: a later answer re-ran this request")


@pytest.mark.timeout(180)
def test_letter_for_a_met_centene_case_history_after_reload_and_export(server, page):
    from playwright.sync_api import expect

    fresh(page, server[0])
    line = ask(page, IDENTIFIED_MET, 0)
    expect(line).to_have_text("✓ Meets Centene CP.PHAR.229 I.A · 12 months")
    ask(page, "70 kg", 1)  # the weight, for the letter's request line
    code = page.get_by_test_id("stCode")
    open_lazy_expander(page, page.get_by_test_id("stExpander").filter(has_text="Copy for PA narrative"), code)
    letter = code.inner_text()
    assert "3.6 mg/kg = 252 mg IV every 21 days" in letter and "J9354" in letter  # the request line
    assert "12 months" in letter  # the duration
    assert "NOT met" not in letter and "Not medical advice" not in letter and "licensed professionals" not in letter
    assert not [i for i in IDENTIFIERS if i in letter]
    # the conversation survives a reload (stored redacted)
    page.reload()
    expect(page.locator(".st-key-bottom_line_1")).to_have_text("✓ Meets Centene CP.PHAR.229 I.A · 12 months",
                                                               timeout=60_000)
    user = page.get_by_test_id("stChatMessage").first
    expect(user).to_contain_text("[NAME]")
    expect(user).not_to_contain_text("12345678")
    idle(page)
    # the export: text with the audit id, and a PDF
    sidebar = page.get_by_test_id("stSidebar")
    with page.expect_download() as got:
        sidebar.get_by_role("button", name="Text", exact=True).click()
    text = Path(got.value.path()).read_text(encoding="utf-8")
    assert re.search(r"audit id [0-9a-f]{8,}", text), text[:500]
    assert "Meets Centene CP.PHAR.229 I.A · 12 months" in text
    assert not [i for i in IDENTIFIERS if i in text]
    with page.expect_download() as got:
        sidebar.get_by_role("button", name="PDF", exact=True).click()
    assert Path(got.value.path()).read_bytes().startswith(b"%PDF-")


@pytest.mark.timeout(180)
def test_user_urls_are_text_an_over_limit_note_is_flagged_and_the_narrow_layout_fits(server, page):
    from playwright.sync_api import expect

    fresh(page, server[0])
    ask(page, "Does a 58 yo with HER2 IHC 3+ metastatic breast cancer meet Centene criteria? see "
              "https://evil.example/x www.evil.example a@b.org", 0)
    assert page.get_by_test_id("stChatMessage").locator("a").count() == 0
    box = page.get_by_test_id("stChatInputTextArea")
    box.fill("x" * 2600)
    counter = page.get_by_test_id("kadCounter")
    expect(counter).to_contain_text("2,600 / 2,500 characters: over the limit by 100")
    box.press("Enter")  # refused in the page: nothing is sent
    idle(page)
    expect(page.get_by_test_id("stChatMessage")).to_have_count(2)
    box.fill("")
    # panel values are whole, never cut with an ellipsis
    cut = page.get_by_test_id("stSidebar").locator("input").evaluate_all(
        "els => els.filter(e => e.value && e.scrollWidth > e.clientWidth + 1).map(e => e.value)")
    assert not cut, cut
    # the print view: the conversation without the panel, the chat box or the buttons
    page.emulate_media(media="print")
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page.get_by_test_id("stChatInput")).to_be_hidden()
    expect(page.locator(".st-key-bottom_line_0")).to_be_visible()
    page.emulate_media(media="screen")
    # 400 px wide: the bottom line and the verdict are on screen, nothing scrolls sideways
    page.set_viewport_size({"width": 400, "height": 900})
    page.wait_for_timeout(500)
    line = page.locator(".st-key-bottom_line_0")
    line.scroll_into_view_if_needed()
    expect(line).to_be_in_viewport()
    box_ = line.bounding_box()
    assert box_["x"] >= 0 and box_["x"] + box_["width"] <= 400, box_
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth,"
                           " document.querySelector('#stMain').scrollWidth, document.querySelector('#stMain').clientWidth]")
    assert widths[0] <= widths[1] and widths[2] <= widths[3], widths
    page.screenshot(path=str(ARTIFACTS / "ui_narrow.png"))
