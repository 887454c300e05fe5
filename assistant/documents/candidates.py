"""The sentences an answer may quote: every sentence of every document line (a table row whole and in
its sentences; a run of short "card" lines three at a time: "252 mg administered (70 kg, 3.6 mg/kg)" /
"$10,633.90" / "252 units × ASP+6%"), as exact spans, each with its context: the label line above it,
a row's table header, or else its section's name. The saved vector set (`assistant index`) holds the
texts of both."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.corpus import get_corpus
from assistant.documents.structure import DocStructure, is_title, structure
from assistant.sanitize import unsafe_passage

_SENT_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9(“\"'•-])")
_CARD_LINE = 70  # a line this short, in a run of such lines, is part of a card layout
_CARD = 3
_FIGURE = re.compile(r"^(?:[$~]?\d[\d,.]*|[A-Z]{1,3}\d{2,5}|[A-Z]{2,3}|\d{5}\+\d{5})\b")  # "$10,633.90", "J9354", "JW", "96413+96415"
_LINE_MAX = 320
LONG = 150  # a candidate longer than this is also ranked by its clauses: a question often matches one
_CLAUSE = re.compile(r";\s+|\s+[—–]\s+|:\s+(?=\S)|\.\s+(?=[A-Z])")  # a line this short is also a candidate whole: its sentences read together


@dataclass(frozen=True)
class Span:
    doc_id: str
    start: int
    end: int
    line: int  # its (first) line in the document structure
    label: tuple[int, int] | None  # the label line (or a row's table header) above it, if any
    heading: bool  # the line is a section's heading line
    context: str  # what the sentence is about beyond its words: label, header or section name
    section_name: str = ""  # its section's name as words


def sentences_of(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Sentences of one line, exact spans; a sentence ends at . ! ? before a capital or a number."""
    out, pos = [], start
    for m in _SENT_END.finditer(text, start, end):
        out.append((pos, m.start()))
        pos = m.end()
    out.append((pos, end))
    return [(a, b) for a, b in out if b - a >= 8]


def safe_part(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The span, or its longest safe beginning when markup or an instruction follows
    ("Oncology EviCore Provider Portal" from "... Portal www.evicore.com"); None if nothing is safe."""
    quote = text[start:end]
    if not unsafe_passage(quote):
        return start, end
    for m in reversed(list(re.finditer(r"\s+", quote))):
        head = quote[: m.start()].rstrip(" ,;:(")
        if len(head) >= 12 and not unsafe_passage(head):
            return start, start + len(head)
    return None


def _header_names(header: str) -> list[str]:
    from assistant.documents.display import header_cells

    return header_cells(header)


def _plain(text: str) -> str:
    return re.sub(r"[#*]+", "", text).strip()


def _section_name(st: DocStructure, i: int) -> str:
    """A section's name as words: "Site of care", "FAQ: Is Kadcyla ...?"; for a numbered criterion
    ("I.A.3") the heading above it."""
    line = st.lines[i]
    name = line.section
    if not re.search(r"[a-z]{3}", name):
        from assistant.retrieval import get_retriever

        for c in get_retriever().chunks:
            if c.doc_id == st.doc_id and c.start <= line.start <= c.end and c.path:
                return re.sub(r"[#*]", "", c.path.split(" > ")[-1]).strip()
    return name


def _quotable(st: DocStructure, raw: str, i: int) -> bool:
    line = st.lines[i]
    if line.is_header or (raw.rstrip().endswith("?") and line.table_header is None):
        return False
    if re.match(r"\s*#", raw) or re.fullmatch(r"\s*\*\*[^*]+\*\*\s*", raw):  # a markdown heading or a bold title line
        return False
    return not (is_title(raw) and line.table_header is None)  # a title names a topic, answers nothing


@lru_cache(maxsize=4)
def _spans(corpus_dir: str) -> tuple[Span, ...]:
    out: list[Span] = []
    for doc_id in get_corpus().docs:
        st = structure(doc_id)
        text = st.text

        def add(a: int, b: int, i: int, label, context: str) -> None:
            safe = safe_part(text, a, b)
            if safe:
                out.append(Span(doc_id, safe[0], safe[1], i, label, st.lines[i].heading, context, _section_name(st, i)))

        for i, line in enumerate(st.lines):
            raw = text[line.start:line.end]
            if not _quotable(st, raw, i):
                continue
            if line.table_header is not None:
                header = line.table_header
                names = " | ".join(_header_names(text[header[0]:header[1]]))
                add(line.start, line.end, i, header, names)
                pieces = sentences_of(text, line.start, line.end)
                if len(pieces) > 1:
                    for a, b in pieces:
                        add(a, b, i, header, names)
                continue
            label = st.label(i)
            context = _plain(text[label[0]:label[1]]) if label else _section_name(st, i)
            pieces = sentences_of(text, line.start, line.end)
            for a, b in pieces:
                add(a, b, i, label, context)
            if len(pieces) > 1:  # the line's sentences together, up to the first that may not be quoted
                safe_end = None
                for a, b in pieces:
                    if unsafe_passage(text[a:b]):
                        break
                    safe_end = b
                if safe_end and safe_end > pieces[0][1] and safe_end - pieces[0][0] <= _LINE_MAX:
                    add(pieces[0][0], safe_end, i, label, context)
        out.extend(_cards(st))
    return tuple(out)


def _cards(st: DocStructure) -> list[Span]:
    """Runs of short lines laid out as cards (label / figure / note), three lines at a time."""
    out: list[Span] = []
    run: list[int] = []

    def figure(k: int) -> bool:
        return bool(_FIGURE.match(st.text[st.lines[k].start:st.lines[k].end]))

    def flush() -> None:
        if len(run) >= 4 and any(figure(k) for k in run):
            for k in range(len(run) - _CARD + 1):
                if figure(run[k]) or not figure(run[k + 1]):  # label / figure / note, not across two cards
                    continue
                first, last = st.lines[run[k]], st.lines[run[k + _CARD - 1]]
                quote = st.text[first.start:last.end]
                if not unsafe_passage(quote):
                    name = _section_name(st, run[k])
                    out.append(Span(st.doc_id, first.start, last.end, run[k], None, False, name, name))
        run.clear()

    for i, line in enumerate(st.lines):
        raw = st.text[line.start:line.end]
        short = line.end - line.start < _CARD_LINE and line.marker is None and line.table_header is None \
            and not line.is_header and not line.noise and "|" not in raw
        contiguous = run and st.lines[run[-1]].chunk == line.chunk and st.text.count("\n", st.lines[run[-1]].end, line.start) == 1
        if short and (not run or contiguous):
            run.append(i)
        else:
            flush()
            if short:
                run.append(i)
    flush()
    return out


def spans() -> tuple[Span, ...]:
    """Every quotable sentence of the corpus, in document order."""
    return _spans(str(get_corpus().dir))


def ranking_text(s: Span) -> str:
    """What a candidate is ranked by: its words, or for a whole table row its displayed form with the
    column names ("Attribute: Manufacturer · Kadcyla (this page): Genentech (Roche) · Enhertu: Daiichi ...")."""
    from assistant.documents import display

    st = structure(s.doc_id)
    line = st.lines[s.line]
    text = st.text[s.start:s.end]
    if line.table_header is not None and (s.start, s.end) == (line.start, line.end):
        shown = display.table_row(text, st.text[line.table_header[0]:line.table_header[1]])
        return shown if " · " in shown else text  # cells told apart: each with its column's name
    return text


def clauses(text: str) -> list[str]:
    """The clauses of a long candidate (split at ; — : and sentence ends), each 20 characters or more."""
    if len(text) <= LONG:
        return []
    out, pos = [], 0
    for m in _CLAUSE.finditer(text):
        out.append(text[pos:m.start()])
        pos = m.end()
    out.append(text[pos:])
    parts = [p.strip() for p in out if len(p.strip()) >= 20]
    return parts if len(parts) > 1 else []


def texts_to_embed() -> list[str]:
    """The candidates' ranking texts, their clauses and their contexts: what document answers rank by meaning."""
    out: dict[str, None] = {}
    for s in spans():
        text = ranking_text(s)
        out[text] = None
        out.update((c, None) for c in clauses(text))
        if s.context:
            out[s.context] = None
    return list(out)
