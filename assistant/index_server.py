"""The index on a chroma server (CHROMA_HOST): one collection per build, a pointer, and a writer lease.

A build is written into a new collection named by its fingerprint and build id; the pointer (the metadata
of the small `kadcyla-current` collection) is replaced only after the build was read back and verified,
and names the one before it too, which is kept until the next build. One writer at a time: the lease is
the `kadcyla-writer-lease` collection, whose creation succeeds for one process only; its metadata holds
the owner, host, pid and expiry, renewed while the build runs. A lease whose time ran out, or whose
process on this host is gone, is taken over by renaming it away first (a rename of a given collection
id, so two processes taking over the same stale lease cannot both win the create that follows).
Readers only read the pointer and the collection it names.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from contextlib import contextmanager
from typing import Iterator

from assistant.errors import AssistantError, IndexBusyError
from assistant.index_content import chroma_settings
from assistant.services import ServiceUnavailable, is_connection_error, one_line
from assistant.settings import get_settings

log = logging.getLogger("assistant.index")

PREFIX = "kadcyla-"
POINTER = "kadcyla-current"
LEASE = "kadcyla-writer-lease"
LEASE_SECONDS = 120.0
RENEW_SECONDS = 15.0
_POINTER_KEYS = {"collection", "fingerprint", "chunks"}


def address() -> str:
    s = get_settings()
    return f"{s.chroma_host}:{s.chroma_port}"


def unavailable(exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable("chroma server", address(), one_line(exc, 100),
                              "Start it (`chroma run`), or unset CHROMA_HOST to use the local index.")


@contextmanager
def reachable() -> Iterator[None]:
    """Turn a failure to reach the server, wherever in chroma's client it surfaces, into one ServiceUnavailable."""
    try:
        yield
    except AssistantError:
        raise
    except Exception as exc:
        if is_connection_error(exc) or "Could not connect to a Chroma server" in str(exc):
            raise unavailable(exc) from None
        raise


def connect():
    import chromadb

    s = get_settings()
    with reachable():
        return chromadb.HttpClient(host=s.chroma_host, port=s.chroma_port, settings=chroma_settings())


def missing(exc: BaseException) -> bool:
    return type(exc).__name__ == "NotFoundError" or "does not exist" in str(exc)


def build_name(fp: str, build_id: str) -> str:
    return f"{PREFIX}{fp[:12]}-{build_id}"


def read_pointer(client) -> dict | None:
    """The committed build as the pointer names it, or None."""
    try:
        meta = client.get_collection(POINTER).metadata or {}
    except Exception as exc:
        if missing(exc):
            return None
        raise
    return dict(meta) if _POINTER_KEYS <= meta.keys() and str(meta["collection"]).startswith(PREFIX) else None


def write_pointer(client, state: dict) -> None:
    """Name a verified build as the committed one: one metadata update, so readers see the old or the new."""
    collection = client.get_or_create_collection(POINTER, metadata=state)
    collection.modify(metadata=state)


def open_build(client, state: dict):
    """(collection, None) for the committed build, or (None, what is wrong with it)."""
    try:
        collection = client.get_collection(state["collection"], embedding_function=None)
    except Exception as exc:
        if missing(exc):
            return None, f"collection {state['collection']} is missing"
        raise
    if (collection.metadata or {}).get("fingerprint") != state["fingerprint"]:
        return None, f"collection {state['collection']} was built from something else"
    count = collection.count()
    if count != state["chunks"]:
        return None, f"collection {state['collection']} holds {count} chunks, {state['chunks']} were committed"
    return collection, None


def leftovers(client, keep: set[str]) -> list[str]:
    """This app's collections other than `keep` and the control ones: half-written builds, old ones, stale leases."""
    names = [getattr(c, "name", c) for c in client.list_collections()]
    return [n for n in names if n.startswith(PREFIX) and n not in keep | {POINTER, LEASE}]


def prune(client, keep: set[str]) -> list[str]:
    """Delete this app's build collections other than `keep`, and leases renamed away by a takeover."""
    gone = []
    for name in leftovers(client, keep):
        try:
            client.delete_collection(name)
            gone.append(name)
        except Exception as exc:  # noqa: BLE001 - deleted meanwhile
            if not missing(exc):
                raise
    return gone


class Lease:
    """The one-writer lease stored in the server."""

    def __init__(self, client):
        self.client = client
        self.owner = uuid.uuid4().hex
        self.collection = None
        self._renewed = 0.0

    def _meta(self) -> dict:
        return {"owner": self.owner, "host": socket.gethostname(), "pid": os.getpid(),
                "expires": time.time() + LEASE_SECONDS}

    def acquire(self) -> None:
        """Take the lease, or raise IndexBusyError naming who holds it."""
        for _ in range(3):
            try:
                self.collection = self.client.create_collection(LEASE, metadata=self._meta())
                self._renewed = time.monotonic()
                return
            except Exception as exc:
                if "already exists" not in str(exc):
                    raise
            try:
                held = self.client.get_collection(LEASE)
            except Exception as exc:
                if missing(exc):
                    continue  # released meanwhile: try again
                raise
            meta = held.metadata or {}
            why = _stale(meta)
            if why is None:
                until = dt.datetime.fromtimestamp(float(meta.get("expires", 0)), dt.timezone.utc).strftime("%H:%M:%SZ")
                raise IndexBusyError(f"Another process is writing the index (writer lease on the chroma server at "
                                     f"{address()} held by pid {meta.get('pid')} on {meta.get('host')} until {until}). "
                                     "Wait for it to finish, then try again.")
            log.warning("Index: the writer lease of pid %s on %s %s; taking it over", meta.get("pid"), meta.get("host"), why)
            try:
                held.modify(name=f"{LEASE}-stale-{uuid.uuid4().hex[:8]}")
            except Exception as exc:  # noqa: BLE001 - another process renamed it first
                if not missing(exc):
                    raise
        raise IndexBusyError(f"Another process is writing the index (writer lease on {address()}). Try again.")

    def renew(self) -> None:
        if self.collection is not None and time.monotonic() - self._renewed > RENEW_SECONDS:
            self.collection.modify(metadata=self._meta())
            self._renewed = time.monotonic()

    def ours(self) -> bool:
        try:
            return (self.client.get_collection(LEASE).metadata or {}).get("owner") == self.owner
        except Exception as exc:
            if missing(exc):
                return False
            raise

    def release(self) -> None:
        try:
            if self.collection is not None and self.ours():
                self.client.delete_collection(LEASE)
        except Exception as exc:  # noqa: BLE001 - an unreleased lease expires by itself
            log.warning("Index: could not release the writer lease (%s); it expires by itself", type(exc).__name__)
        self.collection = None


def _stale(meta: dict) -> str | None:
    """Why a lease no longer binds (time ran out, or its process on this host is gone), else None."""
    if float(meta.get("expires", 0)) < time.time():
        return "has expired"
    if meta.get("host") == socket.gethostname():
        try:
            os.kill(int(meta.get("pid", 0)), 0)
        except ProcessLookupError:
            return "belongs to a process that is gone"
        except (PermissionError, ValueError, OverflowError):
            pass
    return None
