"""Fact reading alone: read_facts() over the staff-phrased rows (questions and pasted notes).

Run: .venv/bin/python bench/facts.py [--rounds 5]
Prints p50/p95/max ms a text and the first-call time (loading the terms and rules); asserts nothing
(target: at most 10 ms p95 a question).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    t0 = time.perf_counter()
    from assistant.extract import read_facts

    read_facts("warm up: 70 kg mbc")
    first = time.perf_counter() - t0
    texts = [r["text"] for name in ("fact_rows.yaml", "fact_rows_holdout.yaml")
             for r in yaml.safe_load((ROOT / "tests" / "data" / name).read_text(encoding="utf-8"))]
    times, notes = [], []
    for _ in range(args.rounds):
        for text in texts:
            t = time.perf_counter()
            read_facts(text)
            ms = (time.perf_counter() - t) * 1000
            (notes if "\n" in text.strip() else times).append(ms)
    for label, values in (("questions", times), ("pasted notes", notes)):
        values = sorted(values)
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"{label:13s} n={len(values):5d}  p50 {statistics.median(values):5.2f} ms  p95 {p95:5.2f} ms  max {values[-1]:6.2f} ms")
    print(f"first call (import + load terms and rules + corpus check): {first * 1000:.0f} ms")


if __name__ == "__main__":
    main()
