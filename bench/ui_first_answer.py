"""Chat UI: time from starting the server (as `make run` does) to the first answer in a browser.

Run: .venv/bin/python bench/ui_first_answer.py [--runs 3] [--question "..."] [--app streamlit_app.py]
Needs the index built (`assistant index`) and Debian's /usr/bin/chromium (never `playwright install`).
Each run starts a fresh `streamlit run` on a free loopback port, opens the page in headless Chromium
(launched while the server starts, as a user's browser is already open), asks the 70 kg metastatic
question and waits for "252 mg" on screen: the answer's bottom line (or, for an older page, the dose
table). Prints figures; asserts nothing (target ≤ 10 s).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
QUESTION = "70 kg, metastatic — dose, vials, waste?"
EXPECT = "252 mg"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


def one_run(browser, question: str, app: Path) -> dict[str, float]:
    """Seconds from server start to: health endpoint up, chat box visible, question sent, answer shown."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "ANONYMIZED_TELEMETRY": "False"}
    cmd = [str(Path(sys.executable).parent / "streamlit"), "run", str(app),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    with tempfile.TemporaryFile() as log:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            while not healthy(url):
                if proc.poll() is not None:
                    log.seek(0)
                    raise SystemExit(f"streamlit exited with {proc.returncode}:\n{log.read().decode(errors='replace')}")
                if time.perf_counter() - start > 120:
                    raise SystemExit("streamlit did not start within 120 s")
                time.sleep(0.05)
            up = time.perf_counter()
            page.goto(url)
            # locator.wait_for watches the page continuously; expect() polls up to 1 s apart and would add that
            box = page.get_by_test_id("stChatInputTextArea")
            box.wait_for(state="visible", timeout=120_000)
            shown = time.perf_counter()
            box.fill(question)
            box.press("Enter")
            asked = time.perf_counter()
            shown_answer = page.locator(".st-key-bottom_line_0, [data-testid='stTable']").filter(has_text=EXPECT).first
            shown_answer.wait_for(state="visible", timeout=120_000)
            answered = time.perf_counter()
        finally:
            page.close()
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return {"server up": up - start, "chat box": shown - start, "asked": asked - start, "answer": answered - start,
            "ask → answer": answered - asked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--app", type=Path, default=ROOT / "streamlit_app.py", help="the Streamlit script to serve")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get update && apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    runs = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for n in range(1, args.runs + 1):
                r = one_run(browser, args.question, args.app)
                runs.append(r)
                print(f"run {n}: " + ", ".join(f"{k} {v:.2f} s" for k, v in r.items()), flush=True)
        finally:
            browser.close()
    answers = [r["answer"] for r in runs]
    print(f"\nfirst answer after server start ({args.question!r}, {EXPECT!r} on the page): "
          f"median {statistics.median(answers):.2f} s, max {max(answers):.2f} s over {len(runs)} fresh servers "
          "(target ≤ 10 s)")


if __name__ == "__main__":
    main()
