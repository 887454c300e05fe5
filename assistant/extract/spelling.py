"""Common misspellings of the words the readers look for, corrected before reading, offsets kept.

A word of five or more letters one or two slips from a vocabulary word ('pendng', 'posative',
'progresion', 'evry') is read as that word; the evidence still quotes the original text, through an
offset map from the corrected text back to the message as typed.
"""

from __future__ import annotations

import re
from functools import lru_cache

VOCABULARY = (
    "pending", "positive", "negative", "amplified", "equivocal", "every", "weeks", "weekly", "oncologist", "oncology",
    "progression", "progressing", "progressed", "responding", "response", "metastatic", "metastases", "continuation",
    "reauthorization", "renewal", "adjuvant", "neoadjuvant", "residual", "received", "receive", "stable", "previously",
    "previous", "prior", "history", "initial", "request", "single", "agent", "monotherapy", "combination", "reduced",
    "reduction", "increase", "escalation", "never", "without", "possibly", "probably", "unclear", "planned",
    "infusion", "service", "commercial", "medicaid", "marketplace", "exchange", "consultation", "prescribing",
    "prescribed", "prescriber", "completed", "finished", "discontinued", "established", "recurrence", "recurrent",
    "disease", "cancer", "breast", "salivary", "brain", "weight", "cycle", "cycles", "doses", "declined", "denies",
)
_WORD = re.compile(r"[A-Za-z]{4,}")


@lru_cache(maxsize=1)
def _known() -> frozenset[str]:
    """Words that are spelled right: every word of the corpus, the terms and the trigger rules."""
    from assistant.corpus import get_corpus
    from assistant.extract.context import rules
    from assistant.extract.terms import FAMILIES, terms

    corpus = get_corpus()
    words = set()
    for doc_id in corpus.docs:
        words.update(w.lower() for w in re.findall(r"[A-Za-z]{4,}", corpus.text(doc_id)))
    for family in FAMILIES:
        for entry in (terms().get(family) or {}).values():
            words.update(w.lower() for name in entry["names"] for w in re.findall(r"[A-Za-z]{4,}", str(name)))
    words.update(w for r in rules() for w in re.findall(r"[a-z]{4,}", r.literal))
    return frozenset(words | set(VOCABULARY) | _COMMON)


# Short everyday words the corpus may not hold, never corrected.
_COMMON = frozenset("""does done have with that this from what when will were been them then they their there here
just also only some more most much many very well good okay yeah nope sure want wants need needs said says told
left right next last week weeks today year years month months pt's she's he's it's wasn't isn't doesn't didn't
ever even over such each both once twice into onto upon than away back down only able else must shall might""".split())


@lru_cache(maxsize=4096)
def _correct(word: str) -> str | None:
    from rapidfuzz import fuzz, process

    low = word.lower()
    if low in _known():
        return None
    hit = process.extractOne(low, VOCABULARY, scorer=fuzz.ratio, score_cutoff=84 if len(low) >= 5 else 88)
    if hit and abs(len(hit[0]) - len(low)) <= (2 if len(low) >= 5 else 1) and low[0] == hit[0][0]:
        return hit[0]
    return None


def normalize(text: str) -> tuple[str, list[int]]:
    """(corrected text, offsets): offsets[i] is where corrected character i came from in text."""
    out: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in _WORD.finditer(text):
        fixed = _correct(m.group(0))
        if fixed is None:
            continue
        out.append(text[pos:m.start()])
        offsets.extend(range(pos, m.start()))
        out.append(fixed)
        # every corrected letter maps into the original word (the last ones to its last letter)
        n = m.end() - m.start()
        offsets.extend(m.start() + min(i, n - 1) for i in range(len(fixed)))
        pos = m.end()
    out.append(text[pos:])
    offsets.extend(range(pos, len(text)))
    return "".join(out), offsets
