"""`ask(question, session) -> Answer`: text -> facts -> route -> tools -> compose -> guard.

Facts are read by assistant.extract, the route is decided by assistant.routing (the intent classifier
is its last route), the dialogue state joins the facts (assistant.dialogue), and a planner answers:
the offline rules planner, or with ASSISTANT_LLM set a langchain chat model whose answer must pass
the same guard or is replaced by the rules planner's.
"""

from __future__ import annotations

import logging
from typing import Any

from assistant import dialogue
from assistant.corpus import check_input_text
from assistant.errors import AssistantError, InputError
from assistant.extract import read_facts
from assistant.facts import PatientFacts
from assistant.models import Answer
from assistant.routing import route
from assistant.sanitize import not_used_warning, quarantine
from assistant.session import Session, SessionStore
from assistant.settings import get_settings
from assistant.turn import Turn, finish

log = logging.getLogger("assistant")

MAX_QUESTION_CHARS = 2500  # a question plus a pasted chart-note excerpt (~400 words); longer text is refused, not truncated

_store = SessionStore()


def default_store() -> SessionStore:
    return _store


def ask(question: str, session: str | Session | None = None, *, store: SessionStore | None = None, llm: Any = None) -> Answer:
    """Answer one question in a conversation. Never raises: errors come back as status 'error'."""
    from assistant.services import ServiceUnavailable

    store = store or _store
    try:
        sess = session if isinstance(session, Session) else store.get(session)
    except ServiceUnavailable as exc:  # the shared session store is down: one line, nothing computed
        return Answer(question=_safe(question), status="error", answer=str(exc))
    if isinstance(question, str):  # lone surrogates cannot be stored or sent as JSON: show them as U+FFFD
        question = question.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    try:
        answer = _ask(question, sess, llm)
    except (InputError, AssistantError) as exc:
        answer = Answer(question=_safe(question), status="error", answer=str(exc))
    except Exception as exc:  # noqa: BLE001 - a reply, not a traceback; the cause goes to the log
        from assistant.redact import redact_exception  # the message may quote the question: no identifiers in logs

        log.error("unexpected failure answering a question:\n%s", redact_exception(exc))
        answer = Answer(question=_safe(question), status="error", answer=f"Something went wrong inside the assistant ({type(exc).__name__}); nothing was computed. Please rephrase or report it.")
    sess.turns += 1
    if isinstance(session, str) or sess.id:
        try:
            store.save(sess)
        except ServiceUnavailable as exc:  # the answer stands; the conversation could not be kept
            answer.warnings.append(f"This conversation could not be saved: {exc}")
    from assistant.audit import record  # every answer, errors included, identifiers redacted; never raises

    answer.id = answer.id or record(question, answer, sess.id)
    return answer


# The letter of medical necessity is built only from tool results and fixed wording: a chat model has
# nothing to add to it but risk, so it is written by the rules' planner whatever ASSISTANT_LLM says.
RULES_ONLY = {"letter"}


def _safe(question: Any) -> str:
    return question if isinstance(question, str) else repr(question)


def _classifier(said: PatientFacts):
    from assistant.intent import classify, intent_model

    def run(text: str) -> tuple[str, str]:
        found = classify(text, said, similarity=lambda t: intent_model().similarity(t))
        return found.name, found.by

    return run


def _ask(question: str, session: Session, llm: Any) -> Answer:
    if not isinstance(question, str):
        raise InputError("The question must be text.")
    text = check_input_text(question, what="question", limit=MAX_QUESTION_CHARS)
    clean, removed = quarantine(text)
    reading = read_facts(clean, turn=session.turns + 1)
    if reading.bad_date:
        raise InputError(
            f"“{reading.bad_date}” is not a valid date. Please give the date of service as YYYY-MM-DD (e.g. 2026-06-03)."
        )
    said = reading.facts
    decision = route(clean, dialogue.state_of(session), _as_routed(reading), classify=_classifier(said))
    turn = Turn(question, session, clean, said)
    if removed:
        turn.answer.warnings.append(not_used_warning(removed))
    turn.facts, notes = dialogue.apply(session, said, decision)
    notes = reading.notes + notes + _conflicts(reading, turn.facts)
    turn.mode = decision.mode
    turn.answer.intent, turn.answer.route = decision.intent, decision.route
    turn.answer.warnings.extend(notes)
    if (llm is not None or get_settings().llm) and decision.intent not in RULES_ONLY:
        from assistant.planners.llm import run_llm

        answer = run_llm(turn, decision, llm)
    else:
        from assistant.planners.rules import plan

        answer = plan(turn, decision)
        answer.citations = turn.cites.items
    answer.route = decision.route
    if answer.intent != "multi":  # a multi-part answer sets the last part's intent itself
        session.last_intent = decision.intent
    if decision.intent in ("code", "document", "policy") and decision.mode != "follow_up":  # "fax #" after it
        session.last_query = clean[:300]
    answer.facts = fact_rows(turn.facts)
    from assistant.safety_check import add_safety  # the label's rules, on the facts of every answer

    add_safety(answer, turn)
    finish(answer, clean)
    return answer


def _as_routed(reading) -> PatientFacts:
    """The facts the router sees: a weight given twice is still a weight ('72 or 80 kg?' answers a dose
    question); the tools never see it (`_conflicts`)."""
    if not reading.conflicts:
        return reading.facts
    routed = reading.facts.model_copy(deep=True)
    routed.update(reading.routed)
    return routed


def _conflicts(reading, facts: PatientFacts) -> list[str]:
    """A fact given two values in one message is used in neither (nor an older value kept): it is asked for."""
    from assistant.facts import SCALARS

    notes = []
    for name, words in reading.conflicts.items():
        facts.forget(name)
        if name == "weight":
            facts.forget("weight_unit")
        shown = " and ".join(f"“{w}”" for w in words)
        what = "weights" if name == "weight" else f"values for {SCALARS.get(name, name)}"
        notes.append(f"The message gives two different {what} ({shown}), so neither is used: which one is right?")
    return notes


def fact_rows(facts: PatientFacts) -> list[dict]:
    """The facts held for the conversation, for the answer: evidence redacted as in the audit log."""
    from assistant.redact import redact

    rows = facts.rows()
    for row in rows:
        for e in row["evidence"]:
            e["text"] = redact(e["text"])
    return rows


