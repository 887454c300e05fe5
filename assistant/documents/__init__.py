"""Answers from the five documents: the exact answer first, complete lists, no boilerplate.

- answer_document(turn, clean, said): a document question, answered into turn.answer.
- compose_document(question, hits, cites): the same from passages already found (no tool call).
- answer_other_payer(payer, hits, cites): what CareCost's payer snapshot says of a payer we hold no policy for.
- answer_dose_modification(question, hits, cites): what the documents say about interrupting, reducing
  or stopping Kadcyla for a toxicity (never a standard-dose calculation).
"""

from __future__ import annotations

from typing import Any

from assistant.documents.answer import compose_document
from assistant.documents.payers import answer_other_payer
from assistant.documents.reply import DocReply
from assistant.documents.toxicity import answer_dose_modification

__all__ = ["DocReply", "answer_document", "answer_dose_modification", "answer_other_payer", "compose_document"]

_PAYER_DOCS = {"centene": "centene-cp-phar-229", "oscar": "oscar-cg101"}


def answer_document(turn: Any, clean: str, said: Any) -> bool:
    """Search the documents and write the answer into turn.answer (text and warnings); the search is
    recorded as a tool call. False when nothing may be quoted: the caller says what is in scope."""
    from assistant.intent import search_query
    from assistant.retrieval import MAX_QUERY_CHARS

    query = clean
    if len(clean) > MAX_QUERY_CHARS:  # a long pasted note keeps its last part, where the question is
        turn.answer.warnings.append(f"Searched with the last {MAX_QUERY_CHARS:,} characters of the text.")
        query = clean[-MAX_QUERY_CHARS:]
    payer = said.value("payer")
    search = search_query(query)
    hits = turn.call("search_corpus", {"query": search, "k": 8})
    if payer in _PAYER_DOCS:  # a question about one payer's policy is answered from that policy first
        own = [h for h in hits if h["doc_id"] == _PAYER_DOCS[payer]]
        hits = own + [h for h in hits if h["doc_id"] != _PAYER_DOCS[payer]]
    if not hits:
        return False
    reply = compose_document(query, hits, turn.cites, payer=payer, line_of_business=said.value("line_of_business"),
                             date_of_service=said.value("date_of_service"), search_text=search)
    if reply.status != "answered" or not reply.text:
        return False
    turn.answer.answer = reply.text
    turn.answer.warnings.extend(reply.warnings)
    return True
