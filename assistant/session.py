"""Conversation state: the patient facts gathered so far and the question awaiting an answer.

Sessions hold facts (weight, indication, payer ...) with the words they were read from, redacted as in the
audit log, but never the question text.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading

from pydantic import BaseModel, Field

from assistant.facts import PatientFacts
from assistant.settings import get_settings

log = logging.getLogger("assistant.session")


class Session(BaseModel):
    id: str | None = None
    facts: PatientFacts = Field(default_factory=PatientFacts)
    pending: str | None = Field(default=None, description="intent waiting for the facts asked for")
    last_intent: str | None = Field(default=None, description="intent of the previous answered turn")
    last_query: str | None = Field(
        default=None, exclude=True,  # in memory only: a session file never holds question text
        description="the last code or document question, for follow-ups such as 'and the 160?'")
    turns: int = 0


def session_key(session_id: str) -> str:
    """The id as stored: a salted hash (the audit log's), so a name typed as a session id is neither kept nor guessable."""
    from assistant.audit import session_hash

    return session_hash(session_id)[:24]


class SessionStore:
    """Sessions in memory; with persist=True also stored (for the CLI's --session, and shared app processes).

    Stored sessions live in `<data dir>/sessions/` as files, or, with ASSISTANT_DB_URL set, in the shared
    PostgreSQL `sessions` table, so a conversation can go on in another app process or machine. A stored
    session is read again on every turn (another process may have answered the turn before). An
    unreachable database raises ServiceUnavailable; an unreadable session starts afresh, with a warning.
    """

    def __init__(self, persist: bool = False):
        self.persist = persist
        self._items: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _path(self, session_id: str):
        return get_settings().data_dir / "sessions" / f"{session_key(session_id)}.json"

    def get(self, session_id: str | None) -> Session:
        if session_id is None:
            return Session()
        if self.persist:
            return self._load(session_id) or Session(id=session_id)
        with self._lock:
            if session_id not in self._items:
                self._items[session_id] = Session(id=session_id)
            return self._items[session_id]

    def _load(self, session_id: str) -> Session | None:
        from assistant.db import get_db, shared

        if shared():
            _tables(get_db())
            found = get_db().query("SELECT data FROM sessions WHERE key = ?", (session_key(session_id),))
            raw = found[0][0] if found else None
        else:
            try:
                raw = self._path(session_id).read_text()
            except FileNotFoundError:
                raw = None
        if raw is None:
            return None
        try:
            return Session.model_validate_json(raw).model_copy(update={"id": session_id})
        except ValueError:
            log.warning("session store: a stored session could not be read (damaged?); the conversation starts afresh")
            return None

    def save(self, session: Session) -> None:
        if not (self.persist and session.id):
            return
        from assistant.db import get_db, shared

        from assistant.redact import cap_age

        data = session.model_copy(update={"id": None}).model_dump(mode="json")
        age = data.get("facts", {}).get("facts", {}).get("age")
        if isinstance(age, dict):  # Safe Harbor: an age over 89 is stored as 90
            age["value"] = cap_age(age.get("value"))
        stored = json.dumps(data)
        if shared():
            _tables(get_db())
            get_db().execute(
                "INSERT INTO sessions (key, data, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (key) DO UPDATE SET data = excluded.data, updated = excluded.updated",
                (session_key(session.id), stored, dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")),
            )
            return
        from assistant.private_files import write_private

        write_private(self._path(session.id), stored)  # 0600 in a 0700 folder

    def history(self, session_id: str, limit: int = 50) -> list:
        """The conversation's recorded turns, oldest first, as the audit log keeps them (redacted)."""
        from assistant.audit import session_entries

        return session_entries(session_id, limit)


def _tables(db) -> None:
    db.ensure_schema("sessions", "", "CREATE TABLE IF NOT EXISTS sessions "
                     "(key TEXT PRIMARY KEY, data TEXT NOT NULL, updated TEXT NOT NULL)")
