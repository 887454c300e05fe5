"""Load: answers per second from one loaded assistant with 1, 4 and 16 threads, and from 2 processes at once,
with the audit log (and sessions) in SQLite and in PostgreSQL; peak memory.

Run: .venv/bin/python bench/load.py [--rounds 3] [--threads 1,4,16] [--backends sqlite,postgresql] [--processes 2]
Uses a temporary data dir holding a copy of the built index, so the real audit log is untouched; PostgreSQL
is a throwaway cluster on a loopback port (tests/pg_cluster.py), fsync on, synchronous_commit off (like
SQLite's WAL with synchronous=NORMAL: a crash may lose the last commits, never the chain). Each row answers
the same fixed mix (dose, policy, code, document, out of scope) `rounds` times, split over the threads, every
answer audited; the process row runs that many rounds in each process, started together. One row with the
audit log off for comparison. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
        shutil.copy2(source / "CURRENT", data / "index" / "CURRENT")
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


def worker(rounds: int, ready: Path, go: Path) -> None:
    """One of the processes of the process row: warm up, say so, wait for the start, answer, print the result."""
    from assistant.agent import ask

    for q in MIX:
        ask(q)
    ready.touch()
    while not go.exists():
        time.sleep(0.01)
    rate, n, errors = run(1, rounds)
    print(json.dumps({"answers": n, "errors": errors, "end": time.time()}), flush=True)


def processes(count: int, rounds: int, tmp: Path) -> tuple[float, int, int]:
    """(answers per second over all processes, answers, errors): `count` processes answering at once."""
    go = tmp / "go"
    readies = [tmp / f"ready-{i}" for i in range(count)]
    procs = [subprocess.Popen([sys.executable, __file__, "--worker", "--rounds", str(rounds), "--ready", str(r),
                               "--go", str(go)], stdout=subprocess.PIPE, text=True, env=dict(os.environ))
             for r in readies]
    while not all(r.exists() for r in readies):
        if any(p.poll() is not None for p in procs):
            raise SystemExit("a worker process ended before it was ready")
        time.sleep(0.05)
    start = time.time()
    go.touch()
    results = [json.loads(p.communicate()[0].strip().splitlines()[-1]) for p in procs]
    n = sum(r["answers"] for r in results)
    go.unlink()
    for r in readies:
        r.unlink()
    return n / (max(r["end"] for r in results) - start), n, sum(r["errors"] for r in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3, help="times the mix is asked per row")
    parser.add_argument("--threads", default="1,4,16")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--processes", type=int, default=2, help="processes in the process row (0: none)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ready", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--go", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.rounds, args.ready, args.go)
        return

    data = temp_data_dir()
    os.environ["ASSISTANT_DATA_DIR"] = str(data)
    os.environ.setdefault("ASSISTANT_TODAY", "2026-05-01")
    os.environ["ASSISTANT_AUDIT"] = "1"
    from assistant.agent import ask
    from assistant.embedder import backend

    t0 = time.perf_counter()
    for q in MIX:  # load the model, index and data once; warm every path
        ask(q)
    print(f"warm-up (load + one pass of {len(MIX)} questions): {time.perf_counter() - t0:.1f} s; "
          f"peak RSS {peak_rss_mb():.0f} MB; question embedder {backend()}; cores {os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f} (other processes share these cores)")
    print(f"\n{'log':>10} {'threads':>9} {'answers':>8} {'errors':>7} {'answers/s':>10} {'peak RSS MB':>12}")
    cluster = None
    try:
        for name in args.backends.split(","):
            if name == "postgresql":
                sys.path.insert(0, str(ROOT / "tests"))
                from pg_cluster import Cluster

                cluster = Cluster(durable=True, options="-c synchronous_commit=off").start()
                os.environ["ASSISTANT_DB_URL"] = cluster.create_db("load")
                ask(MIX[0])  # tables made, connections opened
            else:
                os.environ.pop("ASSISTANT_DB_URL", None)
            for threads in (int(t) for t in args.threads.split(",")):
                rate, n, errors = run(threads, args.rounds)
                print(f"{name:>10} {threads:>9} {n:>8} {errors:>7} {rate:>10.1f} {peak_rss_mb():>12.0f}", flush=True)
            if args.processes:
                rate, n, errors = processes(args.processes, args.rounds, data.parent)
                print(f"{name:>10} {f'{args.processes} proc':>9} {n:>8} {errors:>7} {rate:>10.1f} {'-':>12}", flush=True)
        os.environ.pop("ASSISTANT_DB_URL", None)
        os.environ["ASSISTANT_AUDIT"] = "0"
        rate, n, errors = run(1, args.rounds)
        print(f"{'audit off':>10} {1:>9} {n:>8} {errors:>7} {rate:>10.1f} {peak_rss_mb():>12.0f}")
    finally:
        if cluster is not None:
            cluster.stop()
        print(f"load average at the end: {os.getloadavg()[0]:.1f}")
        shutil.rmtree(data.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
