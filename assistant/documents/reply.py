"""A document answer as it is written: the lead line, then cited bullets; and how one quote is cited
and shown (the exact quote goes to the citation, its displayed form into the text)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from assistant.compose import Citations
from assistant.corpus import get_corpus
from assistant.documents import display


@dataclass
class DocReply:
    """What a document answer says: text (lead line first), warnings, and its status."""

    text: str = ""
    warnings: list[str] = field(default_factory=list)
    status: Literal["answered", "out_of_scope"] = "answered"
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        if line and line not in self.lines:
            self.lines.append(line)

    def done(self) -> DocReply:
        self.text = "\n".join(self.lines)
        return self


def publisher(doc_id: str) -> str:
    """The publisher as shown: without the manifest's note in brackets."""
    return re.sub(r"\s*\([^)]*\)", "", get_corpus().doc(doc_id).meta.publisher).strip()


def cite(cites: Citations, doc_id: str, start: int, end: int, section: str = "") -> str:
    """The citation marker for the exact span doc_id[start:end] ('' if it is not quotable); its section is
    the one the search index gives the text there."""
    from assistant.documents.structure import structure

    quote = get_corpus().text(doc_id)[start:end]
    return cites.add({"doc_id": doc_id, "quote": quote, "start": start}, section=structure(doc_id).section_at(start) or section)


def shown(doc_id: str, start: int, end: int, header: tuple[int, int] | None = None, keep_marker: bool = True) -> str:
    """The displayed form of an exact span: a table row with its header's column names, else cleaned."""
    text = get_corpus().text(doc_id)
    quote = text[start:end]
    if header is not None and "\n" not in quote:
        return display.table_row(quote, text[header[0]:header[1]])
    if " | " in quote and "\n" not in quote:
        return display.pipe_row(display.clean_line(quote))
    return " ".join(display.clean(quote, keep_marker).split())


def header_marker(cites: Citations, doc_id: str, header: tuple[int, int] | None) -> str:
    """A table row shown with its column names cites the header line too when a name holds a figure
    ("CMS-1500 box"): every number shown comes from a cited quote."""
    if header is None or not re.search(r"\d", get_corpus().text(doc_id)[header[0]:header[1]]):
        return ""
    return cite(cites, doc_id, header[0], header[1])


def safe(doc_id: str, start: int, end: int) -> tuple[int, int] | None:
    """The span, or its safe beginning when a web address or markup follows; None if nothing is safe:
    a passage holding markup or an instruction is never quoted."""
    from assistant.documents.candidates import safe_part

    return safe_part(get_corpus().text(doc_id), start, end)


def bullet(cites: Citations, doc_id: str, start: int, end: int, section: str, *, header=None, source: bool = True,
           keep_marker: bool = True) -> str:
    """'- Publisher, section: “shown quote” [n]' (or '- shown quote [n]' for the items of one list); ''
    when nothing of the span may be quoted."""
    span = safe(doc_id, start, end)
    if span is None:
        return ""
    start, end = span
    from assistant.documents.structure import structure

    section = structure(doc_id).section_at(start) or section
    marker = cite(cites, doc_id, start, end, section) + header_marker(cites, doc_id, header)
    body = shown(doc_id, start, end, header, keep_marker)
    if source:
        return f"- {publisher(doc_id)}, {section}: “{body}” {marker}".rstrip()
    return f"- {body} {marker}".rstrip()
