"""Command line: thin wrappers over the same functions the agent and tests call."""

from __future__ import annotations

import json
import re
import sys

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assistant.errors import AssistantError, IndexBusyError, InputError
from assistant.jsonlines import one_line
from assistant.settings import configure_offline

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Kadcyla (J9354) prior-authorization, dosing and billing assistant.")
out = Console()
err = Console(stderr=True)


def fail(message: str, code: int = 2) -> None:
    """One clear line on stderr, non-zero exit, no traceback."""
    err.print(f"[red]Error:[/red] {escape(' '.join(str(message).split()))}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _text(value: str | None) -> str | None:
    """An argument as valid text: bytes the OS could not decode (lone surrogates) become U+FFFD."""
    return None if value is None else re.sub("[\ud800-\udfff]", "\ufffd", value)


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
            from assistant.corpus import get_corpus
            from assistant.embedder import export_for_questions
            from assistant.passages import save_vectors
            from assistant.retrieval import all_chunks, index_texts

            bar.update(task, description="Exporting the model for questions", completed=0, total=None)
            texts = index_texts(get_corpus(), all_chunks(get_corpus()))
            check = export_for_questions(texts[:: max(1, len(texts) // 256)])  # spread over every document
            if not check["verified"]:
                err.print(f"[yellow]The ONNX export differed from sentence-transformers by {check['max_abs_diff']:.1e}; "
                          "questions use sentence-transformers (slower start, same answers).[/yellow]")

            bar.update(task, description="Embedding sentences for quoting", completed=0, total=None)
            save_vectors(all_chunks(get_corpus()), progress=progress)
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
        hits = get_retriever(say=lambda m: err.print(m)).search(_text(query), k=k)
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


@app.command()
def ask(
    question: str = typer.Argument(None, help="The question (omit with --jsonl)."),
    session: str = typer.Option(None, "--session", help="Conversation id: the same id continues a conversation."),
    as_json: bool = typer.Option(False, "--json", help="Print the answer JSON."),
    jsonl: bool = typer.Option(False, "--jsonl", help='Read {"id", "question", "session"?} lines on stdin; write answer lines.'),
) -> None:
    """Ask the assistant; answers cite their sources and figures come from the tools."""
    from assistant.agent import ask as ask_fn
    from assistant.session import SessionStore

    store = SessionStore(persist=True)
    if jsonl:
        _ask_jsonl(ask_fn, SessionStore())
        return
    if question is None:
        fail("Give a question, or --jsonl to read questions from stdin.")
    answer = ask_fn(_text(question), _text(session), store=store)
    if as_json:
        print(answer.model_dump_json(indent=2))
    elif answer.status != "error":
        _print_answer(answer)
    if answer.status == "error":
        fail(answer.answer)


def _ask_jsonl(ask_fn, store) -> None:
    for number, line in enumerate(sys.stdin, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("question"), str):
                raise ValueError("each line needs a JSON object with a 'question' string")
            if not isinstance(item.get("session"), (str, type(None))):
                raise ValueError("'session' must be a string")
        except (ValueError, RecursionError) as exc:
            print(one_line(json.dumps({"id": None, "line": number, "status": "error", "answer": f"line {number}: {exc}"})), flush=True)
            continue
        answer = ask_fn(_text(item["question"]), _text(item.get("session")), store=store)
        answer.id = None if item.get("id") is None else str(item["id"])
        print(one_line(answer.model_dump_json()), flush=True)


def _print_answer(answer) -> None:
    style = {"answered": "green", "needs_info": "yellow", "out_of_scope": "blue", "error": "red"}[answer.status]
    out.print(f"[{style}]{answer.status}[/{style}]")
    out.print(answer.answer, highlight=False, markup=False)
    for warning in answer.warnings:
        out.print(f"[yellow]Warning:[/yellow] {escape(warning)}", highlight=False)
    for c in answer.citations:
        out.print(f"[{c.marker}] {c.doc_title} — {c.section} ({c.date or 'undated'}; {c.review_status})", highlight=False, markup=False)
        out.print(f"    “{c.quote}”", highlight=False, markup=False)


def _register_tools() -> None:
    import importlib

    for name in ("cli_dose", "cli_policy", "cli_claim", "cli_codes", "cli_narrative", "cli_eval", "cli_audit"):
        try:
            module = importlib.import_module(f"assistant.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"assistant.{name}":
                raise
            continue  # that command group is not part of this build
        module.register(app)


def main() -> None:
    configure_offline()
    _register_tools()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except InputError as exc:
        err.print(f"Error: {exc}")
        sys.exit(2)
