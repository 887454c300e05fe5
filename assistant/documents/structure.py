"""Where a sentence sits in its document: the line (table row, list item, paragraph) that holds it, the
short label line above it ("First infusion", "1. Hepatotoxicity", a FAQ question), the table header of
a row, and the list a line belongs to (its lead-in line and every item, in order).

Everything is an exact span of the document text, built once per corpus from the text and the chunks.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache

from assistant.chunking import noise_spans
from assistant.corpus import get_corpus

# A list marker at the start of a line: bullets, "1.", "a.", "(1)", and "- a." (a lettered sub-item
# written as a bullet).
_MARKER = re.compile(r"^(?P<indent>[ \t]*)(?:(?P<bullet>[•▪●○◦❖*]|-(?=\s))\s+)?(?:(?P<num>\d{1,2})[.)]|(?P<letter>[a-z])[.)]|\((?P<paren>\d{1,2})\))?\s*")
_SUB_BULLETS = "○◦▪"
_WORDS = re.compile(r"[A-Za-z0-9][\w'’+-]*")


@dataclass(frozen=True)
class Line:
    """One non-blank line of a document: its exact span (without surrounding spaces) and its place."""

    doc_id: str
    start: int
    end: int
    section: str
    chunk: int  # index of the chunk holding it, in the document's chunk order
    table_header: tuple[int, int] | None  # the header line of the table the line is a row of
    is_header: bool  # the line is a table header
    marker: str | None  # list marker family: number | letter | paren | bullet:<char>, or None
    indent: int
    noise: str | None  # boilerplate kind (chunking.yaml `noise`), or None
    heading: bool = False  # the line is the heading that opens its section


@dataclass
class Group:
    """A list in the document: its lead-in line (if any) and its items, each an exact span."""

    doc_id: str
    kind: str  # table | list
    lead: tuple[int, int] | None
    items: list[tuple[int, int]] = field(default_factory=list)
    header: tuple[int, int] | None = None  # a table's header line


@dataclass
class DocStructure:
    doc_id: str
    text: str
    lines: list[Line]
    starts: list[int]
    groups: list[Group]
    group_of: dict[int, int]  # line index -> group index (items and their sub-lines)
    item_of: dict[int, tuple[int, int]]  # line index -> the item span it belongs to
    lead_of: dict[int, int] = field(default_factory=dict)  # line index of a list's lead-in -> group index
    chunks: list[tuple[int, int]] = field(default_factory=list)  # the chunks' spans, in order

    def section_at(self, pos: int) -> str:
        """The section (as the index names it) of the line holding pos, or ''."""
        i = bisect.bisect_right(self.starts, pos) - 1
        return self.lines[i].section if i >= 0 else ""

    def line_at(self, pos: int) -> int | None:
        """Index of the line holding offset pos, or None when pos is on a blank line."""
        i = bisect.bisect_right(self.starts, pos) - 1
        if i >= 0 and self.lines[i].start <= pos <= self.lines[i].end:
            return i
        return None

    def label(self, i: int) -> tuple[int, int] | None:
        """The short title line just above line i ("First infusion", "1. Hepatotoxicity", a FAQ question):
        context a sentence needs, shown with it. Not for table rows or a line that is a title itself."""
        line = self.lines[i]
        if i == 0 or line.table_header or line.is_header or is_title(self.text[line.start:line.end]):
            return None
        prev = self.lines[i - 1]
        if prev.table_header or prev.is_header or self.text.count("\n", prev.end, line.start) > 2:
            return None
        prev_text = self.text[prev.start:prev.end]
        if is_title(prev_text) or _numbered_title(prev_text) or prev_text.rstrip().endswith("?"):
            return prev.start, prev.end
        return None

    def noise_at(self, start: int, end: int) -> str | None:
        """The boilerplate kind of any line the span touches, or None."""
        for i in range(max(0, bisect.bisect_right(self.starts, start) - 1), len(self.lines)):
            line = self.lines[i]
            if line.start >= end:
                break
            if line.end > start and line.noise:
                return line.noise
        return None


def is_title(text: str) -> bool:
    """A short line that names a topic: a few words, no sentence end, no figure (a heading, a list label
    such as "1. Hepatotoxicity"); not a table row."""
    t = _strip_marker(text).strip().strip("*#").strip()
    words = _WORDS.findall(t)
    return (0 < len(words) <= 6 and not re.search(r"[.;!|]$", t) and len(t) <= 60 and "\t" not in t
            and " | " not in t and not re.search(r"\d", t) and not re.search(r":\s+\S", t))


def _item_title(text: str) -> bool:
    return is_title(text) or _numbered_title(text)


def _numbered_title(text: str) -> bool:
    """"1. Hepatotoxicity": a title after its list number."""
    m = re.match(r"\s*\d{1,2}[.)]\s+(.*)$", text)
    return bool(m) and is_title(m.group(1))


def _strip_marker(text: str) -> str:
    m = _MARKER.match(text)
    return text[m.end():] if m else text


def _family(text: str) -> tuple[str | None, int]:
    m = _MARKER.match(text)
    if not m or m.end() == len(m.group("indent") or ""):
        return None, 0
    indent = len((m.group("indent") or "").expandtabs(2))
    if m.group("num"):
        return "number", indent
    if m.group("letter"):
        return "letter", indent
    if m.group("paren"):
        return "paren", indent
    if m.group("bullet"):
        return f"bullet:{m.group('bullet')}", indent
    return None, 0


def _lower(family: str, indent: int, top: str, top_indent: int) -> bool:
    """A line of this family is a sub-item of an item of the top family."""
    if indent > top_indent:
        return True
    if top == "number" and family in ("letter", "paren"):
        return True
    if top.startswith("bullet:") and family.startswith("bullet:") and family[-1] in _SUB_BULLETS and top[-1] not in _SUB_BULLETS:
        return True
    return False


@lru_cache(maxsize=8)
def _structure(corpus_dir: str, doc_id: str) -> DocStructure:
    from assistant.chunking import chunk_document

    corpus = get_corpus()
    text = corpus.text(doc_id)
    chunks = chunk_document(doc_id, text)
    noise = noise_spans(doc_id, text, chunks)
    lines: list[Line] = []
    for ci, chunk in enumerate(chunks):
        header = None
        if chunk.table_header:  # the nearest header line at or before the row
            h = text.rfind(chunk.table_header, 0, chunk.end)
            header = (h, h + len(chunk.table_header)) if h >= 0 else None
        pos = chunk.start
        for raw in text[chunk.start:chunk.end].split("\n"):
            stripped = raw.strip()
            if stripped:
                s = pos + len(raw) - len(raw.lstrip())
                e = s + len(stripped)
                family, indent = _family(raw)
                is_header = header is not None and (s, e) == header
                in_table = header if header is not None and s > header[0] and not is_header else None
                kind = next((k for a, b, k in noise if a <= s and e <= b), None)
                heading = bool(chunk.heading) and stripped[:120] == chunk.heading and s == chunk.start
                lines.append(Line(doc_id, s, e, chunk.section, ci, in_table, is_header, family, indent, kind, heading))
            pos += len(raw) + 1
    lines = _join_wrapped(text, lines)
    groups, group_of, item_of = _groups(doc_id, text, lines)
    starts = [ln.start for ln in lines]
    lead_of = {}
    for gi, g in enumerate(groups):
        if g.lead:
            k = bisect.bisect_right(starts, g.lead[0]) - 1
            lead_of.setdefault(k, gi)
    return DocStructure(doc_id, text, lines, starts, groups, group_of, item_of, lead_of, [(c.start, c.end) for c in chunks])


def _join_wrapped(text: str, lines: list[Line]) -> list[Line]:
    """One line for a sentence the PDF extraction broke over several ("... refer to Oscar Clinical" /
    "Guideline: ... (CG082)."): a long line that ends mid-sentence runs on into the next plain line."""
    out: list[Line] = []
    for line in lines:
        prev = out[-1] if out else None
        if (prev is not None and prev.chunk == line.chunk and prev.end - prev.start >= 60
                and text[prev.end:line.start].count("\n") == 1 and not re.search(r"[.;:!?|)]\s*$", text[prev.start:prev.end])
                and line.marker is None and prev.table_header is None and line.table_header is None
                and not prev.is_header and not line.is_header and prev.noise == line.noise):
            out[-1] = Line(prev.doc_id, prev.start, line.end, prev.section, prev.chunk, None, False, prev.marker,
                           prev.indent, prev.noise, prev.heading)
            continue
        out.append(line)
    return out


def structure(doc_id: str) -> DocStructure:
    """The document's lines, labels and lists (built once per corpus)."""
    return _structure(str(get_corpus().dir), doc_id)


def _groups(doc_id: str, text: str, lines: list[Line]) -> tuple[list[Group], dict[int, int], dict[int, tuple[int, int]]]:
    groups: list[Group] = []
    group_of: dict[int, int] = {}
    item_of: dict[int, tuple[int, int]] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.table_header is not None:  # a table: every row under one header
            j = i
            while j < len(lines) and lines[j].table_header == line.table_header:
                j += 1
            g = Group(doc_id, "table", None, [(ln.start, ln.end) for ln in lines[i:j]], header=line.table_header)
            _lead_in(g, lines, i, text, before_header=True)
            for k in range(i, j):
                group_of[k] = len(groups)
                item_of[k] = (lines[k].start, lines[k].end)
            groups.append(g)
            i = j
            continue
        if line.marker is None:
            i += 1
            continue
        top, top_indent = line.marker, line.indent
        g = Group(doc_id, "list", None)
        _lead_in(g, lines, i, text)
        members: list[list[int]] = []
        j = i
        bodies = 0
        while j < len(lines):
            cur = lines[j]
            if cur.table_header is not None or cur.is_header:
                break
            if cur.marker == top and cur.indent == top_indent:
                members.append([j])
            elif cur.marker is not None and members and _lower(cur.marker, cur.indent, top, top_indent):
                members[-1].append(j)
            elif cur.marker is None and members and len(members[-1]) == 1 and _item_title(text[lines[members[-1][0]].start:lines[members[-1][0]].end]) \
                    and (bodies or _next_is(lines, j + 1, top, top_indent)):
                members[-1].append(j)  # "1. Hepatotoxicity" then its paragraph
                bodies += 1
            else:
                break
            j += 1
        if len(members) >= 2:
            for m in members:
                span = (lines[m[0]].start, lines[m[-1]].end)
                g.items.append(span)
                for k in m:
                    group_of[k] = len(groups)
                    item_of[k] = span
            groups.append(g)
        i = max(j, i + 1)
    return groups, group_of, item_of


def _next_is(lines: list[Line], j: int, family: str, indent: int) -> bool:
    return j < len(lines) and lines[j].marker == family and lines[j].indent == indent


def _lead_in(g: Group, lines: list[Line], i: int, text: str, before_header: bool = False) -> None:
    """The line that introduces a list: the one just above it (above the header, for a table)."""
    k = i - 1
    if before_header:
        while k >= 0 and (lines[k].is_header or lines[k].table_header is not None):
            k -= 1
    if k >= 0 and lines[k].marker is None and not lines[k].noise and text.count("\n", lines[k].end, lines[i].start) <= 3:
        g.lead = (lines[k].start, lines[k].end)
