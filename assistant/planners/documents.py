"""Document answers: passages found by search, quoted exactly, and the notes where sources disagree.

(`_document` and `_conflict_notes` moved here unchanged from agent.py.)
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import yaml

from assistant import compose
from assistant.corpus import get_corpus
from assistant.intent import search_query
from assistant.models import Answer
from assistant.planners.messages import SCOPE
from assistant.turn import Turn


@lru_cache(maxsize=1)
def _conflicts() -> list[dict]:
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("conflicts.yaml").read_text(encoding="utf-8"))
    corpus = get_corpus()
    for item in raw:
        for side in item["sides"]:
            corpus.find(side["doc_id"], side["quote"])  # DataError if the quote drifted
    return raw


def _conflict_notes(text: str, cites: compose.Citations) -> tuple[list[str], list[str]]:
    low = text.lower()
    lines, warnings = [], []
    corpus = get_corpus()
    for item in _conflicts():
        if any(t in low for t in item["triggers"]):
            parts = []
            for side in item["sides"]:
                meta = corpus.doc(side["doc_id"]).meta
                marker = cites.add({"doc_id": side["doc_id"], "quote": side["quote"]})
                parts.append(f"{meta.publisher} ({meta.date or 'undated'}): “{side['quote']}” {marker}")
            lines.append(f"Sources disagree on {item['topic']}:\n- " + "\n- ".join(parts))
            warnings.append(f"Conflicting sources on {item['topic']}: both are shown with their dates.")
    return lines, warnings


def _tail(turn: Turn, clean: str, did: str) -> str:
    """The text a tool may take: a long pasted note keeps its last part, where the question is."""
    from assistant.retrieval import MAX_QUERY_CHARS

    if len(clean) <= MAX_QUERY_CHARS:
        return clean
    turn.answer.warnings.append(f"{did} the last {MAX_QUERY_CHARS:,} characters of the text.")
    return clean[-MAX_QUERY_CHARS:]


_PAYER_DOCS = {"centene": "centene-cp-phar-229", "oscar": "oscar-cg101"}


def _document(turn: Turn, clean: str, said) -> Answer:
    from assistant.passages import choose_quotes

    query = _tail(turn, clean, "Searched with")
    payer = said.value("payer")
    hits = turn.call("search_corpus", {"query": search_query(query), "k": 8 if payer else 5})
    if payer:  # a question about one payer's policy is answered from that policy first
        own = [h for h in hits if h["doc_id"] == _PAYER_DOCS[payer]]
        hits = own + [h for h in hits if h["doc_id"] != _PAYER_DOCS[payer]]
    if not hits:
        turn.answer.status = "out_of_scope"
        turn.answer.answer = SCOPE
        return turn.answer
    quotes = choose_quotes(hits, search_query(clean))
    if not quotes:  # every passage found held markup or an instruction: nothing may be quoted
        turn.answer.status = "out_of_scope"
        turn.answer.answer = SCOPE
        return turn.answer
    lines = [compose.compose_passages(quotes, turn.cites)]
    notes, warnings = _conflict_notes(clean, turn.cites)
    lines.extend(notes)
    turn.answer.warnings.extend(warnings)
    turn.answer.answer = "\n".join(lines)
    return turn.answer


