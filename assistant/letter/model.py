"""What build_letter returns: the payer-facing letter, or the reasons it is withheld, and staff notes beside it."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

import assistant.letter.render as render
from assistant.models import SourceQuote
from assistant.tools.dose import DoseResult
from assistant.tools.policy_result import PolicyResult


class Para(BaseModel):
    """One paragraph (one line in text); footnote markers are written [n]."""

    text: str
    bullet: bool = False


class Part(BaseModel):
    heading: str | None = None
    paras: list[Para]


class Footnote(BaseModel):
    """A numbered reference: the document, section and date; the passage it rests on is kept, not printed."""

    n: int
    doc_id: str
    section: str
    text: str = Field(description="title, publisher, version, section and date, as printed")
    quotes: list[str] = Field(description="the exact passages (substrings of the corpus document) cited")


class StaffSafety(BaseModel):
    """A label safety rule the request breaks (error) or touches (warning), for staff beside the letter."""

    rule: str
    severity: str
    message: str
    quote: SourceQuote
    document: str = Field(description="the title of the document quoted")


class LetterResult(BaseModel):
    """The letter (parts + footnotes) unless withheld; reasons, checklist and safety are for staff only."""

    withheld: bool
    reasons: list[str] = Field(default_factory=list, description="why the letter is withheld, for staff")
    checklist: list[str] = Field(default_factory=list, description="open items for staff; never in the letter")
    safety: list[StaffSafety] = Field(default_factory=list, description="label safety findings, for staff")
    title: str
    parts: list[Part] = Field(default_factory=list, description="the letter; empty when withheld")
    footnotes: list[Footnote] = Field(default_factory=list)
    drug: str
    hcpcs: str
    met: list[str] = Field(default_factory=list, description="criterion ids the letter states as met")
    policy: PolicyResult | None = None
    dose: DoseResult | None = None

    def text(self, ascii: bool = False) -> str:
        """Plain text, one paragraph per line: the letter, or the withheld notice for staff."""
        return render.text(self, ascii=ascii)

    def markdown(self, ascii: bool = False) -> str:
        """Markdown with headings, bullets and footnotes ([^n])."""
        return render.markdown(self, ascii=ascii)

    def docx(self, path: str | Path, ascii: bool = False) -> Path:
        """Write the letter (or the withheld notice) as a Word file staff can edit; returns the path."""
        return render.docx(self, Path(path), ascii=ascii)

    def staff_text(self, ascii: bool = False) -> str:
        """The staff notes beside a letter (open items, label safety); '' when there are none."""
        return render.staff_text(self, ascii=ascii)
