"""Search: chroma (dense, bundled MiniLM) + bm25s (lexical), fused by weighted reciprocal rank; a second
passage from a section already listed must score clearly higher to stay.

The retriever only reads the index: the committed build (`index_local`: a private copy of the folder
CURRENT names; `index_server`: the collection the pointer names), checked against its chunk count and
checksums when opened. Only when nothing usable is committed and no other process is writing does it
build one itself (`index_build`); while another process writes, it answers from the build before. A
long-running process notices a newly committed build and moves to it between questions.
"""

from __future__ import annotations

import atexit
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Literal

from pydantic import BaseModel

from assistant import index_server
from assistant.chunking import Chunk
from assistant.corpus import Corpus, check_input_text, get_corpus
from assistant.embedder import embed
from assistant.errors import DataError, IndexBusyError
from assistant.index_build import ensure_index, local_problem, server_problem  # noqa: F401 - ensure_index is public here
from assistant.index_content import (all_chunks, chroma_settings, collection_name, fingerprint,  # noqa: F401
                                     index_texts)
from assistant.index_local import IndexState, ReaderCopy, check_files, clean_reader_copies  # noqa: F401
from assistant.settings import configure_offline, get_settings

log = logging.getLogger("assistant.index")

# Fusion. BM25 is the stronger half on this corpus (exact codes, payer names, section words;
# with word stems, recall@5 1.000 alone), so it counts double; a small k lets each list's top
# ranks decide instead of flattening ranks 1-20 into near-equal votes (k=60 was set for long
# TREC runs). `python bench/retrieval.py` prints the grid around these settings.
RRF_K = 10
DENSE_WEIGHT = 0.5
LEXICAL_WEIGHT = 1.0
# Neighbouring chunks of one section are near-duplicates: each further chunk of a section
# already ranked keeps this share of its score, so it stays only when clearly relevant.
SECTION_DECAY = 0.5
CANDIDATES = 20
MAX_QUERY_CHARS = 2000
Mode = Literal["hybrid", "dense", "bm25"]
WAIT_FOR_WRITER_S = 600.0  # a reader with nothing committed waits this long for a writer
SERVER_CHECK_S = 1.0  # how often a long-running process asks the server for a newer build
RETIRE_AFTER_S = 30.0  # a build moved away from is closed after this (queries in flight finish)

_STOPWORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it its me my of on or our should "
    "the this to was we what when which who why will with you your".split()
)
_TOKEN = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")


def tokenize(text: str) -> list[str]:
    return [t for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS]


def lexical_terms(text: str) -> list[str]:
    """What BM25 matches on: the words, and the stem of each word that has one, so "reconstituted"
    finds "reconstitution" while the exact word still counts more ("preferred" over "prefer").
    Snowball English; codes and numbers such as "j9354" and "3.6" have no other stem."""
    words = tokenize(text)
    return words + [stem for word, stem in zip(words, _stemmer().stemWords(words)) if stem != word]


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


class SearchHit(BaseModel):
    doc_id: str
    doc_title: str
    section: str
    heading: str
    quote: str
    start: int
    end: int
    score: float



def fuse(lists: list[tuple[float, list[str]]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of ranked id lists, best first."""
    fused: dict[str, float] = {}
    for weight, ids in lists:
        for rank, cid in enumerate(ids, 1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    return sorted(fused.items(), key=lambda kv: -kv[1])


def damp_same_section(
    ranked: list[tuple[str, float]], by_id: dict[str, Chunk], decay: float = SECTION_DECAY
) -> list[tuple[str, float]]:
    """Re-rank so the n-th chunk of a section already listed scores decay**n of its own score."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for cid, score in ranked:
        key = (by_id[cid].doc_id, by_id[cid].section)
        out.append((cid, score * decay ** seen.get(key, 0)))
        seen[key] = seen.get(key, 0) + 1
    return sorted(out, key=lambda kv: -kv[1])


@dataclass
class _View:
    """One opened build, with the corpus, chunks and BM25 index that go with it."""

    state: dict
    corpus: Corpus
    chunks: list[Chunk]
    by_id: dict[str, Chunk]
    bm25: Any
    collection: Any
    client: Any = None
    copy: ReaderCopy | None = None
    marker: Any = None  # what says a newer build was committed: CURRENT's stat, or the pointer's collection
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def build(self) -> str:
        return self.state.get("collection") or self.state["dir"]

    def close(self) -> None:
        close = getattr(self.client, "close", None)
        if close is not None:
            try:
                close()
            except Exception:  # noqa: BLE001 - closing only frees memory
                pass
        if self.copy is not None:
            self.copy.close()


class Retriever:
    """Hybrid search over the corpus. Thread-safe for queries; moves to a newly committed build between queries."""

    def __init__(self, say: Callable[[str], None] = lambda m: None):
        configure_offline()
        self._say = say
        self._swap = threading.Lock()
        self._retired: list[tuple[float, _View]] = []
        self._checked = time.monotonic()
        self._view = self._open(None)
        atexit.register(self.close)

    # the opened build, for callers that look inside
    corpus = property(lambda self: self._view.corpus)
    chunks = property(lambda self: self._view.chunks)
    by_id = property(lambda self: self._view.by_id)
    bm25 = property(lambda self: self._view.bm25)
    state = property(lambda self: self._view.state)
    collection = property(lambda self: self._view.collection)

    def close(self) -> None:
        for _, view in self._retired:
            view.close()
        self._retired = []
        self._view.close()

    # -- opening ----------------------------------------------------------------------------------
    def _open(self, before: _View | None) -> _View:
        corpus = get_corpus()
        fp = fingerprint(corpus)
        if get_settings().chroma_host:
            state, collection, client, copy, marker = self._open_server(fp)
        else:
            state, collection, client, copy, marker = self._open_local(fp)
        if before is not None and before.state["fingerprint"] == state["fingerprint"] and before.corpus is corpus:
            chunks, bm25 = before.chunks, before.bm25
        else:
            chunks, bm25 = _lexical_index(corpus)
        return _View(state, corpus, chunks, {c.id: c for c in chunks}, bm25, collection, client, copy, marker)

    def _open_local(self, fp: str):
        import chromadb

        state = IndexState(get_settings().data_dir / "index")
        clean_reader_copies(state)
        built = False
        for _ in range(3):
            current = state.read()
            marker = _stat(state.current_file)
            problem = local_problem(state, current, fp, files=False)
            if problem is None or (problem == "stale" and _writer_busy(state)):
                copy = ReaderCopy(state, state.root / current["dir"])
                problem = check_files(copy.path, current.get("files"))
                if problem is None:
                    client = chromadb.PersistentClient(path=str(copy.path), settings=chroma_settings())
                    collection = client.get_collection(collection_name(current["fingerprint"]))
                    if collection.count() == current["chunks"]:
                        return {**current, "rebuilt": built}, collection, client, copy, marker
                    problem = f"holds {collection.count()} chunks, {current['chunks']} were committed"
                    client.close()
                copy.close()
            built = self._build_or_wait(current, lambda: state.read())
        raise DataError(f"The index in {state.root} could not be opened ({problem}). Run `assistant index --rebuild`.")

    def _open_server(self, fp: str):
        with index_server.reachable():
            client = index_server.connect()
            built = False
            for _ in range(3):
                current = index_server.read_pointer(client)
                collection, problem = server_problem(client, current, fp)
                if problem == "stale":
                    collection, unusable = index_server.open_build(client, current)
                    if unusable is None and _lease_held(client):
                        return ({**current, "dir": f"server:{current['collection']}", "rebuilt": False}, collection,
                                client, None, current["collection"])
                if problem is None:
                    return ({**current, "dir": f"server:{current['collection']}", "rebuilt": built}, collection, client,
                            None, current["collection"])
                built = self._build_or_wait(current, lambda: index_server.read_pointer(client))
        raise DataError(f"The index on the chroma server at {index_server.address()} could not be opened ({problem}). "
                        "Run `assistant index --rebuild`.")

    def _build_or_wait(self, current: dict | None, read: Callable[[], dict | None]) -> bool:
        """Nothing usable is committed: build it, or, while another process does, wait for its commit."""
        try:
            return ensure_index(say=self._say)["rebuilt"]
        except IndexBusyError:
            self._say("Another process is writing the index; waiting for it to commit.")
            deadline = time.monotonic() + WAIT_FOR_WRITER_S
            while time.monotonic() < deadline:
                time.sleep(0.25)
                if read() != current:
                    return False
            raise IndexBusyError("Another process is still writing the index and nothing is committed yet; "
                                 "try again when `assistant index` has finished.") from None

    # -- moving to a new build --------------------------------------------------------------------
    def _current(self) -> _View:
        view = self._view
        if get_settings().chroma_host:
            if time.monotonic() - self._checked < SERVER_CHECK_S:
                return view
            self._checked = time.monotonic()
            try:
                with index_server.reachable():
                    pointer = index_server.read_pointer(view.client)
            except Exception:  # noqa: BLE001 - the query itself will say the server is down
                return view
            changed = pointer is not None and pointer["collection"] != view.marker
        else:
            changed = _stat(IndexState(get_settings().data_dir / "index").current_file) != view.marker
        return self._switch(view) if changed else view

    def _switch(self, seen: _View, force: bool = False) -> _View:
        with self._swap:
            if self._view is not seen:  # another thread moved already
                return self._view
            try:
                new = self._open(seen)
            except Exception as exc:  # noqa: BLE001 - keep answering from the build we have
                if force:
                    raise
                log.warning("Index: could not move to the newly committed build (%s); answering from %s",
                            type(exc).__name__, seen.build)
                seen.marker = _stat(IndexState(get_settings().data_dir / "index").current_file) \
                    if not get_settings().chroma_host else seen.marker
                return seen
            if new.build == seen.build:
                seen.marker = new.marker
                new.close()
                return seen
            log.info("Index: moved from build %s to %s", seen.build, new.build)
            now = time.monotonic()
            for when, old in [r for r in self._retired if now - r[0] > RETIRE_AFTER_S]:
                old.close()
            self._retired = [r for r in self._retired if now - r[0] <= RETIRE_AFTER_S] + [(now, seen)]
            self._view = new
            return new

    # -- searching --------------------------------------------------------------------------------
    def _dense(self, query: str, n: int, view: _View | None = None) -> list[str]:
        view = view or self._current()
        vector = embed([query])[0]
        try:
            with index_server.reachable():
                result = view.collection.query(query_embeddings=[vector], n_results=n, include=[])
        except Exception as exc:
            if not (get_settings().chroma_host and index_server.missing(exc)):
                raise
            view = self._switch(view, force=True)  # pruned under us: the pointer names a newer build
            with index_server.reachable():
                result = view.collection.query(query_embeddings=[vector], n_results=n, include=[])
        return [cid for cid in result["ids"][0] if cid in view.by_id]

    def _lexical(self, query: str, n: int, view: _View | None = None) -> list[str]:
        view = view or self._current()
        tokens = [t for t in lexical_terms(query) if t in view.bm25.vocab_dict]
        if not tokens:
            return []
        with view.lock:
            scores = view.bm25.get_scores(tokens)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [view.chunks[i].id for i in order[:n] if scores[i] > 0]

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[SearchHit]:
        """Top-k chunks for the query. InputError for empty or over-long queries."""
        query = check_input_text(query, what="query", limit=MAX_QUERY_CHARS)
        k = max(1, min(int(k), 50))
        n = max(CANDIDATES, k)
        view = self._current()
        lists = []
        if mode in ("hybrid", "dense"):
            lists.append((DENSE_WEIGHT, self._dense(query, n, view)))
            view = self._view if self._view.by_id is not view.by_id else view
        if mode in ("hybrid", "bm25"):
            lists.append((LEXICAL_WEIGHT, self._lexical(query, n, view)))
        ranked = damp_same_section(fuse(lists), view.by_id)
        return [self._hit(view, view.by_id[cid], score) for cid, score in ranked[:k]]

    def _hit(self, view: _View, chunk: Chunk, score: float) -> SearchHit:
        return SearchHit(
            doc_id=chunk.doc_id,
            doc_title=view.corpus.doc(chunk.doc_id).meta.title,
            section=chunk.section,
            heading=chunk.heading,
            quote=chunk.text,
            start=chunk.start,
            end=chunk.end,
            score=round(score, 6),
        )


def _lexical_index(corpus: Corpus):
    import bm25s

    chunks = all_chunks(corpus)
    bm25 = bm25s.BM25()
    bm25.index([lexical_terms(t) or ["_"] for t in index_texts(corpus, chunks)], show_progress=False)
    return chunks, bm25


def _stat(path: Path):
    try:
        st = path.stat()
        return (st.st_ino, st.st_mtime_ns, st.st_size)
    except OSError:
        return None


def _writer_busy(state: IndexState) -> bool:
    from filelock import FileLock, Timeout

    if not state.lock_file.exists():
        return False
    lock = FileLock(str(state.lock_file), mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return True
    lock.release()
    return False


def _lease_held(client) -> bool:
    try:
        meta = client.get_collection(index_server.LEASE).metadata or {}
    except Exception as exc:  # noqa: BLE001
        if index_server.missing(exc):
            return False
        raise
    return index_server._stale(meta) is None


_retriever: Retriever | None = None
_retriever_lock = threading.Lock()


def get_retriever(say: Callable[[str], None] = lambda m: None) -> Retriever:
    """One retriever per process (the model and index load once)."""
    global _retriever
    with _retriever_lock:
        if _retriever is None:
            _retriever = Retriever(say=say)
        return _retriever
