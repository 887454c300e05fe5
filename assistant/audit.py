"""The audit trail: every answer and every command that reads patient data or produces a figure, recorded.

Each entry holds what an auditor needs to see what was said and why, and to replay it: the
redacted question and answer, intent, status, planner, every tool call with its inputs and
outputs, the cited passages (doc id, section, offsets), the corpus fingerprint, the app version
and the date the tools took as today. The session id is stored only as a salted hash (the salt
is per install: a file next to the log, or a row in the shared database). Text is passed through
`redact()`; passages quoted from the corpus (e.g. a payer's phone number) are public and are kept.
Entries are chained and optionally signed (`audit_log`), checked by `assistant audit verify`
(`audit_verify`). ASSISTANT_AUDIT=0 is recorded as an event; with ASSISTANT_AUDIT_REQUIRED=1 an
answer or command whose entry cannot be written is refused.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import threading
import uuid
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field

from assistant import audit_log
from assistant.audit_log import DB_NAME, SALT_NAME, event_entry  # noqa: F401 - DB_NAME, SALT_NAME are public
from assistant.models import Answer
from assistant.redact import Keep, cap_age, dates_of_birth, redact
from assistant.services import AuditUnavailable, ServiceUnavailable, one_line
from assistant.settings import get_settings

log = logging.getLogger("assistant.audit")

MAX_STORED_CHARS = 8000
_CUT_MARGIN = 200
_ID = re.compile(r"^[0-9a-f]{4,32}$")
_SALT = re.compile(r"^[0-9a-f]{64}$")

_salts: dict[str, bytes] = {}
_salt_lock = threading.Lock()
_off_noted: set[str] = set()
_replaying: ContextVar[str | None] = ContextVar("audit_replaying", default=None)


class AuditEntry(BaseModel):
    """One answer, command or event as recorded: identifiers redacted, enough to replay it."""

    id: str
    seq: int | None = Field(default=None, description="place in the hash chain, from 1")
    kind: Literal["answer", "command", "event"] = "answer"
    time: str = Field(description="UTC, ISO 8601")
    session: str | None = Field(default=None, description="salted sha256 of the session id; never the id")
    intent: str | None = None
    status: str
    planner: str
    question: str = Field(description="the question after redact(); for a command, its name and redacted inputs")
    question_redacted: bool = Field(default=False, description="redaction changed the question")
    answer: str = Field(description="the answer text after redact(); corpus quotes kept")
    tool_calls: list[dict[str, Any]] = Field(default_factory=list, description="tool, input, output, input_redacted")
    citations: list[dict[str, Any]] = Field(default_factory=list, description="marker, doc_id, section, start, end")
    warnings: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)
    guard_notes: list[str] = Field(default_factory=list)
    llm_run: dict[str, Any] | None = Field(
        default=None, description="LLM planner only: model, endpoint, the model's own tool calls (accepted or "
        "rejected, with the reason), its text, kept or the reason it was replaced; redacted like the rest")
    corpus_fingerprint: str | None = None
    app_version: str
    today: str | None = Field(default=None, description="the date the tools used as today (prices, renewal dates)")
    replay_of: str | None = Field(default=None, description="the entry this answer replayed")
    command: str | None = Field(default=None, description="the CLI command or service call, for kind 'command'")
    event: str | None = Field(default=None, description="what happened to the log, for kind 'event'")
    details: dict[str, Any] = Field(default_factory=dict, description="an event's particulars")
    pid: int | None = None


# -- the salt ---------------------------------------------------------------------------------
def _salt() -> bytes:
    """The per-install salt: 32 random bytes as 64 hex digits, made once; an invalid one is replaced (with a warning)."""
    db = audit_log.get_db(DB_NAME)
    key = db.target
    if key in _salts:
        return _salts[key]
    if db.kind == "postgresql":
        db = audit_log.database()  # the meta table holds the shared salt
    with _salt_lock:
        if key not in _salts:
            _salts[key] = _shared_salt(db) if db.kind == "postgresql" else _file_salt(get_settings().data_dir)
        return _salts[key]


def _file_salt(data_dir: Path) -> bytes:
    from filelock import FileLock

    from assistant.private_files import private_dir

    path = data_dir / SALT_NAME
    private_dir(data_dir)
    text = _read(path)
    if text is not None and _SALT.match(text):
        return bytes.fromhex(text)
    with FileLock(str(data_dir / f".{SALT_NAME}.lock"), mode=0o600):  # two processes must agree on one new salt
        text = _read(path)
        if text is None or not _SALT.match(text):
            if text is not None:
                _salt_replaced(path.name, text)
            tmp = data_dir / f".{SALT_NAME}.{os.getpid()}.{threading.get_ident()}"
            fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
            os.replace(tmp, path)
            text = path.read_text().strip()
    return bytes.fromhex(text)


def _read(path: Path) -> str | None:
    try:
        return path.read_text(errors="replace").strip()
    except FileNotFoundError:
        return None


def _shared_salt(db) -> bytes:
    with db.exclusive("audit-salt") as tx:
        found = tx.query("SELECT value FROM meta WHERE key = ?", ("session_salt",))
        if found and _SALT.match(found[0][0]):
            return bytes.fromhex(found[0][0])
        salt = secrets.token_hex(32)
        if found:
            _salt_replaced("the session_salt row", found[0][0])
            tx.execute("UPDATE meta SET value = ? WHERE key = ?", (salt, "session_salt"))
        else:
            tx.execute("INSERT INTO meta (key, value) VALUES (?, ?)", ("session_salt", salt))
    return bytes.fromhex(salt)


def _salt_replaced(where: str, bad: str) -> None:
    why = "empty" if not bad else f"{len(bad)} characters, not 64 hex digits"
    log.warning("audit: %s was invalid (%s); a new salt was made. Session hashes made before it can no longer be "
                "linked to new ones, and conversations saved before are not found.", where, why)
    _append_quietly(event_entry("salt_replaced", f"invalid session salt replaced ({why})", {"where": where}))


def session_hash(session_id: str | None) -> str | None:
    """The session id as the audit log keeps it: salted sha256, so it cannot be read back or guessed."""
    if session_id is None:
        return None
    return hashlib.sha256(_salt() + b"\0" + str(session_id).encode("utf-8", "replace")).hexdigest()[:32]


@lru_cache(maxsize=1)
def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kadcyla-assistant")
    except PackageNotFoundError:
        return "unknown"


@lru_cache(maxsize=4)
def _fingerprint(corpus: Any) -> str:
    from assistant.index_content import fingerprint

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
        return {str(k): _scrub(cap_age(v) if "age" in str(k).lower().split("_") else v, keep, births)  # 90+
                for k, v in value.items()}
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


def _stamp() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def _entry(question: Any, answer: Answer, session_id: str | None) -> AuditEntry:
    corpus, fp = _corpus_and_fingerprint()
    keep = _keeper(corpus)
    text = question if isinstance(question, str) else repr(question)
    clean = _clip(text, keep)
    births = frozenset(dates_of_birth(text))
    return AuditEntry(
        id=uuid.uuid4().hex[:16],
        time=_stamp(),
        session=session_hash(session_id),
        intent=answer.intent,
        status=answer.status,
        planner=answer.planner,
        question=clean,
        question_redacted=clean != text,
        answer=_scrub(answer.answer, keep, births),
        tool_calls=[_call(call.tool, call.input, call.output, keep, births) for call in answer.tool_calls],
        citations=[{"marker": c.marker, "doc_id": c.doc_id, "section": c.section, "start": c.start, "end": c.end}
                   for c in answer.citations],
        warnings=_scrub(answer.warnings, keep, births),
        missing=_scrub(answer.missing, keep, births),
        guard_notes=_scrub(answer.guard_notes, keep, births),
        llm_run=_llm_run(answer.llm_run, keep, births),
        corpus_fingerprint=fp,
        app_version=app_version(),
        today=_today(),
        replay_of=_replaying.get(),
    )


def _llm_run(run: dict[str, Any] | None, keep: Keep | None, births: frozenset[str]) -> dict[str, Any] | None:
    """The model's run, redacted like the answer: the model's name and endpoint are kept as they are."""
    if not run:
        return None
    kept = {k: run[k] for k in ("model", "endpoint") if k in run}
    return {**_scrub(_jsonable({k: v for k, v in run.items() if k not in kept}), keep, births), **kept}


def _call(tool: str, given: Any, output: Any, keep: Keep | None, births: frozenset[str] = frozenset()) -> dict:
    given = _jsonable(given)
    scrubbed = _scrub(given, keep, births)
    return {"tool": tool, "input": scrubbed, "output": _scrub(_jsonable(output), keep, births),
            "input_redacted": scrubbed != given}


def _store(entry: AuditEntry) -> dict[str, Any]:
    fields = entry.model_dump(mode="json", exclude={"seq", "time"})
    return audit_log.append(fields)


def _reason(exc: BaseException) -> str:
    """Why recording failed, without anything the entry held (a driver message may quote a value)."""
    if isinstance(exc, (ServiceUnavailable, audit_log.AuditKeyError)):
        return one_line(exc)
    return type(exc).__name__


def record(question: str, answer: Answer, session_id: str | None = None) -> str | None:
    """Append one answer to the audit log; return its audit id (None when auditing is off or failed).

    Never raises into the caller. A failure is logged as a warning that names no identifier; with
    ASSISTANT_AUDIT_REQUIRED=1 the answer itself is turned into a refusal (status `error`, nothing of
    what was computed left in it), so no answer leaves unaudited.
    """
    settings = get_settings()
    if not settings.audit:
        note_audit_off()
        if settings.audit_required:
            refuse(answer, "ASSISTANT_AUDIT=0 turns the log off")
        return None
    try:
        return _store(_entry(question, answer, session_id))["id"]
    except Exception as exc:  # noqa: BLE001 - the caller decides; see ASSISTANT_AUDIT_REQUIRED
        reason = _reason(exc)
        log.warning("audit: could not record an answer (%s)", reason)
        if settings.audit_required:
            refuse(answer, reason)
        return None


def refuse(answer: Answer, reason: str) -> Answer:
    """Empty an answer that could not be audited into a refusal, in place (fail closed)."""
    answer.status = "error"
    answer.answer = (f"Not answered: the audit log cannot be written ({reason}) and ASSISTANT_AUDIT_REQUIRED=1 "
                     "refuses answers that are not recorded. Ask your administrator to fix the log.")
    kept = {"id", "question", "status", "answer", "intent", "planner", "route"}
    for name, field in type(answer).model_fields.items():  # figures, quotes, facts, options ...: nothing computed stays
        if name not in kept:
            setattr(answer, name, field.get_default(call_default_factory=True))
    return answer


def record_call(command: str, tool: str, inputs: Any, output: Any, *, status: str = "answered",
                summary: str = "", session_id: str | None = None) -> str | None:
    """Record a command or service call (dose, check-policy, check-claim, narrative, jcode, prices load, FHIR,
    hooks): its redacted inputs and output. Returns the audit id, None when off or failed (warned).

    Raises AuditUnavailable when the entry cannot be written and ASSISTANT_AUDIT_REQUIRED=1: the caller must
    then not show the result.
    """
    settings = get_settings()
    if not settings.audit:
        note_audit_off()
        if settings.audit_required:
            raise AuditUnavailable("Refused: ASSISTANT_AUDIT=0 turns the log off and ASSISTANT_AUDIT_REQUIRED=1 "
                                   "refuses results that are not recorded.")
        return None
    try:
        corpus, fp = _corpus_and_fingerprint()
        keep = _keeper(corpus)
        text = summary or command
        clean = _clip(text, keep)
        entry = AuditEntry(
            id=uuid.uuid4().hex[:16], kind="command", command=command, time=_stamp(), session=session_hash(session_id),
            intent=command, status=status, planner="command", question=clean, question_redacted=clean != text,
            answer="", tool_calls=[_call(tool, inputs, output, keep)] if tool else [],
            corpus_fingerprint=fp, app_version=app_version(), today=_today(), replay_of=_replaying.get(),
        )
        return _store(entry)["id"]
    except Exception as exc:  # noqa: BLE001 - see ASSISTANT_AUDIT_REQUIRED
        reason = _reason(exc)
        log.warning("audit: could not record `%s` (%s)", command, reason)
        if settings.audit_required:
            raise AuditUnavailable(f"Refused: the audit log cannot be written ({reason}) and "
                                   "ASSISTANT_AUDIT_REQUIRED=1 refuses results that are not recorded.") from None
        return None


def note_audit_off() -> None:
    """Record, once per process and log, that this process runs with ASSISTANT_AUDIT=0."""
    target = audit_log.get_db(DB_NAME).target
    if target in _off_noted:
        return
    _off_noted.add(target)
    _append_quietly(event_entry("audit_off", f"auditing turned off (ASSISTANT_AUDIT=0) by process {os.getpid()}"))


def _append_quietly(entry: dict[str, Any]) -> None:
    try:
        audit_log.append(entry)
    except Exception as exc:  # noqa: BLE001 - a note about the log must not stop anything
        log.warning("audit: could not record the %s event (%s)", entry.get("event"), _reason(exc))


# -- reading ----------------------------------------------------------------------------------
def _entries(where: str = "", params: tuple = (), order: str = "seq", limit: int | None = None) -> Iterator[AuditEntry]:
    for row in audit_log.rows(where, params, order, limit):
        yield AuditEntry.model_validate_json(row.entry)


def list_entries(limit: int = 20, *, events: bool = False) -> list[AuditEntry]:
    """The newest entries first (answers and commands; events too with `events`)."""
    where = "" if events else "(kind IS NULL OR kind <> 'event')"
    return list(_entries(where, (), "seq DESC", max(0, int(limit))))


def get_entry(entry_id: str) -> AuditEntry | None:
    """One entry by id, or by a unique prefix of at least 4 characters."""
    entry_id = (entry_id or "").strip().lower()
    if not _ID.match(entry_id):
        return None
    found = list(_entries("id = ?", (entry_id,)))
    if not found:
        found = list(_entries("substr(id, 1, ?) = ?", (len(entry_id), entry_id), limit=2))
    return found[0] if len(found) == 1 else None


def export(since: dt.date) -> Iterator[dict]:
    """Entries recorded on or after `since` (UTC), oldest first, as JSON-ready dicts with their chain hashes."""
    for row in audit_log.rows("time >= ?", (since.isoformat(),)):
        item = AuditEntry.model_validate_json(row.entry).model_dump(mode="json")
        item["chain"] = {"prev_hash": row.prev_hash, "hash": row.hash, "hmac": row.hmac, "key_id": row.key_id}
        yield item


def session_entries(session_id: str, limit: int = 50) -> list[AuditEntry]:
    """A conversation's recorded turns, oldest first (redacted, as stored), from whichever database holds the log."""
    digest = session_hash(session_id)
    newest = list(_entries("session = ?", (digest,), "seq DESC", max(0, int(limit))))
    return newest[::-1]
