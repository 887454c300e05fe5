"""Writing the index (`assistant index`): one writer at a time, and nothing in force until it is verified.

Local mode: the file lock `index/index.lock`, a new build folder, CURRENT replaced at the end. Server mode:
the same file lock plus the server's writer lease, a new collection, the pointer replaced at the end. In
both, the build is read back (chunk count and content digest) before it is committed, the one before it is
kept for readers that have not moved on yet, and older or half-written builds are removed. `kill -9` at
any moment leaves the last committed build answering. ASSISTANT_INDEX_PAUSE_AT stops the process at a named
stage (SIGSTOP), so crash tests kill it exactly there.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import uuid
from typing import Callable

from assistant import index_server
from assistant.corpus import Corpus, get_corpus
from assistant.errors import IndexBusyError
from assistant.hashing import folder_digests
from assistant.index_content import (add_chunks, all_chunks, chroma_settings, collection_name, expected_content,
                                     fingerprint, stored_content)
from assistant.index_local import IndexState, ReaderCopy, check_files, clean_reader_copies
from assistant.settings import configure_offline, get_settings

log = logging.getLogger("assistant.index")

STAGES = ("locked", "created", "partial", "added", "verified", "committed")
Say = Callable[[str], None]


def pause(stage: str) -> None:
    """The crash-test hook: stop this process at `stage` when ASSISTANT_INDEX_PAUSE_AT names it."""
    if get_settings().index_pause_at == stage:
        sys.stderr.write(f"[index] paused at {stage}\n")
        sys.stderr.flush()
        os.kill(os.getpid(), signal.SIGSTOP)


def ensure_index(*, rebuild: bool = False, progress: Callable[[int, int], None] | None = None, say: Say = print) -> dict:
    """Build the index if it is missing, stale, damaged or `rebuild` is asked; return the committed state.

    IndexBusyError if another process is writing it; ServiceUnavailable if the chroma server cannot be reached.
    """
    configure_offline()
    corpus = get_corpus()
    fp = fingerprint(corpus)
    if get_settings().chroma_host:
        return _server(corpus, fp, rebuild, progress, say)
    return _local(corpus, fp, rebuild, progress, say)


def _file_lock():
    from filelock import FileLock, Timeout

    state = IndexState(get_settings().data_dir / "index")
    state.root.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(state.lock_file), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError("Another process is writing the index (lock held on "
                             f"{state.lock_file}). Wait for it to finish, then try again.") from None
    return lock


# -- local ---------------------------------------------------------------------------------------
def local_problem(state: IndexState, current: dict | None, fp: str, *, files: bool = True) -> str | None:
    """Why the committed local build cannot answer for this corpus (None when it can); `files` checks its checksums."""
    if current is None:
        return "none committed"
    if current["fingerprint"] != fp:
        return "stale"
    folder = state.folder(current["dir"])
    if folder is None or not folder.is_dir():
        return "missing"
    return check_files(folder, current.get("files")) if files else None


def _legacy_problem(state: IndexState, current: dict, corpus: Corpus) -> str | None:
    """A build committed before checksums were kept: read it back (from a private copy) before trusting it."""
    import chromadb

    copy = ReaderCopy(state, state.root / current["dir"])
    try:
        client = chromadb.PersistentClient(path=str(copy.path), settings=chroma_settings())
        try:
            count, content = stored_content(client.get_collection(collection_name(current["fingerprint"])))
        except Exception as exc:  # noqa: BLE001 - any failure to read it back means it cannot be trusted
            return f"it cannot be read ({type(exc).__name__})"
        finally:
            _close(client)
        chunks = all_chunks(corpus)
        if count != len(chunks) or content != expected_content(chunks):
            return f"it holds {count} of {len(chunks)} chunks, or other text"
        return None
    finally:
        copy.close()


def _local(corpus: Corpus, fp: str, rebuild: bool, progress, say: Say) -> dict:
    state = IndexState(get_settings().data_dir / "index")
    current = state.read()
    keep = {current["dir"], current.get("previous")} if current else set()
    if not rebuild and local_problem(state, current, fp) is None and not state.leftovers(keep):
        return {**current, "rebuilt": False}
    lock = _file_lock()
    try:
        pause("locked")
        clean_reader_copies(state)
        current = state.read()
        problem = local_problem(state, current, fp)
        if not rebuild and problem is None and current.get("files") is None:
            problem = _legacy_problem(state, current, corpus)
            if problem is None:  # committed before checksums were kept: keep them from now on
                current = state.commit(state.root / current["dir"], fp, current["chunks"], content=current.get("content"),
                                       files=folder_digests(state.root / current["dir"]), previous=current.get("previous"))
        if not rebuild and problem is None:
            state.prune({current["dir"], current.get("previous")})
            return {**current, "rebuilt": False}
        if current is None and any(state.root.glob("build-*")):
            say("Index found without a committed fingerprint (interrupted build?): rebuilding from the corpus.")
        elif problem == "stale":
            say("Corpus, manifest, chunker or model changed: rebuilding the index.")
        elif problem == "missing":
            say("Index directory missing: rebuilding from the corpus.")
        elif problem not in (None, "none committed"):
            log.warning("Index build %s is damaged (%s): rebuilding it.", current["dir"], problem)
        return _build_local(state, corpus, fp, current, progress)
    finally:
        lock.release()


def _build_local(state: IndexState, corpus: Corpus, fp: str, current: dict | None, progress) -> dict:
    import chromadb

    build = state.new_build()
    chunks = all_chunks(corpus)
    client = chromadb.PersistentClient(path=str(build), settings=chroma_settings())
    try:
        collection = client.create_collection(collection_name(fp), embedding_function=None,
                                              metadata={"hnsw:space": "cosine", "fingerprint": fp, "build": build.name})
        pause("created")
        add_chunks(collection, chunks, corpus, progress, after_batch=lambda done: pause("partial") if 0 < done <= 32 else None)
        pause("added")
        content = _verified(collection, chunks)
    finally:
        _close(client)
    files = folder_digests(build)
    pause("verified")
    previous = current["dir"] if current and state.folder(current["dir"]) and (state.root / current["dir"]).is_dir() else None
    committed = state.commit(build, fp, len(chunks), content=content, files=files, previous=previous)
    pause("committed")
    state.prune({build.name, previous})
    return {**committed, "rebuilt": True}


def _verified(collection, chunks) -> str:
    count, content = stored_content(collection)
    if count != len(chunks) or content != expected_content(chunks):
        raise IndexBusyError(f"The new index build holds {count} of {len(chunks)} chunks or other text than was "
                             "written (another writer?); it was not committed.")
    return content


def _close(client) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - closing only frees memory
            pass


# -- server --------------------------------------------------------------------------------------
def server_problem(client, current: dict | None, fp: str) -> tuple[object, str | None]:
    if current is None:
        return None, "none committed"
    if current["fingerprint"] != fp:
        return None, "stale"
    return index_server.open_build(client, current)


def _server(corpus: Corpus, fp: str, rebuild: bool, progress, say: Say) -> dict:
    with index_server.reachable():
        client = index_server.connect()
        current = index_server.read_pointer(client)
        _, problem = server_problem(client, current, fp)
        if not rebuild and problem is None:
            if index_server.leftovers(client, {current["collection"], current.get("previous") or ""}):
                _prune_server(client, current)
            return {**current, "dir": f"server:{current['collection']}", "rebuilt": False}
        lock = _file_lock()
        lease = index_server.Lease(client)
        try:
            lease.acquire()
            pause("locked")
            current = index_server.read_pointer(client)
            _, problem = server_problem(client, current, fp)
            if not rebuild and problem is None:
                return {**current, "dir": f"server:{current['collection']}", "rebuilt": False}
            if problem == "stale":
                say("Corpus, manifest, chunker or model changed: rebuilding the index.")
            elif problem not in (None, "none committed"):
                log.warning("Index on the chroma server is damaged (%s): rebuilding it.", problem)
            return _build_server(client, lease, corpus, fp, current, progress)
        finally:
            lease.release()
            lock.release()


def _prune_server(client, current: dict) -> None:
    """Remove what killed or older builds left on the server, if no other writer is at work."""
    lease = index_server.Lease(client)
    try:
        lease.acquire()
    except IndexBusyError:
        return
    try:
        if index_server.read_pointer(client) == current:
            index_server.prune(client, {current["collection"], current.get("previous") or current["collection"]})
    finally:
        lease.release()


def _build_server(client, lease: index_server.Lease, corpus: Corpus, fp: str, current: dict | None, progress) -> dict:
    build_id = uuid.uuid4().hex[:12]
    name = index_server.build_name(fp, build_id)
    chunks = all_chunks(corpus)
    collection = client.create_collection(name, embedding_function=None,
                                          metadata={"hnsw:space": "cosine", "fingerprint": fp, "build": build_id})
    pause("created")

    def after_batch(done: int) -> None:
        lease.renew()
        if 0 < done <= 32:
            pause("partial")

    add_chunks(collection, chunks, corpus, progress, after_batch)
    pause("added")
    content = _verified(collection, chunks)
    pause("verified")
    if not lease.ours():
        raise IndexBusyError("The writer lease was taken over while this build ran (it took longer than the lease); "
                             "the build was not committed. Run `assistant index` again.")
    previous = current["collection"] if current else None
    state = {"collection": name, "fingerprint": fp, "chunks": len(chunks), "content": content, "build": build_id,
             "previous": previous or ""}
    index_server.write_pointer(client, state)
    pause("committed")
    index_server.prune(client, {name, previous or name})
    return {**state, "dir": f"server:{name}", "rebuilt": True}
