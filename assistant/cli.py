"""Command line: thin wrappers over the same functions the agent and tests call."""

from __future__ import annotations

import errno
import json
import re
import sys

import pydantic
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assistant.errors import AssistantError, IndexBusyError, InputError
from assistant.jsonlines import one_line
from assistant.services import ServiceUnavailable
from assistant.settings import configure_offline, get_settings

try:  # typer carries its own copy of click; its usage errors are those classes, not click's
    from typer._click import exceptions as click_errors
except ImportError:  # pragma: no cover - an older typer on plain click
    from click import exceptions as click_errors

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
    try:
        answer = ask_fn(_text(question), _text(session), store=store)
    except ServiceUnavailable as exc:  # the shared session store is down
        fail(str(exc))
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
        try:
            answer = ask_fn(_text(item["question"]), _text(item.get("session")), store=store)
        except ServiceUnavailable as exc:  # the shared session store is down: this line fails, the next may not
            print(one_line(json.dumps({"id": item.get("id"), "line": number, "status": "error", "answer": str(exc)})), flush=True)
            continue
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
    """The `assistant` command: every refusal is one line on stderr and exit 2, never a traceback or a box."""
    from assistant.private_files import owner_only

    owner_only()  # every file this process writes (audit, sessions, index, exports, reports) is 0600, folders 0700
    configure_offline()
    _register_tools()
    try:
        get_settings()  # a bad setting is one line now, not a logged traceback inside whichever command reads it first
        code = app(standalone_mode=False, prog_name="assistant")
    except (KeyboardInterrupt, typer.Abort):
        sys.exit(130)
    except click_errors.NoArgsIsHelpError as exc:  # a bare group: its help, as before
        print(exc.ctx.get_help() if exc.ctx else exc.format_message())
        sys.exit(2)
    except click_errors.UsageError as exc:  # "No such option: --bogus" in one line, not a five-line box
        where = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        _one_line(f"{exc.format_message()}{where}", exc.exit_code)
    except click_errors.ClickException as exc:
        _one_line(exc.format_message(), exc.exit_code)
    except (InputError, ServiceUnavailable) as exc:
        _one_line(str(exc))
    except pydantic.ValidationError as exc:
        if exc.title != "Settings":
            raise
        _one_line(_bad_setting(exc))
    except OSError as exc:  # a full disk or a read-only data folder is the user's to fix, not a crash
        if exc.errno not in _WRITE_ERRORS:
            raise
        where = f" {exc.filename}" if exc.filename else ""
        _one_line(f"Cannot write{where}: {exc.strerror or exc}. Free some space or choose another ASSISTANT_DATA_DIR.")
    sys.exit(code if isinstance(code, int) else 0)


_WRITE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EFBIG}


def _one_line(message: str, code: int = 2) -> None:
    err.print(f"Error: {escape(' '.join(str(message).split()))}", highlight=False, soft_wrap=True)
    sys.exit(code)


def _bad_setting(exc: pydantic.ValidationError) -> str:
    """'CHROMA_PORT='abc' is not valid: ...' for each bad environment variable, named as the user set it."""
    from assistant.settings import Settings

    parts = []
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else ""
        info = Settings.model_fields.get(field)
        names = re.findall(r"\(([A-Z][A-Z0-9_]+)\)", (info.description or "") if info else "")
        name = names[-1] if names else field
        reason = str(e.get("ctx", {}).get("error") or e["msg"]).removeprefix("Value error, ")
        parts.append(f"{name}={e.get('input')!r} is not valid: {reason}")
    return "Bad setting: " + "; ".join(parts) + "."
