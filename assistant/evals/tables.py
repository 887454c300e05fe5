"""The report's tables as plain data (Grid), written once and shown three ways: a rich table in a
terminal, plain aligned text in a log or CI console, and HTML. No cell is ever cut short."""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from assistant.evals.compare import DELTA_METRICS, Comparison, delta_text
from assistant.evals.report import RunReport
from assistant.evals.summary import METRIC_NAMES, Metrics, gate_cells, pct, secs

# Words that carry a state get a colour in a terminal; in a log they read as they are.
STATE_STYLES = {"pass": "green", "FAIL": "red", "fixed": "green", "broken": "red", "changed answer": "yellow"}
_DELTA_HEADS = {"cases": "Cases", **METRIC_NAMES, "over_refusals": "Over-refusals", "latency_p50_s": "p50", "latency_p95_s": "p95"}


@dataclass
class Grid:
    """A titled table of text cells; `align` has one letter per column, 'l' or 'r' (default: first left)."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    align: str = ""
    bold_last: bool = False

    def alignment(self) -> str:
        return self.align or "l" + "r" * (len(self.headers) - 1)


def _one_line(cell: str) -> str:
    return " ".join(str(cell).split())


def plain(grid: Grid) -> str:
    """Columns as wide as their widest cell, two spaces apart, a dashed rule under the header."""
    rows = [[_one_line(c) for c in row] for row in [grid.headers, *grid.rows]]
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(grid.headers))]
    lines = [grid.title] if grid.title else []
    for n, row in enumerate(rows):
        cells = [c.rjust(w + len(c) - cell_len(c)) if a == "r" else c.ljust(w + len(c) - cell_len(c))
                 for c, w, a in zip(row, widths, grid.alignment())]  # fmt: skip
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def rich_table(grid: Grid) -> Table:
    """For a terminal: cells that do not fit fold onto the next line instead of ending in '…'."""
    table = Table(title=grid.title or None)
    for head, a in zip(grid.headers, grid.alignment()):
        table.add_column(head, justify="right" if a == "r" else "left", overflow="fold")
    for n, row in enumerate(grid.rows):
        cells = [Text(str(c), style=STATE_STYLES.get(str(c), "")) for c in row]
        table.add_row(*cells, style="bold" if grid.bold_last and n == len(grid.rows) - 1 else None)
    return table


def emit(console: Console, grid: Grid) -> None:
    """A rich table in a terminal; plain aligned text otherwise (a log keeps every line whole, however wide)."""
    if console.is_terminal:
        console.print(rich_table(grid))
    else:
        console.print(Text(plain(grid)), soft_wrap=True, crop=False, highlight=False)


# ---------------------------------------------------------------- the grids of a run


def metric_row(name: str, m: Metrics) -> list[str]:
    """One group's row: cases, each rate with its counts, p50 and p95."""
    return [name, str(m.cases), *(pct(getattr(m, k)) for k in METRIC_NAMES), secs(m.latency_p50_s), secs(m.latency_p95_s)]


def metrics_grid(title: str, first: str, groups: dict[str, Metrics], overall: Metrics | None = None) -> Grid:
    """Groups (categories or styles) by every metric, with an overall row when given."""
    rows = [metric_row(n, m) for n, m in groups.items()] + ([metric_row("overall", overall)] if overall else [])
    return Grid(title, [first, "Cases", *METRIC_NAMES.values(), "p50", "p95"], rows, bold_last=overall is not None)


def run_grids(report: RunReport) -> list[Grid]:
    """Per category, per style, and what the tools add over plain retrieval."""
    who = f" ({report.planner})" if report.planner != "deterministic" else ""
    grids = [
        metrics_grid(f"Eval{who}: {report.suite} — {report.overall.cases} cases in {report.seconds:.1f}s", "Category",
                     report.categories, report.overall),
        metrics_grid("By phrasing style (textbook | staff | note | followup | adversarial)", "Style", report.styles),
    ]  # fmt: skip
    if report.baseline:
        rows = [[label, pct(b.figures_in_text), pct(b.must_contain), pct(b.citation_recall), pct(b.pass_rate)]
                for label, b in (("assistant (tools)", report.baseline["agent"]), ("retrieval baseline", report.baseline["baseline"]))]  # fmt: skip
        grids.append(Grid("What the tools add: the same checks on plain retrieval (top chunk, no tools)",
                          ["Answered by", "Figures written", "Must-contain", "Citation recall", "Pass (these checks)"], rows))  # fmt: skip
    return grids


def gates_grid(report: RunReport) -> Grid:
    """Each threshold: its metric, scope, value, limit and pass/FAIL."""
    rows = [[g.metric, g.scope, *gate_cells(g), "pass" if g.passed else "FAIL"] for g in report.gates]
    return Grid(f"Thresholds (suite {report.suite})", ["Metric", "Scope", "Value", "Threshold", "Result"], rows, align="llrrl")


# ---------------------------------------------------------------- the grids of a comparison


def counts_text(diff: Comparison) -> str:
    """'2 broken, 1 fixed, ...' in verdict order."""
    return ", ".join(f"{diff.counts[v]} {v}" for v in diff.counts)


def counts_line(diff: Comparison) -> str:
    """The comparison in one line: against which run, and how many cases got each verdict."""
    against = f"{diff.base}" + (f" (started {diff.base_started})" if diff.base_started else "")
    subset = ", the base cut to this run's cases" if diff.subset else ""
    return f"Compared with {against}{subset}: {counts_text(diff)}"


def changed_cases_grid(diff: Comparison, title: str = "Cases that changed") -> Grid:
    """Every case that is not `same`, with what changed per turn."""
    rows = [[c.id, c.category, c.style, c.verdict, c.summary()] for c in diff.changed()]
    return Grid(title, ["Case", "Category", "Style", "Verdict", "What changed"], rows, align="lllll")


def figures_grid(diff: Comparison) -> Grid:
    """Every tool figure whose value differs, old and new."""
    rows = [[c.id, str(f.turn), f.figure, f.old or "—", f.new or "—"] for c in diff.cases for f in c.figures()]
    return Grid("Figures whose values changed (tool results)", ["Case", "Turn", "Figure", "Old", "New"], rows, align="lrlrr")


def overall_delta_grid(diff: Comparison) -> Grid:
    """Every metric over all cases: base, this run, the change."""
    rows = [[_DELTA_HEADS[k], d.old_text, d.new_text, delta_text(k, d)] for k, d in diff.overall.items()]
    return Grid("Overall, base → this run", ["Metric", "Base", "This run", "Change"], rows)


def delta_grid(title: str, first: str, groups: dict[str, dict], *, full: bool = False) -> Grid:
    """One row per group, one column per metric: the change ('+1.6 pp'), or with full 'old → new (change)'."""
    def cell(k: str, d) -> str:
        if k == "cases":
            return d.new_text if d.old_text == d.new_text else f"{d.old_text} → {d.new_text}"
        return f"{d.old_text} → {d.new_text} ({delta_text(k, d)})" if full else delta_text(k, d)

    rows = [[name, *(cell(k, d[k]) for k in DELTA_METRICS)] for name, d in groups.items()]
    return Grid(title, [first, *(_DELTA_HEADS[k] for k in DELTA_METRICS)], rows)


def compare_grids(diff: Comparison, *, full: bool = False) -> list[Grid]:
    """The comparison's tables, in reading order; `full` puts old → new in the delta cells (HTML)."""
    grids = []
    if diff.changed():
        grids.append(changed_cases_grid(diff))
    if any(c.figures() for c in diff.cases):
        grids.append(figures_grid(diff))
    grids += [
        overall_delta_grid(diff),
        delta_grid("Change per category, every metric (pp = percentage points)", "Category", diff.categories, full=full),
        delta_grid("Change per style, every metric", "Style", diff.styles, full=full),
    ]
    return grids


# ---------------------------------------------------------------- planners side by side


def planner_grids(runs: dict[str, RunReport]) -> list[Grid]:
    """Planners side by side: pass rate per category and per style, every overall metric, who answered."""
    names = list(runs)
    categories = list(dict.fromkeys(c for r in runs.values() for c in r.categories))
    rows = [[c, *(pct(runs[n].categories[c].pass_rate) if c in runs[n].categories else "—" for n in names)] for c in categories]
    rows.append(["overall", *(pct(runs[n].overall.pass_rate) for n in names)])
    by_cat = Grid("Planners side by side: pass rate per category", ["Category", *names], rows, bold_last=True)
    styles = list(dict.fromkeys(s for r in runs.values() for s in r.styles))
    srows = [[s, *(pct(runs[n].styles[s].pass_rate) if s in runs[n].styles else "—" for n in names)] for s in styles]
    by_style = Grid("Planners side by side: pass rate per style", ["Style", *names], srows)
    mrows = [[label, *(pct(getattr(runs[n].overall, k)) for n in names)] for k, label in METRIC_NAMES.items()]
    mrows += [["Over-refusals", *(str(runs[n].overall.over_refusals) for n in names)],
              ["p50", *(secs(runs[n].overall.latency_p50_s) for n in names)],
              ["p95", *(secs(runs[n].overall.latency_p95_s) for n in names)],
              ["Thresholds", *("pass" if runs[n].passed else "FAIL" for n in names)]]  # fmt: skip
    mrows.append(["Answers by", *(", ".join(f"{k} {v}" for k, v in runs[n].answered_by.items()) or "—" for n in names)])
    overall = Grid("Planners side by side: every metric, all cases", ["Metric", *names], mrows)
    return [by_cat, by_style, overall]
