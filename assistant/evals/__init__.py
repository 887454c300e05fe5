"""Offline evaluation: YAML cases run against `ask`, scored in code, reported as a table, JSON and HTML."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from assistant.evals.harness import AskFn, Case, EvalConfigError, RetrieveFn, Suite, load_cases, load_suite, run_cases
from assistant.evals.report import CaseResult, RunReport, build_report, render_html, to_json

__all__ = [
    "Case", "CaseResult", "EvalConfigError", "RunReport", "Suite", "load_cases", "load_suite", "render_html", "run_suite",
    "select", "to_json",
]  # fmt: skip


def select(cases: list[Case], ids: list[str] | None = None, categories: list[str] | None = None) -> list[Case]:
    """Cases whose id contains one of ids and whose category is one of categories (empty = all)."""
    return [
        c for c in cases
        if (not ids or any(i in c.id for i in ids)) and (not categories or c.category in categories)
    ]  # fmt: skip


def run_suite(
    suite: Suite,
    ask: AskFn,
    *,
    cases: list[Case] | None = None,
    retrieve: RetrieveFn | None = None,
    on_case: Callable[[Any], None] | None = None,
) -> RunReport:
    """Load (unless given) and run the suite's cases, then score them against its thresholds."""
    if cases is None:
        cases = load_cases(suite.case_files())
    started, clock = dt.datetime.now(dt.timezone.utc), time.perf_counter()
    results = run_cases(cases, ask, retrieve=retrieve, on_case=on_case)
    return build_report(suite, results, started, time.perf_counter() - clock)
