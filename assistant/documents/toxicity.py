"""Toxicity and dose-modification questions ("AST 4x ULN what do we do", "LVEF dropped, hold?"): what the
documents say (interrupt, reduce or discontinue as the label's tables direct; do not re-escalate), and that
those tables are not in the documents. Never a standard-dose calculation: no dose, level or threshold is
given that the documents do not write. Quotes are data (assistant/data/dose_modification.yaml)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from assistant.compose import Citations
from assistant.corpus import get_corpus
from assistant.documents.reply import DocReply, bullet, cite, shown
from assistant.errors import DataError


_ACTION = re.compile(r"\b(?:reduc\w*|hold|withhold|discontinu\w*|interrupt\w*)\b", re.I)


@dataclass(frozen=True)
class Quote:
    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Topic:
    name: str
    asks: tuple[re.Pattern[str], ...]
    quotes: tuple[Quote, ...]


def _locate(item: dict, where: str) -> Quote:
    text = get_corpus().text(item["doc_id"])
    pos = text.find(item["quote"])
    if pos < 0:
        raise DataError(f"dose_modification.yaml {where}: not an exact quote of {item['doc_id']}: {item['quote'][:60]!r}")
    return Quote(item["doc_id"], pos, pos + len(item["quote"]))


@lru_cache(maxsize=4)
def _load(corpus_dir: str) -> tuple[tuple[Quote, ...], str, tuple[Topic, ...]]:
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("dose_modification.yaml").read_text(encoding="utf-8"))
    general = tuple(_locate(q, "general") for q in raw["general"])
    topics = tuple(Topic(t["name"], tuple(re.compile(p, re.I) for p in t["asks"]),
                         tuple(_locate(q, t["name"]) for q in t.get("quotes") or [])) for t in raw["topics"])
    return general, raw["tables_missing"], topics


def toxicities(question: str) -> list[str]:
    """The toxicities a question names (hepatotoxicity, left ventricular dysfunction ...), in data order."""
    _, _, topics = _load(str(get_corpus().dir))
    return [t.name for t in topics if any(p.search(question) for p in t.asks)]


def answer_dose_modification(question: str, hits: list[dict] | None = None, cites: Citations | None = None) -> DocReply:
    """What the documents say about holding, reducing or stopping Kadcyla for a toxicity.

    question: the user's text (names the toxicity: "AST 4x ULN", "LVEF 40%", "platelets 60k").
    hits: search_corpus output, unused but accepted so every document route is called alike.
    Returns a DocReply: the lead line is the documents' rule for that toxicity (or the label's general
    management rule), then no re-escalation, then that the label's dose-level tables are not in the
    documents. No dose is computed; status is always "answered"."""
    cites = cites if cites is not None else Citations()
    general, missing, topics = _load(str(get_corpus().dir))
    named = [t for t in topics if any(p.search(question) for p in t.asks)]
    own = [q for t in named for q in t.quotes]
    reply = DocReply()
    text = get_corpus()
    acts = [q for q in own if _ACTION.search(text.text(q.doc_id)[q.start:q.end])]
    first = acts[0] if acts else general[0]  # the lead says what to do; a quote that only warns follows it
    if first in own:
        own.remove(first)
        own.insert(0, first)
    reply.add(f"{shown(first.doc_id, first.start, first.end)} {cite(cites, first.doc_id, first.start, first.end)}".rstrip())
    for q in [*own, *general]:
        if q != first:
            reply.add(bullet(cites, q.doc_id, q.start, q.end, ""))
    table_marker = cite(cites, general[0].doc_id, general[0].start, general[0].end)
    reply.add(f"{missing} {table_marker}".rstrip())
    reply.warnings.append("Dose modification: the label's dose-level tables are not in the documents; no reduced dose "
                          "was calculated. Use the full prescribing information.")
    return reply.done()
