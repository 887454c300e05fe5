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
    from assistant.documents.conflicts import conflict_notes  # only for questions about the conflicting topic

    return conflict_notes(text, cites)


def _tail(turn: Turn, clean: str, did: str) -> str:
    """The text a tool may take: a long pasted note keeps its last part, where the question is."""
    from assistant.retrieval import MAX_QUERY_CHARS

    if len(clean) <= MAX_QUERY_CHARS:
        return clean
    turn.answer.warnings.append(f"{did} the last {MAX_QUERY_CHARS:,} characters of the text.")
    return clean[-MAX_QUERY_CHARS:]


_PAYER_DOCS = {"centene": "centene-cp-phar-229", "oscar": "oscar-cg101"}


def _document(turn: Turn, clean: str, said) -> Answer:
    from assistant.documents import answer_document  # the exact answer first, complete lists, no boilerplate

    if not answer_document(turn, clean, said):  # nothing found, or nothing that may be quoted
        turn.answer.status = "out_of_scope"
        turn.answer.answer = SCOPE
    return turn.answer
