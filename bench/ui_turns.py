"""Chat UI: answer time at turn 1 vs turn 25 of one conversation in a real browser.

Run: .venv/bin/python bench/ui_turns.py [--turns 25] [--app streamlit_app.py]
Starts `streamlit run` on a free loopback port, opens the page in Debian's headless Chromium, asks
dose, code and policy questions in turn in one conversation, and times each from Enter to the new
answer drawn and the script idle. Prints the figures; asserts nothing (goal: turn 25 ≤ 1.5 × turn 1).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ui_first_answer import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, healthy  # noqa: E402

QUESTIONS = [
    "70 kg, metastatic — dose, vials, waste?",
    "Is J9358 the same as Kadcyla?",
    "85 kg adjuvant, cycle 2 — dose?",
    "Does a 58 yo with HER2 IHC 3+ metastatic breast cancer, prior trastuzumab and a taxane, meet Centene criteria?",
    "72 kg metastatic, cycle 3: dose?",
]
IDLE = "[data-testid='stApp'][data-test-script-state='notRunning']"


def serve(app: Path):
    import os
    import subprocess
    import tempfile

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen([str(Path(sys.executable).parent / "streamlit"), "run", str(app), "--server.address",
                             "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    while not healthy(url):
        if proc.poll() is not None or time.perf_counter() - start > 120:
            log.seek(0)
            raise SystemExit(f"streamlit did not start:\n{log.read().decode(errors='replace')}")
        time.sleep(0.1)
    return proc, url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=25)
    parser.add_argument("--app", type=Path, default=ROOT / "streamlit_app.py")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = serve(args.app)
    times: list[float] = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            box = page.get_by_test_id("stChatInputTextArea")
            box.wait_for(state="visible", timeout=120_000)
            page.wait_for_selector(IDLE, timeout=120_000)
            # turn 1 is timed once the model and index have loaded, so that it measures the page, not the loading
            # (the caption is drawn by a run, so a fresh page load is what shows it gone)
            deadline = time.perf_counter() + 180
            while page.get_by_text("Loading the document index").count() and time.perf_counter() < deadline:
                time.sleep(3)
                page.goto(url)
                box.wait_for(state="visible", timeout=60_000)
                page.wait_for_selector(IDLE, timeout=60_000)
            messages = page.get_by_test_id("stChatMessage")
            for n in range(1, args.turns + 1):
                page.wait_for_selector(IDLE, timeout=60_000)
                box.fill(QUESTIONS[(n - 1) % len(QUESTIONS)])
                asked = time.perf_counter()
                box.press("Enter")
                page.wait_for_function(f"document.querySelectorAll('[data-testid=\"stChatMessage\"]').length >= {2 * n}",
                                       timeout=60_000)
                messages.nth(2 * n - 1).wait_for(state="visible")
                page.wait_for_selector(IDLE, timeout=60_000)
                times.append(time.perf_counter() - asked)
                print(f"turn {n}: {times[-1]:.2f} s", flush=True)
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=15)
    same = [t for i, t in enumerate(times) if i % len(QUESTIONS) == 0]
    print(f"\nturn 1 {times[0]:.2f} s, turn {len(times)} {times[-1]:.2f} s "
          f"(ratio {times[-1] / times[0]:.2f}); same question at turns {', '.join(str(i + 1) for i in range(0, len(times), len(QUESTIONS)))}: "
          + ", ".join(f"{t:.2f}" for t in same)
          + f"; median of turns 1-5 {statistics.median(times[:5]):.2f} s vs {len(times) - 4}-{len(times)} "
            f"{statistics.median(times[-5:]):.2f} s (goal ≤ 1.5×)")


if __name__ == "__main__":
    main()
