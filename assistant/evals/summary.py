"""Metrics summed over cases (per category, per style, overall), the retrieval baseline, and the gates."""

from __future__ import annotations

import math

from pydantic import BaseModel, Field, computed_field

from assistant.evals.results import CaseResult
from assistant.evals.spec import STYLES, Thresholds

METRIC_NAMES = {
    "pass_rate": "Pass rate",
    "tool_choice": "Tool choice",
    "figure_exact_match": "Figures exact",
    "citation_validity": "Citation validity",
    "citation_recall": "Citation recall",
    "correct_refusals": "Correct refusals",
}


class Rate(BaseModel):
    num: int = 0
    den: int = 0

    @computed_field
    @property
    def value(self) -> float | None:
        return self.num / self.den if self.den else None


class Metrics(BaseModel):
    cases: int = 0
    pass_rate: Rate = Field(default_factory=Rate)
    tool_choice: Rate = Field(default_factory=Rate)
    figure_exact_match: Rate = Field(default_factory=Rate)
    citation_validity: Rate = Field(default_factory=Rate)
    citation_recall: Rate = Field(default_factory=Rate)
    correct_refusals: Rate = Field(default_factory=Rate)
    over_refusals: int = 0
    latency_p50_s: float | None = None
    latency_p95_s: float | None = None


class BaselineMetrics(BaseModel):
    """The checks plain retrieval can be held to, for the agent and for the baseline alike."""

    figures_in_text: Rate = Field(default_factory=Rate)
    must_contain: Rate = Field(default_factory=Rate)
    citation_recall: Rate = Field(default_factory=Rate)
    pass_rate: Rate = Field(default_factory=Rate)


def percentile(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0–100); None for no values."""
    if not values:
        return None
    data = sorted(values)
    pos = (len(data) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def metrics(results: list[CaseResult]) -> Metrics:
    """Every metric summed over these cases' turns."""
    m = Metrics(cases=len(results))
    seconds = []
    m.pass_rate = Rate(num=sum(r.passed for r in results), den=len(results))
    for r in results:
        for t in r.turns:
            seconds.append(t.seconds)
            a = t.tally
            _add(m.tool_choice, a.tool_correct, a.tool_expected)
            _add(m.figure_exact_match, a.figures_matched, a.figures_expected)
            _add(m.citation_validity, a.citations_valid, a.citations_total)
            _add(m.citation_recall, a.cites_matched, a.cites_expected)
            _add(m.correct_refusals, a.refusal_correct, a.refusal_expected)
            m.over_refusals += a.over_refusal
    m.latency_p50_s, m.latency_p95_s = percentile(seconds, 50), percentile(seconds, 95)
    return m


def _add(rate: Rate, num: int, den: int) -> None:
    rate.num += num
    rate.den += den


def by_category(results: list[CaseResult]) -> dict[str, Metrics]:
    """Metrics per category, in the order the cases came."""
    cats = list(dict.fromkeys(r.category for r in results))
    return {c: metrics([r for r in results if r.category == c]) for c in cats}


def by_style(results: list[CaseResult]) -> dict[str, Metrics]:
    """Metrics per phrasing family, in the order of STYLES; styles with no case are left out."""
    present = {r.style for r in results}
    return {s: metrics([r for r in results if r.style == s]) for s in STYLES if s in present}


def versus_baseline(results: list[CaseResult]) -> dict[str, BaselineMetrics]:
    """Agent vs plain retrieval on the same text checks: figures written in the text, must-contain, recall."""
    agent, base = BaselineMetrics(), BaselineMetrics()
    for r in results:
        if r.baseline is None:
            continue
        agent_ok, base_ok, applies = True, True, False
        for t, b in zip(r.turns, r.baseline):
            applies = applies or bool(b.checks)
            agent_ok = agent_ok and t.tally.text_checks_pass()
            base_ok = base_ok and b.tally.text_checks_pass()
            for mine, tally in ((agent, t.tally), (base, b.tally)):
                _add(mine.figures_in_text, tally.figures_in_text, tally.figures_expected)
                _add(mine.must_contain, tally.contains_matched, tally.contains_expected)
                _add(mine.citation_recall, tally.cites_matched, tally.cites_expected)
        if applies:
            _add(agent.pass_rate, int(agent_ok), 1)
            _add(base.pass_rate, int(base_ok), 1)
    return {"agent": agent, "baseline": base}


class Gate(BaseModel):
    metric: str
    threshold: float
    value: float | None
    passed: bool
    note: str = ""
    scope: str = "overall"  # "overall", "style textbook", or "vs base" for the broken-case gate


def gates(overall: Metrics, thresholds: Thresholds, scope: str = "overall") -> list[Gate]:
    """Each declared threshold against the metric; a metric with no data does not fail its gate."""
    out = []
    for name, limit in thresholds.model_dump().items():
        if limit is None:
            continue
        if name == "latency_p95_s":
            value = overall.latency_p95_s
            ok = value is None or value <= limit
            out.append(Gate(metric=name, threshold=limit, value=value, passed=ok, note="maximum", scope=scope))
            continue
        value = getattr(overall, name).value
        ok = value is None or value >= limit - 1e-12
        note = "no data" if value is None else "minimum"
        out.append(Gate(metric=name, threshold=limit, value=value, passed=ok, note=note, scope=scope))
    return out


def style_gates(styles: dict[str, Metrics], by_style_thresholds: dict[str, Thresholds]) -> list[Gate]:
    """The suite's per-style thresholds; a style with no case in the run has no data and passes."""
    return [g for style, limits in by_style_thresholds.items()
            for g in gates(styles.get(style, Metrics()), limits, scope=f"style {style}")]  # fmt: skip


def broken_gate(broken: int) -> Gate:
    """Any case that passed in the base run and fails now fails the run, whatever the pass rate."""
    return Gate(metric="broken_cases", threshold=0, value=broken, passed=broken == 0, note="maximum", scope="vs base")


# ---------------------------------------------------------------- formatting


def pct(rate: Rate) -> str:
    """'98.9% (186/188)', or '—' with nothing to measure."""
    return "—" if rate.value is None else f"{100 * rate.value:.1f}% ({rate.num}/{rate.den})"


def secs(value: float | None) -> str:
    """'0.04s', or '—'."""
    return "—" if value is None else f"{value:.2f}s"


def gate_cells(g: Gate) -> tuple[str, str]:
    """(value, limit) as the tables show them."""
    if g.metric == "broken_cases":
        return ("—" if g.value is None else f"{g.value:.0f}"), f"≤ {g.threshold:.0f}"
    if g.metric == "latency_p95_s":
        return secs(g.value), f"≤ {g.threshold:g}s"
    return ("—" if g.value is None else f"{100 * g.value:.1f}%"), f"≥ {100 * g.threshold:g}%"
