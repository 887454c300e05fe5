"""The self-contained HTML report: what changed since the base run first, then the summary, then every case."""

from __future__ import annotations

import html
import json
from typing import Any

from assistant.evals.compare import CaseDiff, Comparison
from assistant.evals.report import PlannerRun, RunReport
from assistant.evals.results import CaseResult
from assistant.evals.tables import Grid, changed_cases_grid, compare_grids, counts_line, gates_grid, planner_grids, run_grids

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1b1b;max-width:1400px}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ccc;padding:.3rem .5rem;vertical-align:top}
th{background:#f2f2f2;text-align:left}td.num{text-align:right;white-space:nowrap}caption{text-align:left;font-weight:600;padding:.3rem 0}
.pass,.fixed{color:#0a6b2d;font-weight:600}.fail,.broken{color:#b00020;font-weight:600}.changed{color:#8a5a00;font-weight:600}.muted{color:#666}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5rem;margin:.3rem 0;max-height:30rem;overflow:auto}
details.case{border:1px solid #ddd;border-left:6px solid #0a6b2d;margin:.5rem 0;padding:.3rem .6rem}
details.case.failed{border-left-color:#b00020}summary{cursor:pointer}.turn{border-top:1px dashed #ccc;margin-top:.5rem;padding-top:.3rem}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}
"""
_STATE_CLASS = {"pass": "pass", "FAIL": "fail", "fixed": "fixed", "broken": "broken", "changed answer": "changed"}


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(head: list[str], rows: list[list[str]], raw: bool = False) -> str:
    """An HTML table; cells are escaped unless raw (already escaped HTML)."""
    cells = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{c if raw else _e(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{cells}</tr>{body}</table>"


def _cell(text: str, align: str, link: bool) -> str:
    inner = _e(text)
    if text in _STATE_CLASS:
        inner = f"<span class='{_STATE_CLASS[text]}'>{inner}</span>"
    elif link:
        inner = f"<a href='#case-{_e(text)}'>{inner}</a>"
    return f"<td class='num'>{inner}</td>" if align == "r" else f"<td>{inner}</td>"


def grid_html(grid: Grid, *, link_first: bool = False) -> str:
    """A Grid as an HTML table; with link_first, the first column's case ids link to the case below."""
    head = "".join(f"<th>{_e(h)}</th>" for h in grid.headers)
    body = []
    for n, row in enumerate(grid.rows):
        cells = "".join(_cell(str(c), a, link_first and i == 0) for i, (c, a) in enumerate(zip(row, grid.alignment())))
        bold = " style='font-weight:600'" if grid.bold_last and n == len(grid.rows) - 1 else ""
        body.append(f"<tr{bold}>{cells}</tr>")
    caption = f"<caption>{_e(grid.title)}</caption>" if grid.title else ""
    return f"<table>{caption}<tr>{head}</tr>{''.join(body)}</table>"


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


def _change_html(diff: Any) -> str:
    """Against the base run: the verdict, what changed, the figures, the base answer next to this one."""
    if diff is None or diff.verdict == "same":
        return ""
    parts = [f"<p><b>Since the base run</b> <span class='{_STATE_CLASS.get(diff.verdict, 'muted')}'>{_e(diff.verdict)}</span>"]
    parts.append((": " + _e("; ".join(diff.changes))) if diff.changes else "")
    parts.append("</p>")
    for label, items in (("Failing now", diff.now_failing), ("Passing now", diff.now_passing)):
        if items:
            parts.append(f"<p>{label}</p><ul>" + "".join(f"<li>{_e(x)}</li>" for x in items) + "</ul>")
    if diff.figures:
        parts.append(_table(["figure", "old", "new"], [[f.figure, f.old or "—", f.new or "—"] for f in diff.figures]))
    if diff.old_answer is not None and diff.old_answer != diff.new_answer:
        parts.append(f"<div class='sides'><div><p>Base answer</p><pre>{_e(diff.old_answer)}</pre></div>"
                     f"<div><p>This answer</p><pre>{_e(diff.new_answer)}</pre></div></div>")  # fmt: skip
    return "".join(parts)


def _turn_html(n: int, turn: Any, base: Any | None, diff: Any | None) -> str:
    a = turn.answer
    question = turn.question if len(turn.question) <= 1500 else turn.question[:1500] + f"… ({len(turn.question)} characters)"
    parts = [
        f"<div class='turn'><h4>Turn {n} <span class='{'pass' if turn.passed else 'fail'}'>{'pass' if turn.passed else 'FAIL'}</span>"
        f" <span class='muted'>{turn.seconds:.2f}s</span></h4>",
        f"<p><b>Question</b></p><pre>{_e(question)}</pre>",
        f"<p><b>Status</b> {_e(a.get('status'))} · <b>intent</b> {_e(a.get('intent'))} · <b>planner</b> {_e(a.get('planner'))}"
        + (f" · <b>raised</b> {_e(turn.raised)}" if turn.raised else "") + "</p>",
        _change_html(diff),
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


def _case_html(case: CaseResult, diff: CaseDiff | None = None) -> str:
    state = "pass" if case.passed else "FAIL"
    since = ""
    if diff is not None and diff.verdict != "same":
        since = f" <span class='{_STATE_CLASS.get(diff.verdict, 'muted')}'>{_e(diff.verdict)}</span>"
    head = (
        f"<summary><span class='{state.lower()}'>{state}</span>{since} <b>{_e(case.id)}</b> "
        f"<span class='muted'>[{_e(case.category)} · {_e(case.style)}] {_e(case.file)}</span></summary>"
    )
    desc = f"<p>{_e(case.description)}</p>" if case.description else ""
    turn_diffs = {t.turn: t for t in diff.turns} if diff else {}
    baseline = case.baseline or [None] * len(case.turns)
    turns = "".join(_turn_html(n, t, baseline[n - 1], turn_diffs.get(n)) for n, t in enumerate(case.turns, 1))
    opened = " open" if not case.passed or (diff is not None and diff.verdict != "same") else ""
    return f"<details class='case{'' if case.passed else ' failed'}' id='case-{_e(case.id)}'{opened}>{head}{desc}{turns}</details>"


def _head(title: str) -> list[str]:
    return ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{_e(title)}</h1>"]  # fmt: skip


def _compare_html(diff: Comparison) -> list[str]:
    parts = ["<h2>What changed since the base run</h2>", f"<p>{_e(counts_line(diff))}</p>"]
    for grid in compare_grids(diff, full=True):
        parts.append(grid_html(grid, link_first=grid.headers[0] == "Case"))
    return parts


def render_html(report: RunReport) -> str:
    """A self-contained page: what changed, summary, styles, baseline, gates, failures, then every case in detail."""
    verdict = "PASS" if report.passed else "FAIL"
    parts = _head(f"Eval report — {report.suite}")
    data = "".join(f" · <b>{_e(k)}</b> {_e(v)}" for k, v in report.data.items())
    planner = report.planner + (f" ({report.planner_model})" if report.planner_model else "")
    parts.append(
        f"<p>Started {_e(report.started)} · {report.overall.cases} cases · {report.seconds:.1f}s · planner {_e(planner)}{data}"
        f" · result <span class='{verdict.lower()}'>{verdict}</span></p>"
    )
    if report.compare:
        parts += _compare_html(report.compare)
    grids = run_grids(report)
    parts += ["<h2>Summary by category</h2>", grid_html(grids[0]), "<h2>By phrasing style</h2>", grid_html(grids[1])]
    if len(grids) > 2:
        parts += ["<h2>Baseline: what the tools add</h2>",
                  "<p class='muted'>The same questions answered by the top retrieved passage, scored on the checks it can meet.</p>",
                  grid_html(grids[2])]  # fmt: skip
    if report.gates:
        parts += ["<h2>Thresholds</h2>", grid_html(gates_grid(report))]
    failed = [c for c in report.cases if not c.passed]
    parts.append(f"<h2>Failing cases ({len(failed)})</h2>")
    if failed:
        parts.append("<ul>" + "".join(
            f"<li><a href='#case-{_e(c.id)}'>{_e(c.id)}</a> [{_e(c.category)}]: {_e('; '.join(c.failures()[:3]))}</li>" for c in failed
        ) + "</ul>")
    diffs = {d.id: d for d in report.compare.cases} if report.compare else {}
    parts.append(f"<h2>All cases ({len(report.cases)})</h2>")
    parts += [_case_html(c, diffs.get(c.id)) for c in report.cases]
    parts.append("</body></html>")
    return "\n".join(parts)


def render_planners_html(run: PlannerRun) -> str:
    """Planners side by side: metrics per category and style, and the cases where their answers differ."""
    a, b = run.planners[0], run.planners[1]
    parts = _head(f"Eval planners side by side — {run.suite}")
    files = " · ".join(f"<b>{_e(n)}</b> {_e(f)}" for n, f in run.files.items())
    parts.append(f"<p>Started {_e(run.started)} · full reports: {files}</p>")
    parts += [grid_html(g) for g in planner_grids(run.runs)]
    parts.append(f"<h2>Where {_e(b)} differs from {_e(a)}</h2>")
    parts.append(f"<p class='muted'>fixed = only {_e(b)} passes · broken = only {_e(a)} passes</p>")
    parts.append(grid_html(changed_cases_grid(run.versus, title="")))
    parts.append("</body></html>")
    return "\n".join(parts)
