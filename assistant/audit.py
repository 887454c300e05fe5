"""The audit trail: every answer appended to SQLite (WAL) under the data dir, identifiers redacted.

Each entry holds what an auditor needs to see what was said and why, and to replay it: the
redacted question and answer, intent, status, planner, every tool call with its inputs and
outputs, the cited passages (doc id, section, offsets), the corpus fingerprint, the app version
and the date the tools took as today. The session id is stored only as a salted hash (the salt
is a per-install file next to the log). Text is passed through `redact()`; passages quoted from
the corpus (e.g. a payer's phone number) are public and are kept as they are.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import sqlite3
import threading
import uuid
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pydantic import BaseModel, Field

from assistant.errors import AssistantError, InputError
from assistant.models import Answer
from assistant.redact import Keep, dates_of_birth, redact
from assistant.settings import get_settings

log = logging.getLogger("assistant.audit")

DB_NAME = "audit.sqlite3"
SALT_NAME = "audit.salt"
BUSY_TIMEOUT_S = 30.0
MAX_STORED_CHARS = 8000
_CUT_MARGIN = 200
_ID = re.compile(r"^[0-9a-f]{4,32}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY,
    time TEXT NOT NULL,
    session TEXT,
    intent TEXT,
    status TEXT NOT NULL,
    planner TEXT,
    question TEXT NOT NULL,
    replay_of TEXT,
    entry TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_time ON answers (time);
"""

_local = threading.local()
_write_lock = threading.Lock()
_salts: dict[str, bytes] = {}
_replaying: ContextVar[str | None] = ContextVar("audit_replaying", default=None)


class AuditEntry(BaseModel):
    """One answer as recorded: identifiers redacted, enough to replay it."""

    id: str
    time: str = Field(description="UTC, ISO 8601")
    session: str | None = Field(default=None, description="salted sha256 of the session id; never the id")
    intent: str | None = None
    status: str
    planner: str
    question: str = Field(description="the question after redact()")
    question_redacted: bool = Field(default=False, description="redaction changed the question")
    answer: str = Field(description="the answer text after redact(); corpus quotes kept")
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, description="tool, input, output, input_redacted")
    citations: list[dict[str, Any]] = Field(default_factory=list, description="marker, doc_id, section, start, end")
    warnings: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    guard_notes: list[str] = Field(default_factory=list)
    corpus_fingerprint: str | None = None
    app_version: str
    today: str = Field(description="the date the tools used as today (prices, renewal dates)")
    replay_of: str | None = Field(default=None, description="the entry this answer replayed")


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


# -- storage ----------------------------------------------------------------------------------
def db_path() -> Path:
    return get_settings().data_dir / DB_NAME


def _connect(path: Path) -> sqlite3.Connection:
    """This thread's connection to the log at `path` (sqlite connections are not shared across threads)."""
    conns: dict[str, sqlite3.Connection] = _local.__dict__.setdefault("conns", {})
    key = str(path)
    if key not in conns:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(key, os.O_CREAT | os.O_RDWR, 0o600))  # owner-only, before sqlite creates it
        conn = sqlite3.connect(key, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        with _write_lock:
            conn.executescript(_SCHEMA)
        conns[key] = conn
    return conns[key]


def _salt(data_dir: Path) -> bytes:
    """The per-install salt, created once (atomically, so two processes agree on it)."""
    path = data_dir / SALT_NAME
    if str(path) in _salts:
        return _salts[str(path)]
    if not path.is_file():
        data_dir.mkdir(parents=True, exist_ok=True)
        tmp = data_dir / f".{SALT_NAME}.{os.getpid()}.{threading.get_ident()}"
        fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32))
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another thread or process won; use theirs
        finally:
            tmp.unlink(missing_ok=True)
    salt = bytes.fromhex(path.read_text().strip())
    _salts[str(path)] = salt
    return salt


def session_hash(session_id: str | None) -> str | None:
    """The session id as the audit log keeps it: salted sha256, so it cannot be read back or guessed."""
    if session_id is None:
        return None
    salt = _salt(get_settings().data_dir)
    return hashlib.sha256(salt + b"\0" + str(session_id).encode("utf-8", "replace")).hexdigest()[:32]


@lru_cache(maxsize=1)
def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kadcyla-assistant")
    except PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=4)
def _fingerprint(corpus: Any) -> str:
    from assistant.retrieval import fingerprint

    return fingerprint(corpus)


def _corpus_and_fingerprint() -> tuple[Any, str | None]:
    try:
        from assistant.corpus import get_corpus

        corpus = get_corpus()
        return corpus, _fingerprint(corpus)
    except Exception:  # noqa: BLE001 - a broken corpus is reported by the answer itself
        return None, None


@lru_cache(maxsize=4)
def _keeper(corpus: Any) -> Keep | None:
    """Spare spans quoted from the corpus: public documents, not patient identifiers."""
    if corpus is None:
        return None
    texts = [doc.text for doc in corpus.docs.values()]
    return lambda span: len(span) >= 8 and any(span in text for text in texts)


_CLEAN_MAX = 8192
_clean: dict[tuple[str, int], None] = {}  # strings redact() left unchanged: tool outputs repeat their quotes


def _redact_output(text: str, keep: Keep | None) -> str:
    """redact(), remembering only strings with nothing to redact (so no identifier is kept in memory)."""
    key = (text, id(keep))
    if key in _clean:
        return text
    out = redact(text, keep=keep)
    if out == text and len(text) <= 4096:
        if len(_clean) >= _CLEAN_MAX:
            _clean.clear()
        _clean[key] = None
    return out


def _scrub(value: Any, keep: Keep | None, births: frozenset[str] = frozenset()) -> Any:
    """Every string inside a JSON-like value redacted; `births` (ISO dates of birth) replaced wherever they appear."""
    if isinstance(value, str):
        out = _redact_output(value, keep)
        for day in births:  # a birth date the planner took for a date of service is still a birth date
            out = out.replace(day, "[DOB]")
        return out
    if isinstance(value, dict):
        return {str(k): _scrub(v, keep, births) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scrub(v, keep, births) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _clip(text: str, keep: Keep | None) -> str:
    """The redacted text, cut after MAX_STORED_CHARS (refused over-long questions need no full copy)."""
    if len(text) <= MAX_STORED_CHARS:
        return redact(text, keep=keep)
    # drop the tail of the redacted cut: an identifier split by the cut would not be recognised there
    head = redact(text[:MAX_STORED_CHARS], keep=keep)[:-_CUT_MARGIN]
    return f"{head} … [cut: {len(text):,} characters in all]"


def _today() -> str:
    return get_settings().today or dt.date.today().isoformat()


def _entry(question: Any, answer: Answer, session_id: str | None) -> AuditEntry:
    corpus, fp = _corpus_and_fingerprint()
    keep = _keeper(corpus)
    text = question if isinstance(question, str) else repr(question)
    clean = _clip(text, keep)
    births = frozenset(dates_of_birth(text))
    calls = []
    for call in answer.tool_calls:
        given = _jsonable(call.input)
        scrubbed = _scrub(given, keep, births)
        calls.append({"tool": call.tool, "input": scrubbed, "output": _scrub(_jsonable(call.output), keep, births),
                      "input_redacted": scrubbed != given})
    return AuditEntry(
        id=uuid.uuid4().hex[:16],
        time=dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds"),
        session=session_hash(session_id),
        intent=answer.intent,
        status=answer.status,
        planner=answer.planner,
        question=clean,
        question_redacted=clean != text,
        answer=_scrub(answer.answer, keep, births),
        tool_calls=calls,
        citations=[{"marker": c.marker, "doc_id": c.doc_id, "section": c.section, "start": c.start, "end": c.end}
                   for c in answer.citations],
        warnings=_scrub(answer.warnings, keep, births),
        missing=_scrub(answer.missing, keep, births),
        guard_notes=_scrub(answer.guard_notes, keep, births),
        corpus_fingerprint=fp,
        app_version=app_version(),
        today=_today(),
        replay_of=_replaying.get(),
    )


def record(question: str, answer: Answer, session_id: str | None = None) -> str | None:
    """Append one answer to the audit log; return its audit id (None when auditing is off or failed).

    Never raises into the caller: a failure is logged as a warning that names no identifier.
    """
    try:
        if not get_settings().audit:
            return None
        entry = _entry(question, answer, session_id)
        conn = _connect(db_path())
        with _write_lock:
            conn.execute(
                "INSERT INTO answers (id, time, session, intent, status, planner, question, replay_of, entry) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (entry.id, entry.time, entry.session, entry.intent, entry.status, entry.planner, entry.question,
                 entry.replay_of, entry.model_dump_json()),
            )
        return entry.id
    except Exception as exc:  # noqa: BLE001 - the answer matters more than its audit record
        log.warning("audit: could not record an answer (%s)", type(exc).__name__)
        return None


# -- reading ----------------------------------------------------------------------------------
def _rows(sql: str, params: tuple = ()) -> Iterator[AuditEntry]:
    for (raw,) in _connect(db_path()).execute(sql, params):
        yield AuditEntry.model_validate_json(raw)


def list_entries(limit: int = 20) -> list[AuditEntry]:
    """The newest entries first."""
    return list(_rows("SELECT entry FROM answers ORDER BY time DESC, rowid DESC LIMIT ?", (max(0, int(limit)),)))


def get_entry(entry_id: str) -> AuditEntry | None:
    """One entry by id, or by a unique prefix of at least 4 characters."""
    entry_id = (entry_id or "").strip().lower()
    if not _ID.match(entry_id):
        return None
    found = list(_rows("SELECT entry FROM answers WHERE id = ?", (entry_id,)))
    if not found:
        found = list(_rows("SELECT entry FROM answers WHERE substr(id, 1, ?) = ? LIMIT 2", (len(entry_id), entry_id)))
    return found[0] if len(found) == 1 else None


def export(since: dt.date) -> Iterator[dict]:
    """Entries recorded on or after `since` (UTC), oldest first, as JSON-ready dicts."""
    for entry in _rows("SELECT entry FROM answers WHERE time >= ? ORDER BY time, rowid", (since.isoformat(),)):
        yield entry.model_dump(mode="json")


# -- replay -----------------------------------------------------------------------------------
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


def _rerun(tool: str, args: dict) -> Any:
    from assistant.agent import TOOLS

    if tool not in TOOLS:
        return {"error": f"unknown tool {tool}"}
    try:
        return TOOLS[tool](dict(args))
    except AssistantError as exc:
        return {"error": str(exc)}


def replay(entry_id: str) -> ReplayResult:
    """Re-run an entry: each tool call with its recorded inputs, then the redacted question in a fresh session.

    InputError if there is no such entry.
    """
    from assistant.agent import ask
    from assistant.session import SessionStore

    entry = get_entry(entry_id)
    if entry is None:
        raise InputError(f"No audit entry {entry_id!r}. `assistant audit list` shows the ids.")
    corpus, fp = _corpus_and_fingerprint()
    keep = _keeper(corpus)
    tools = []
    for call in entry.tool_calls:
        after = _scrub(_jsonable(_rerun(call["tool"], call["input"])), keep)
        paths = _diff(call["output"], after)
        tools.append(ToolReplay(tool=call["tool"], same=not paths, input_redacted=call.get("input_redacted", False),
                                differences=paths))
    token = _replaying.set(entry.id)
    try:
        again = ask(entry.question, None, store=SessionStore())
    finally:
        _replaying.reset(token)
    answer_after = redact(again.answer, keep=keep)
    differences = [f"tool {t.tool}: output differs at {', '.join(t.differences)}" for t in tools if not t.same]
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
