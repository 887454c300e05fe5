"""Extractive quoting: the part of a retrieved passage that answers the question, as an exact substring."""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.corpus import get_corpus
from assistant.retrieval import tokenize
from assistant.sanitize import unsafe_passage

# A sentence ends at . ! ? followed by white space, or at a line break: never inside "3.6", "C50.x" or "0.22".
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\s*\n\s*")
# A list item's marker: "•", "-", "*", "1.", "a)" and the like, at the start of a line.
_ITEM = re.compile(r"[ \t]*(?:[•\-*▪●○◦]|\d{1,2}[.)]|[a-z][.)])[ \t]+")
_WHOLE_PASSAGE = 850  # passages this short are quoted whole: a table or list keeps its context
_WORD_WEIGHT = 0.02  # shared rare words (idf ~2-7 each) break near-ties in meaning
_OWN_BONUS = 0.05  # the passage retrieval chose is preferred over its neighbours when close
_MAX_SIBLINGS = 6
_NEAR_TIE = 0.04
_RANK_STEP = 0.01  # per place down the retrieval order, when quotes from several passages compete
_KEEP_WITHIN = 0.4  # a quote scoring this far below the best one answers something else
_CANDIDATES_VERSION = 4  # bump when candidate_texts changes, so `assistant index` embeds the new set


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

    _load_saved()
    missing = [t for t in dict.fromkeys(texts) if t not in _SENTENCE_VECTORS]
    if missing:  # one batch for the sentences not embedded before; corpus sentences are finite
        for t, v in zip(missing, embed(missing)):
            _SENTENCE_VECTORS[t] = np.asarray(v, dtype=np.float32)
    return [float(_SENTENCE_VECTORS[t] @ question_vec) for t in texts]


_SENTENCE_VECTORS: dict = {}
_loaded: set[str] = set()


def embed_missing(texts: list[str]) -> None:
    """Embed, in one batch, the texts neither saved by `assistant index` nor embedded before."""
    import numpy as np

    from assistant.embedder import embed

    _load_saved()
    missing = [t for t in dict.fromkeys(texts) if t not in _SENTENCE_VECTORS]
    for i in range(0, len(missing), 64):
        part = missing[i:i + 64]
        for t, v in zip(part, embed(part)):
            _SENTENCE_VECTORS[t] = np.asarray(v, dtype=np.float32)


def vectors_for(texts: list[str]):
    """The saved vectors of these texts, one row each (embed_missing first)."""
    import numpy as np

    return np.stack([_SENTENCE_VECTORS[t] for t in texts]).astype(np.float32)


def _vectors_file():
    from assistant.settings import get_settings

    return _vectors_path(str(get_corpus().dir), str(get_settings().data_dir))


@lru_cache(maxsize=8)
def _vectors_path(corpus_dir: str, data_dir: str):
    from pathlib import Path

    from assistant.retrieval import fingerprint

    return Path(data_dir) / "sentences" / f"{fingerprint(get_corpus())[:16]}-v{_CANDIDATES_VERSION}.npz"


def _load_saved() -> None:
    """Vectors saved by `assistant index` for this corpus: no sentence is embedded at question time."""
    import numpy as np

    path = _vectors_file()
    if str(path) in _loaded:
        return
    _loaded.add(str(path))
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as data:
                _SENTENCE_VECTORS.update(zip(data["texts"].tolist(), data["vectors"]))
        except (OSError, ValueError, KeyError):
            pass  # a damaged file only costs speed: sentences are embedded when first needed


def candidate_texts(chunks) -> list[str]:
    """Every text best_quotes may rank: short passages whole, and the sentences of every passage; and
    every sentence and label line document answers rank (assistant.documents.candidates)."""
    from assistant.documents.candidates import texts_to_embed

    out: dict[str, None] = dict.fromkeys(texts_to_embed())
    for c in chunks:
        hit = {"doc_id": c.doc_id, "quote": c.text, "start": c.start, "end": c.end}
        if len(c.text.strip()) <= _WHOLE_PASSAGE:
            out[c.text.strip()] = None
            out[_whole_candidate(hit)["quote"]] = None  # the same text, or its stretches around a link
        out.update((x["quote"], None) for x in sentences(hit))
    return list(out)


def save_vectors(chunks, progress=None) -> int:
    """Embed and save the candidate texts of the corpus (run by `assistant index`); returns how many."""
    import numpy as np

    from assistant.embedder import embed

    path = _vectors_file()
    if path.is_file():
        return 0
    texts = candidate_texts(chunks)
    vectors = []
    for i in range(0, len(texts), 64):
        vectors.extend(embed(texts[i:i + 64]))
        if progress:
            progress(min(i + 64, len(texts)), len(texts))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, texts=np.array(texts), vectors=np.asarray(vectors, dtype=np.float32))
    tmp.replace(path)
    for old in path.parent.glob("*.npz"):
        if old != path:
            old.unlink(missing_ok=True)
    _loaded.discard(str(path))
    return len(texts)


def _siblings(hit: dict) -> list[dict]:
    """The other passages of the hit's section: the answer may sit one chunk away from the one retrieved."""
    from assistant.retrieval import get_retriever

    out = []
    for c in get_retriever().chunks:
        if c.doc_id == hit["doc_id"] and c.section == hit["section"] and c.start != hit["start"]:
            out.append({**hit, "quote": c.text, "start": c.start, "end": c.end})
    out.sort(key=lambda c: abs(c["start"] - hit["start"]))
    return out[:_MAX_SIBLINGS]


def _trimmed(hit: dict) -> dict:
    whole = hit["quote"].strip()
    lead = len(hit["quote"]) - len(hit["quote"].lstrip())
    return {**hit, "quote": whole, "start": hit["start"] + lead, "end": hit["start"] + lead + len(whole)}


def best_quotes(hit: dict, terms: set[str], question_vec=None) -> list[tuple[float, float, list[dict]]]:
    """The best part of a retrieved passage or its section, as an exact quote; with its rare-word overlap.

    Candidates are the passage itself when short (a table or list keeps its context), its sentences, and
    the sentences of the other passages of its section. They are ranked by meaning (similarity to the
    question) plus the rare words they share with it, so "Do not re-escalate the dose after a dose
    reduction" wins over a sentence that only repeats "dose". A chosen sentence takes the next one along.
    A runner-up within _NEAR_TIE of the best is returned too: when meaning cannot separate them, show both."""
    candidates: list[tuple[dict, list[dict]]] = []  # (candidate, the sentences it may extend into)
    if len(hit["quote"].strip()) <= _WHOLE_PASSAGE:
        candidates.append((_whole_candidate(hit), []))
    family = [hit, *(_siblings(hit) if question_vec is not None else [])]
    for passage in family:
        sents = [y for y in (_safe_part(x) for x in sentences(passage)) if y]
        # a title is never a quote on its own, but a chosen sentence may run on into one ("... required. 1. Hepatotoxicity")
        candidates.extend((x, sents[i + 1:]) for i, x in enumerate(sents) if not _heading(x["quote"]))
    # A passage holding markup or an instruction is never quoted: it would carry them into the answer.
    candidates = [(c, rest) for c, rest in candidates if not unsafe_passage(c["quote"])]
    if not candidates:
        return []
    words = [_overlap(terms, c["quote"]) for c, _ in candidates]
    rank = words
    if question_vec is not None:  # scored by meaning even when alone: passages' quotes are ranked together
        sims = _similarities(question_vec, [c["quote"] for c, _ in candidates])
        own = [c["start"] >= hit["start"] and c["end"] <= hit["end"] for c, _ in candidates]
        whole = [c["start"] <= hit["start"] + 2 and len(c["quote"]) >= len(hit["quote"].strip()) for c, _ in candidates]
        rank = [sim + _WORD_WEIGHT * w + (_OWN_BONUS if o or wh else 0.0) for sim, w, o, wh in zip(sims, words, own, whole)]
    order = sorted(range(len(candidates)), key=lambda j: (-rank[j], j))
    out: list[tuple[float, float, list[dict]]] = []  # each: score, rare-word overlap, a sentence (and the next)
    for i in order[:4]:
        if out and rank[i] < rank[order[0]] - _NEAR_TIE:
            break
        best, rest = candidates[i]
        parts = best.get("parts") or [_from_item_start(q) for q in _with_next(hit, best, rest)]
        group = [q for q in parts if not any(_overlaps(q, x) for *_, g in out for x in g)]
        if group:
            out.append((rank[i], words[i], group))
        if len(out) >= 2:
            break
    return out


def _safe_runs(hit: dict) -> list[dict]:
    """A short passage that may not be quoted whole (it holds a web address or markup) as its safe
    stretches, in order, each an exact substring: a payer's submission table keeps its rows
    ("Oncology EviCore Provider Portal" | "Phone 855-252-1118 ...") without the link between them."""
    text = get_corpus().doc(hit["doc_id"]).text
    runs: list[dict] = []
    start = end = None

    def close() -> None:
        if start is not None and not unsafe_passage(text[start:end]):
            runs.append({**hit, "quote": text[start:end], "start": start, "end": end})

    for sentence in sentences(hit):
        part = _safe_part(sentence)
        if part is None:
            close()
            start = end = None
            continue
        start = part["start"] if start is None else start
        end = part["end"]
        if part["end"] != sentence["end"]:  # cut short: what follows may not be quoted
            close()
            start = end = None
    close()
    return runs


def _whole_candidate(hit: dict) -> dict:
    """A short passage as one candidate: itself, or, when it may not be quoted whole, its safe stretches
    (ranked as their joined text, quoted as the parts)."""
    whole = _trimmed(hit)
    runs = _safe_runs(hit) if unsafe_passage(whole["quote"]) else []
    return {**whole, "quote": " ".join(r["quote"] for r in runs), "parts": runs} if runs else whole


def _heading(text: str) -> bool:
    """A title line ("Mechanism of Action", "Recommended Dosage, Administration, and Schedules"): it names
    a topic and answers nothing, so it is never a quote on its own. Table rows and figures are not titles."""
    return len(text.split()) <= 8 and not re.search(r"[\d|.!?:;]", text)


def _with_next(hit: dict, best: dict, rest: list[dict]) -> list[dict]:
    """The chosen sentence joined with the one after it, or the two apart when the gap between them
    holds what _safe_part cut off (a web address, markup)."""
    if not rest or rest[0]["end"] - best["start"] > _WHOLE_PASSAGE:
        return [best]
    longer = get_corpus().doc(hit["doc_id"]).text[best["start"]:rest[0]["end"]]
    if unsafe_passage(longer):
        return [best, rest[0]]
    return [{**best, "quote": longer, "end": rest[0]["end"]}]


def _from_item_start(quote: dict) -> dict:
    """A sentence from the middle of a list item, quoted from the item's start: "Observe at least 30
    minutes post-infusion" means nothing without the "Cycles 2+ if cycle 1 tolerated:" it follows."""
    text = get_corpus().doc(quote["doc_id"]).text
    line_start = text.rfind("\n", 0, quote["start"]) + 1
    head = text[line_start:quote["start"]]
    bullet = _ITEM.match(head)
    if not bullet or not head[bullet.end():].strip() or quote["end"] - line_start > _WHOLE_PASSAGE:
        return quote
    start = line_start + bullet.end()
    longer = text[start:quote["end"]]
    return quote if unsafe_passage(longer) else {**quote, "quote": longer, "start": start}


def _safe_part(sentence: dict) -> dict | None:
    """The sentence, or its longest safe beginning when markup or an instruction follows
    ("Oncology EviCore Provider Portal" from "... Portal www.evicore.com"); None if nothing is safe."""
    text = sentence["quote"]
    if not unsafe_passage(text):
        return sentence
    for m in reversed(list(re.finditer(r"\s+", text))):
        head = text[: m.start()].rstrip(" ,;:(")
        if len(head) >= 12 and not unsafe_passage(head):
            return {**sentence, "quote": head, "end": sentence["start"] + len(head)}
    return None


def _overlaps(a: dict, b: dict) -> bool:
    return a["doc_id"] == b["doc_id"] and a["start"] < b["end"] and b["start"] < a["end"]


def choose_quotes(hits: list[dict], question: str, top: int = 3, pool: int = 5) -> list[dict]:
    """The best part of each of the first `top` passages, and of one more from the first `pool` when it
    scores above the weakest of those; a quote far below the best one (_KEEP_WITHIN) is left out.

    The first passage always keeps its quote because retrieval weighs exact terms (a code, a bulletin
    number) that sentence meaning cannot tell apart. A lower passage pays _RANK_STEP per place, and
    gets in when it holds the sentence that answers ("Store vials in a refrigerator at 2°C to 8°C"
    at fourth place, under three passages about reconstituted and diluted solutions). A quote sharing
    no word with the question is left out once one is chosen; near ties are shown for the first passage."""
    import numpy as np

    from assistant.embedder import embed

    terms = set(tokenize(question))
    question_vec = np.asarray(embed([question])[0])
    entries: list[tuple[float, int, float, list[dict]]] = []  # (score, retrieval place, overlap, group)
    extra: list[tuple[float, int, float, list[dict]]] = []  # the best of each passage below the first `top`
    for n, hit in enumerate(hits[:pool]):
        found = best_quotes(hit, terms, question_vec)
        mine = [(score - _RANK_STEP * n, n, overlap, group) for score, overlap, group in found]
        if n >= top:
            extra.extend(mine[:1])
        else:
            entries.extend(mine if n == 0 else mine[:1])
    if extra:
        runner = max(extra, key=lambda e: e[0])
        if not entries or runner[0] > min(e[0] for e in entries):
            entries.append(runner)
    best = max((e[0] for e in entries), default=0.0)
    chosen: list[dict] = []
    for score, n, overlap, group in entries:
        if n > 0 and score < best - _KEEP_WITHIN:
            continue
        if chosen and overlap == 0:
            continue
        chosen.extend(q for q in group if not any(_overlaps(q, c) for c in chosen))
    return chosen
