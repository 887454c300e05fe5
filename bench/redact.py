"""Redaction cost: the first call (philter-lite and the safe lists loaded), then p50/p95 per call on a question,
a 3 kB pasted note and a tool output with nothing to redact. Redaction runs when text is stored (audit, sessions,
history, exports, logs), so this is storage cost, not answer latency.

Run: .venv/bin/python bench/redact.py [--rounds 50]
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

QUESTION = "Kadcyla dose for Kwabena Asantewaa, 70 kg HER2+ mBC, Centene Medicaid, MRN 00482913, cycle 2 on 2026-06-01?"
CLEAN = ("Dose: 3.6 mg/kg x 70 kg = 252 mg. Vials: 1 x 160 mg + 1 x 100 mg (8 mg discarded). J9354 x 252 units JZ, "
         "8 units JW. NDC 50242-0088-01. Medicare Q2 2026 $42.198 per unit.")


def _note() -> str:
    rows = yaml.safe_load((Path(__file__).parent.parent / "tests" / "data" / "identifiers.yaml").read_text())["rows"]
    lines, clinical = [], ("HER2 IHC 3+ mBC, prior trastuzumab + pertuzumab + docetaxel x6, LVEF 58%, ECOG 1. "
                           "Plan Kadcyla 3.6 mg/kg q21d = 252 mg, J9354, CPT 96413, Centene CP.PHAR.229.")
    for row in rows:
        lines.append(row["text"])
        if len(lines) % 6 == 0:
            lines.append(clinical)
        if sum(len(line) + 1 for line in lines) > 3000:
            break
    return "\n".join(lines)[:3000]


def _times(fn, text: str, rounds: int) -> tuple[float, float]:
    out = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn(text)
        out.append((time.perf_counter() - start) * 1000)
    out.sort()
    return out[len(out) // 2], out[min(len(out) - 1, int(len(out) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    start = time.perf_counter()
    from assistant.redact import redact

    redact("warm up: Jane")
    print(f"first call (loads philter-lite and the safe lists): {time.perf_counter() - start:.2f} s")
    for name, text in (("question", QUESTION), ("3 kB pasted note", _note()), ("tool output, nothing to redact", CLEAN)):
        p50, p95 = _times(redact, text, args.rounds)
        print(f"{name} ({len(text):,} chars): p50 {p50:.1f} ms, p95 {p95:.1f} ms")


if __name__ == "__main__":
    main()
