"""The displayed form of an exact quote: markdown and extraction artefacts removed, words kept.

A citation keeps the exact corpus text (what the grounding guard checks); the answer shows this form
beside it: no `##`, `**`, `\\*`, `[x](#)` or list bullets, tabs as " | ", a table's glued cells
("Physician oncology office11CMS-1500 / 837PPreferred by commercial UM") split to match its header,
and a label line joined to its text ("First infusion: Administer infusion over 90 minutes ...").
Only layout changes: every word and number of the quote stays, in order.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

_HEADING = re.compile(r"^\s{0,3}(?:-\s+)?#{1,6}\s*")
_EMPHASIS = re.compile(r"\*\*|__")
_ESCAPE = re.compile(r"\\([*_#\[\]()\\])")
_LINK = re.compile(r"\[([^\]\n]+)\]\(#?\)")
_BULLET = re.compile(r"^\s*(?:[•▪●○◦❖]|-(?=\s)|\*(?=\s))\s+")
_LONE_STAR = re.compile(r"(?<![\w*])\*(?=\w)|(?<=[\w.):;])\*(?![\w*])")
_PIPE_ROW = re.compile(r"^(.*?)\s\|\s(.*?)\s*\|?\s*$")


def clean_line(line: str, keep_marker: bool = True) -> str:
    """One line without markdown or bullets; "1." / "a." numbering is kept unless keep_marker is False."""
    s = _LINK.sub(r"\1", line)
    s = _HEADING.sub("", s)
    s = _ESCAPE.sub(r"\1", s)
    s = _EMPHASIS.sub("", s)
    s = _LONE_STAR.sub("", s)
    s = _BULLET.sub("", s)
    if not keep_marker:
        s = re.sub(r"^\s*(?:\d{1,2}[.)]|[a-z][.)])\s+", "", s)
    s = s.replace("\t", " | ").strip()
    if s.endswith(" |"):  # "Other names | T-DM1 |": a two-cell row
        s = s[:-2].rstrip()
    return re.sub(r"[ \u00a0]{2,}", " ", s)


def clean(text: str, keep_marker: bool = True) -> str:
    """A multi-line quote on one line: each line cleaned, lines joined (a title line ends with ':')."""
    lines = [clean_line(ln, keep_marker) for ln in text.split("\n")]
    lines = [ln for ln in lines if ln]
    out = ""
    for i, ln in enumerate(lines):
        if not out:
            out = ln
        elif _titleish(lines[i - 1]) and not out.endswith((":", "—", "-")):
            out = f"{out}: {ln}"
        else:
            out = f"{out} {ln}"
    return out


def _titleish(line: str) -> bool:
    return len(line.split()) <= 6 and not re.search(r"[.;:!?,]$", line)


def pipe_row(text: str) -> str:
    """'Initial U.S. Approval | February 22, 2013 |' -> 'Initial U.S. Approval: February 22, 2013'."""
    m = _PIPE_ROW.match(text.strip())
    if m and " | " not in m.group(2):
        return f"{m.group(1).strip()}: {m.group(2).strip()}"
    return text


# -- glued table cells ------------------------------------------------------------------------
# Where one cell ends and the next starts when the extraction dropped the separator, strongest first.
_BOUNDARIES = [
    (3, re.compile(r"(?<=[a-z]{3})(?=[A-Z])")),  # "Setting|POS", "pricing|Quarterly" (not "m|BC", "Uo|M")
    (3, re.compile(r"(?<=[A-Z0-9])(?=[A-Z][a-z])")),  # "POS|Claim", "837P|Preferred"
    (3, re.compile(r"(?<=[)\]?])(?=[A-Za-z0-9~$])")),  # "(AIC)|49", "(T-DM1)|fam-", "care?|Historically"
    (2, re.compile(r"(?<=[a-z]{3})(?=\d)")),  # "office|11", "dose|3.6"
    (2, re.compile(r"(?<=\d\d)(?=[A-Z][A-Za-z])")),  # "11|CMS", "88360|Primary"
    (2, re.compile(r"(?<=[A-Z])(?=\d{3,})")),  # "CISH|88377"
    (2, re.compile(r"(?<=[A-Z]{2})(?=J\d{4})|(?<=\d)(?=J\d{4})")),  # "HCPCS|J9354", "J9354|J9358"
    (2, re.compile(r"(?<=\S)(?=[~$]\d)")),  # "(DAR)|~3.5", "mg|$42.198"
    (1, re.compile(r"(?<=[a-z]{2})(?=\d)")),  # "q3w|5.4"
]
_TOKEN = re.compile(r"[^\s()\[\],;:]+")


@lru_cache(maxsize=4)
def _words(corpus_dir: str) -> frozenset[str]:
    """Tokens the documents write outside tables: "CareCost", "mBC", "T-DXd" are words, not glued cells."""
    from assistant.corpus import get_corpus
    from assistant.documents.structure import structure

    out: set[str] = set()
    for doc_id in get_corpus().docs:
        st = structure(doc_id)
        for line in st.lines:
            if line.table_header is None and not line.is_header:
                out.update(t.strip(".?!'\"“”") for t in _TOKEN.findall(st.text[line.start:line.end]))
    return frozenset(out)


def _token(row: str, pos: int) -> tuple[int, int]:
    a = pos
    while a > 0 and not row[a - 1].isspace() and row[a - 1] not in "()[],;:":
        a -= 1
    b = pos
    while b < len(row) and not row[b].isspace() and row[b] not in "()[],;:":
        b += 1
    return a, b


def _plausible(row: str, pos: int) -> bool:
    """A cut at pos does not split a word the documents use ("Care|Cost", "T-D|Xd"), and a cut after a
    number starts a known word ("11|CMS-1500", not "24|DCPT")."""
    from assistant.corpus import get_corpus

    words = _words(str(get_corpus().dir))
    a, b = _token(row, pos)
    if a < pos < b and len(row[a:b]) > 2 and row[a:b].strip(".?!'\"“”") in words:
        return False
    if row[pos - 1].isdigit() and row[pos].isalpha():
        nxt = row[pos:_token(row, pos + 1)[1]].strip(".?!'\"“”")
        return nxt in words or bool(re.match(r"[A-Z][a-z]{2}|[A-Z]{2,}-\d", nxt))
    return True


def header_cells(header: str) -> list[str]:
    """The column names of a table header: tab-separated, or glued ("SettingPOSClaim formPayer steering")."""
    if "\t" in header:
        return [c.strip() for c in header.split("\t") if c.strip()]
    cuts = sorted({m.start() for strength, rx in _BOUNDARIES[:3] for m in rx.finditer(header)})
    return _cut(header, cuts)


def _cut(text: str, cuts: list[int]) -> list[str]:
    bounds = [0, *cuts, len(text)]
    return [text[a:b].strip() for a, b in zip(bounds, bounds[1:])]


def split_row(row: str, columns: int) -> list[str] | None:
    """A glued row cut into `columns` cells, or None when no cut gives that many plausible cells."""
    if columns < 2:
        return None
    if "\t" in row:
        cells = [c.strip() for c in row.split("\t")]
        return cells if len(cells) == columns else None
    found: dict[int, int] = {}
    for strength, rx in _BOUNDARIES:
        for m in rx.finditer(row):
            p = m.start()
            if 0 < p < len(row) and row[p - 1] != " " and row[p] != " " and _plausible(row, p):
                found[p] = max(found.get(p, 0), strength)
    if len(found) < columns - 1 or len(found) > 14:
        return None
    best, best_key = None, None
    for combo in itertools.combinations(sorted(found), columns - 1):
        cells = _cut(row, list(combo))
        if min(len(c) for c in cells) < 2:
            continue
        key = (sum(found[c] for c in combo), min(len(c) for c in cells))
        if best_key is None or key > best_key:
            best, best_key = cells, key
    return best


def table_row(row: str, header: str | None) -> str:
    """A table row as 'Column: value · Column: value' when its cells can be told apart, else
    'Header | names: row text'."""
    if not header:
        return clean_line(row)
    names = header_cells(header)
    cells = split_row(row, len(names)) if len(names) >= 2 else None
    if cells:
        return " · ".join(f"{n}: {clean_line(c)}" if n else clean_line(c) for n, c in zip(names, cells))
    return f"{' | '.join(names)} — {clean_line(row)}" if len(names) >= 2 else clean_line(row)


def one_line(text: str) -> str:
    """Any quote as one displayed line (no line breaks)."""
    return " ".join(clean(text).split())
