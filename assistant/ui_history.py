"""The chat page's conversation, kept per browser session so that a reload does not lose it.

Stored under `<data dir>/ui_history/` as one JSON-lines file per conversation (a turn per line, plus
'superseded' marks) and the conversation's facts beside it; the file name is a hash of the conversation
id (a random token), files are 0600 and the folder 0700. Everything typed by the
user, and every tool input and reason that may quote it, is redacted with assistant.redact.redact
before it is written; the documents' own quotes are kept as they are (they hold no patient data).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from assistant.models import Answer
from assistant.session import Session
from assistant.settings import get_settings

log = logging.getLogger("assistant.ui_history")
FOLDER = "ui_history"
ROOT: Path | None = None  # tests point this at a temp dir; None means <data dir>/ui_history
# Subtrees that are corpus text (quotes, citations, sources) or our own ids (the audit id, criterion and
# document ids), kept verbatim: redacting them could only
# break a quote, and they come from the documents, not from the patient.
_VERBATIM = frozenset({"citations", "source", "sources", "quote", "quotes", "id", "doc_id", "marker"})


@dataclass
class Turn:
    """One question and its answer as the page shows them."""

    shown: str  # the user's words as shown on the page (redacted once read back from disk)
    answer: Answer
    superseded: bool = False
    sent: str | None = None  # the question as sent to ask(); memory only, for a re-run after a panel edit
    cache: dict[str, Any] = field(default_factory=dict, repr=False)  # display pieces, built once per turn


@lru_cache(maxsize=4096)
def redacted(text: str) -> str:
    from assistant.redact import redact

    return redact(text)


def redact_tree(node: Any, key: str | None = None) -> Any:
    """Every string in a JSON-like tree redacted, except the corpus subtrees in _VERBATIM."""
    if key in _VERBATIM:
        return node
    if isinstance(node, str):
        return redacted(node)
    if isinstance(node, dict):
        return {k: redact_tree(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [redact_tree(v, key) for v in node]
    return node


def stored_turn(turn: Turn) -> dict[str, Any]:
    """A turn as written to disk: identifiers redacted, no question text in the clear."""
    return {"turn": {"shown": redacted(turn.shown), "answer": redact_tree(turn.answer.model_dump(mode="json"))}}


def _private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def _write(path: Path, text: str, append: bool) -> None:
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if append else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)  # a file made before this rule (or by a wider umask) is narrowed too
        os.write(fd, text.encode("utf-8"))
    finally:
        os.close(fd)


class History:
    """One browser session's stored conversation: append turns, mark one superseded, keep the facts."""

    def __init__(self, conversation_id: str, root: Path | None = None):
        self.id = conversation_id
        self.root = root or ROOT or get_settings().data_dir / FOLDER
        # the id is a random 128-bit token (the page makes it), so its plain hash names the file unguessably
        key = hashlib.sha256(conversation_id.encode()).hexdigest()[:32]
        self.turns_path = self.root / f"{key}.jsonl"
        self.session_path = self.root / f"{key}.session.json"

    def append(self, turn: Turn) -> None:
        _write(_private_dir(self.root) / self.turns_path.name, json.dumps(stored_turn(turn)) + "\n", append=True)

    def supersede(self, index: int) -> None:
        _write(_private_dir(self.root) / self.turns_path.name, json.dumps({"superseded": index}) + "\n", append=True)

    def save_session(self, session: Session) -> None:
        data = session.model_copy(update={"id": None}).model_dump(mode="json")
        for table in ("facts", "therapies", "combined_with", "preferred_trials"):
            for fact in data["facts"][table].values():
                for e in fact.get("evidence", []):
                    e["text"] = redacted(e["text"])
        _write(_private_dir(self.root) / self.session_path.name, json.dumps(data), append=False)

    def load(self) -> tuple[list[Turn], Session]:
        """The stored turns (oldest first) and facts; a damaged line is skipped with a log warning."""
        turns: list[Turn] = []
        try:
            lines = self.turns_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines:
            try:
                record = json.loads(line)
                if "turn" in record:
                    raw = record["turn"]
                    turns.append(Turn(shown=str(raw["shown"]), answer=Answer.model_validate(raw["answer"])))
                elif 0 <= int(record.get("superseded", -1)) < len(turns):
                    turns[int(record["superseded"])].superseded = True
            except (ValueError, KeyError, TypeError):
                log.warning("ui history: a stored turn could not be read (damaged?); it is left out")
        session = Session(id=self.id)
        try:
            session = Session.model_validate_json(self.session_path.read_text(encoding="utf-8")).model_copy(
                update={"id": self.id})
        except FileNotFoundError:
            pass
        except ValueError:
            log.warning("ui history: the stored facts could not be read (damaged?); they start afresh")
        return turns, session

    def clear(self) -> None:
        for path in (self.turns_path, self.session_path):
            path.unlink(missing_ok=True)
