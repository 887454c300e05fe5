"""Structure-aware chunks: split by each document's own headings, numbered
criteria and table rows. A chunk's text is always document[start:end].

Boilerplate (copyright, legal reminders, download prompts, navigation, marketing) is marked
non-answer here, from chunking.yaml's `noise` rules: a chunk that is all boilerplate carries its
kind in `non_answer`, and noise_spans() gives the exact stretches for quoting to avoid."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import yaml
from pydantic import BaseModel

CHUNKER_VERSION = "4"
MAX_CHARS = 900  # paragraphs are split at line boundaries past this; criteria and rows never

_CRITERION = re.compile(r"^(\d{1,2})\.\s")
_SUB_ITEM = re.compile(r"^\s*(?:[-•]\s*)?([a-z])\.\s")
_MD_HEADING = re.compile(r"^(?:-\s+)?#{1,6}\s+(.+?)\s*$")
_MD_BOLD = re.compile(r"^\*\*(.+?)\*\*\s*$")
_ROMAN = re.compile(r"^([IVX]+)\.\s")
_LETTER = re.compile(r"^([A-Z])\.\s")
_ROMAN_LETTER = re.compile(r"^[IVX]+\.[A-Z]$")


class Chunk(BaseModel):
    """A passage of one document, with where it sits in the document's structure."""

    id: str
    doc_id: str
    section: str
    heading: str
    start: int
    end: int
    text: str
    table_header: str | None = None
    path: str = ""  # the headings above the passage, outermost first, joined by " > "
    non_answer: str | None = None  # the kind of boilerplate the whole passage is (chunking.yaml `noise`), or None

    def index_text(self, label: str) -> str:
        """What the retrievers see: document label and heading path (minus headings the
        passage already opens with), the table header of a row, then the passage."""
        head = self.text[:300]
        context = [p for p in self.path.split(" > ") if p and p not in head]
        parts = [" | ".join([label, *context])]
        if self.table_header and self.table_header not in self.text:
            parts.append(self.table_header)
        parts.append(self.text)
        return "\n".join(parts)


@dataclass
class _Line:
    text: str
    start: int
    end: int

    @property
    def stripped(self) -> str:
        return self.text.strip()


@dataclass
class _Unit:
    section: str
    heading: str
    kind: str  # para | criterion | item | table
    lines: list[_Line] = field(default_factory=list)
    table_header: str | None = None
    closed: bool = False
    path: str = ""

    @property
    def size(self) -> int:
        return self.lines[-1].end - self.lines[0].start if self.lines else 0


@lru_cache(maxsize=1)
def _config() -> dict:
    text = resources.files("assistant.data").joinpath("chunking.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text) or {}


def doc_label(doc_id: str, publisher: str, title: str) -> str:
    """What every chunk of a document is indexed under: publisher | short title. A long
    manifest title would dominate a short chunk's embedding, so chunking.yaml may name
    a short one; the publisher carries the payer's name ("Does Centene ...")."""
    publisher = re.sub(r"\s*\([^)]*\)", "", publisher).strip()
    short = _config().get(doc_id, {}).get("short_title") or title
    return f"{publisher} | {short}"


def _split_lines(text: str) -> list[_Line]:
    lines, pos = [], 0
    for raw in text.split("\n"):
        lines.append(_Line(raw, pos, pos + len(raw)))
        pos += len(raw) + 1
    return lines


def _is_generic_heading(s: str) -> bool:
    return (
        3 <= len(s) <= 70
        and s[0].isupper()
        and not re.search(r"[.,;:|]$", s)
        and not s.startswith(("-", "•", "#"))
        and " | " not in s
        and "\t" not in s
    )


class _Chunker:
    def __init__(self, doc_id: str, text: str):
        self.doc_id = doc_id
        self.text = text
        cfg = _config().get(doc_id, {})
        self.headings = cfg.get("headings")
        self.tables = {t["header"]: (t.get("group", "row"), t.get("rows")) for t in cfg.get("tables", [])}
        self.items = {i["section"]: i["starts"] for i in cfg.get("items", [])}
        self.questions_in = cfg.get("questions_in")
        self.markdown = not self.headings and any(_MD_HEADING.match(ln) for ln in text.split("\n"))
        self.section = "Preamble"
        self.parent = "Preamble"
        self.heading = ""
        self.trail: list[str] = []  # heading texts above the current line, outermost first
        self.units: list[_Unit] = []
        self.pending: list[_Line] = []
        self.open: _Unit | None = None
        self.table: tuple[str, str, int | None] | None = None  # (header, group, rows left)
        self.criterion: _Unit | None = None

    # -- headings --------------------------------------------------------
    def _heading(self, line: _Line) -> str | None:
        """The section a heading line opens, or None if it is not a heading."""
        s = line.stripped
        if not s:
            return None
        if self.headings:
            for h in self.headings:
                if (s == h["starts"]) if h.get("exact") else s.startswith(h["starts"]):
                    if h.get("level", 1) == 1:
                        self.parent = h["name"]
                        self.trail = [_clean_heading(s)]
                    else:
                        self.trail = self.trail[:1] + [_clean_heading(s)]
                    return h["name"]
            return None
        if self.markdown:
            m = _MD_HEADING.match(s) or _MD_BOLD.match(s)
            if not m:
                return None
            title = m.group(1).strip().strip("*").strip()
            if r := _ROMAN.match(title):
                self.parent = r.group(1)
                self.trail = [_clean_heading(title)]
                return self.parent
            if (letter := _LETTER.match(title)) and _is_roman(self.parent):
                self.trail = self.trail[:1] + [_clean_heading(title)]
                return f"{self.parent}.{letter.group(1)}"
            if title.lower().startswith("approval duration"):
                self.trail = self.trail[:2] + [_clean_heading(title)]
                base = self.section.split(" ")[0].rsplit(".", 1)[0] if _criterion_path(self.section) else self.section
                return f"{base.split(' ')[0]} approval duration"
            self.parent = title.rstrip(":")
            self.trail = [_clean_heading(title)]
            return self.parent
        if _is_generic_heading(s):
            self.trail = [_clean_heading(s)]
            return s
        return None

    # -- units -----------------------------------------------------------
    def _close(self) -> None:
        if self.open is not None:
            self.open.closed = True
            self.open = None

    def _new(self, kind: str, section: str, lines: list[_Line], header: str | None = None) -> _Unit:
        self._close()
        unit = _Unit(section, self.heading, kind, self.pending + lines, header, path=" > ".join(self.trail))
        self.pending = []
        self.units.append(unit)
        self.open = unit
        return unit

    def run(self) -> list[_Unit]:
        for line in _split_lines(self.text):
            self._line(line)
        if self.pending:
            self._new("para", self.section, [])
        return self.units

    def _line(self, line: _Line) -> None:
        s = line.stripped
        if not s:
            self.table = None
            if self.open is not None and self.open.kind in ("para", "table"):
                self._close()
            return
        if self.table is not None:
            header, group, left = self.table
            is_row = ("\t" in line.text) if header.count("\t") else True
            if is_row:
                self.table = (header, group, left - 1) if left is not None else self.table
                if left is not None and left <= 1:
                    self.table = None
                header_unit_open = self.open is not None and self.open.kind == "table" and self.open.table_header is None
                if group == "whole" or header_unit_open:
                    # the first row shares a chunk with the header; a whole table is one chunk
                    self.open.lines.append(line)
                    self.open.table_header = header
                else:
                    self._new("table", self.section, [line], header)
                return
            self.table = None
        name = self._heading(line)
        if name is not None:
            self._close()
            self.criterion = None
            self.section, self.heading = name, s[:120]
            if self.markdown and s.startswith("- ###"):
                self._new("para", self.section, [line])  # heading and its text on one line
            else:
                self.pending.append(line)
            return
        group, rows = self.tables.get(s, (None, None)) if self.tables else (
            ("row" if self.markdown and "\t" in line.text else None), None)
        if group is not None:
            self.criterion = None
            self.table = (s, group, rows)
            self._new("table", self.section, [line])
            return
        label = self._item_label(s)
        if label is not None:
            self.criterion = None
            self._new("item", f"{self.parent}: {label}", [line])
            return
        if m := _CRITERION.match(line.text):
            path = f"{self.section}.{m.group(1)}" if _ROMAN_LETTER.match(self.section) else f"{self.section} {m.group(1)}"
            self.criterion = self._new("criterion", path, [line])
            return
        if self.criterion is not None and _SUB_ITEM.match(line.text):
            self.criterion.lines.append(line)
            self.open = self.criterion
            return
        self.criterion = None
        if self.open is not None and self.open.kind in ("para", "item") and not self.open.closed:
            if self.open.kind == "item" or line.end - self.open.lines[0].start <= MAX_CHARS:
                self.open.lines.append(line)
                return
        if self.open is not None and self.open.kind == "item":
            self.open.lines.append(line)
            return
        self._new("para", self.section, [line])

    def _item_label(self, s: str) -> str | None:
        starts = self.items.get(self.parent)
        if starts and s in starts:
            return s
        if self.questions_in and self.parent == self.questions_in and s.endswith("?") and len(s) < 160:
            return s
        return None


def _clean_heading(s: str) -> str:
    """A heading line without markdown marks or a trailing colon."""
    return s.strip().lstrip("-#* ").rstrip("*: ").strip()[:120]


def _is_roman(s: str) -> bool:
    return bool(re.fullmatch(r"[IVX]+", s))


def _criterion_path(s: str) -> bool:
    return bool(re.match(r"^[IVX]+\.[A-Z]\.\d+$", s))


def _merge(units: list[_Unit]) -> list[_Unit]:
    """Join neighbouring paragraphs of one section while they fit in MAX_CHARS."""
    out: list[_Unit] = []
    for unit in units:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == unit.kind == "para"
            and prev.section == unit.section
            and unit.lines[-1].end - prev.lines[0].start <= MAX_CHARS
        ):
            prev.lines.extend(unit.lines)
            continue
        out.append(unit)
    return out


def chunk_document(doc_id: str, text: str) -> list[Chunk]:
    """Chunks of one document, in order, each an exact substring at its offsets."""
    units = _merge([u for u in _Chunker(doc_id, text).run() if u.lines])
    chunks = []
    for i, unit in enumerate(units):
        start, end = unit.lines[0].start, unit.lines[-1].end
        chunks.append(
            Chunk(
                id=f"{doc_id}:{i:03d}",
                doc_id=doc_id,
                section=unit.section,
                heading=unit.heading,
                start=start,
                end=end,
                text=text[start:end],
                table_header=unit.table_header,
                path=unit.path,
            )
        )
    spans = noise_spans(doc_id, text, chunks)
    for chunk in chunks:
        chunk.non_answer = _all_noise(chunk, spans)
    return chunks


# -- boilerplate -------------------------------------------------------------------------------
NoiseSpan = tuple[int, int, str]  # start, end, kind


def noise_spans(doc_id: str, text: str, chunks: list[Chunk]) -> list[NoiseSpan]:
    """The stretches of a document its `noise` rules mark as boilerplate, in order, with their kind."""
    rules = _config().get(doc_id, {}).get("noise") or []
    if not rules:
        return []
    section_of = {}
    for chunk in chunks:
        for line in _split_lines(text[chunk.start:chunk.end]):
            section_of[chunk.start + line.start] = chunk.section
    spans: list[NoiseSpan] = []
    for line in _split_lines(text):
        s = line.stripped
        if not s:
            continue
        start = line.start + len(line.text) - len(line.text.lstrip())
        for rule in rules:
            if _rule_covers(rule, s, section_of.get(line.start)):
                spans.append((start, start + len(s), rule["kind"]))
                break
    for rule in rules:
        for exact in rule.get("text") or []:
            pos = text.find(exact)
            while pos >= 0:
                spans.append((pos, pos + len(exact), rule["kind"]))
                pos = text.find(exact, pos + 1)
    return sorted(spans)


def _rule_covers(rule: dict, line: str, section: str | None) -> bool:
    if any(line.startswith(p) for p in rule.get("lines") or []):
        return True
    if rule.get("section") and section == rule["section"]:
        return not any(line.startswith(p) for p in rule.get("except") or [])
    return False


def _all_noise(chunk: Chunk, spans: list[NoiseSpan]) -> str | None:
    """The kind of boilerplate every non-blank line of the chunk is, or None if any line is not."""
    kind = None
    for line in _split_lines(chunk.text):
        if not line.stripped:
            continue
        start = chunk.start + line.start + len(line.text) - len(line.text.lstrip())
        end = start + len(line.stripped)
        cover = next((k for s, e, k in spans if s <= start and end <= e), None)
        if cover is None:
            return None
        kind = kind or cover
    return kind
