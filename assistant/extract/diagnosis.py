"""Diagnosis and setting: metastatic, adjuvant with residual disease, NSCLC, salivary gland, brain metastases.

In a pasted note the diagnosis and plan sections outrank the history ("adjuvant 2021 ... now metastatic
recurrence" is metastatic); among stated readings in one place, metastatic outranks adjuvant because a
metastatic recurrence ends the adjuvant setting.
"""

from __future__ import annotations

import re

from assistant.extract import terms
from assistant.extract.reading import PLAN_FOR_DISEASE, SECTION_RANK, Reading

_ORDER = {"brain_mets": 5, "nsclc": 4, "salivary": 4, "mbc": 3, "ebc_residual": 2, "ebc_no_residual": 1}
_PAST = re.compile(r"\b(?:19|20)\d\d\b|\b(?:initially|originally|previously|prior|history of|hx of|h/o|s/p|completed|"
                   r"completing|finished|finishing|after|following|was|had|treated)\b", re.IGNORECASE)
# "recurred 4 mo after finishing adjuvant TCH": the adjuvant course is history; the disease came back.
_RECURRED = re.compile(r"\b(?:recur\w*|relaps\w*|progress\w*|metasta\w*|mets|stage iv)\b", re.IGNORECASE)
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
            assertion = r.assertion(s, m.start, m.end, spans, plan_is_order=True, plan_words=PLAN_FOR_DISEASE)
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
                if _RECURRED.search(s.text):
                    continue  # "recurred after finishing adjuvant ...": not the setting of this request
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
        if _of_prior_regimen(r, s):
            continue
        if m := _LINE_FIRST.search(s.text):
            r.put(s, "line_of_therapy", 1, m.start(), m.end(), assertion=_plain(r, s, m))
        elif m := _LINE_LATER.search(s.text):
            r.put(s, "line_of_therapy", 2, m.start(), m.end(), assertion=_plain(r, s, m))


_PRIOR_START = re.compile(r"^\W*(?:prior|previous|hx|history|s/p|sp)\b", re.IGNORECASE)


def _of_prior_regimen(r: Reading, s) -> bool:
    """'Prior: THP 1L, PD', 's/p THP 1L': the line is the earlier regimen's, not this request's."""
    line = _LINE_FIRST.search(s.text) or _LINE_LATER.search(s.text)
    if line is None:
        return False
    if _PRIOR_START.match(s.text) or (r.note and s.section == "history"):
        before, after = s.text[max(0, line.start() - 25):line.start()], s.text[line.end():line.end() + 25]
        ours = re.compile(r"\b(?:kadcyla|t-?dm1)\b", re.I)
        # "kadcyla 2L after THP", "1L kadcyla" are this request's line; ", kadcyla requested" after a comma is not
        return not (ours.search(before) or ours.match(after.lstrip(" ")) or ours.search(after.split(",")[0]))
    drugs = [d for d in r.mentions(s, "drugs") if d.end <= line.start() and line.start() - d.end <= 12]
    return bool(drugs) and drugs[-1].term != "kadcyla"


def _plain(r: Reading, s, m) -> str:
    found = r.assertion(s, m.start(), m.end())
    return "present" if found == "historical" else found
