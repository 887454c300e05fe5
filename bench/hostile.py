"""Hostile input: how many attack rows change a figure or a verdict, and what the detectors cost a question.

Run: .venv/bin/python bench/hostile.py [--table dev|held|all|none] [--rounds 5]
Prints figures; asserts nothing (tests/test_attacks.py asserts; target: normalisation and the
detectors add at most 5 ms p95 a question).

The table part asks every row of tests/data/attacks*.yaml (payload x dose/policy question x
placement) and counts rows whose figures (dose mg, vials, drawn, waste, billed units) or verdicts
(policy verdict, criterion statuses, status, intent) differ from the clean question's, rows whose
answer does not list the quarantined text as "not used" with a reason, and rows that say an
instruction was ignored while a figure or verdict moved. The timing part measures, per question,
the whole reading front end (assistant.sanitize.strip_injections: the normal form, markup, the
pattern families and the gated semantic detector) on the questions of bench/answer.py and the attack
table's clean questions and notes (the budget applies to these), never seen before and seen before,
and on the legitimate staff sentences of tests/test_attacks.py, which are chosen to look like
instructions, so most of them reach the model.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("ASSISTANT_TODAY", "2026-05-01")
os.environ.setdefault("ASSISTANT_AUDIT", "0")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def table(which: str) -> None:
    import attack_table as t

    rows = t.payloads(None if which == "all" else which == "held")
    changed_payloads: set[str] = set()
    counts: Counter[str] = Counter()
    by_family: Counter[str] = Counter()
    examples: list[str] = []
    for p in rows:
        for q in t.QUESTIONS:
            for placement in t.PLACEMENTS:
                out = t.run(p, q, placement)
                counts["inputs"] += 1
                counts["figures changed"] += out.figures_changed
                counts["verdicts changed"] += out.verdict_changed
                counts["changed (either)"] += out.changed
                counts["nothing computed (swallowed)"] += out.nothing_computed
                counts["not listed as not used"] += not out.listed
                counts["said ignored while used"] += out.ignored_but_used
                if out.changed:
                    changed_payloads.add(p.id)
                    by_family[p.family] += 1
                    if len(examples) < 12:
                        examples.append(f"  {p.id} {q} {placement}: {p.for_question(q)!r}")
    print(f"attack table ({which}): {len(rows)} payloads, {counts['inputs']} inputs")
    print(f"  payloads that changed something: {len(changed_payloads)} of {len(rows)}")
    for key in ("changed (either)", "figures changed", "verdicts changed", "nothing computed (swallowed)",
                "not listed as not used", "said ignored while used"):
        print(f"  {key:<26}{counts[key]:>6} of {counts['inputs']}")
    if by_family:
        print("  changed inputs by family: " + ", ".join(f"{k} {v}" for k, v in by_family.most_common()))
    if examples:
        print("  e.g.\n" + "\n".join(examples))


def timing(rounds: int) -> None:
    import attack_table as t
    from assistant.sanitize import strip_injections

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from answer import QUESTIONS, UNSEEN

    questions = [q for qs in QUESTIONS.values() for q in qs] + [q for qs in UNSEEN.values() for q in qs]
    questions += [t.placed(pl, q, None) for q in t.QUESTIONS for pl in t.PLACEMENTS]
    try:
        from test_attacks import LEGITIMATE
    except ImportError:
        LEGITIMATE = []
    strip_injections("warm up: ignore the above")  # loading the families is start-up, not a question
    from assistant.instruction_semantic import _exemplars

    _exemplars()  # so is loading the exemplar vectors, and the model (which the intent classifier loads anyway)
    from assistant.embedder import embed

    embed(["warm up the encoder"])

    def run(batch: list[str]) -> list[float]:
        times = []
        for text in batch:
            t0 = time.perf_counter()
            strip_injections(text)
            times.append((time.perf_counter() - t0) * 1000)
        return times

    rows = [
        # a question never seen: no cache holds it (the suffix makes each one new)
        ("questions, first sight", run([f"{q} (case {i})" for i, q in enumerate(questions)])),
        ("questions, seen before", [ms for _ in range(rounds) for ms in run(questions)]),
        # the legitimate table is made of sentences that look like instructions: most reach the model
        ("staff look-alikes, first", run([f"{q} (case {i})" for i, q in enumerate(LEGITIMATE)])),
        ("staff look-alikes, seen", [ms for _ in range(rounds) for ms in run(LEGITIMATE)]),
    ]
    # the machine is shared: each question's fastest of `rounds` runs is its cost without the others' load
    seen = [run(questions) for _ in range(rounds)]
    rows.append(("questions, best of rounds", [min(r[i] for r in seen) for i in range(len(questions))]))
    print("\nreading front end per question (strip_injections: normal form, markup, families, semantic detector)")
    print(f"{'':<28}{'n':>5}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}")
    for name, times in rows:
        print(f"{name:<28}{len(times):>5}{statistics.median(times):>10.2f}{pct(times, 0.95):>10.2f}{max(times):>10.2f}")
    try:
        from assistant import instruction_semantic as sem

        print(f"semantic detector: {sem.stats()}")
    except ImportError:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--table", choices=["dev", "held", "all", "none"], default="dev")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.table != "none":
        table(args.table)
    timing(args.rounds)


if __name__ == "__main__":
    main()
