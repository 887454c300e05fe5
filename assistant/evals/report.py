"""The run's results: per-case records, metrics per category, the retrieval baseline, gates; JSON and HTML."""

from __future__ import annotations

import datetime as dt
import html
import json
import math
from typing import Any

from pydantic import BaseModel, Field, computed_field

from assistant.evals.harness import Hit, Suite, Thresholds

class Check(BaseModel):
    name: str
    passed: bool
    detail: str = ""


class Tally(BaseModel):
    """Counts one turn adds to the run's metrics."""

    tool_expected: int = 0
    tool_correct: int = 0
    figures_expected: int = 0
    figures_matched: int = 0
    citations_total: int = 0
    citations_valid: int = 0
    cites_expected: int = 0
    cites_matched: int = 0
    refusal_expected: int = 0
    refusal_correct: int = 0
    over_refusal: int = 0
    figures_in_text: int = 0
    contains_expected: int = 0
    contains_matched: int = 0

    def text_checks_pass(self) -> bool:
        """Figures written, must-contain present, expected citations made: the checks a baseline can meet."""
        return (self.figures_in_text, self.contains_matched, self.cites_matched) == (
            self.figures_expected, self.contains_expected, self.cites_expected)


class TurnResult(BaseModel):
    question: str
    answer: dict[str, Any]
    raised: str | None = None
    seconds: float
    checks: list[Check]
    tally: Tally

    @computed_field
    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


class BaselineTurn(BaseModel):
    """The plain-retrieval answer to the same question: the top passage, scored on the checks that apply."""

    question: str
    hit: Hit | None
    error: str | None = None
    checks: list[Check]
    tally: Tally

    @computed_field
    @property
    def passed(self) -> bool | None:
        return all(c.passed for c in self.checks) if self.checks else None


class CaseResult(BaseModel):
    id: str
    category: str
    description: str = ""
    file: str = ""
    turns: list[TurnResult]
    baseline: list[BaselineTurn] | None = None

    @computed_field
    @property
    def passed(self) -> bool:
        return all(t.passed for t in self.turns)

    def failures(self) -> list[str]:
        return [f"turn {n}: {c.name}: {c.detail}" for n, t in enumerate(self.turns, 1) for c in t.checks if not c.passed]


# ---------------------------------------------------------------- metrics


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
    cats = list(dict.fromkeys(r.category for r in results))
    return {c: metrics([r for r in results if r.category == c]) for c in cats}


def comparison(results: list[CaseResult]) -> dict[str, BaselineMetrics]:
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


METRIC_NAMES = {
    "pass_rate": "Pass rate",
    "tool_choice": "Tool choice",
    "figure_exact_match": "Figures exact",
    "citation_validity": "Citation validity",
    "citation_recall": "Citation recall",
    "correct_refusals": "Correct refusals",
}


class Gate(BaseModel):
    metric: str
    threshold: float
    value: float | None
    passed: bool
    note: str = ""


class RunReport(BaseModel):
    suite: str
    started: str
    seconds: float
    overall: Metrics
    categories: dict[str, Metrics]
    baseline: dict[str, BaselineMetrics] | None = None
    gates: list[Gate] = Field(default_factory=list)
    passed: bool
    cases: list[CaseResult]


def gates(overall: Metrics, thresholds: Thresholds) -> list[Gate]:
    """Each declared threshold against the overall metric; a metric with no data does not fail its gate."""
    out = []
    for name, limit in thresholds.model_dump().items():
        if limit is None:
            continue
        if name == "latency_p95_s":
            value = overall.latency_p95_s
            ok = value is None or value <= limit
            out.append(Gate(metric=name, threshold=limit, value=value, passed=ok, note="maximum"))
            continue
        value = getattr(overall, name).value
        ok = value is None or value >= limit - 1e-12
        out.append(Gate(metric=name, threshold=limit, value=value, passed=ok, note="no data" if value is None else "minimum"))
    return out


def build_report(suite: Suite, results: list[CaseResult], started: dt.datetime, seconds: float) -> RunReport:
    overall = metrics(results)
    checks = gates(overall, suite.thresholds)
    has_baseline = any(r.baseline is not None for r in results)
    return RunReport(
        suite=suite.name,
        started=started.isoformat(timespec="seconds"),
        seconds=round(seconds, 2),
        overall=overall,
        categories=by_category(results),
        baseline=comparison(results) if has_baseline else None,
        gates=checks,
        passed=all(g.passed for g in checks),
        cases=results,
    )


def to_json(report: RunReport) -> str:
    return report.model_dump_json(indent=2)


# ---------------------------------------------------------------- formatting


def pct(rate: Rate) -> str:
    return "—" if rate.value is None else f"{100 * rate.value:.1f}% ({rate.num}/{rate.den})"


def secs(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}s"


# ---------------------------------------------------------------- HTML

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:1400px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top}
th{background:#f2f2f2;text-align:left}.num{text-align:right;white-space:nowrap}
.pass{color:#0a6b2d;font-weight:600}.fail{color:#b00020;font-weight:600}.muted{color:#666}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5rem;margin:.3rem 0;max-height:30rem;overflow:auto}
details.case{border:1px solid #ddd;border-left:6px solid #0a6b2d;margin:.5rem 0;padding:.3rem .6rem}
details.case.failed{border-left-color:#b00020}summary{cursor:pointer}.turn{border-top:1px dashed #ccc;margin-top:.5rem;padding-top:.3rem}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(head: list[str], rows: list[list[str]], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless raw (already escaped HTML)."""
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _json_block(value: Any, limit: int = 20000) -> str:
    text = json.dumps(value, ensure_ascii=False, indent=1, default=str)
    if len(text) > limit:
        text = text[:limit] + f"\n… ({len(text) - limit} more characters in the JSON report)"
    return f"<pre>{_e(text)}</pre>"


def _checks_html(checks: list[Any]) -> str:
    if not checks:
        return "<p class='muted'>No checks.</p>"
    rows = [[f"<span class='{'pass' if c.passed else 'fail'}'>{'pass' if c.passed else 'FAIL'}</span>", _e(c.name), _e(c.detail)] for c in checks]
    return _table(["", "check", "detail"], rows, raw=True)


def _turn_html(n: int, turn: Any, base: Any | None) -> str:
    a = turn.answer
    question = turn.question if len(turn.question) <= 1500 else turn.question[:1500] + f"… ({len(turn.question)} characters)"
    parts = [
        f"<div class='turn'><h4>Turn {n} <span class='{'pass' if turn.passed else 'fail'}'>{'pass' if turn.passed else 'FAIL'}</span>"
        f" <span class='muted'>{turn.seconds:.2f}s</span></h4>",
        f"<p><b>Question</b></p><pre>{_e(question)}</pre>",
        f"<p><b>Status</b> {_e(a.get('status'))} · <b>intent</b> {_e(a.get('intent'))}"
        + (f" · <b>raised</b> {_e(turn.raised)}" if turn.raised else "") + "</p>",
        f"<p><b>Answer</b></p><pre>{_e(a.get('answer', ''))}</pre>",
    ]
    for key in ("missing", "warnings"):
        if a.get(key):
            parts.append(f"<p><b>{key.capitalize()}</b></p><ul>" + "".join(f"<li>{_e(x)}</li>" for x in a[key]) + "</ul>")
    if a.get("citations"):
        rows = [[_e(c.get("marker")), _e(c.get("doc_id")), _e(c.get("section")), f"<pre>{_e(c.get('quote'))}</pre>"] for c in a["citations"]]
        parts.append("<p><b>Citations</b></p>" + _table(["#", "document", "section", "quote"], rows, raw=True))
    for call in a.get("tool_calls") or []:
        parts.append(
            f"<details><summary>Tool call: {_e(call.get('tool'))}</summary><p>input</p>{_json_block(call.get('input'))}"
            f"<p>output</p>{_json_block(call.get('output'))}</details>"
        )
    parts.append("<p><b>Checks</b></p>" + _checks_html(turn.checks))
    if base is not None:
        hit = base.hit
        text = f"{hit.doc_id} § {hit.section}\n\n{hit.quote}" if hit else f"(no passage: {base.error})"
        parts.append(f"<details><summary>Retrieval baseline (top chunk)</summary><pre>{_e(text)}</pre>{_checks_html(base.checks)}</details>")
    parts.append("</div>")
    return "".join(parts)


def _case_html(case: CaseResult) -> str:
    state = "pass" if case.passed else "FAIL"
    head = (
        f"<summary><span class='{state.lower()}'>{state}</span> <b>{_e(case.id)}</b> "
        f"<span class='muted'>[{_e(case.category)}] {_e(case.file)}</span></summary>"
    )
    desc = f"<p>{_e(case.description)}</p>" if case.description else ""
    turns = "".join(_turn_html(n, t, (case.baseline or [None] * len(case.turns))[n - 1]) for n, t in enumerate(case.turns, 1))
    opened = "" if case.passed else " open"
    return f"<details class='case{'' if case.passed else ' failed'}' id='case-{_e(case.id)}'{opened}>{head}{desc}{turns}</details>"


def render_html(report: RunReport) -> str:
    """A self-contained page: summary, baseline, gates, failures, then every case in detail."""
    rows = [[n, str(m.cases), *(pct(getattr(m, k)) for k in METRIC_NAMES), secs(m.latency_p50_s), secs(m.latency_p95_s)]
            for n, m in [*report.categories.items(), ("overall", report.overall)]]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Eval report — {_e(report.suite)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Eval report — {_e(report.suite)}</h1>",
        f"<p>Started {_e(report.started)} · {report.overall.cases} cases · {report.seconds:.1f}s · result "
        f"<span class='{'pass' if report.passed else 'fail'}'>{'PASS' if report.passed else 'FAIL'}</span></p>",
        "<h2>Summary by category</h2>",
        _table(["Category", "Cases", *METRIC_NAMES.values(), "p50", "p95"], rows),
    ]
    if report.baseline:
        brow = [[label, pct(b.figures_in_text), pct(b.must_contain), pct(b.citation_recall), pct(b.pass_rate)]
                for label, b in (("assistant (tools)", report.baseline["agent"]), ("retrieval baseline (top chunk, no tools)", report.baseline["baseline"]))]
        parts += ["<h2>Baseline: what the tools add</h2>",
                  "<p class='muted'>The same questions answered by the top retrieved passage, scored on the checks it can meet.</p>",
                  _table(["Answered by", "Figures written", "Must-contain", "Citation recall", "Pass (these checks)"], brow)]
    if report.gates:
        grow = [[g.metric, "—" if g.value is None else f"{g.value:.4g}", f"{g.note} {g.threshold:g}",
                 f"<span class='{'pass' if g.passed else 'fail'}'>{'pass' if g.passed else 'FAIL'}</span>"] for g in report.gates]
        grow = [[_e(r[0]), _e(r[1]), _e(r[2]), r[3]] for r in grow]
        parts += ["<h2>Thresholds</h2>", _table(["Metric", "Value", "Threshold", "Result"], grow, raw=True)]
    failed = [c for c in report.cases if not c.passed]
    parts.append(f"<h2>Failing cases ({len(failed)})</h2>")
    if failed:
        parts.append("<ul>" + "".join(
            f"<li><a href='#case-{_e(c.id)}'>{_e(c.id)}</a> [{_e(c.category)}]: {_e('; '.join(c.failures()[:3]))}</li>" for c in failed
        ) + "</ul>")
    parts.append(f"<h2>All cases ({len(report.cases)})</h2>")
    parts += [_case_html(c) for c in report.cases]
    parts.append("</body></html>")
    return "\n".join(parts)
