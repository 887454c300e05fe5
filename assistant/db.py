"""The database behind the audit log and shared sessions: SQLite in the data dir, or PostgreSQL.

`ASSISTANT_DB_URL=postgresql://…` makes every app process, on any machine, write one audit log and one
session table; unset, the log is `<data dir>/audit.sqlite3` (WAL) and sessions are files. SQL is written
once with `?` placeholders and runs on both. Connections are pooled per process and lent to one thread at
a time. `exclusive()` is the one writer lock both engines honour across processes: SQLite's
`BEGIN IMMEDIATE`, PostgreSQL's transaction-scoped advisory lock.
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal

from assistant.services import ServiceUnavailable, db_address, one_line
from assistant.settings import get_settings

BUSY_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 5
_MAX_IDLE = 32


class Tx:
    """One connection inside a transaction (or autocommit): run statements written with `?` placeholders."""

    def __init__(self, conn: Any, kind: str):
        self._conn, self._kind = conn, kind

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self._kind == "postgresql" else sql

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self._conn.execute(self._sql(sql), params)
        rows = cur.fetchall() if cur.description else []
        return [tuple(r) for r in rows]

    def execute(self, sql: str, params: tuple = ()) -> int:
        cur = self._conn.execute(self._sql(sql), params)
        return cur.rowcount


class Database:
    """A pool of connections to one SQLite file or one PostgreSQL database."""

    def __init__(self, kind: Literal["sqlite", "postgresql"], target: str):
        self.kind, self.target = kind, target
        self.address = target if kind == "sqlite" else db_address(target)
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._schemas: set[str] = set()

    # -- connections --------------------------------------------------------------------------
    def _open(self) -> Any:
        if self.kind == "sqlite":
            from assistant.private_files import touch_private

            path = Path(self.target)
            touch_private(path)  # owner-only before sqlite opens it: its -wal and -shm take the database's mode
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
            conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            return conn
        import psycopg

        try:
            return psycopg.connect(self.target, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        except psycopg.OperationalError as exc:
            raise self.unavailable(exc) from None

    def unavailable(self, exc: BaseException) -> ServiceUnavailable:
        return ServiceUnavailable("PostgreSQL database", self.address, one_line(exc, 120),
                                  "Start it, or unset ASSISTANT_DB_URL to use SQLite in the data dir.")

    @contextmanager
    def _conn(self) -> Iterator[Any]:
        with self._lock:
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        healthy = True
        try:
            yield conn
        except BaseException as exc:
            healthy = not self._broken(conn, exc)
            if not healthy and self.kind == "postgresql" and _is_operational(exc):
                raise self.unavailable(exc) from None
            raise
        finally:
            with self._lock:
                if healthy and len(self._idle) < _MAX_IDLE:
                    self._idle.append(conn)
                    conn = None
            if conn is not None:
                try:
                    conn.close()
                except Exception:  # noqa: BLE001 - a dead connection may not close cleanly
                    pass

    def _broken(self, conn: Any, exc: BaseException) -> bool:
        if self.kind == "sqlite":
            return isinstance(exc, sqlite3.OperationalError) and "locked" not in str(exc)
        return bool(getattr(conn, "closed", True)) or _is_operational(exc)

    # -- statements ---------------------------------------------------------------------------
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._conn() as conn:
            return Tx(conn, self.kind).query(sql, params)

    def execute(self, sql: str, params: tuple = ()) -> int:
        with self._conn() as conn:
            return Tx(conn, self.kind).execute(sql, params)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[Tx]:
        """A transaction holding the cross-process writer lock `name` until it commits (or rolls back)."""
        with self._conn() as conn:
            tx = Tx(conn, self.kind)
            if self.kind == "sqlite":
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield tx
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            else:
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_id(name),))
                    yield tx

    def ensure_schema(self, name: str, sqlite: str, postgresql: str) -> None:
        """Create tables once per process (under the writer lock, so two processes never race)."""
        if name in self._schemas:
            return
        with self.exclusive(f"schema:{name}") as tx:
            for statement in (sqlite if self.kind == "sqlite" else postgresql).split(";"):
                if statement.strip():
                    tx.execute(statement)
        self._schemas.add(name)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _lock_id(name: str) -> int:
    return zlib.crc32(f"kadcyla:{name}".encode()) - (1 << 31)  # a signed 32-bit key


def _is_operational(exc: BaseException) -> bool:
    return type(exc).__name__ in ("OperationalError", "InterfaceError") and type(exc).__module__.startswith("psycopg")


_dbs: dict[tuple[str, str], Database] = {}
_dbs_lock = threading.Lock()


def get_db(sqlite_name: str = "audit.sqlite3") -> Database:
    """The database named by the settings: PostgreSQL at ASSISTANT_DB_URL, else `<data dir>/<sqlite_name>`."""
    settings = get_settings()
    key = ("postgresql", settings.db_url) if settings.db_url else ("sqlite", str(settings.data_dir / sqlite_name))
    with _dbs_lock:
        if key not in _dbs:
            _dbs[key] = Database(*key)  # type: ignore[arg-type]
        return _dbs[key]


def shared() -> bool:
    """True when sessions and the audit log live in a database that several machines share."""
    return get_settings().db_url is not None
