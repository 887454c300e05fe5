"""Dialogue state: how a turn's facts join the conversation's, by the kind of turn the route found.

- a statement, a reply to the assistant's question, a follow-up: the new facts are stored (newest wins);
- a correction ("sorry, 75 kg not 70"): stored too, and the answer says what changed;
- a what-if ("what if she were IHC 1+?"): answered for a copy of the facts with the change; nothing is
  stored, so the patient's record keeps what was stated.
"""

from __future__ import annotations

from assistant.facts import PatientFacts
from assistant.routing import Decision, State
from assistant.session import Session


def state_of(session: Session) -> State:
    f = session.facts
    return State(pending=session.pending, last_intent=session.last_intent,
                 has_dose=f.value("weight") is not None and f.value("weight_unit") is not None, turns=session.turns,
                 has_payer=f.value("payer") is not None)


def apply(session: Session, said: PatientFacts, decision: Decision) -> tuple[PatientFacts, list[str]]:
    """(the facts this turn's tools use, notes for the answer). Evidence is redacted before it is kept."""
    _redact_evidence(said)
    if decision.mode == "what_if":
        variant = session.facts.model_copy(deep=True)
        said = _as_stated(said)
        unit = session.facts.value("weight_unit")
        if decision.intent == "dose" and not said.get("weight") and said.get("age") and unit:
            age = said.get("age")  # "what if she was 80" after a dose answer is her weight, not her age
            said.set("weight", float(age.value), evidence=age.evidence, source=age.source)
            said.forget("age")
        if decision.intent == "dose" and said.get("weight") and not said.get("weight_unit") and unit:
            # "what if she was 80" after a dose in kg: 80 kg (said so in the note)
            said.set("weight_unit", unit, evidence=[], source="typed")
        variant.update(said)
        from assistant.planners.rules import variant_note

        return variant, [variant_note(said)]
    notes = []
    unit = session.facts.value("weight_unit")
    if decision.mode == "correct" and said.get("weight") and not said.get("weight_unit") and unit:
        # "sorry 68 not 86" after a dose for 86 kg: the number is put right, the unit stays
        said.set("weight_unit", unit, evidence=[], source="typed")
        notes.append(f"The corrected weight is read in {unit}, the unit of the weight it replaces.")
    changes = session.facts.update(said)
    if changes and decision.intent in ("dose", "policy", "claim"):
        notes.append("Updated: " + "; ".join(changes) + ".")
    return session.facts, notes


def _as_stated(said: PatientFacts) -> PatientFacts:
    """A what-if's facts as if stated: 'what if she were IHC 1+' -> IHC 1+."""
    out = said.model_copy(deep=True)
    for table in (out.facts, out.therapies, out.combined_with, out.preferred_trials):
        for fact in table.values():
            if fact.assertion in ("hypothetical", "possible"):
                fact.assertion = "present"
    return out


def _redact_evidence(said: PatientFacts) -> None:
    """The words a fact was read from, with identifiers replaced as in the audit log (sessions are stored)."""
    from assistant.redact import redact

    for table in (said.facts, said.therapies, said.combined_with, said.preferred_trials):
        for fact in table.values():
            for e in fact.evidence:
                e.text = redact(e.text)
