"""Conversation state: the patient facts gathered so far and the question awaiting an answer.

Sessions hold facts (weight, indication, payer ...) with the words they were read from, redacted as in the
audit log, but never the question text.
"""

from __future__ import annotations

import json
import threading
from pydantic import BaseModel, Field

from assistant.facts import PatientFacts
from assistant.settings import get_settings


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
    """Sessions in memory; with persist=True also on disk (for the CLI's --session)."""

    def __init__(self, persist: bool = False):
        self.persist = persist
        self._items: dict[str, Session] = {}
        self._lock = threading.Lock()

    def _path(self, session_id: str):
        return get_settings().data_dir / "sessions" / f"{session_key(session_id)}.json"

    def get(self, session_id: str | None) -> Session:
        if session_id is None:
            return Session()
        with self._lock:
            if session_id in self._items:
                return self._items[session_id]
            session = Session(id=session_id)
            if self.persist and self._path(session_id).is_file():
                try:
                    session = Session.model_validate_json(self._path(session_id).read_text())
                except ValueError:
                    pass
            self._items[session_id] = session
            return session

    def save(self, session: Session) -> None:
        if not (self.persist and session.id):
            return
        path = self._path(session.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        stored = session.model_copy(update={"id": None})
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stored.model_dump(mode="json")))
        tmp.replace(path)
