"""`assistant audit list|show|export|replay|verify`: read the audit log, replay an answer, check the chain."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3

import typer

from assistant.errors import AssistantError
from assistant.jsonlines import one_line
from assistant.services import AuditUnavailable, ServiceUnavailable


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"Error: {' '.join(message.split())}", err=True)  # one line, whatever the message echoes
    raise typer.Exit(code)


class audited:
    """`with audited(command, tool, inputs) as call: ... call.output = result`: the command's audit entry.

    Recorded on leaving the block, before anything is printed: the output when it succeeded, the error when
    the input was refused. With ASSISTANT_AUDIT_REQUIRED=1 and a log that cannot be written, the command
    stops with one line on stderr (exit 1) and shows nothing.
    """

    def __init__(self, command: str, tool: str, inputs: dict | None = None):
        self.command, self.tool, self.inputs = command, tool, dict(inputs or {})
        self.output = None

    def __enter__(self) -> "audited":
        return self

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None:
            self._record(self.output, "answered")
        elif isinstance(exc, AssistantError) and not isinstance(exc, AuditUnavailable) or (
                isinstance(exc, typer.Exit) and exc.exit_code not in (0, None)):
            why = str(exc) if isinstance(exc, AssistantError) else f"refused (exit {exc.exit_code})"
            try:
                self._record({"error": why}, "error")
            except typer.Exit:
                pass  # the refusal itself is what the user sees
        return False

    def _record(self, output, status: str) -> None:
        from assistant.audit import record_call

        shown = " ".join(f"{k}={v}" for k, v in self.inputs.items() if v not in (None, "", [], {}) and not isinstance(v, dict))
        try:
            record_call(self.command, self.tool, self.inputs, output, status=status,
                        summary=f"assistant {self.command} {shown}".strip())
        except AuditUnavailable as exc:
            _fail(str(exc), 1)


def _reading(what):
    """Run a read of the log: an unreachable database or an unreadable file is one line, never a traceback."""
    try:
        return what()
    except ServiceUnavailable as exc:
        _fail(str(exc), 2)
    except sqlite3.Error as exc:
        _fail(f"cannot read the audit log: {exc}", 1)


def register(app: typer.Typer) -> None:
    """Add the `audit` command group to the app."""
    audit = typer.Typer(no_args_is_help=True, help="The audit log: every answer, its tools, inputs, outputs and sources.")
    app.add_typer(audit, name="audit")

    @audit.command("list")
    def list_(
        limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many entries, newest first."),
        as_json: bool = typer.Option(False, "--json", help="Print a JSON array of entries."),
    ) -> None:
        """The newest answers: id, time, status, intent, planner and the redacted question."""
        from assistant.audit import list_entries

        entries = _reading(lambda: list_entries(limit))
        if as_json:
            typer.echo(json.dumps([e.model_dump(mode="json") for e in entries], ensure_ascii=False, indent=2))
            return
        if not entries:
            typer.echo("The audit log is empty.")
            return
        for e in entries:
            question = " ".join(e.question.split())  # one entry per line, whatever breaks the question held
            question = question if len(question) <= 70 else question[:69] + "…"
            replay = f"  (replay of {e.replay_of})" if e.replay_of else ""
            typer.echo(f"{e.id}  {e.time[:19]}Z  {e.status:<12} {e.intent or '-':<12} {question}{replay}")

    @audit.command("show")
    def show(entry_id: str = typer.Argument(..., metavar="ID", help="An id from `assistant audit list` (or a unique prefix).")) -> None:
        """One entry in full, as JSON."""
        from assistant.audit import get_entry

        entry = _reading(lambda: get_entry(entry_id))
        if entry is None:
            _fail(f"no audit entry {entry_id!r}; `assistant audit list` shows the ids.")
        typer.echo(entry.model_dump_json(indent=2))

    @audit.command("export")
    def export_(since: str = typer.Option(..., "--since", metavar="YYYY-MM-DD", help="First day (UTC) to include.")) -> None:
        """Entries since a date as JSON lines on stdout (oldest first)."""
        from assistant.audit import export

        try:
            day = dt.date.fromisoformat(since)
        except ValueError:
            _fail(f"--since {since!r} is not a date: use YYYY-MM-DD, e.g. 2026-06-01.")
        def lines() -> None:
            for item in export(day):
                typer.echo(one_line(json.dumps(item, ensure_ascii=False)))

        _reading(lines)

    @audit.command("replay")
    def replay_(
        entry_id: str = typer.Argument(..., metavar="ID", help="The entry to re-run."),
        as_json: bool = typer.Option(False, "--json", help="Print the ReplayResult as JSON."),
    ) -> None:
        """Re-run an answer's tool calls and question; exit 0 if all is the same, 1 if anything differs, 2 for a bad id."""
        from assistant.audit_replay import replay

        try:
            result = replay(entry_id)
        except AssistantError as exc:
            _fail(str(exc))
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            typer.echo(f"Replay of {result.id}: {'same' if result.same else 'DIFFERS'}")
            for tool in result.tools:
                mark = "same" if tool.same else "differs at " + ", ".join(tool.differences)
                typer.echo(f"  tool {tool.tool}: {mark}{' (input was redacted)' if tool.input_redacted else ''}")
            typer.echo(f"  status: {result.status_before} → {result.status_after}; "
                       f"answer text {'same' if result.answer_same else 'differs'}")
            for line in result.differences:
                typer.echo(f"  difference: {line}")
            for note in result.notes:
                typer.echo(f"  note: {note}")
        raise typer.Exit(0 if result.same else 1)

    @audit.command("verify")
    def verify_(
        since: str = typer.Option(None, "--since", metavar="YYYY-MM-DD", help="Check entries from this day (UTC) on."),
        as_json: bool = typer.Option(False, "--json", help="Print the VerifyReport as JSON."),
    ) -> None:
        """Check the hash chain: exit 0 intact; 1 an entry edited, deleted, moved, back-dated, unsigned, or the log cut short."""
        from assistant.audit_verify import verify

        day = None
        if since is not None:
            try:
                day = dt.date.fromisoformat(since)
            except ValueError:
                _fail(f"--since {since!r} is not a date: use YYYY-MM-DD, e.g. 2026-06-01.")
        report = _reading(lambda: verify(day))
        if as_json:
            typer.echo(report.model_dump_json(indent=2))
            raise typer.Exit(0 if report.ok else 1)
        span = f"entries {report.first_seq}–{report.last_seq}" if report.entries else "no entries"
        signed = f", {report.signed} signed (key id {report.key_id or 'unknown'})" if report.signed else ", none signed"
        head = f"; head file: entry {report.head['seq']}" if report.head else "; no head file"
        typer.echo(f"Audit log ({report.database}): {report.entries} checked, {span}{signed}{head}.")
        for note in report.notes:
            typer.echo(f"  note: {note}")
        if report.ok:
            typer.echo("OK: every entry is in place, unchanged and linked to the one before.")
            raise typer.Exit(0)
        first = report.findings[0]
        typer.echo(f"BROKEN: {len(report.findings)} problem(s); the first at {first.line()}")
        for finding in report.findings[:50]:
            typer.echo(f"  {one_line(finding.line())}")
        if len(report.findings) > 50:
            typer.echo(f"  … and {len(report.findings) - 50} more (--json lists all)")
        raise typer.Exit(1)
