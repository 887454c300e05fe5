"""Diagnosis and setting: metastatic, adjuvant with residual disease, NSCLC, salivary gland, brain metastases.

In a pasted note the diagnosis and plan sections outrank the history ("adjuvant 2021 ... now metastatic
recurrence" is metastatic); among stated readings in one place, metastatic outranks adjuvant because a
metastatic recurrence ends the adjuvant setting.
"""

from __future__ import annotations

import re

from assistant.extract import terms
from assistant.extract.reading import SECTION_RANK, Reading

_ORDER = {"brain_mets": 5, "nsclc": 4, "salivary": 4, "mbc": 3, "ebc_residual": 2, "ebc_no_residual": 1}
_PAST = re.compile(r"\b(?:19|20)\d\d\b|\b(?:initially|originally|previously|prior|history of|hx of|h/o|s/p|completed|"
                   r"finished|was|had|treated)\b", re.IGNORECASE)
_LINE_FIRST = re.compile(r"\b(?:first[- ]line|1st[- ]line|1l|frontline|front-line|first line)\b", re.IGNORECASE)
_LINE_LATER = re.compile(r"\b(?:second[- ]line|2nd[- ]line|2l|third[- ]line|3rd[- ]line|3l|4l|later[- ]line|subsequent|"
                         r"second line|third line)\b", re.IGNORECASE)


def read(r: Reading) -> None:
    best = None  # (rank, order, sentence, mention, assertion)
    absent = None
    for s in r.sentences:
        found = r.mentions(s, "diagnoses")
        spans = [(m.start, m.end) for m in found]
        for m in found:
            assertion = r.assertion(s, m.start, m.end, spans)
            if assertion == "absent":
                absent = absent or (s, m)
                continue
            if assertion in ("hypothetical", "possible"):
                if best is None:
                    best = ((-1, 0), s, m, assertion)
                continue
            place = SECTION_RANK.get(s.section, 1) if r.note else 1
            if m.term == "ebc_residual" and _PAST.search(s.text[max(0, m.start - 30):m.start]) and m.text.lower().startswith("adj"):
                place -= 1  # "adjuvant AC-TH in 2019" is history, not today's setting
            rank = (place, _ORDER[m.term])
            if best is None or rank > best[0]:
                best = (rank, s, m, "present")
    if best is not None:
        _, s, m, assertion = best
        if terms.entry("diagnoses", m.term).get("diagnosis") != "none":
            r.put(s, "diagnosis", m.term, m.start, m.end, assertion=assertion)
        indication = terms.entry("diagnoses", m.term).get("indication")
        if indication:
            r.put(s, "indication", indication, m.start, m.end, assertion=assertion)
    elif absent is not None:
        s, m = absent
        r.put(s, "diagnosis", m.term, m.start, m.end, assertion="absent")
    for s in r.sentences:
        if m := _LINE_FIRST.search(s.text):
            r.put(s, "line_of_therapy", 1, m.start(), m.end(), assertion=_plain(r, s, m))
        elif m := _LINE_LATER.search(s.text):
            r.put(s, "line_of_therapy", 2, m.start(), m.end(), assertion=_plain(r, s, m))


def _plain(r: Reading, s, m) -> str:
    found = r.assertion(s, m.start(), m.end())
    return "present" if found == "historical" else found
