"""A run's report: metrics, gates, the comparison with a base run; saved as JSON and read back for --compare."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from assistant.evals.compare import Comparison, compare
from assistant.evals.results import CaseResult
from assistant.evals.spec import EvalConfigError, Suite
from assistant.evals.summary import (
    BaselineMetrics, Gate, Metrics, broken_gate, by_category, by_style, gates, metrics, style_gates, versus_baseline,
)

__all__ = ["PlannerRun", "RunReport", "build_report", "load_run", "side_by_side", "to_json"]


class RunReport(BaseModel):
    suite: str
    started: str
    seconds: float
    planner: str = "deterministic"
    planner_model: str = Field(default="", description="ASSISTANT_LLM for the llm planner")
    data: dict[str, str] = Field(default_factory=dict, description="what the run changed: corpus folder, imported price file")
    answered_by: dict[str, int] = Field(default_factory=dict, description="turns per Answer.planner, e.g. a model or '(replaced)'")
    overall: Metrics
    categories: dict[str, Metrics]
    styles: dict[str, Metrics] = Field(default_factory=dict)
    baseline: dict[str, BaselineMetrics] | None = None
    compare: Comparison | None = None
    gates: list[Gate] = Field(default_factory=list)
    passed: bool
    cases: list[CaseResult]


class PlannerRun(BaseModel):
    """`--planners a,b`: each planner's run (summaries; every case in its own report file) and b against a."""

    kind: str = "planners"
    suite: str
    started: str
    planners: list[str]
    files: dict[str, str] = Field(description="each planner's full report (JSON; the HTML beside it)")
    runs: dict[str, RunReport] = Field(description="each planner's run without its cases")
    versus: Comparison = Field(description="the second planner's answers against the first's, case by case")
    passed: bool


def build_report(
    suite: Suite,
    results: list[CaseResult],
    started: dt.datetime,
    seconds: float,
    *,
    planner: str = "deterministic",
    planner_model: str = "",
    data: dict[str, str] | None = None,
    base: RunReport | None = None,
    base_file: str = "",
    subset: bool = False,
) -> RunReport:
    """Score the run against the suite's thresholds (overall and per style) and, given a base run, compare."""
    overall, styles = metrics(results), by_style(results)
    checks = gates(overall, suite.thresholds) + style_gates(styles, suite.thresholds_by_style)
    diff = None
    if base is not None:
        diff = compare(base.cases, results, base_file=base_file, base_started=base.started, base_planner=base.planner, subset=subset)
        checks.append(broken_gate(diff.broken))
    return RunReport(
        suite=suite.name,
        started=started.isoformat(timespec="seconds"),
        seconds=round(seconds, 2),
        planner=planner,
        planner_model=planner_model,
        data=data or {},
        answered_by=dict(Counter(str(t.answer.get("planner")) for r in results for t in r.turns)),
        overall=overall,
        categories=by_category(results),
        styles=styles,
        baseline=versus_baseline(results) if any(r.baseline is not None for r in results) else None,
        compare=diff,
        gates=checks,
        passed=all(g.passed for g in checks),
        cases=results,
    )


def side_by_side(runs: dict[str, RunReport], files: dict[str, str]) -> PlannerRun:
    """Two planners' runs of the same cases: their summaries, and the second's answers against the first's."""
    (a, first), (b, second) = list(runs.items())[:2]
    versus = compare(first.cases, second.cases, base_file=files[a], base_started=first.started, base_planner=a)
    return PlannerRun(
        suite=first.suite,
        started=first.started,
        planners=list(runs),
        files=files,
        runs={n: r.model_copy(update={"cases": []}) for n, r in runs.items()},
        versus=versus,
        passed=all(r.passed for r in runs.values()),
    )


def to_json(report: RunReport | PlannerRun) -> str:
    """The report as the .json beside the HTML (what --compare reads back)."""
    return report.model_dump_json(indent=2)


def load_run(path: str | Path) -> RunReport:
    """A run saved by `assistant eval` (the .json beside its HTML report); EvalConfigError says what is wrong."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalConfigError(f"--compare: {path} not found; give the .json an earlier `assistant eval` wrote "
                              "(by default artifacts/eval/report.json)") from None  # fmt: skip
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EvalConfigError(f"--compare: {path} is not a JSON report: {exc}") from None
    if isinstance(raw, dict) and raw.get("kind") == "planners":
        files = ", ".join(raw.get("files", {}).values()) or "the per-planner .json files"
        raise EvalConfigError(f"--compare: {path} holds a side-by-side planner run; compare with one planner's report: {files}")
    try:
        return RunReport.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise EvalConfigError(
            f"--compare: {path} is not an `assistant eval` JSON report (field {where!r}: {first['msg']})"
        ) from None
