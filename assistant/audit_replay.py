"""`assistant audit replay ID`: re-run a recorded entry's tool calls on their recorded inputs, and re-ask its question.

A command entry (dose, check-policy, check-claim, narrative, jcode) re-runs its tool only; an answer is
also re-asked, redacted as recorded, in a fresh session. The entry's own chain hash is checked first: an
edited entry is said to be edited, whatever its replay shows.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from assistant import audit_log
from assistant.audit import _corpus_and_fingerprint, _jsonable, _keeper, _replaying, _scrub, _today, app_version, get_entry
from assistant.errors import AssistantError, InputError
from assistant.hashing import chain_hash
from assistant.redact import redact


class ToolReplay(BaseModel):
    tool: str
    same: bool
    input_redacted: bool = False
    differences: list[str] = Field(default_factory=list, description="JSON paths whose values differ")


class ReplayResult(BaseModel):
    """A recorded answer re-run: each tool call with its recorded inputs, then the question re-asked."""

    id: str
    same: bool
    tools: list[ToolReplay]
    status_before: str
    status_after: str
    intent_before: str | None
    intent_after: str | None
    answer_same: bool
    differences: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    replay_id: str | None = Field(default=None, description="audit id of the re-asked answer")


def _diff(before: Any, after: Any, path: str = "$", limit: int = 10) -> list[str]:
    """JSON paths where two values differ (at most `limit`)."""
    if type(before) is not type(after):
        return [path]
    if isinstance(before, dict):
        out: list[str] = []
        for key in sorted(set(before) | set(after)):
            if key not in before or key not in after:
                out.append(f"{path}.{key}")
            else:
                out.extend(_diff(before[key], after[key], f"{path}.{key}", limit))
            if len(out) >= limit:
                break
        return out[:limit]
    if isinstance(before, list):
        if len(before) != len(after):
            return [f"{path} (length {len(before)} → {len(after)})"]
        out = []
        for i, (a, b) in enumerate(zip(before, after)):
            out.extend(_diff(a, b, f"{path}[{i}]", limit))
            if len(out) >= limit:
                break
        return out[:limit]
    return [] if before == after else [path]


def _narrative(args: dict) -> Any:
    from assistant.narrative import build_narrative

    return build_narrative(args).text()


def _tools() -> dict[str, Any]:
    from assistant.toolbox import RUNS

    return {**RUNS, "build_narrative": _narrative}


def _rerun(tool: str, args: dict) -> Any:
    tools = _tools()
    if tool not in tools:
        return {"error": f"unknown tool {tool}"}
    try:
        return tools[tool](dict(args))
    except AssistantError as exc:
        return {"error": str(exc)}


def _edited(entry_id: str) -> bool:
    """The stored entry no longer hashes to its recorded chain hash."""
    found = audit_log.rows("id = ?", (entry_id,))
    return bool(found) and found[0].hash is not None and chain_hash(found[0].prev_hash or "", found[0].entry) != found[0].hash


def replay(entry_id: str) -> ReplayResult:
    """Re-run an entry: each tool call with its recorded inputs, then the redacted question in a fresh session.

    InputError if there is no such entry.
    """
    from assistant.agent import ask
    from assistant.session import SessionStore

    entry = get_entry(entry_id)
    if entry is None:
        raise InputError(f"No audit entry {entry_id!r}. `assistant audit list` shows the ids.")
    if entry.kind == "event":
        raise InputError(f"Audit entry {entry.id} is an event ({entry.event}), not an answer: nothing to replay.")
    corpus, fp = _corpus_and_fingerprint()
    keep = _keeper(corpus)
    tools = []
    for call in entry.tool_calls:
        after = _scrub(_jsonable(_rerun(call["tool"], call["input"])), keep)
        paths = _diff(call["output"], after)
        tools.append(ToolReplay(tool=call["tool"], same=not paths, input_redacted=call.get("input_redacted", False),
                                differences=paths))
    if entry.kind == "command":
        return _command_result(entry, tools, fp)
    token = _replaying.set(entry.id)
    try:
        again = ask(entry.question, None, store=SessionStore())
    finally:
        _replaying.reset(token)
    answer_after = redact(again.answer, keep=keep)
    differences = [f"tool {t.tool}: output differs at {', '.join(t.differences)}" for t in tools if not t.same]
    if _edited(entry.id):
        differences.insert(0, "the entry no longer matches its chain hash: it was edited after it was written "
                              "(`assistant audit verify` shows where)")
    if again.status != entry.status:
        differences.append(f"status: {entry.status} → {again.status}")
    if again.intent != entry.intent:
        differences.append(f"intent: {entry.intent} → {again.intent}")
    if [c["tool"] for c in entry.tool_calls] != [c.tool for c in again.tool_calls]:
        differences.append("tools called: " + f"{[c['tool'] for c in entry.tool_calls]} → {[c.tool for c in again.tool_calls]}")
    if answer_after != entry.answer:
        differences.append("answer text differs")
    notes = []
    if entry.question_redacted:
        notes.append("The question had identifiers redacted; it was re-asked as recorded (redacted).")
    if any(t.input_redacted for t in tools):
        notes.append("Some tool inputs had identifiers redacted; those tools were re-run on the redacted inputs.")
    if entry.session:
        notes.append("The question was re-asked in a fresh session: facts given in earlier turns are not there.")
    if fp != entry.corpus_fingerprint:
        notes.append("The corpus (or chunker/model) changed since this answer was given.")
    if entry.app_version != app_version():
        notes.append(f"The app version changed: {entry.app_version} → {app_version()}.")
    if entry.today != _today():
        notes.append(f"The answer used {entry.today} as today; set ASSISTANT_TODAY={entry.today} to replay date-dependent figures.")
    if entry.planner != again.planner:
        notes.append(f"Planner: recorded {entry.planner!r}, replayed with {again.planner!r}.")
    return ReplayResult(
        id=entry.id,
        same=not differences,
        tools=tools,
        status_before=entry.status,
        status_after=again.status,
        intent_before=entry.intent,
        intent_after=again.intent,
        answer_same=answer_after == entry.answer,
        differences=differences,
        notes=notes,
        replay_id=again.id,
    )


def _command_result(entry, tools: list[ToolReplay], fp: str | None) -> ReplayResult:
    differences = [f"tool {t.tool}: output differs at {', '.join(t.differences)}" for t in tools if not t.same]
    if _edited(entry.id):
        differences.insert(0, "the entry no longer matches its chain hash: it was edited after it was written")
    notes = [f"A `{entry.command}` command: its tool call was re-run; there is no question to re-ask."]
    if not entry.tool_calls:
        notes.append("Nothing to re-run: the command recorded no tool call (e.g. a price file import).")
    if fp != entry.corpus_fingerprint:
        notes.append("The corpus (or chunker/model) changed since this command ran.")
    if entry.today != _today():
        notes.append(f"The command used {entry.today} as today; set ASSISTANT_TODAY={entry.today} to replay date-dependent figures.")
    return ReplayResult(id=entry.id, same=not differences, tools=tools, status_before=entry.status,
                        status_after=entry.status, intent_before=entry.intent, intent_after=entry.intent,
                        answer_same=True, differences=differences, notes=notes)
