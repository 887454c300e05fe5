"""Which sentence of the five documents answers a question, and the part of it that is the answer.

Every sentence of the corpus (and every table row) is a candidate, scored by meaning (its saved
MiniLM vector against the question's), the rare words it shares with the question, whether retrieval
found its passage (and how high), whether it holds an answer of the asked type (a date for "when", a
phone number for "fax"), the first-cycle/later-cycle preference, and the document the question names.
Boilerplate is left out unless asked for. The scores are one matrix product and a few lookups: no
sentence is embedded at question time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np
import yaml

from assistant.corpus import get_corpus
from assistant.documents import question as qmod
from assistant.documents.question import Question
from assistant.documents.structure import DocStructure, structure
from assistant.retrieval import tokenize

# Weights, tuned on evals/retrieval/answers.yaml (dev rows only).
WORD = 0.035  # per unit of rare-word weight (idf) shared with the question
RETRIEVED = 0.20  # the sentence's passage was retrieved ...
RETRIEVED_STEP = 0.012  # ... less per place down the ranking
SECTION = 0.04  # another passage of a retrieved passage's section
NAMED_DOC = 0.40  # the question names the sentence's document: answered from it unless nothing there fits
TYPE = {"date": 0.10, "duration": 0.09, "frequency": 0.08, "number": 0.06, "code": 0.09, "contact": 0.14,
        "organisation": 0.10, "yes_no": 0.02, "procedure": 0.06}
CLAUSE_SHARE = 0.92  # a long candidate's best clause counts this much of its own meaning
FULL_SHARE = 0.3  # the question as typed, beside the question without the drug's and documents' names
MONEY = 0.06  # a price question prefers a sentence with a dollar amount
CYCLE = 0.12  # says first/initial/cycle 1 for a first-cycle question (and the reverse)
LABEL_SHARE = 0.45  # how much the label above a line ("First infusion", a FAQ question) counts in its meaning
PREFIX_LEN = 7
PREFIX_SHARE = 0.6
_PREFIX = "\x00"
_GENERIC = frozenset("faq kadcyla t dm1 is for the what of".split())  # words every section name may hold
SECTION_WORDS = 0.20  # the question holds the words of the sentence's section name
HEADING = 0.06  # a section's heading line names a topic more than it answers
LEAD_IN = 0.08  # "consider the following:" answers only a question asking for the list
NOT_THIS_DRUG = 0.35  # a passage about another class of drug ("Non-Oncology ...") for a question that did not ask


@dataclass(frozen=True)
class Candidate:
    doc_id: str
    start: int
    end: int
    line: int  # index of its line in the document structure
    section: str
    noise: str | None
    terms: frozenset[str]
    heading: bool
    lead_in: bool  # ends with ':' ("consider the following:"): it introduces a list


@dataclass
class Pool:
    items: list[Candidate]
    texts: list[str]
    vectors: np.ndarray  # one row per candidate, unit length
    clause_vectors: np.ndarray  # one row per clause of a long candidate
    clause_owner: np.ndarray  # the candidate each clause belongs to
    label_vectors: np.ndarray  # the label line's vector, or zeros
    has_label: np.ndarray
    types: dict[str, np.ndarray]  # answer type -> bool per candidate
    amounts: np.ndarray  # holds a dollar amount
    first: np.ndarray
    later: np.ndarray
    by_term: dict[str, list[int]]
    docs: np.ndarray  # doc index per candidate
    doc_ids: list[str]
    headings: np.ndarray  # the candidate is a section's heading line
    lead_ins: np.ndarray  # the candidate introduces a list
    sections: dict  # section name -> (its content words, the candidates in it)


@lru_cache(maxsize=4)
def _pool(corpus_dir: str) -> Pool:
    from assistant.documents.candidates import clauses, ranking_text, spans
    from assistant.passages import embed_missing, vectors_for

    def st_label(s) -> str:
        return structure(s.doc_id).text[s.label[0]:s.label[1]] if s.label else ""

    corpus = get_corpus()
    items: list[Candidate] = []
    texts: list[str] = []
    labels: list[str | None] = []
    for s in spans():
        st = structure(s.doc_id)
        quote = st.text[s.start:s.end]
        ranked = ranking_text(s)
        line = st.lines[s.line]
        words = terms_of(ranked) + (terms_of(s.context) if line.table_header is not None else [])  # a row's column names
        items.append(Candidate(s.doc_id, s.start, s.end, s.line, line.section, st.noise_at(s.start, s.end),
                               frozenset(words), s.heading, quote.rstrip().endswith(":")))
        texts.append(ranked)
        labels.append(s.context or None)
    parts = [(k, c) for k, t in enumerate(texts) for c in clauses(t)]
    embed_missing(texts + [t for t in labels if t] + [c for _, c in parts])
    vectors = vectors_for(texts)
    clause_vectors = vectors_for([c for _, c in parts]) if parts else np.zeros((0, vectors.shape[1]), np.float32)
    clause_owner = np.array([k for k, _ in parts], dtype=int)
    label_vectors = np.zeros_like(vectors)
    has_label = np.zeros(len(items), dtype=bool)
    known = [(k, t) for k, t in enumerate(labels) if t]
    if known:
        label_vectors[[k for k, _ in known]] = vectors_for([t for _, t in known])
        has_label[[k for k, _ in known]] = True
    contexts = [f"{st_label(s)} {_before(s)} {t}" for s, t in zip(spans(), texts)]  # "Subsequent infusions: ..." before it
    types = {kind: np.array([qmod.holds(kind, t) for t in texts]) for kind in TYPE}  # rows as shown: "HCPCS: J9354"
    for i in range(qmod.contact_kinds()):
        types[f"contact:{i}"] = np.array([qmod.contact_holds(i, t) for t in texts])
    amounts = np.array([qmod.money_holds(t) for t in texts])
    cyc = [qmod.says_cycle(c) for c in contexts]
    by_term: dict[str, list[int]] = {}
    for k, c in enumerate(items):
        for t in c.terms | {_PREFIX + t[:PREFIX_LEN] for t in c.terms if len(t) > PREFIX_LEN}:
            by_term.setdefault(t, []).append(k)
    doc_ids = list(corpus.docs)
    sections: dict[str, tuple[frozenset[str], list[int]]] = {}
    for k, s in enumerate(spans()):
        key = f"{s.doc_id}\0{s.section_name}"
        if key not in sections:
            sections[key] = (frozenset(terms_of(s.section_name)) - qmod.QUESTION_WORDS - _GENERIC, [])
        sections[key][1].append(k)
    return Pool(items, texts, vectors, clause_vectors, clause_owner, label_vectors, has_label, types, amounts,
                np.array([f and not later for f, later in cyc]), np.array([later and not f for f, later in cyc]),
                by_term, np.array([doc_ids.index(c.doc_id) for c in items]), doc_ids,
                np.array([c.heading for c in items]), np.array([c.lead_in for c in items]),
                {k: (w, np.array(m)) for k, (w, m) in sections.items()})


def _before(s) -> str:
    """The sentence before a candidate in its line: what a sentence continues ("Subsequent infusions: ...")."""
    from assistant.documents.candidates import sentences_of

    st = structure(s.doc_id)
    line = st.lines[s.line]
    prev = [a for a in sentences_of(st.text, line.start, line.end) if a[1] <= s.start]
    return st.text[prev[-1][0]:prev[-1][1]] if prev else ""


_STEMS: dict[str, str] = {}


@lru_cache(maxsize=1)
def _stemmer():
    import snowballstemmer

    return snowballstemmer.stemmer("english")


def terms_of(text: str) -> list[str]:
    """The words and their Snowball stems, as retrieval.lexical_terms gives them, each word stemmed once
    per process (the pool has some 13,000 words to stem)."""
    words = tokenize(text)
    new = [w for w in dict.fromkeys(words) if w not in _STEMS]
    if new:
        _STEMS.update(zip(new, _stemmer().stemWords(new)))
    return words + [_STEMS[w] for w in words if _STEMS[w] != w]


def pool() -> Pool:
    return _pool(str(get_corpus().dir))


@lru_cache(maxsize=4)
def _idf(corpus_dir: str) -> dict[str, float]:
    from assistant.passages import _idf as line_idf

    return line_idf(corpus_dir)


@dataclass
class Scored:
    index: int
    score: float
    overlap: float


def score(q: Question, question_vec: np.ndarray, hits: list[dict], search_text: str | None = None,
          full_vec: np.ndarray | None = None) -> list[Scored]:
    """Every allowed candidate, best first. question_vec: the question without the drug's and the
    documents' names; full_vec: the question as typed (its better match counts)."""
    p = pool()
    qv = question_vec if full_vec is None else (1 - FULL_SHARE) * question_vec + FULL_SHARE * full_vec
    sims = p.vectors @ qv
    if len(p.clause_owner):  # a long row or sentence counts by its best clause too
        best_clause = np.full(len(p.items), -1.0)
        np.maximum.at(best_clause, p.clause_owner, p.clause_vectors @ qv)
        sims = np.maximum(sims, CLAUSE_SHARE * best_clause)
    labels = p.label_vectors @ qv
    sims = np.where(p.has_label, (1 - LABEL_SHARE) * sims + LABEL_SHARE * np.maximum(sims, labels), sims)
    idf = _idf(str(get_corpus().dir))
    overlap = np.zeros(len(p.items))
    terms = set(terms_of(search_text or q.text)) - qmod.QUESTION_WORDS
    for term in terms:
        for k in p.by_term.get(term, ()):
            overlap[k] += idf.get(term, 0.0)
    for term in terms:  # "emetogenic" meets "emetogenicity": a shared long beginning counts part
        if len(term) > PREFIX_LEN:
            prefix = term[:PREFIX_LEN]
            exact = set(p.by_term.get(term, ()))
            for k in p.by_term.get(_PREFIX + prefix, ()):
                if k not in exact:
                    overlap[k] += PREFIX_SHARE * idf.get(term, idf.get(prefix, 3.0))
    total = sims + WORD * overlap - np.where(p.headings, HEADING, 0.0)
    if not q.wants_list:
        total -= np.where(p.lead_ins, LEAD_IN, 0.0)
    total += _retrieval_bonus(p, hits)
    total += _section_words(p, terms)
    if q.documents:
        named = np.isin(p.docs, [p.doc_ids.index(d) for d in q.documents if d in p.doc_ids])
        total += np.where(named, NAMED_DOC, 0.0)
    if q.type in TYPE:
        total += np.where(p.types[_type_key(q)], TYPE[q.type], 0.0)
    if q.money:
        total += np.where(p.amounts, MONEY, 0.0)
    not_ours = _not_this_drug()
    if not not_ours.search(q.text):
        total -= np.where(_not_this_drug_mask(len(p.items)), NOT_THIS_DRUG, 0.0)
    if q.cycle == "first":
        total += np.where(p.first, CYCLE, 0.0) - np.where(p.later, CYCLE, 0.0)
    elif q.cycle == "later":
        total += np.where(p.later, CYCLE, 0.0) - np.where(p.first, CYCLE, 0.0)
    out = []
    for k in np.argsort(-total):
        c = p.items[k]
        if c.noise and c.noise not in q.asks_noise:
            continue
        out.append(Scored(int(k), float(total[k]), float(overlap[k])))
    out.sort(key=lambda s: -s.score)
    return out


@lru_cache(maxsize=1)
def _not_this_drug() -> re.Pattern[str]:
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("answer_types.yaml").read_text(encoding="utf-8"))
    return re.compile("|".join(raw.get("not_this_drug") or [r"(?!)"]), re.IGNORECASE)


@lru_cache(maxsize=4)
def _not_this_drug_mask(n: int) -> np.ndarray:
    rx = _not_this_drug()
    return np.array([bool(rx.search(text_of(k))) for k in range(n)])


def _section_words(p: Pool, terms: set[str]) -> np.ndarray:
    """A bonus where the question names the sentence's section ("special handling", "change log",
    "fda approved indications"): the share of the section name's words the question holds."""
    bonus = np.zeros(len(p.items))
    for name, (words, members) in p.sections.items():
        if not words:
            continue
        share = len(words & terms) / len(words)
        if share >= 0.5:
            bonus[members] = SECTION_WORDS * share
    return bonus


def _retrieval_bonus(p: Pool, hits: list[dict]) -> np.ndarray:
    bonus = np.zeros(len(p.items))
    starts = np.array([c.start for c in p.items])
    ends = np.array([c.end for c in p.items])
    sections = np.array([f"{c.doc_id}\0{c.section}" for c in p.items])
    for n, h in enumerate(hits):
        doc = p.doc_ids.index(h["doc_id"]) if h["doc_id"] in p.doc_ids else -1
        inside = (p.docs == doc) & (starts >= h["start"]) & (ends <= h["end"])
        bonus = np.maximum(bonus, np.where(inside, RETRIEVED - RETRIEVED_STEP * n, 0.0))
        same = sections == f"{h['doc_id']}\0{h.get('section', '')}"
        bonus = np.maximum(bonus, np.where(same & ~inside, SECTION - RETRIEVED_STEP * n / 2, 0.0))
    return bonus


TYPED = ("date", "duration", "frequency", "number", "code", "contact", "organisation")


def typed(q: Question, k: int) -> bool:
    """Candidate k holds an answer of the question's type (a dollar amount for a price question)."""
    p = pool()
    if q.money and p.amounts[k]:
        return True
    return q.type in p.types and bool(p.types[_type_key(q)][k])


def other_cycle(q: Question, k: int) -> bool:
    """Candidate k speaks of the other cycles than the question asks about (first vs 2+)."""
    p = pool()
    return bool(p.later[k]) if q.cycle == "first" else bool(p.first[k]) if q.cycle == "later" else False


def _type_key(q: Question) -> str:
    return f"contact:{q.contact_kind}" if q.type == "contact" and q.contact_kind is not None else q.type


def candidate(k: int) -> Candidate:
    return pool().items[k]


def text_of(k: int) -> str:
    return pool().texts[k]


# -- the answer part of a sentence ----------------------------------------------------------------
_CLAUSE = re.compile(r";\s+|\s+[—–]\s+|:\s+(?=\S)")
LEAD_MAX = 200


def _value(q: Question, part: str, terms: set[str], idf: dict[str, float]) -> float:
    typed = qmod.holds(q.type, part) if q.type in TYPE else False
    if q.money:
        typed = typed or qmod.money_holds(part)
    words = sum(idf.get(t, 0.0) for t in terms & set(terms_of(part))) / 4
    return 5.0 * typed + min(words, 3.0) - len(part) / 2000


def _pieces(text: str, rx: re.Pattern[str]) -> list[tuple[int, int]]:
    out, pos = [], 0
    for m in rx.finditer(text):
        if m.start() > pos:
            out.append((pos, m.start()))
        pos = m.end()
    if pos < len(text):
        out.append((pos, len(text)))
    return out


def lead_span(st: DocStructure, k: int, q: Question) -> tuple[int, int]:
    """The part of candidate k that answers: itself when short; else its sentence, or the clause, that
    holds an answer of the asked type and most of the question's words (a fragment takes the clause
    after it, where a label's value is, or else the one before)."""
    from assistant.documents.candidates import sentences_of

    c = candidate(k)
    if c.end - c.start <= LEAD_MAX:
        return c.start, c.end
    terms = set(terms_of(q.text)) - qmod.QUESTION_WORDS
    idf = _idf(str(get_corpus().dir))
    sents = sentences_of(st.text, c.start, c.end)
    a, b = max(sents, key=lambda ab: _value(q, st.text[ab[0]:ab[1]], terms, idf))
    if b - a <= LEAD_MAX:
        return a, b
    text = st.text[a:b]
    pieces = _pieces(text, _CLAUSE)
    i = max(range(len(pieces)), key=lambda j: _value(q, text[pieces[j][0]:pieces[j][1]], terms, idf))
    lo, hi = i, i
    while pieces[hi][1] - pieces[lo][0] < 40 and (hi + 1 < len(pieces) or lo > 0):
        if hi + 1 < len(pieces):
            hi += 1
        else:
            lo -= 1
    x, y = pieces[lo][0], pieces[hi][1]
    part = text[x:y].rstrip(" ,;:—–(")
    return a + x, a + x + len(part)
