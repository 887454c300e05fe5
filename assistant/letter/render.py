"""Letter renderers: plain text (one paragraph per line), markdown, Word (python-docx), and ASCII-only.

Works on a LetterResult without importing it (model imports this module). Text never wraps: a
paragraph is one line, so it pastes into a payer portal or Word without broken lines.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant.letter.model import LetterResult

_ASCII = {
    "×": "x", "≥": ">=", "≤": "<=", "–": "-", "—": "-", "‑": "-", "−": "-", "’": "'", "‘": "'", "“": '"', "”": '"',
    "…": "...", "µ": "u", "·": "-", "→": "->", "±": "+/-", "÷": "/", "•": "-", "\u00a0": " ", "\t": " ", "⇅": "",
    "®": "(R)", "™": "(TM)", "°": " deg", "½": "1/2",
}  # fmt: skip
_MARK = re.compile(r"\[(\d+)\]")
_MD_SPECIAL = re.compile(r"([\\`*_<>#|])")


def to_ascii(text: str) -> str:
    """ASCII only: the usual typographic signs spelled out, accents dropped, anything else removed."""
    text = "".join(_ASCII.get(ch, ch) for ch in text)
    text = unicodedata.normalize("NFKD", text)
    return text.encode("ascii", "ignore").decode("ascii")


def _finish(lines: list[str], ascii: bool) -> str:
    body = "\n".join(lines).strip() + "\n"
    body = re.sub(r"\n{3,}", "\n\n", body)
    return to_ascii(body) if ascii else body


def _staff_groups(r: LetterResult) -> list[tuple[str, list[str]]]:
    groups = []
    if r.withheld:
        groups.append(("Why the letter is withheld", r.reasons))
    if r.checklist:
        groups.append(("Open items for staff (not part of the letter)", r.checklist))
    if r.safety:
        groups.append(("Label safety (check before sending)", [
            f"{s.severity.upper()}: {s.message} Label text: “{s.quote.quote}” ({s.document}"
            + (f", {s.quote.section}" if s.quote.section else "") + ")" for s in r.safety]))
    return groups


def _staff_lines(r: LetterResult) -> list[str]:
    return [line for head, items in _staff_groups(r) for line in (head, *[f"- {x}" for x in items], "")]


def staff_text(r: LetterResult, ascii: bool = False) -> str:
    """The staff notes alone (for a letter that is not withheld: its open items and label safety)."""
    lines = _staff_lines(r)
    return _finish(lines, ascii) if lines else ""


_WITHHELD_NOTE = "For staff only. No letter is written until every item below is settled."


def _withheld_lines(r: LetterResult) -> list[str]:
    return [f"LETTER WITHHELD: {r.title}", _WITHHELD_NOTE, "", *_staff_lines(r)]


def text(r: LetterResult, ascii: bool = False) -> str:
    if r.withheld:
        return _finish(_withheld_lines(r), ascii)
    lines: list[str] = []
    for part in r.parts:
        if part.heading:
            lines.append(part.heading)
        lines += [("- " if p.bullet else "") + p.text for p in part.paras]
        lines.append("")
    if r.footnotes:
        lines += ["References", *[f"{f.n}. {f.text}" for f in r.footnotes]]
    return _finish(lines, ascii)


def _md(text: str) -> str:
    return _MARK.sub(r"[^\1]", _MD_SPECIAL.sub(r"\\\1", text))


def markdown(r: LetterResult, ascii: bool = False) -> str:
    if r.withheld:
        lines = [f"# Letter withheld: {_md(r.title)}", "", _md(_WITHHELD_NOTE), ""]
        for head, items in _staff_groups(r):
            lines += [f"## {_md(head)}", "", *[f"- {_md(x)}" for x in items], ""]
        return _finish(lines, ascii)
    lines = []
    for part in r.parts:
        if part.heading:
            lines += [f"## {_md(part.heading)}", ""]
        for p in part.paras:
            lines += [f"- {_md(p.text)}"] if p.bullet else [_md(p.text), ""]
        lines.append("")
    if r.footnotes:
        lines += ["## References", "", *[f"[^{f.n}]: {_md(f.text)}" for f in r.footnotes]]
    return _finish(lines, ascii)


def docx(r: LetterResult, path: Path, ascii: bool = False) -> Path:
    """A Word document: headings, bullets ('List Bullet'), footnote markers as superscript [n]."""
    from docx import Document  # python-docx; imported here so the text renderers need nothing extra

    fix = to_ascii if ascii else (lambda s: s)
    doc = Document()

    def para(text: str, style: str | None = None) -> None:
        p = doc.add_paragraph(style=style)
        for i, piece in enumerate(_MARK.split(fix(text))):
            if not piece:
                continue
            run = p.add_run(f"[{piece}]" if i % 2 else piece)
            run.font.superscript = bool(i % 2)

    if r.withheld:
        for line in _withheld_lines(r):
            if line.startswith("- "):
                para(line[2:], "List Bullet")
            elif line:
                para(line)
    else:
        for part in r.parts:
            if part.heading:
                doc.add_heading(fix(part.heading), level=2)
            for p in part.paras:
                para(p.text, "List Bullet" if p.bullet else None)
        if r.footnotes:
            doc.add_heading("References", level=2)
            for f in r.footnotes:
                para(f"{f.n}. {f.text}")
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def docx_lines(path: str | Path) -> list[str]:
    """A Word file read back as the text renderer's lines (bullets as '- ', no blank lines): for round trips."""
    from docx import Document

    out = []
    for p in Document(str(path)).paragraphs:
        if not p.text.strip():
            continue
        out.append(("- " if p.style.name == "List Bullet" else "") + p.text)
    return out
