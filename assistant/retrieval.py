"""The index: chroma (dense, bundled MiniLM) + bm25s (lexical), fused by weighted reciprocal
rank; a second passage from a section already listed must score clearly higher to stay.

Layout under <data_dir>/index/: build directories, and CURRENT, a small JSON file
naming the live build and its fingerprint. CURRENT is replaced atomically only
after a build completes, so a crash mid-build leaves the old index (or none)
in force and the next start rebuilds.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import threading
import time
import uuid
from functools import lru_cache
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel

from assistant.chunking import CHUNKER_VERSION, Chunk, chunk_document, doc_label
from assistant.corpus import Corpus, check_input_text, get_corpus
from assistant.embedder import MODEL_NAME, embed
from assistant.errors import IndexBusyError
from assistant.settings import configure_offline, get_settings

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


def fingerprint(corpus: Corpus) -> str:
    """What the index was built from: corpus, manifest, chunker, the index texts and model."""
    h = hashlib.sha256()
    h.update(corpus.fingerprint().encode())
    h.update(CHUNKER_VERSION.encode())
    h.update(resources.files("assistant.data").joinpath("chunking.yaml").read_bytes())
    for text in index_texts(corpus, all_chunks(corpus)):
        h.update(text.encode())
        h.update(b"\0")
    h.update(MODEL_NAME.encode())
    return h.hexdigest()


def all_chunks(corpus: Corpus) -> list[Chunk]:
    return [c for doc_id, doc in corpus.docs.items() for c in chunk_document(doc_id, doc.text)]


def index_texts(corpus: Corpus, chunks: list[Chunk]) -> list[str]:
    """What both retrievers see for each chunk (the stored quote stays the bare chunk text)."""
    labels = {d: doc_label(d, doc.meta.publisher, doc.meta.title) for d, doc in corpus.docs.items()}
    return [c.index_text(labels[c.doc_id]) for c in chunks]


def _chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def _collection_name(fp: str) -> str:
    return f"kadcyla-{fp[:16]}"


@dataclass
class IndexState:
    root: Path

    @property
    def current_file(self) -> Path:
        return self.root / "CURRENT"

    @property
    def lock_file(self) -> Path:
        return self.root / "index.lock"

    def read(self) -> dict | None:
        try:
            data = json.loads(self.current_file.read_text())
            if isinstance(data, dict) and {"dir", "fingerprint", "chunks"} <= data.keys():
                return data
        except (OSError, ValueError):
            pass
        return None

    def commit(self, build_dir: Path, fp: str, chunks: int) -> None:
        tmp = self.root / f"CURRENT.tmp-{os.getpid()}"
        tmp.write_text(json.dumps({"dir": build_dir.name, "fingerprint": fp, "chunks": chunks}))
        os.replace(tmp, self.current_file)

    def prune(self, keep: set[str]) -> None:
        """Delete builds other than `keep`: the new one and the one before it, which a process that
        started earlier may still be reading (it moves to the new one when it restarts)."""
        for path in self.root.glob("build-*"):
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)


def _add(collection, chunks: list[Chunk], corpus: Corpus, progress: Callable[[int, int], None] | None) -> None:
    batch = 32
    for i in range(0, len(chunks), batch):
        part = chunks[i : i + batch]
        texts = index_texts(corpus, part)
        collection.add(
            ids=[c.id for c in part],
            embeddings=embed(texts),
            documents=[c.text for c in part],
            metadatas=[{"doc_id": c.doc_id, "section": c.section, "start": c.start, "end": c.end} for c in part],
        )
        if progress:
            progress(min(i + batch, len(chunks)), len(chunks))


def ensure_index(
    *, rebuild: bool = False, progress: Callable[[int, int], None] | None = None, say: Callable[[str], None] = print
) -> dict:
    """Build the local index if it is missing, stale, corrupt or `rebuild` is asked; return its state."""
    configure_offline()
    settings = get_settings()
    corpus = get_corpus()
    fp = fingerprint(corpus)
    if settings.chroma_host:
        return _ensure_server_collection(corpus, fp, rebuild, progress)
    state = IndexState(settings.data_dir / "index")
    current = state.read()
    if not rebuild and current and current["fingerprint"] == fp and (state.root / current["dir"]).is_dir():
        return {**current, "rebuilt": False}
    state.root.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock, Timeout

    lock = FileLock(str(state.lock_file))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise IndexBusyError(
            "Another process is writing the index (lock held on "
            f"{state.lock_file}). Wait for it to finish, then try again."
        ) from None
    try:
        current = state.read()
        if not rebuild and current and current["fingerprint"] == fp and (state.root / current["dir"]).is_dir():
            return {**current, "rebuilt": False}
        if current is None and any(state.root.glob("build-*")):
            say("Index found without a committed fingerprint (interrupted build?): rebuilding from the corpus.")
        elif current is not None and current["fingerprint"] != fp:
            say("Corpus, manifest, chunker or model changed: rebuilding the index.")
        elif current is not None and not (state.root / current["dir"]).is_dir():
            say("Index directory missing: rebuilding from the corpus.")
        build_dir = state.root / f"build-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        chunks = all_chunks(corpus)
        import chromadb

        client = chromadb.PersistentClient(path=str(build_dir), settings=_chroma_settings())
        collection = client.create_collection(
            _collection_name(fp), embedding_function=None, metadata={"hnsw:space": "cosine"}
        )
        _add(collection, chunks, corpus, progress)
        del collection, client
        state.commit(build_dir, fp, len(chunks))
        state.prune(keep={build_dir.name, *([current["dir"]] if current else [])})
        return {"dir": build_dir.name, "fingerprint": fp, "chunks": len(chunks), "rebuilt": True}
    finally:
        lock.release()


def _server_client():
    import chromadb

    s = get_settings()
    return chromadb.HttpClient(host=s.chroma_host, port=s.chroma_port, settings=_chroma_settings())


def _ensure_server_collection(corpus: Corpus, fp: str, rebuild: bool, progress) -> dict:
    client = _server_client()
    name = _collection_name(fp)
    chunks = all_chunks(corpus)
    if rebuild:
        try:
            client.delete_collection(name)
        except Exception:  # noqa: BLE001 - absent collection: nothing to delete
            pass
    collection = client.get_or_create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
    rebuilt = False
    if collection.count() != len(chunks):
        if collection.count():
            client.delete_collection(name)
            collection = client.create_collection(name, embedding_function=None, metadata={"hnsw:space": "cosine"})
        _add(collection, chunks, corpus, progress)
        rebuilt = True
    return {"dir": f"server:{name}", "fingerprint": fp, "chunks": len(chunks), "rebuilt": rebuilt}


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


class Retriever:
    """Hybrid search over the corpus. Thread-safe for queries."""

    def __init__(self, say: Callable[[str], None] = lambda m: None):
        import bm25s

        self.corpus = get_corpus()
        self.state = ensure_index(say=say)
        self.chunks = all_chunks(self.corpus)
        self.by_id = {c.id: c for c in self.chunks}
        self.bm25 = bm25s.BM25()
        self.bm25.index([lexical_terms(t) or ["_"] for t in index_texts(self.corpus, self.chunks)], show_progress=False)
        self._lock = threading.Lock()
        self.collection = self._open_collection()

    def _open_collection(self):
        import chromadb

        settings = get_settings()
        if settings.chroma_host:
            client = _server_client()
        else:
            path = settings.data_dir / "index" / self.state["dir"]
            client = chromadb.PersistentClient(path=str(path), settings=_chroma_settings())
        return client.get_collection(_collection_name(self.state["fingerprint"]))

    def _dense(self, query: str, n: int) -> list[str]:
        vector = embed([query])[0]
        result = self.collection.query(query_embeddings=[vector], n_results=n, include=[])
        return result["ids"][0]

    def _lexical(self, query: str, n: int) -> list[str]:
        tokens = [t for t in lexical_terms(query) if t in self.bm25.vocab_dict]
        if not tokens:
            return []
        with self._lock:
            scores = self.bm25.get_scores(tokens)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [self.chunks[i].id for i in order[:n] if scores[i] > 0]

    def search(self, query: str, k: int = 5, mode: Mode = "hybrid") -> list[SearchHit]:
        """Top-k chunks for the query. InputError for empty or over-long queries."""
        query = check_input_text(query, what="query", limit=MAX_QUERY_CHARS)
        k = max(1, min(int(k), 50))
        n = max(CANDIDATES, k)
        lists = []
        if mode in ("hybrid", "dense"):
            lists.append((DENSE_WEIGHT, self._dense(query, n)))
        if mode in ("hybrid", "bm25"):
            lists.append((LEXICAL_WEIGHT, self._lexical(query, n)))
        ranked = damp_same_section(fuse(lists), self.by_id)
        return [self._hit(self.by_id[cid], score) for cid, score in ranked[:k]]

    def _hit(self, chunk: Chunk, score: float) -> SearchHit:
        return SearchHit(
            doc_id=chunk.doc_id,
            doc_title=self.corpus.doc(chunk.doc_id).meta.title,
            section=chunk.section,
            heading=chunk.heading,
            quote=chunk.text,
            start=chunk.start,
            end=chunk.end,
            score=round(score, 6),
        )


_retriever: Retriever | None = None
_retriever_lock = threading.Lock()


def get_retriever(say: Callable[[str], None] = lambda m: None) -> Retriever:
    """One retriever per process (the model and index load once)."""
    global _retriever
    with _retriever_lock:
        if _retriever is None:
            _retriever = Retriever(say=say)
        return _retriever
