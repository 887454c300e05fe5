"""Extractive quoting: the part of a retrieved passage that answers the question, as an exact substring."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.corpus import get_corpus
from assistant.retrieval import tokenize

# A sentence ends at . ! ? followed by white space, or at a line break: never inside "3.6", "C50.x" or "0.22".
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
_WHOLE_PASSAGE = 500  # passages this short are quoted whole: a table or list keeps its context
_WORD_WEIGHT = 0.02  # shared rare words (idf ~2-7 each) break near-ties in meaning


def sentences(hit: dict) -> list[dict]:
    """Sentences (or lines) of a passage, each an exact substring with its own offsets."""
    out, pos, text = [], 0, hit["quote"]
    for m in [*_SENTENCE_END.finditer(text), None]:
        end = m.start() if m else len(text)
        raw = text[pos:end]
        s = raw.strip()
        if len(s) >= 12 and not s.endswith("?"):
            start = hit["start"] + pos + (len(raw) - len(raw.lstrip()))
            out.append({**hit, "quote": s, "start": start, "end": start + len(s)})
        pos = m.end() if m else len(text)
    return out


@lru_cache(maxsize=4)
def _idf(corpus_dir: str) -> dict[str, float]:
    """Inverse line frequency of each word over the corpus: "margenza" outweighs "preferred"."""
    from math import log

    corpus = get_corpus()
    lines = [line for doc in corpus.docs.values() for line in doc.text.splitlines() if line.strip()]
    df: dict[str, int] = {}
    for line in lines:
        for tok in set(tokenize(line)):
            df[tok] = df.get(tok, 0) + 1
    return {tok: log(len(lines) / n) for tok, n in df.items()}


def _overlap(terms: set[str], text: str) -> float:
    idf = _idf(str(get_corpus().dir))
    return sum(idf.get(t, 0.0) for t in terms & set(tokenize(text)))


def _similarities(question_vec, texts: list[str]) -> list[float]:
    """Cosine similarity of each sentence to the question (bundled MiniLM; vectors are normalized)."""
    import numpy as np

    from assistant.embedder import embed

    missing = [t for t in dict.fromkeys(texts) if t not in _SENTENCE_VECTORS]
    if missing:  # one batch for the sentences not embedded before; corpus sentences are finite
        for t, v in zip(missing, embed(missing)):
            _SENTENCE_VECTORS[t] = np.asarray(v)
    return [float(_SENTENCE_VECTORS[t] @ question_vec) for t in texts]


_SENTENCE_VECTORS: dict = {}


def best_quote(hit: dict, terms: set[str], question_vec=None) -> tuple[float, dict]:
    """The passage itself when short, else its best sentence and the one after it; with its term overlap.

    Sentences are ranked by meaning (similarity to the question) plus the rare words they share with it,
    so "Do not re-escalate the dose after a dose reduction" wins over a sentence that only repeats "dose"."""
    whole = hit["quote"].strip()
    if len(whole) <= _WHOLE_PASSAGE:
        lead = len(hit["quote"]) - len(hit["quote"].lstrip())
        return _overlap(terms, whole), {**hit, "quote": whole, "start": hit["start"] + lead, "end": hit["start"] + lead + len(whole)}
    sents = sentences(hit) or [hit]
    scores = [_overlap(terms, x["quote"]) for x in sents]
    rank = scores
    if question_vec is not None and len(sents) > 1:
        sims = _similarities(question_vec, [x["quote"] for x in sents])
        rank = [sim + _WORD_WEIGHT * sc for sim, sc in zip(sims, scores)]
    i = max(range(len(sents)), key=lambda j: (rank[j], -j))
    best = sents[i]
    if i + 1 < len(sents) and sents[i + 1]["end"] - best["start"] <= _WHOLE_PASSAGE:
        nxt = sents[i + 1]
        source = get_corpus().doc(hit["doc_id"]).text
        best = {**best, "quote": source[best["start"]:nxt["end"]], "end": nxt["end"]}
    return scores[i], best


def choose_quotes(hits: list[dict], question: str, top: int = 3) -> list[dict]:
    """Up to `top` quotes from the best passages; a lower passage sharing no word with the question is left out."""
    import numpy as np

    from assistant.embedder import embed

    terms = set(tokenize(question))
    question_vec = np.asarray(embed([question])[0])
    chosen: list[dict] = []
    for hit in hits[:top]:
        overlap, quote = best_quote(hit, terms, question_vec)
        if chosen and overlap == 0:
            continue
        if any(q["doc_id"] == quote["doc_id"] and q["start"] < quote["end"] and quote["start"] < q["end"] for q in chosen):
            continue
        chosen.append(quote)
    return chosen
