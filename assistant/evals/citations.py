"""Citations against the corpus: does an expected passage exist, is a cited quote exact, does a citation match."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.corpus import get_corpus
from assistant.evals.spec import CitationSpec


def tokens(text: str) -> list[str]:
    """Lower-cased words and numbers, for matching section names."""
    return re.findall(r"[^\W_]+", text.casefold())


def _contains_run(hay: list[str], needle: list[str]) -> bool:
    n = len(needle)
    return n > 0 and any(hay[i : i + n] == needle for i in range(len(hay) - n + 1))


def _section_spans(doc_id: str) -> tuple[tuple[tuple[str, ...], int, int], ...]:
    corpus = get_corpus()
    if doc_id not in corpus.docs:  # a run against a changed corpus may lack a document the cases cite
        return ()
    return _spans_in(str(corpus.dir), doc_id)


@lru_cache(maxsize=32)
def _spans_in(corpus_dir: str, doc_id: str) -> tuple[tuple[tuple[str, ...], int, int], ...]:
    """Keyed by corpus folder too: `--corpus` scores answers against the changed documents."""
    from assistant.chunking import chunk_document

    text = get_corpus().text(doc_id)
    return tuple((tuple(tokens(c.section)), c.start, c.end) for c in chunk_document(doc_id, text))


def _spans_for(spec: CitationSpec) -> list[tuple[int, int]] | None:
    """Character spans the spec points at; None when it names no section or text."""
    spans: list[tuple[int, int]] | None = None
    if spec.section:
        want = tokens(spec.section)
        spans = [(s, e) for toks, s, e in _section_spans(spec.doc) if list(toks[: len(want)]) == want]
    if spec.text:
        corpus = get_corpus()
        text = corpus.text(spec.doc) if spec.doc in corpus.docs else ""
        found = [(m.start(), m.start() + len(spec.text)) for m in re.finditer(re.escape(spec.text), text)]
        spans = found if spans is None else [t for t in found if any(t[0] < e and s < t[1] for s, e in spans)]
    return spans


def check_citation_spec(spec: CitationSpec) -> str | None:
    """Why an expected citation cannot be found in the corpus, or None if it can."""
    corpus = get_corpus()
    if spec.doc not in corpus.docs:
        return f"unknown document {spec.doc!r}; documents: {', '.join(sorted(corpus.docs))}"
    if spec.text and not corpus.is_exact(spec.doc, spec.text):
        return f"text {spec.text[:60]!r} is not an exact passage of {spec.doc}"
    if spec.section and not _spans_for(CitationSpec(doc=spec.doc, section=spec.section)):
        names = sorted({" ".join(t) for t, _, _ in _section_spans(spec.doc)})
        return f"no section {spec.section!r} in {spec.doc}; sections (lower-cased): {', '.join(names)}"
    if spec.section and spec.text and not _spans_for(spec):
        return f"text {spec.text[:60]!r} is not inside section {spec.section!r} of {spec.doc}"
    return None


def citation_span(doc_id: str, quote: str, start: int | None, end: int | None) -> tuple[int, int] | None:
    """Where a cited quote sits in its document: the given offsets when they hold the quote, else its first occurrence."""
    corpus = get_corpus()
    if doc_id not in corpus.docs or not quote:
        return None
    text = corpus.text(doc_id)
    if start is not None and end is not None and text[start:end] == quote:
        return start, end
    at = text.find(quote)
    return (at, at + len(quote)) if at >= 0 else None


def citation_valid(doc_id: str, quote: str, start: int | None, end: int | None) -> str | None:
    """Why a citation is invalid (quote not an exact substring, offsets wrong), or None if valid."""
    corpus = get_corpus()
    if doc_id not in corpus.docs:
        return f"unknown document {doc_id!r}"
    if not corpus.is_exact(doc_id, quote):
        return f"quote is not an exact substring of {doc_id}: {quote[:80]!r}"
    if start is not None and end is not None and corpus.text(doc_id)[start:end] != quote:
        return f"offsets {start}–{end} do not hold the quote in {doc_id}"
    return None


def cites(spec: CitationSpec, doc_id: str, section: str, quote: str, start: int | None, end: int | None) -> bool:
    """A citation matches the spec: same document, and section (by name or by position) and text overlap."""
    if doc_id != spec.doc:
        return False
    if not spec.section and not spec.text:
        return True
    span = citation_span(doc_id, quote, start, end)
    overlaps = span is not None and any(span[0] < e and s < span[1] for s, e in _spans_for(spec) or [])
    if spec.text:
        return overlaps
    return overlaps or _contains_run(tokens(section or ""), tokens(spec.section or ""))


def where(spec: CitationSpec) -> str:
    """The spec as the report shows it: doc § section “text”."""
    return spec.doc + (f" § {spec.section}" if spec.section else "") + (f" “{spec.text[:40]}”" if spec.text else "")
