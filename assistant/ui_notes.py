"""What an answer says besides its result, sorted by how loudly the page should say it.

Label safety rules that fire are a red banner; cautions the staff must read (not trastuzumab, not
Enhertu, a changed weight) are a yellow box; boilerplate every answer carries (a draft source, a stale
price, today's date used) is folded into one small notice in plain words, with no command lines.
Pure functions, no streamlit import.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.models import Answer, Citation

_STALE = re.compile(r"^Stale price:.*?outside (Q\d \d{4}).*?for (\d{4})Q(\d)", re.S)
_DRAFT = re.compile(r"^(.+?) is marked “Pending SME review[^”]*”")
_COMMAND = re.compile(r"\s*(?:with|run|using)?\s*`[^`]*`")
_CAUTION = re.compile(r"^(?:Warning|Caution):\s*(.+?)(?:\s*(?:\[\d+\]\s*)+)?$")


@dataclass
class Notes:
    banners: list[str] = field(default_factory=list)   # label safety rules that fire with severity 'error'
    cautions: list[str] = field(default_factory=list)  # safety warnings and the answer's own 'Warning:' lines
    warnings: list[str] = field(default_factory=list)  # other warnings worth a box
    notice: str = ""                                   # boilerplate, one line


def plain_note(text: str) -> str | None:
    """A boilerplate warning in plain words, or None when the warning is not boilerplate."""
    stale = _STALE.match(text)
    if stale:
        newest, year, quarter = stale.groups()
        return f"the newest price on file is {newest}; load the Q{quarter} {year} CMS ASP file for this date of service"
    draft = _DRAFT.match(text)
    if draft:
        return f"{draft.group(1)} is a draft reference (pending expert review): check the quoted passage"
    return None


def _lower_first(text: str) -> str:
    """'No date given' -> 'no date given' inside a sentence; a name ('CareCost ...') keeps its capital."""
    word = text.split(" ", 1)[0]
    return text[:1].lower() + text[1:] if word[1:].islower() else text


def _uncommand(text: str) -> str:
    return _COMMAND.sub("", text).replace("`", "")


def answer_notes(answer: Answer) -> Notes:
    """The answer's safety rules, cautions, warnings and boilerplate, each said once."""
    notes = Notes()
    for rule in answer.safety:
        message = str(rule.get("message", "")).strip()
        target = notes.banners if rule.get("severity", "error") == "error" else notes.cautions
        if message and message not in target:
            target.append(message + (f" {rule['marker']}" if rule.get("marker") else ""))
    folded: list[str] = []
    for text in answer.warnings:
        if text.startswith("Label safety"):
            continue  # the same rule is in answer.safety, shown as a banner
        plain = plain_note(text)
        if plain:
            folded.append(plain)
        elif text not in notes.warnings:
            notes.warnings.append(_uncommand(text))
    for line in answer.answer.splitlines():
        caution = _CAUTION.match(line.strip())
        if caution and caution.group(1) not in notes.cautions:
            notes.cautions.append(caution.group(1))
    for call in answer.tool_calls:
        if call.tool == "calculate_dose" and isinstance(call.output, dict):
            folded += [n for n in call.output.get("notes", []) if isinstance(n, str)]
    for note in answer.guard_notes:
        notes.warnings.append("Grounding check: " + note)
    folded = list(dict.fromkeys(n.rstrip(".") for n in folded))
    if folded:
        notes.notice = "Note: " + "; ".join(_lower_first(f) if i else f for i, f in enumerate(folded)) + "."
    return notes


# -- the three boxed warnings, one line on dose answers -------------------------------------------------
@dataclass(frozen=True)
class Boxed:
    text: str
    citation: Citation


@lru_cache(maxsize=1)
def boxed_warnings() -> Boxed | None:
    """'Boxed warnings: Three — hepatotoxicity, ...' as quoted by the billing guide, with its citation."""
    from assistant.corpus import get_corpus
    from assistant.documents.lists import named_lists

    for named in named_lists():
        if named.id != "boxed-warnings":
            continue
        doc = get_corpus().doc(named.doc_id)
        start, end = named.lead
        quote = doc.text[start:end]
        meta = doc.meta
        cite = Citation(marker=0, doc_id=named.doc_id, doc_title=meta.title, section=named.section, quote=quote,
                        start=start, end=end, publisher=meta.publisher, date=meta.date, review_status=meta.review_status)
        return Boxed(text=f"Boxed warnings: {quote}", citation=cite)
    return None
