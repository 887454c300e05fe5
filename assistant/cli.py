"""Command line: thin wrappers over the same functions the agent and tests call."""

from __future__ import annotations

import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from assistant.errors import AssistantError, IndexBusyError, InputError
from assistant.settings import configure_offline

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Kadcyla (J9354) prior-authorization, dosing and billing assistant.")
out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """One clear line on stderr, non-zero exit, no traceback."""
    err.print(f"[red]Error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@app.command()
def index(rebuild: bool = typer.Option(False, "--rebuild", help="Rebuild even if the index is current.")) -> None:
    """Build or refresh the search index (no-op when nothing changed)."""
    from rich.progress import Progress

    from assistant.retrieval import ensure_index

    try:
        with Progress(console=err, transient=True) as bar:
            task = bar.add_task("Embedding chunks", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            state = ensure_index(rebuild=rebuild, progress=progress, say=lambda m: err.print(m))
    except IndexBusyError as exc:
        fail(str(exc), code=3)
    except AssistantError as exc:
        fail(str(exc))
    verb = "Built" if state["rebuilt"] else "Index is current:"
    out.print(f"{verb} {state['chunks']} chunks (fingerprint {state['fingerprint'][:12]}).")


@app.command()
def search(
    query: str = typer.Argument(..., help="What to look for."),
    k: int = typer.Option(5, "-k", help="How many passages."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Search the documents; print ranked passages with their source."""
    from assistant.retrieval import get_retriever

    try:
        hits = get_retriever(say=lambda m: err.print(m)).search(query, k=k)
    except AssistantError as exc:
        fail(str(exc))
    if as_json:
        keys = ("doc_id", "doc_title", "section", "heading", "quote", "start", "end", "score")
        print(json.dumps([{k_: getattr(h, k_) for k_ in keys} for h in hits], ensure_ascii=False, indent=2))
        return
    for rank, hit in enumerate(hits, 1):
        out.rule(f"{rank}. {hit.doc_id} — {hit.section}  (score {hit.score:.4f})")
        out.print(f"[dim]{hit.doc_title}, characters {hit.start}–{hit.end}[/dim]")
        out.print(hit.quote, highlight=False, markup=False)


def _register_tools() -> None:
    from assistant import cli_codes, cli_dose, cli_policy

    for module in (cli_dose, cli_policy, cli_codes):
        module.register(app)


def main() -> None:
    configure_offline()
    try:
        _register_tools()
    except ImportError:  # a tool module is missing from this build; its commands are absent
        pass
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except InputError as exc:
        err.print(f"Error: {exc}")
        sys.exit(2)
