"""Document answers (assistant.documents): the exact answer first, complete lists, no boilerplate; and the
text a tool may take from a long pasted note."""

from __future__ import annotations

from assistant import compose
from assistant.models import Answer
from assistant.planners.messages import SCOPE
from assistant.turn import Turn


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


def _document(turn: Turn, clean: str, said) -> Answer:
    from assistant.documents import answer_document  # the exact answer first, complete lists, no boilerplate

    if not answer_document(turn, clean, said):  # nothing found, or nothing that may be quoted
        turn.answer.status = "out_of_scope"
        turn.answer.answer = SCOPE
    return turn.answer
