"""What the index holds: the chunks, the text each retriever sees, and the fingerprints that name a build.

`fingerprint` says what a build was made from (corpus, manifest, chunker, index texts, model); `content_digest`
says what a finished build holds (every chunk id and stored passage), so a build is committed only when
what was read back from chroma is what was meant to go in.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Callable

from assistant.chunking import CHUNKER_VERSION, Chunk, chunk_document, doc_label
from assistant.corpus import Corpus
from assistant.embedder import MODEL_NAME, embed

BATCH = 32


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


def content_digest(ids: list[str], documents: list[str | None]) -> str:
    """sha256 over every (id, stored passage) pair, in id order: what a build holds."""
    h = hashlib.sha256()
    for cid, doc in sorted(zip(ids, documents), key=lambda pair: pair[0]):
        h.update(cid.encode())
        h.update(b"\0")
        h.update((doc or "").encode())
        h.update(b"\1")
    return h.hexdigest()


def expected_content(chunks: list[Chunk]) -> str:
    return content_digest([c.id for c in chunks], [c.text for c in chunks])


def stored_content(collection) -> tuple[int, str]:
    """(count, content digest) of what a chroma collection holds, read back from it."""
    got = collection.get(include=["documents"])
    return len(got["ids"]), content_digest(got["ids"], got["documents"])


def chroma_settings():
    from chromadb.config import Settings as ChromaSettings

    return ChromaSettings(anonymized_telemetry=False, allow_reset=False)


def collection_name(fp: str) -> str:
    """The collection of a local build (one per build folder)."""
    return f"kadcyla-{fp[:16]}"


def add_chunks(collection, chunks: list[Chunk], corpus: Corpus, progress: Callable[[int, int], None] | None,
               after_batch: Callable[[int], None] = lambda done: None) -> None:
    """Embed the chunks, then add them in batches; `after_batch(done)` runs after each (lease renewal, test pauses).

    Embedded shortest first, 32 at a time (a batch is padded to its longest text: in corpus order that took
    three times as long), and added in corpus order, so the stored index is the same either way.
    """
    texts = index_texts(corpus, chunks)
    order = sorted(range(len(chunks)), key=lambda i: len(texts[i]))
    vectors: list = [None] * len(chunks)
    for i in range(0, len(order), BATCH):
        group = order[i : i + BATCH]
        for j, vector in zip(group, embed([texts[j] for j in group])):
            vectors[j] = vector
        if progress:
            progress(min(i + BATCH, len(chunks)), len(chunks))
        after_batch(0)
    for i in range(0, len(chunks), BATCH):
        part = range(i, min(i + BATCH, len(chunks)))
        collection.add(
            ids=[chunks[j].id for j in part],
            embeddings=[vectors[j] for j in part],
            documents=[chunks[j].text for j in part],
            metadatas=[{"doc_id": chunks[j].doc_id, "section": chunks[j].section, "start": chunks[j].start,
                        "end": chunks[j].end} for j in part],
        )
        after_batch(part.stop)
