"""A message cut into sentences with offsets, and the chart-note section each sentence is in."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Chart-note headers ("Dx:", "Prior tx:", "Plan:") and what kind of section they open.
_SECTIONS = {
    "diagnosis": r"dx|diagnosis|diagnoses|assessment|a/p|a&p|impression|problem|problems|problem list|cancer|onc dx|"
                 r"primary dx|indication|reason for request|hpi|history of present illness",
    "history": r"hx|history|pmh|past medical history|oncologic history|onc hx|onc history|oncology history|"
               r"prior tx|prior therapy|prior therapies|prior treatment|prior treatments|treatment history|tx history|"
               r"previous therapy|previous treatment|past treatment|prior regimens?|prior lines?|treatments? to date|"
               r"systemic therapy|prior systemic therapy|neoadjuvant|surgery|surgical history",
    "plan": r"plan|tx plan|treatment plan|recommendation|recommendations|orders?|request|requested|rx|"
            r"regimen|requested regimen|proposed|proposed regimen|next steps",
    "insurance": r"ins|insurance|payer|payor|coverage|plan type|lob|line of business|member|health plan",
    "labs": r"labs|lab|path|pathology|her2|biomarkers?|receptors?|receptor status|markers?|ihc|fish|ish|results",
    "meds": r"meds|medications|current meds|current medications|home meds",
    "vitals": r"vitals|wt|weight|ht|height|bsa",
    "admin": r"dos|date of service|visit|visit date|date|note date|encounter|provider|prescriber|physician|md|np|"
             r"ordering provider|attending|referring|name|patient|pt|mrn|dob|sex|age",
}
_HEADER = re.compile(
    r"^[ \t>*#-]*(?P<name>" + "|".join(f"(?:{v})" for v in _SECTIONS.values()) + r")[ \t]*(?::|-(?=\s)|\n)",
    re.IGNORECASE | re.MULTILINE,
)
_KIND = [(kind, re.compile(rf"^(?:{pattern})$", re.IGNORECASE)) for kind, pattern in _SECTIONS.items()]
# Sentence ends: . ! ; or a line break, and ? (kept out of the sentence); never the point in "3.6" or "s/p".
_END = re.compile(r"(?<!\d)\.(?!\d)|[!;\n]|\?(?=\s|$)")


@dataclass(frozen=True)
class Sentence:
    text: str
    start: int  # offset of text in the message
    section: str  # diagnosis | history | plan | insurance | labs | meds | vitals | admin | body
    is_question: bool


def section_of(name: str) -> str:
    name = " ".join(name.lower().split())
    for kind, rx in _KIND:
        if rx.match(name):
            return kind
    return "body"


def sections(message: str) -> list[tuple[int, str]]:
    """(offset, kind) for each header in a pasted note; empty for a plain question."""
    return [(m.start("name"), section_of(m.group("name"))) for m in _HEADER.finditer(message)]


_QUESTION_START = re.compile(r"^\s*(?:q\s*:\s*|question\s*:\s*)?(?:and\s+|so\s+|also\s+|but\s+)?(?:does|do|is|are|can|could|would|will|should|what|which|"
                             r"how|when|who|why|must|has|have|did)\b", re.IGNORECASE)


# "for metastatic does T-DM1 need prior herceptin": an auxiliary verb early in the sentence, then a subject
_ASK_SOON = re.compile(r"^\s*(?:\S+\s+){1,3}(?:does|do|is|are|can|should|would|will)\s+(?:it|she|he|they|the|a|an|this|that|"
                       r"t-?dm-?1|kadcyla|centene|oscar|ambetter|medicaid|pt|patient|prior|an?)\b", re.IGNORECASE)


def sentences(message: str) -> list[Sentence]:
    heads = sections(message)
    out: list[Sentence] = []
    pos = 0
    for m in [*_END.finditer(message), None]:
        end = m.start() if m else len(message)
        piece = message[pos:end]
        question = bool(m and m.group(0) == "?") or bool(_QUESTION_START.match(piece)) or bool(_ASK_SOON.match(piece))
        if piece.strip():
            lead = len(piece) - len(piece.lstrip())
            text = piece.strip()
            start = pos + lead
            kind = "body"
            for offset, k in heads:
                if offset <= start + len(text):
                    kind = k
            out.append(Sentence(text, start, kind, question))
        pos = m.end() if m else len(message)
    return out


def is_note(message: str) -> bool:
    """A pasted chart note: two or more section headers, or several lines with a header."""
    return len(sections(message)) >= 2 or (message.count("\n") >= 2 and bool(sections(message)))
