"""`assistant eval`: run the eval suite in one process; summary table, HTML and JSON reports, gated exit code."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from assistant.evals.report import METRIC_NAMES, Metrics, RunReport, pct, secs
from assistant.settings import PROJECT_ROOT

DEFAULT_SUITE = PROJECT_ROOT / "evals" / "suite.yaml"
DEFAULT_REPORT = Path("artifacts") / "eval" / "report.html"


def register(app: typer.Typer) -> None:
    """Add the `eval` command to the CLI."""

    @app.command("eval")
    def eval_command(
        suite: Path = typer.Option(DEFAULT_SUITE, "--suite", help="Suite file: case globs and thresholds."),
        report: Path = typer.Option(DEFAULT_REPORT, "--report", help="HTML report to write (JSON goes next to it)."),
        as_json: bool = typer.Option(False, "--json", help="Print the full JSON result on stdout."),
        baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also score plain retrieval (top chunk)."),
        case: list[str] = typer.Option([], "--case", help="Only cases whose id contains this (repeatable)."),
        category: list[str] = typer.Option([], "--category", help="Only this category (repeatable)."),
        validate: bool = typer.Option(False, "--validate", help="Check the suite and case files, run nothing."),
    ) -> None:
        """Run every eval case against the assistant; exit 1 if the suite's thresholds are not met."""
        from assistant.errors import AssistantError
        from assistant.evals import EvalConfigError, load_cases, load_suite, render_html, select, to_json

        out = Console(stderr=as_json)
        err = Console(stderr=True)
        try:
            spec = load_suite(suite)
            cases = select(load_cases(spec.case_files()), case, category)
        except EvalConfigError as exc:
            _error(err, str(exc))
            raise typer.Exit(2) from None
        except RecursionError:
            _error(err, f"{suite}: nested too deeply to read")
            raise typer.Exit(2) from None
        except ValueError as exc:  # the YAML reader's own, e.g. an impossible date such as 0000-00-00
            _error(err, f"{suite}: cannot read: {exc}")
            raise typer.Exit(2) from None
        if validate:
            out.print(f"{len(cases)} cases OK in {len(spec.case_files())} files.")
            return
        if not cases:
            _error(err, "no case matches --case/--category.")
            raise typer.Exit(2)
        try:
            from assistant.agent import ask
        except ImportError as exc:
            _error(err, f"the agent is not available (assistant.agent.ask): {exc}")
            raise typer.Exit(2) from None
        retrieve = None
        if baseline:
            from assistant.retrieval import get_retriever

            try:
                retriever = get_retriever(say=lambda m: err.print(m, markup=False, highlight=False))
            except AssistantError as exc:
                _error(err, f"retrieval baseline unavailable: {exc}")
                raise typer.Exit(2) from None
            retriever.search("Kadcyla dose", k=1)  # warm the model so the first case's latency is not the load time

            def retrieve(question: str) -> list:
                return retriever.search(question, k=1)

        result = _run(spec, cases, ask, retrieve, err)
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_html(result), encoding="utf-8")
        report.with_suffix(".json").write_text(to_json(result), encoding="utf-8")
        print_summary(out, result)
        out.print(f"Report: {report} (JSON: {report.with_suffix('.json')})", highlight=False)
        if as_json:
            print(to_json(result))
        if not result.passed:
            raise typer.Exit(1)


def _error(err: Console, message: str) -> None:
    """One red 'Error:' line; the message is printed as written (file names, [brackets] and all)."""
    err.print(Text("Error: ", style="red") + Text(message), soft_wrap=True)


def _run(spec, cases, ask, retrieve, err: Console):
    """Run with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.evals import run_suite

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[last]}")]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task("Evaluating", total=len(cases), last="")
        failed = 0

        def on_case(result) -> None:
            nonlocal failed
            failed += not result.passed
            bar.update(task, advance=1, last=f"{result.id} {'ok' if result.passed else 'FAIL'} · {failed} failing")

        return run_suite(spec, ask, cases=cases, retrieve=retrieve, on_case=on_case)


def _metric_row(name: str, m: Metrics) -> list[str]:
    return [name, str(m.cases), *(pct(getattr(m, k)) for k in METRIC_NAMES), secs(m.latency_p50_s), secs(m.latency_p95_s)]


def print_summary(console: Console, report: RunReport, *, max_failures: int = 60) -> None:
    """The per-category table, the baseline comparison, the gates and the failing cases."""
    table = Table(title=f"Eval: {report.suite} — {report.overall.cases} cases in {report.seconds:.1f}s")
    for col in ["Category", "Cases", *METRIC_NAMES.values(), "p50", "p95"]:
        table.add_column(col, justify="left" if col == "Category" else "right")
    for name, m in report.categories.items():
        table.add_row(*_metric_row(name, m))
    table.add_row(*_metric_row("overall", report.overall), style="bold")
    console.print(table)
    if report.baseline:
        base = Table(title="What the tools add: the same checks on plain retrieval (top chunk, no tools)")
        for col in ["Answered by", "Figures written", "Must-contain", "Citation recall", "Pass (these checks)"]:
            base.add_column(col, justify="left" if col == "Answered by" else "right")
        for who, label in (("agent", "assistant (tools)"), ("baseline", "retrieval baseline")):
            b = report.baseline[who]
            base.add_row(label, pct(b.figures_in_text), pct(b.must_contain), pct(b.citation_recall), pct(b.pass_rate))
        console.print(base)
    if report.gates:
        gate_table = Table(title="Thresholds (evals/suite.yaml)")
        for col in ["Metric", "Value", "Threshold", "Result"]:
            gate_table.add_column(col)
        for g in report.gates:
            value = secs(g.value) if g.metric == "latency_p95_s" else ("—" if g.value is None else f"{100 * g.value:.1f}%")
            limit = f"≤ {g.threshold:g}s" if g.metric == "latency_p95_s" else f"≥ {100 * g.threshold:g}%"
            gate_table.add_row(g.metric, value, limit, "[green]pass[/green]" if g.passed else "[red]FAIL[/red]")
        console.print(gate_table)
    failed = [r for r in report.cases if not r.passed]
    if failed:
        console.print(f"[red]{len(failed)} failing case(s):[/red]")
        for r in failed[:max_failures]:
            problems = r.failures()
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            console.print(f"  {r.id} [{r.category}] {problems[0]}{more}", markup=False, highlight=False, soft_wrap=True)
        if len(failed) > max_failures:
            console.print(f"  … {len(failed) - max_failures} more cases in the report")
    verdict = "[green]PASS[/green]" if report.passed else "[red]FAIL: below the suite thresholds[/red]"
    console.print(f"Result: {verdict}")
