"""The "Copy for PA narrative" text: an Answer as plain text with numbered footnotes.

No markdown symbols (a PA portal or a fax shows them literally), lines wrapped at 100 characters,
each citation a footnote with document title, section, publisher, date and review status.
"""

from __future__ import annotations

import re
import textwrap

from assistant.models import Answer, Citation

WIDTH = 100
HEADER = "Kadcyla (ado-trastuzumab emtansine, HCPCS J9354) - decision support"
INTENDED_USE = (
    "For licensed professionals. Not medical advice: verify every figure and criterion against the cited "
    "source before acting."
)
_STATUS = {
    "answered": "",
    "needs_info": "More information is needed before this can be answered.",
    "out_of_scope": "Outside what this assistant covers.",
    "error": "The assistant could not answer.",
}

_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)[^)]*\)")
_LINK = re.compile(r"(?<!\\)\[([^\]]+)\]\(([^)\s]*)[^)]*\)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*")
_QUOTE_MARK = re.compile(r"^\s{0,3}>\s?")
_BULLET = re.compile(r"^\s*[-*+]\s+")
_RULE = re.compile(r"^\s*([-*_=])(\s*\1){2,}\s*$")
_EMPHASIS = re.compile(r"\*\*|__|`+|~~")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")


def strip_markdown(text: str) -> str:
    """Text without markdown syntax: links become 'text (url)', images their alt text, no ** # ` > markers."""
    lines = []
    for line in str(text).splitlines():
        line = _IMAGE.sub(lambda m: m.group(1) or "image", line)
        line = _LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})" if m.group(2) else m.group(1), line)
        line = _HTML_TAG.sub("", line)
        if _RULE.match(line):
            continue
        line = _QUOTE_MARK.sub("", _HEADING.sub("", line))
        line = _EMPHASIS.sub("", line)
        # a lone * or _ used for emphasis: drop it only when it hugs a word (keeps "3 * 4" and snake_case)
        line = re.sub(r"(?<![\w*])\*(?=\w)|(?<=\w)\*(?![\w*])", "", line)
        line = line.replace("#", "No. ") if re.search(r"#\s*\d", line) else line.replace("#", "")
        lines.append(line.rstrip())
    return "\n".join(lines)


def _wrap(text: str, indent: str = "", hanging: str | None = None) -> list[str]:
    hanging = indent if hanging is None else hanging
    out: list[str] = []
    for para in text.splitlines() or [""]:
        if not para.strip():
            out.append("")
            continue
        out.extend(
            textwrap.wrap(para.strip(), WIDTH, initial_indent=indent, subsequent_indent=hanging,
                          break_long_words=True, break_on_hyphens=False)
        )
    return out


def footnote(c: Citation) -> list[str]:
    """One numbered footnote: where the quote comes from, then the quote itself."""
    where = (
        f"[{c.marker}] {strip_markdown(c.doc_title)}"
        + (f", section \"{strip_markdown(c.section)}\"" if c.section else "")
        + f". {strip_markdown(c.publisher or 'Publisher not stated')}, {c.date or 'undated'}."
        + f" Review status: {strip_markdown(c.review_status or 'not stated')}."
    )
    quote = " ".join(strip_markdown(c.quote).split())
    return _wrap(where, hanging="    ") + _wrap(f"\"{quote}\"", indent="    ")


def narrative(answer: Answer) -> str:
    """The answer as plain text for a prior-authorization narrative, with citations as footnotes."""
    lines = [HEADER, *_wrap(INTENDED_USE), ""]
    lines += _wrap(f"Question: {strip_markdown(answer.question)}", hanging="  ")
    lines.append("")
    if _STATUS.get(answer.status):
        lines += _wrap(_STATUS[answer.status])
    for raw in strip_markdown(answer.answer).splitlines():
        if _BULLET.match(raw):
            lines += _wrap(_BULLET.sub("", raw), indent="  ", hanging="    ")
        else:
            lines += _wrap(raw, hanging="  ")
    if answer.missing:
        lines += ["", "Information still needed:"]
        for item in answer.missing:
            lines += _wrap(strip_markdown(item), indent="  ", hanging="    ")
    if answer.warnings:
        lines += ["", "Warnings:"]
        for item in answer.warnings:
            lines += _wrap(strip_markdown(item), indent="  ", hanging="    ")
    if answer.citations:
        lines += ["", "Sources:"]
        for c in answer.citations:
            lines += footnote(c)
    return "\n".join(lines).rstrip() + "\n"


def file_name(answer: Answer) -> str:
    """A download file name that says what the answer is about."""
    return f"kadcyla-{answer.intent or answer.status}-narrative.txt".replace("_", "-")
