"""The question-type and answer-selection table (evals/retrieval/answers*.yaml): load its rows and score
an answer against one. Used by tests/test_doc_answers.py and bench/retrieval.py."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from assistant.models import Citation
from assistant.settings import PROJECT_ROOT

TABLE_DIR = PROJECT_ROOT / "evals" / "retrieval"
DEV = TABLE_DIR / "answers.yaml"
HOLDOUT = TABLE_DIR / "answers_holdout.yaml"
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Row:
    id: str
    q: str
    type: str
    golds: tuple[tuple[str, str], ...]  # (doc_id, section): the row's own, then its `also`
    lead: tuple[str, ...]  # any one of these in the lead line
    all: tuple[str, ...] = ()  # every one of these in the answer


@dataclass
class Outcome:
    row: Row
    lead_ok: bool
    all_ok: bool
    cite_ok: bool
    lead_line: str = ""
    cited: tuple[str, str] | None = None
    missing: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.lead_ok and self.all_ok and self.cite_ok


def load_rows(path: Path = DEV) -> list[Row]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["rows"]
    out = []
    for r in raw:
        golds = [(r["doc"], str(r["section"]))] + [(a["doc"], str(a["section"])) for a in r.get("also", [])]
        lead = r["lead"] if isinstance(r["lead"], list) else [r["lead"]]
        out.append(Row(r["id"], r["q"], r["type"], tuple(golds), tuple(lead), tuple(r.get("all", []))))
    return out


def section_matches(doc_id: str, section: str, gold: tuple[str, str]) -> bool:
    """Same document; the section is the gold one or one of its parts ("I.A" covers "I.A.3")."""
    g_doc, g_section = gold
    return doc_id == g_doc and (section == g_section or any(section.startswith(g_section + s) for s in (".", " ", ":")))


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def lead_holds(row: Row, lead_line: str) -> bool:
    return any(_norm(x) in _norm(lead_line) for x in row.lead)


def judge(row: Row, text: str, citations: list[Citation]) -> Outcome:
    """Does the answer's first line hold the row's lead and cite its section; does the answer hold every item."""
    lead_line = text.split("\n")[0] if text else ""
    missing = [x for x in row.all if _norm(x) not in _norm(text)]
    markers = _MARKER.findall(lead_line)
    cited = None
    cite_ok = False
    if markers:  # the lead line's own citation is its last marker (a quote may hold "[2]" of its own)
        by_marker = {c.marker: c for c in citations}
        c = by_marker.get(int(markers[-1]))
        if c is not None:
            cited = (c.doc_id, c.section)
            cite_ok = any(section_matches(c.doc_id, c.section, g) for g in row.golds)
    return Outcome(row, lead_holds(row, lead_line), not missing, cite_ok, lead_line, cited, missing)
