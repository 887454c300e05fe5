"""`assistant eval`: run the eval suite in one process; tables, HTML, JSON and JUnit reports; a comparison
with an earlier run; planners side by side; runs against a changed corpus or price file; gated exit code."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.text import Text

from assistant.settings import PROJECT_ROOT

DEFAULT_SUITE = PROJECT_ROOT / "evals" / "suite.yaml"
DEFAULT_REPORT = Path("artifacts") / "eval" / "report.html"
CHANGED_REPORT = Path("artifacts") / "eval" / "changed.html"  # a what-if run must not replace the last real run
PLANNERS = ("deterministic", "llm")


def register(app: typer.Typer) -> None:
    """Add the `eval` command to the CLI."""

    @app.command("eval")
    def eval_command(
        suite: Path = typer.Option(DEFAULT_SUITE, "--suite", help="Suite file: case globs and thresholds."),
        report: Path | None = typer.Option(None, "--report", help=f"HTML report to write (JSON goes next to it); default {DEFAULT_REPORT}, or {CHANGED_REPORT} with --corpus/--prices."),
        as_json: bool = typer.Option(False, "--json", help="Print the full JSON result on stdout."),
        baseline: bool = typer.Option(True, "--baseline/--no-baseline", help="Also score plain retrieval (top chunk)."),
        case: list[str] = typer.Option([], "--case", help="Only cases whose id contains this (repeatable)."),
        category: list[str] = typer.Option([], "--category", help="Only this category (repeatable)."),
        style: list[str] = typer.Option([], "--style", help="Only this phrasing style (repeatable): textbook, staff, note, followup, adversarial."),
        validate: bool = typer.Option(False, "--validate", help="Check the suite and case files, run nothing."),
        compare: Path | None = typer.Option(None, "--compare", help="An earlier run's JSON: report fixed / broken / changed cases; exit 1 on any broken."),
        junit: Path | None = typer.Option(None, "--junit", help="Also write JUnit XML here (one testcase per case and turn)."),
        planners: str | None = typer.Option(None, "--planners", help="deterministic,llm: run each planner on the same cases, side by side (llm needs ASSISTANT_LLM)."),
        corpus: Path | None = typer.Option(None, "--corpus", help="Run against this corpus folder (with manifest.yaml), indexed in a temporary data folder."),
        prices: Path | None = typer.Option(None, "--prices", help="Run with this CMS ASP price file imported into a temporary data folder."),
        quarter: str | None = typer.Option(None, "--quarter", help="The price file's quarter (e.g. 2026Q3) if its title rows lack it."),
    ) -> None:  # fmt: skip
        """Run every eval case against the assistant; exit 1 if a threshold is not met or a case broke since --compare."""
        from assistant.errors import AssistantError
        from assistant.evals import EvalConfigError, load_cases, load_run, load_suite, select

        out = Console(stderr=as_json)
        err = Console(stderr=True)
        try:
            spec = load_suite(suite)
            _styles(style)
            cases = select(load_cases(spec.case_files()), case, category, style)
            chosen = _planners(planners)
            if quarter and not prices:
                raise EvalConfigError("--quarter goes with --prices FILE")
            base = load_run(compare) if compare and not validate else None
        except EvalConfigError as exc:
            _error(err, str(exc))
            raise typer.Exit(2) from None
        except ValueError as exc:  # the YAML reader's own, e.g. an impossible date such as 0000-00-00
            _error(err, f"{suite}: cannot read: {exc}")
            raise typer.Exit(2) from None
        except RecursionError:
            _error(err, f"{suite}: nested too deeply to read")
            raise typer.Exit(2) from None
        if validate:
            out.print(f"{len(cases)} cases OK in {len(spec.case_files())} files.")
            return
        if not cases:
            _error(err, "no case matches --case/--category/--style.")
            raise typer.Exit(2)
        try:
            from assistant.agent import ask
        except ImportError as exc:
            _error(err, f"the agent is not available (assistant.agent.ask): {exc}")
            raise typer.Exit(2) from None
        report = report or (CHANGED_REPORT if corpus or prices else DEFAULT_REPORT)
        subset = bool(case or category or style)
        try:
            runs = _run_all(spec, cases, ask, chosen, base=base, base_file=str(compare or ""), subset=subset,
                            baseline=baseline, corpus=corpus, prices=prices, quarter=quarter, err=err)  # fmt: skip
        except AssistantError as exc:
            _error(err, str(exc))
            raise typer.Exit(2) from None
        passed = _write_and_print(runs, report, junit, out, as_json)
        if not passed:
            raise typer.Exit(1)


def _styles(names: list[str]) -> None:
    from assistant.evals import EvalConfigError
    from assistant.evals.spec import STYLES, one_of

    for name in names:
        try:
            one_of(name, STYLES, "style")
        except ValueError as exc:
            raise EvalConfigError(f"--style: {exc}") from None


def _planners(value: str | None) -> list[str | None]:
    """The planners to run; [None] = whatever the settings choose (the usual single run)."""
    from assistant.evals import EvalConfigError
    from assistant.evals.spec import suggest
    from assistant.settings import get_settings

    if value is None:
        return [None]
    names = list(dict.fromkeys(p.strip() for p in value.split(",") if p.strip()))
    for name in names:
        if name not in PLANNERS:
            raise EvalConfigError(f"--planners: unknown planner {name!r}{suggest(name, PLANNERS)}; planners: {', '.join(PLANNERS)}")
    if not names:
        raise EvalConfigError(f"--planners: name one or two of {', '.join(PLANNERS)}, e.g. --planners deterministic,llm")
    if "llm" in names and not get_settings().llm:
        raise EvalConfigError("--planners llm needs ASSISTANT_LLM set to the model to try, e.g. ASSISTANT_LLM=openai:gpt-4o-mini")
    return names


def _error(err: Console, message: str) -> None:
    """One red 'Error:' line; the message is printed as written (file names, [brackets] and all)."""
    err.print(Text("Error: ", style="red") + Text(message), soft_wrap=True)


def _run_all(spec, cases, ask, planners, *, base, base_file, subset, baseline, corpus, prices, quarter, err) -> dict:
    """Each planner's run, inside the changed data folder when --corpus/--prices ask for one."""
    from contextlib import nullcontext

    from assistant.evals.sandbox import changed_data, planner_env, scoped_env
    from assistant.settings import get_settings

    say = lambda m: err.print(m, markup=False, highlight=False)  # noqa: E731
    runs = {}
    with changed_data(corpus, prices, quarter=quarter, say=say) if corpus or prices else nullcontext({}) as data:
        retrieve = _retriever(say) if baseline else None
        for planner in planners:
            with scoped_env(**planner_env(planner)) if planner else nullcontext():
                llm = get_settings().llm
                name = planner or ("llm" if llm else "deterministic")
                runs[name] = _run(spec, cases, ask, retrieve, err, name, planner=name, planner_model=llm or "",
                                  data=data, base=base, base_file=base_file, subset=subset)  # fmt: skip
    return runs


def _retriever(say):
    from assistant.retrieval import get_retriever

    retriever = get_retriever(say=say)
    retriever.search("Kadcyla dose", k=1)  # warm the model so the first case's latency is not the load time
    return lambda question: retriever.search(question, k=1)


def _run(spec, cases, ask, retrieve, err: Console, label: str, **report):
    """Run with a progress bar on stderr."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from assistant.evals import run_suite

    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.fields[last]}")]
    with Progress(*columns, console=err, transient=True) as bar:
        task = bar.add_task(f"Evaluating ({label})", total=len(cases), last="")
        failed = 0

        def on_case(result) -> None:
            nonlocal failed
            failed += not result.passed
            bar.update(task, advance=1, last=f"{result.id} {'ok' if result.passed else 'FAIL'} · {failed} failing")

        return run_suite(spec, ask, cases=cases, retrieve=retrieve, on_case=on_case, **report)


def _write_and_print(runs: dict, report: Path, junit: Path | None, out: Console, as_json: bool) -> bool:
    """Write the HTML + JSON (+ JUnit) files, print the tables; True when every run passed."""
    from assistant.evals import render_html, render_planners_html, side_by_side, to_json, to_junit

    report.parent.mkdir(parents=True, exist_ok=True)
    if len(runs) == 1:
        (result,) = runs.values()
        report.write_text(render_html(result), encoding="utf-8")
        report.with_suffix(".json").write_text(to_json(result), encoding="utf-8")
        print_summary(out, result)
        printed = to_json(result)
    else:
        files = {}
        for name, run in runs.items():
            path = report.with_suffix(f".{name}.html")
            path.write_text(render_html(run), encoding="utf-8")
            path.with_suffix(".json").write_text(to_json(run), encoding="utf-8")
            files[name] = str(path.with_suffix(".json"))
        both = side_by_side(runs, files)
        report.write_text(render_planners_html(both), encoding="utf-8")
        report.with_suffix(".json").write_text(to_json(both), encoding="utf-8")
        print_planners(out, both, runs)
        printed = to_json(both)
    if junit:
        junit.parent.mkdir(parents=True, exist_ok=True)
        junit.write_text(to_junit(list(runs.values())), encoding="utf-8")
    out.print(Text(f"Report: {report} (JSON: {report.with_suffix('.json')})" + (f"; JUnit: {junit}" if junit else "")), soft_wrap=True)
    if as_json:
        print(printed)
    return all(r.passed for r in runs.values())


def print_summary(console: Console, report, *, max_failures: int = 60) -> None:
    """The tables per category and style, the baseline, what changed since the base run, the gates, the failures."""
    from assistant.evals.tables import compare_grids, counts_line, emit, run_grids

    for key, value in report.data.items():
        console.print(Text(f"Changed {key}: {value}"), soft_wrap=True)
    for grid in run_grids(report):
        emit(console, grid)
    if report.compare:
        console.print(Text(counts_line(report.compare)), soft_wrap=True)
        for grid in compare_grids(report.compare):
            emit(console, grid)
    _gates_and_result(console, report, max_failures, label="" if report.planner == "deterministic" else report.planner)


def _gates_and_result(console: Console, report, max_failures: int, label: str = "") -> None:
    """The gates, the failing cases, and one Result line saying why the run failed."""
    from assistant.evals.tables import emit, gates_grid

    suffix = f" ({label})" if label else ""
    if report.gates:
        emit(console, gates_grid(report))
    failed = [r for r in report.cases if not r.passed]
    if failed:
        console.print(Text(f"{len(failed)} failing case(s){suffix}:", style="red"))
        for r in failed[:max_failures]:
            problems = r.failures()
            more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
            console.print(Text(f"  {r.id} [{r.category}] {problems[0]}{more}"), soft_wrap=True)
        if len(failed) > max_failures:
            console.print(f"  … {len(failed) - max_failures} more cases in the report")
    why = []
    if any(not g.passed and g.metric != "broken_cases" for g in report.gates):
        why.append("below the suite thresholds")
    if report.compare and report.compare.broken:
        why.append(f"{report.compare.broken} case(s) broken since {report.compare.base}")
    verdict = Text("PASS", style="green") if report.passed else Text(f"FAIL: {'; '.join(why)}", style="red")
    console.print(Text(f"Result{suffix}: ") + verdict, soft_wrap=True)


def print_planners(console: Console, both, runs: dict) -> None:
    """Planners side by side, the cases where the second differs from the first, each planner's gates."""
    from assistant.evals.tables import changed_cases_grid, counts_line, counts_text, emit, planner_grids

    a, b = both.planners[:2]
    for grid in planner_grids(both.runs):
        emit(console, grid)
    console.print(Text(f"{b} against {a}: {counts_text(both.versus)} (fixed = only {b} passes, broken = only {a} passes)"), soft_wrap=True)
    if both.versus.changed():
        emit(console, changed_cases_grid(both.versus, title=f"Where {b} differs from {a}"))
    for run in runs.values():
        if run.compare:
            console.print(Text(f"{run.planner}: " + counts_line(run.compare)), soft_wrap=True)
        _gates_and_result(console, run, max_failures=20, label=run.planner)
