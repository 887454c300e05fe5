"""Offline evaluation: YAML cases run against `ask`, scored in code, compared with a base run, reported
as a table, HTML, JSON and JUnit XML.

Modules, bottom up: spec (the case format) → citations, harness (loading) → results → metrics
(scoring one answer) → summary (metrics per group, gates) → compare → report (a run, saved and
loaded) → tables, page, junit (the outputs) → runner, sandbox (running, changed data).
"""

from __future__ import annotations

from assistant.evals.harness import load_case_file, load_cases, load_suite
from assistant.evals.junit import to_junit
from assistant.evals.page import render_html, render_planners_html
from assistant.evals.report import PlannerRun, RunReport, build_report, load_run, side_by_side, to_json
from assistant.evals.results import CaseResult
from assistant.evals.runner import AskFn, run_cases, run_suite
from assistant.evals.spec import STYLES, Case, EvalConfigError, Suite

__all__ = [
    "STYLES", "AskFn", "Case", "CaseResult", "EvalConfigError", "PlannerRun", "RunReport", "Suite", "build_report",
    "load_case_file", "load_cases", "load_run", "load_suite", "render_html", "render_planners_html", "run_cases",
    "run_suite", "select", "side_by_side", "to_json", "to_junit",
]  # fmt: skip


def select(cases: list[Case], ids: list[str] | None = None, categories: list[str] | None = None,
           styles: list[str] | None = None) -> list[Case]:  # fmt: skip
    """Cases whose id contains one of ids, whose category is one of categories and style one of styles (empty = all)."""
    return [
        c for c in cases
        if (not ids or any(i in c.id for i in ids)) and (not categories or c.category in categories)
        and (not styles or c.style in styles)
    ]  # fmt: skip
