"""Checks every letter must pass, shared by the golden tests and the case table."""

from __future__ import annotations

import json
import re

from assistant.corpus import get_corpus
from assistant.letter import FILL_INS, PLACEHOLDERS, LetterResult

# Words a payer-facing letter never carries: the app's disclaimer, command lines, verdict words for
# criteria that are not met, and our own ids and enum names.
FORBIDDEN = [r"\bNOT met\b", r"\bNot met\b", r"\bnot met\b", r"\bunknown\b", r"\bUnknown\b", r"decision support",
             r"not medical advice", r"\bassistant\b", r"\bdisclaimer\b", r"--\w", r"\bSource text\b",
             r"\b[a-z]+_[a-z_]+\b", r"Table 1\.\w", r"\b(?:I|II|III)\.[A-C]\.\d", r"\bdoc_id\b",
             r"carecost-j9354|centene-cp-phar-229|oscar-cg101|adc-monograph"]
HOSTILE = ["<img", "onerror", "javascript:", "SYSTEM:", "<script", "alert(", "ignore previous", "Canarysmith"]


def paragraphs(letter: LetterResult) -> list[str]:
    """Every line the text renderer may print: headings, paragraphs, footnotes."""
    out = ["References"]
    for part in letter.parts:
        out += [part.heading] if part.heading else []
        out += [("- " if p.bullet else "") + p.text for p in part.paras]
    return out + [f"{f.n}. {f.text}" for f in letter.footnotes]


def sources(case: dict, letter: LetterResult) -> str:
    """Everything a number in the letter may come from: the case, tool results, quotes, document metadata."""
    parts = [json.dumps(case)]
    if letter.policy is not None:
        parts.append(letter.policy.model_dump_json())
    if letter.dose is not None:
        parts.append(letter.dose.model_dump_json())
    parts += [q for f in letter.footnotes for q in f.quotes]
    parts += [get_corpus().doc(f.doc_id).meta.model_dump_json() for f in letter.footnotes]
    return "\n".join(parts)


def check_letter(case: dict, letter: LetterResult) -> None:
    """A written letter: payer-facing only, every number sourced, every quote exact, one line per paragraph."""
    assert not letter.withheld and letter.parts and not letter.reasons
    text, md = letter.text(), letter.markdown()
    body = text.split("\nReferences\n")[0]  # a document's own section heading may carry its numbering
    for pattern in FORBIDDEN:
        assert not re.search(pattern, body), (pattern, re.search(pattern, body))
    for word in HOSTILE:
        assert word.lower() not in (text + md + letter.staff_text()).lower(), word
    # no hard wraps: each printed line is a whole paragraph, heading or footnote
    allowed = set(paragraphs(letter))
    assert all(line in allowed for line in text.splitlines() if line), [x for x in text.splitlines() if x and x not in allowed]
    # placeholders only, never an identifier
    brackets = set(re.findall(r"\[[^\]]*\]", re.sub(r"“[^”]*”", "", text)))  # a quoted passage keeps its own
    assert brackets <= set(PLACEHOLDERS) | set(FILL_INS) | {f"[{f.n}]" for f in letter.footnotes}, brackets
    for p in ("[Member name]", "[Member ID]", "[Date of birth]", "[Prescriber name]", "[Prescriber NPI]"):
        assert p in text
    # every footnote is used, every quote exact, every quoted clause one of the footnotes' passages
    corpus = get_corpus()
    for f in letter.footnotes:
        assert f"[{f.n}]" in text
        assert f.quotes and all(corpus.is_exact(f.doc_id, q) for q in f.quotes)
        meta = corpus.doc(f.doc_id).meta
        assert meta.title.rstrip(".") in f.text and (not f.section or f"section {f.section}" in f.text)
    passages = " || ".join(" ".join(q.split()) for f in letter.footnotes for q in f.quotes)
    for clause in re.findall(r"“([^”]+)”", text):
        assert clause in passages, clause
    # every number comes from the case, a tool result, a quote or the documents' own metadata
    src = sources(case, letter)
    scanned = re.sub(r"\[\d+\]|ICD-10-CM", "", text)
    for token in re.findall(r"\b[A-Z]?\d+(?:[.\-]\d+)*\b", scanned):
        assert token in src, f"{token!r} is in the letter but in no tool result, quote or case"
    # a criterion stated as met is met, and a criterion's passage that is not met is never quoted as met
    rows = {c.id: c for s in letter.policy.sections for c in s.criteria}
    assert letter.met and all(rows[cid].verdict == "met" for cid in letter.met)
    for c in rows.values():
        if c.verdict != "met":
            assert f"“{' '.join(c.quote.split()).rstrip(';:')}”" not in text


def check_withheld(letter: LetterResult) -> None:
    """A withheld result: no letter, the reasons for staff, no alternative listed as failing under a met parent."""
    assert letter.withheld and not letter.parts and letter.reasons
    text = letter.text()
    assert text.startswith("LETTER WITHHELD") and "Dear Reviewer" not in text and "Sincerely" not in text
    assert letter.markdown().startswith("# Letter withheld")
    for word in HOSTILE:
        assert word.lower() not in (text + letter.markdown()).lower(), word
    if letter.policy is not None:
        rows = {c.id: c for s in letter.policy.sections for c in s.criteria}
        for c in rows.values():
            parent = rows.get(c.parent) if c.parent else None
            if parent is not None and parent.verdict == "met" and c.verdict != "met":
                assert c.label not in " ".join(letter.reasons), c.label
