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
_WORD = re.compile(r"[A-Za-z]{5,}")


@lru_cache(maxsize=4096)
def _correct(word: str) -> str | None:
    from rapidfuzz import fuzz, process

    low = word.lower()
    if low in VOCABULARY:
        return None
    hit = process.extractOne(low, VOCABULARY, scorer=fuzz.ratio, score_cutoff=84)
    if hit and abs(len(hit[0]) - len(low)) <= 2 and low[0] == hit[0][0]:
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
