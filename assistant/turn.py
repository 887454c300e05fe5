"""One turn of a conversation: the question, the facts it uses, the tool calls made, the answer built."""

from __future__ import annotations

import logging
from typing import Any

from assistant import compose
from assistant.facts import PatientFacts
from assistant.models import Answer, ToolCall
from assistant.session import Session
from assistant.toolbox import run

log = logging.getLogger("assistant")


class Turn:
    def __init__(self, question: str, session: Session, clean: str = "", said: PatientFacts | None = None):
        self.question = question
        self.clean = clean
        self.session = session
        self.answer = Answer(question=question, status="answered", answer="")
        self.cites = compose.Citations()
        self.said = said or PatientFacts()  # what this message stated
        self.facts = session.facts  # what the tools use: the session's facts, or a what-if variant of them
        self.mode = "ask"  # the route's way of answering: ask, rerun, correct, what_if, next_cycle, course ...

    def call(self, tool: str, args: dict) -> Any:
        output = run(tool, args)
        self.answer.tool_calls.append(ToolCall(tool=tool, input=jsonable(args), output=output))
        return output

    def needs(self, intent: str, missing: list[str], questions: list[str]) -> Answer:
        from assistant.planners.messages import CHOICES

        self.session.pending = intent
        self.answer.status = "needs_info"
        self.answer.missing = list(dict.fromkeys(missing))
        self.answer.options = {m: CHOICES[m] for m in self.answer.missing if CHOICES.get(m)}
        self.answer.answer = " ".join(dict.fromkeys(questions))
        return self.answer


def jsonable(args: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in args.items()}


def finish(answer: Answer, clean: str) -> None:
    """Add review-status warnings and run the grounding guard."""
    from assistant.corpus import get_corpus
    from assistant.guard import grounding
    from assistant.planners.messages import SOURCES

    draft = {c.doc_id for c in answer.citations if c.review_status and "pending" in c.review_status.lower()}
    for doc_id in sorted(draft):
        meta = get_corpus().doc(doc_id).meta
        answer.warnings.append(f"{meta.publisher} is marked “{meta.review_status}”: verify against the cited passage.")
    metas = [get_corpus().doc(c.doc_id).meta for c in answer.citations]
    dates = [m.date or "" for m in metas] + [m.title for m in metas]  # a reference names the document it cites
    # numbers the user typed may be echoed back (e.g. "a weight of 70 without a unit")
    problems = grounding(answer, extra_sources=SOURCES + dates + [clean])
    if problems:
        answer.guard_notes.extend(problems)
        log.warning("grounding guard: %d problem(s) in a %s answer", len(problems), answer.intent)
