"""A conversation as a file to keep or share: plain text or PDF, each answer with its audit id.

The user's words are redacted as in the audit log (the file leaves the app); the answers are the
tools' words with their footnotes. Pure: no streamlit import.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterable

from assistant.bottom_line import bottom_line, round_display
from assistant.plain_text import strip_markdown
from assistant.ui_history import Turn, redacted
from assistant.ui_render import BANNER, STATUS_LABEL

FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")  # Debian's fonts-dejavu-core; the PDF needs Unicode
FONT_BOLD = FONT.with_name("DejaVuSans-Bold.ttf")


def _turn_lines(n: int, turn: Turn) -> list[tuple[str, str]]:
    """(style, text) lines for one turn: 'h' a heading, 'b' the bottom line, '' body, 's' small."""
    a = turn.answer
    out = [("h", f"{n}. Question: {redacted(turn.shown)}")]
    head = f"Answer ({STATUS_LABEL.get(a.status, a.status)}; audit id {a.id or 'not recorded'})"
    if turn.superseded:
        head += " - superseded by a later answer"
    out.append(("s", head))
    out.append(("b", round_display(bottom_line(a))))
    for line in strip_markdown(a.answer).splitlines():
        if line.strip():
            out.append(("", round_display(redacted(line.strip()))))
    for w in a.warnings:
        out.append(("", "Warning: " + redacted(strip_markdown(w))))
    for c in a.citations:
        meta = ", ".join(x for x in (c.section, c.date or "undated", c.review_status or "review status not stated") if x)
        out.append(("s", f"[{c.marker}] {c.doc_title} ({meta}): \u201c{c.quote}\u201d"))
    return out


def _lines(turns: Iterable[Turn], now: dt.datetime | None = None) -> list[tuple[str, str]]:
    stamp = (now or dt.datetime.now(dt.timezone.utc)).strftime("%Y-%m-%d %H:%M UTC")
    out = [("h", "Kadcyla assistant (J9354): conversation"), ("s", f"Exported {stamp}. {BANNER}")]
    for n, turn in enumerate(turns, 1):
        out.append(("", ""))
        out += _turn_lines(n, turn)
    return out


def conversation_text(turns: Iterable[Turn], now: dt.datetime | None = None) -> str:
    """The conversation as plain text: one line per paragraph (no hard wraps), audit ids included."""
    return "\n".join(text for _, text in _lines(turns, now)) + "\n"


def conversation_pdf(turns: Iterable[Turn], now: dt.datetime | None = None, compress: bool = True) -> bytes:
    """The conversation as a PDF (A4, DejaVu Sans; Latin-1 Helvetica when the font is not installed)."""
    from fpdf import FPDF  # here: half a second to import, paid only when a PDF is asked for

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.set_title("Kadcyla assistant conversation")
    turns = list(turns)
    ids = [t.answer.id for t in turns if t.answer.id]
    pdf.set_keywords("audit ids: " + " ".join(ids))  # also in the document info, readable without a PDF parser
    unicode_font = FONT.is_file() and FONT_BOLD.is_file()
    if unicode_font:
        pdf.add_font("dejavu", "", str(FONT))
        pdf.add_font("dejavu", "B", str(FONT_BOLD))
    family = "dejavu" if unicode_font else "helvetica"
    pdf.set_compression(compress)
    pdf.add_page()
    sizes = {"h": (12, "B"), "b": (11, "B"), "s": (8, ""), "": (10, "")}
    for style, text in _lines(turns, now):
        size, weight = sizes[style]
        pdf.set_font(family, weight, size)
        if not unicode_font:
            text = text.encode("latin-1", "replace").decode("latin-1")
        pdf.multi_cell(0, size * 0.5, text or " ", new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
