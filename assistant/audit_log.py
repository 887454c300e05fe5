"""Where audit entries are kept and how they are chained: one append-only table, SQLite or PostgreSQL.

Each entry gets the next sequence number and `hash = sha256(previous hash + canonical JSON of the entry)`,
and, with a key in ASSISTANT_AUDIT_KEY_FILE (kept outside the data dir), `hmac = HMAC-SHA256(key, hash)`:
an entry edited, deleted, inserted or moved breaks the chain, and without the key nobody can write a chain
that verifies. Numbers, hash and time are taken inside the writer lock, so they rise together across
threads and processes. After each append the newest (sequence, hash) goes to a small head file in the
data dir, and each process logs the head it found when it first writes: a log cut short, or deleted and
recreated, no longer reaches the head, and the chain then continues from the head so the gap stays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.db import Database, get_db
from assistant.errors import AssistantError
from assistant.hashing import GENESIS, canonical_json, chain_hash, key_id, sign
from assistant.settings import get_settings

log = logging.getLogger("assistant.audit")

DB_NAME = "audit.sqlite3"
SALT_NAME = "audit.salt"
MIN_KEY_BYTES = 32
_COLUMNS = ("seq", "id", "time", "kind", "session", "intent", "status", "planner", "question", "replay_of",
            "entry", "prev_hash", "hash", "hmac", "key_id")
_SQLITE_TABLE = """
CREATE TABLE IF NOT EXISTS answers (
    id TEXT PRIMARY KEY, time TEXT NOT NULL, session TEXT, intent TEXT, status TEXT NOT NULL, planner TEXT,
    question TEXT NOT NULL, replay_of TEXT, entry TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)
"""
_SQLITE_ADDED = {"seq": "INTEGER", "kind": "TEXT", "prev_hash": "TEXT", "hash": "TEXT", "hmac": "TEXT", "key_id": "TEXT"}
_SQLITE_INDEXES = """
CREATE UNIQUE INDEX IF NOT EXISTS answers_seq ON answers (seq);
CREATE INDEX IF NOT EXISTS answers_time ON answers (time);
CREATE INDEX IF NOT EXISTS answers_session ON answers (session)
"""
_PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    seq BIGINT PRIMARY KEY, id TEXT NOT NULL UNIQUE, time TEXT NOT NULL, kind TEXT NOT NULL, session TEXT,
    intent TEXT, status TEXT NOT NULL, planner TEXT, question TEXT NOT NULL, replay_of TEXT, entry TEXT NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL, hmac TEXT, key_id TEXT
);
CREATE INDEX IF NOT EXISTS answers_time ON answers (time);
CREATE INDEX IF NOT EXISTS answers_session ON answers (session);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (key TEXT PRIMARY KEY, data TEXT NOT NULL, updated TEXT NOT NULL)
"""


class AuditKeyError(AssistantError):
    """ASSISTANT_AUDIT_KEY_FILE is set but the key cannot be used."""


@dataclass(frozen=True)
class Row:
    """One stored entry with its chain fields, as verify and the readers see it."""

    seq: int | None
    id: str
    time: str
    kind: str | None
    entry: str
    prev_hash: str | None
    hash: str | None
    hmac: str | None
    key_id: str | None
    columns: dict[str, Any]


@dataclass
class Head:
    seq: int
    hash: str
    time: str = ""


_prepared: set[str] = set()
_prep_lock = threading.Lock()
_write_lock = threading.Lock()
_heads: dict[str, Head | None] = {}
_announced: set[str] = set()


# -- the database ------------------------------------------------------------------------------
def database() -> Database:
    """The audit log's database, its tables made (and a pre-chain SQLite log chained) once per process."""
    db = get_db(DB_NAME)
    if db.target not in _prepared:
        with _prep_lock:
            if db.target not in _prepared:
                _prepare(db)
                _prepared.add(db.target)
    return db


def _prepare(db: Database) -> None:
    if db.kind == "postgresql":
        db.ensure_schema("audit", "", _PG_SCHEMA)
        return
    with db.exclusive("audit") as tx:
        for statement in _SQLITE_TABLE.split(";"):
            tx.execute(statement)
        have = {row[1] for row in tx.query("PRAGMA table_info(answers)")}
        for column, kind in _SQLITE_ADDED.items():
            if column not in have:
                tx.execute(f"ALTER TABLE answers ADD COLUMN {column} {kind}")
        for statement in _SQLITE_INDEXES.split(";"):
            tx.execute(statement)
        _chain_unchained(tx)


def _chain_unchained(tx) -> None:
    """Entries written before the chain existed get numbers and hashes, in the order they were written."""
    rows = tx.query("SELECT rowid, entry FROM answers WHERE seq IS NULL ORDER BY rowid")
    if not rows:
        return
    last = tx.query("SELECT seq, hash FROM answers WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1")
    seq, prev = last[0] if last else (0, GENESIS)
    for rowid, raw in rows:
        seq += 1
        entry = {**json.loads(raw), "seq": seq, "kind": "answer"}
        text = canonical_json(entry)
        digest = chain_hash(prev, text)
        tx.execute("UPDATE answers SET seq = ?, kind = ?, entry = ?, prev_hash = ?, hash = ? WHERE rowid = ?",
                   (seq, "answer", text, prev, digest, rowid))
        prev = digest
    log.warning("audit: %d entries written before the hash chain were chained now (not tamper-evident before)", len(rows))


# -- the key -----------------------------------------------------------------------------------
def load_key() -> bytes | None:
    """The HMAC key, or None when ASSISTANT_AUDIT_KEY_FILE is unset. AuditKeyError if it is set but unusable."""
    settings = get_settings()
    path = settings.audit_key_file
    if path is None:
        return None
    path = Path(path).expanduser().resolve()
    data_dir = settings.data_dir.resolve()
    if path == data_dir or data_dir in path.parents:
        raise AuditKeyError(f"the audit key file {path} is inside the data dir; keep it outside (whoever can "
                            "write the log must not be able to read the key)")
    try:
        raw = path.read_bytes().strip()
    except OSError as exc:
        raise AuditKeyError(f"the audit key file {path} cannot be read ({exc.strerror or type(exc).__name__})") from None
    try:
        key = bytes.fromhex(raw.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        key = raw
    if len(key) < MIN_KEY_BYTES:
        raise AuditKeyError(f"the audit key in {path} is {len(key)} bytes; at least {MIN_KEY_BYTES} are needed "
                            "(e.g. `openssl rand -hex 32 > FILE`)")
    return key


# -- the head file -----------------------------------------------------------------------------
def head_path(db: Database) -> Path:
    data = get_settings().data_dir
    if db.kind == "sqlite":
        return data / "audit.head"
    return data / f"audit.pg-{hashlib.sha256(db.address.encode()).hexdigest()[:8]}.head"


class HeadDamaged(ValueError):
    """The head file exists but cannot be read as one."""


def read_head(db: Database) -> Head | None:
    """The newest entry this data dir recorded, None when there is no head file; HeadDamaged if it is unreadable."""
    try:
        text = head_path(db).read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise HeadDamaged(f"the head file {head_path(db).name} cannot be read ({type(exc).__name__})") from None
    try:
        data = json.loads(text)
        head = Head(int(data["seq"]), str(data["hash"]), str(data.get("time", "")))
    except (ValueError, KeyError, TypeError):
        raise HeadDamaged(f"the head file {head_path(db).name} is damaged ({len(text)} bytes, not a head)") from None
    if head.seq < 1 or len(head.hash) != 64:
        raise HeadDamaged(f"the head file {head_path(db).name} is damaged (entry {head.seq}, hash {head.hash[:16]!r})")
    return head


def _write_head(db: Database, head: Head) -> None:
    from assistant.private_files import write_private

    path = head_path(db)
    try:
        write_private(path, json.dumps({"seq": head.seq, "hash": head.hash, "time": head.time, "db": db.address}))
    except OSError as exc:  # the chain is intact without it; only truncation goes unseen
        log.warning("audit: could not write the head file %s (%s)", path.name, type(exc).__name__)


# -- appending ---------------------------------------------------------------------------------
def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds")


def append(entry: dict[str, Any]) -> dict[str, Any]:
    """Chain and store one entry (a JSON-ready dict without seq and time); return it with both set.

    Raises on any failure (the caller decides whether the answer may go on without it).
    """
    db = database()
    key = load_key()
    with _write_lock:
        with db.exclusive("audit") as tx:
            last = tx.query("SELECT seq, hash, time FROM answers WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1")
            seq, prev, prev_time = last[0] if last else (0, GENESIS, "")
            seq, prev, prev_time = _check_head(db, tx, seq, prev, prev_time, key)
            stored = _insert(tx, entry, seq + 1, prev, prev_time, key)
        _heads[db.target] = Head(stored["seq"], stored["_hash"], stored["time"])
    _write_head(db, _heads[db.target])
    stored.pop("_hash")
    return stored


def _insert(tx, entry: dict[str, Any], seq: int, prev: str, prev_time: str, key: bytes | None) -> dict[str, Any]:
    now = max(_now(), prev_time)  # another machine's clock may run behind; the chain's times never go back
    full = {**entry, "seq": seq, "time": now}
    text = canonical_json(full)
    digest = chain_hash(prev, text)
    values = {
        "seq": seq, "id": full["id"], "time": now, "kind": full.get("kind", "answer"), "session": full.get("session"),
        "intent": full.get("intent"), "status": full["status"], "planner": full.get("planner"),
        "question": full.get("question", ""), "replay_of": full.get("replay_of"), "entry": text, "prev_hash": prev,
        "hash": digest, "hmac": sign(key, digest) if key else None, "key_id": key_id(key) if key else None,
    }
    tx.execute(f"INSERT INTO answers ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
               tuple(values[c] for c in _COLUMNS))
    return {**full, "_hash": digest}


def _check_head(db: Database, tx, seq: int, prev: str, prev_time: str, key: bytes | None) -> tuple[int, str, str]:
    """Compare the log's end with the newest entry this data dir knows of (its head file, read on this process's
    first write, then what it wrote since). A log that no longer reaches it (cut short, or deleted and
    recreated) is recorded, and the chain continues from the head so the gap stays for verify to report."""
    first = db.target not in _heads
    if first:
        try:
            _heads[db.target] = read_head(db)
        except HeadDamaged as exc:  # rewritten below with this append; the damage stays on record
            log.warning("audit: %s; recorded, and a new one is written", exc)
            _heads[db.target] = None
            event = event_entry("head_damaged", str(exc), {})
            stored = _insert(tx, event, seq + 1, prev, prev_time, key)
            seq, prev, prev_time = stored["seq"], stored["_hash"], stored["time"]
    head = _heads[db.target]
    if first:
        log.info("audit: log %s ends at entry %d (hash %s); head file: %s", db.address, seq, prev[:16],
                 f"entry {head.seq} hash {head.hash[:16]}" if head else "none")
    if head is None:
        return seq, prev, prev_time
    if seq < head.seq:
        log.warning("audit: the log ends at entry %d but entry %d was written before (truncated or recreated); "
                    "the chain continues after %d so the gap stays visible", seq, head.seq, head.seq)
        event = event_entry("truncation_detected", f"log ended at entry {seq}; entry {head.seq} was written before",
                            {"log_last_seq": seq, "head_seq": head.seq, "head_hash": head.hash})
        stored = _insert(tx, event, head.seq + 1, head.hash, max(head.time, prev_time), key)
        return stored["seq"], stored["_hash"], stored["time"]
    if first:
        found = tx.query("SELECT hash FROM answers WHERE seq = ?", (head.seq,))
        if not (found and found[0][0] == head.hash):
            log.warning("audit: entry %d no longer matches the head file (rewritten?); recorded", head.seq)
            event = event_entry("head_mismatch", f"entry {head.seq} does not match the head file",
                                {"head_seq": head.seq, "head_hash": head.hash})
            stored = _insert(tx, event, seq + 1, prev, prev_time, key)
            return stored["seq"], stored["_hash"], stored["time"]
    return seq, prev, prev_time


def event_entry(event: str, text: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """An entry that records something about the log itself (turned off, cut short, salt replaced)."""
    return {"id": secrets.token_hex(8), "kind": "event", "event": event, "status": "event", "planner": "-",
            "question": text, "answer": "", "details": details or {}, "app_version": _version(), "pid": os.getpid()}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("kadcyla-assistant")
    except PackageNotFoundError:
        return "unknown"


# -- reading -----------------------------------------------------------------------------------
def rows(where: str = "", params: tuple = (), order: str = "seq", limit: int | None = None) -> list[Row]:
    """Stored entries with their chain fields (`where` is SQL with ? placeholders)."""
    sql = f"SELECT {', '.join(_COLUMNS)} FROM answers {('WHERE ' + where) if where else ''} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    out = []
    for values in database().query(sql, params):
        cols = dict(zip(_COLUMNS, values))
        out.append(Row(cols["seq"], cols["id"], cols["time"], cols["kind"], cols["entry"], cols["prev_hash"],
                       cols["hash"], cols["hmac"], cols["key_id"], cols))
    return out
