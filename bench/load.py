"""Load: answers per second from one loaded assistant with 1, 4 and 16 threads, and peak memory.

Run: .venv/bin/python bench/load.py [--rounds 3] [--threads 1,4,16] [--no-audit-column]
Uses a temporary data dir holding a copy of the built index, so the real audit log is untouched.
Each row answers the same fixed mix (dose, policy, code, document, out of scope) `rounds` times,
split over the threads; audit on (the default) and off. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MIX = [
    "70 kg, metastatic — dose, vials, waste?",
    "pt wt 154 lb mBC, what do we draw up?",
    "85 kg adjuvant cycle 3 dose and JW units",
    "Centene medicaid: 58 yo, HER2 IHC 3+, metastatic, prior trastuzumab and docetaxel, single agent, oncologist. Covered?",
    "Does Oscar cover Margenza after failure of Enhertu and Kadcyla?",
    "Is J9354 Enhertu?",
    "What product is NDC 50242-087-01?",
    "Can Kadcyla be diluted in dextrose?",
    "What in-line filter is required?",
    "What documents does a KATHERINE adjuvant PA need?",
    "Patient Jane Doe MRN 1234567, 62.5 kg mBC cycle 2 — dose?",
    "What is the dose of pembrolizumab?",
]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def temp_data_dir() -> Path:
    """A data dir with a copy of the committed index when it is current (else the warm-up builds one)."""
    from assistant.corpus import get_corpus
    from assistant.retrieval import IndexState, fingerprint
    from assistant.settings import get_settings

    source = get_settings().data_dir / "index"
    state = IndexState(source).read()
    data = Path(tempfile.mkdtemp(prefix="kadcyla-load-")) / "data"
    if state and state["fingerprint"] == fingerprint(get_corpus()):
        shutil.copytree(source / state["dir"], data / "index" / state["dir"])
        (data / "index" / "CURRENT").write_text(json.dumps({k: state[k] for k in ("dir", "fingerprint", "chunks")}))
    for made_by_index in ("model", "sentences"):  # the ONNX export and the saved sentence vectors
        if (get_settings().data_dir / made_by_index).is_dir():
            shutil.copytree(get_settings().data_dir / made_by_index, data / made_by_index)
    return data


def run(threads: int, rounds: int) -> tuple[float, int, int]:
    """(answers per second, answers, errors) for the mix asked `rounds` times over `threads` threads."""
    from assistant.agent import ask
    from assistant.session import SessionStore

    jobs = MIX * rounds
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        statuses = list(pool.map(lambda q: ask(q, store=SessionStore()).status, jobs))
    elapsed = time.perf_counter() - start
    return len(jobs) / elapsed, len(jobs), statuses.count("error")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="times the mix is asked per row")
    parser.add_argument("--threads", default="1,4,16")
    parser.add_argument("--no-audit-column", action="store_true", help="only measure with the audit log on")
    args = parser.parse_args()

    data = temp_data_dir()
    os.environ["ASSISTANT_DATA_DIR"] = str(data)
    os.environ.setdefault("ASSISTANT_TODAY", "2026-05-01")
    from assistant.agent import ask
    from assistant.embedder import backend

    t0 = time.perf_counter()
    for q in MIX:  # load the model, index and data once; warm every path
        ask(q)
    print(f"warm-up (load + one pass of {len(MIX)} questions): {time.perf_counter() - t0:.1f} s; "
          f"peak RSS {peak_rss_mb():.0f} MB; question embedder {backend()}; cores {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f} (other processes share these cores)")
    modes = [("on", "1")] + ([] if args.no_audit_column else [("off", "0")])
    print(f"\n{'threads':>7} {'audit':>6} {'answers':>8} {'errors':>7} {'answers/s':>10} {'peak RSS MB':>12}")
    for threads in (int(t) for t in args.threads.split(",")):
        for label, value in modes:
            os.environ["ASSISTANT_AUDIT"] = value
            rate, n, errors = run(threads, args.rounds)
            print(f"{threads:>7} {label:>6} {n:>8} {errors:>7} {rate:>10.1f} {peak_rss_mb():>12.0f}", flush=True)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    shutil.rmtree(data.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
