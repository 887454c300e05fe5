"""'Write the PA letter' in the chat: the letter of medical necessity from the conversation's facts.

The policy check and the dose are run as recorded tool calls (the audit and the grounding guard see
them); the letter itself comes from assistant.letter, which states only what that check found met.
A letter that cannot be written is withheld with its reasons, and the facts it needs are asked for.
"""

from __future__ import annotations

from assistant.models import Answer
from assistant.planners.messages import ASK_DIAGNOSIS, ASK_PAYER
from assistant.turn import Turn


def answer_letter(turn: Turn) -> Answer:
    from assistant.letter import letter_from_facts

    f = turn.facts
    case = f.to_case()
    missing, questions = [], []
    if not case.get("payer"):
        missing.append("payer")
        questions.append(ASK_PAYER)
    if not case.get("diagnosis"):
        missing.append("diagnosis")
        questions.append(ASK_DIAGNOSIS)
    if missing:
        return turn.needs("letter", missing, [f"To write the letter I need the {' and the '.join(missing)}."] + questions)
    policy = turn.call("check_policy", case)
    dose_args = f.to_dose_request()
    if dose_args.get("weight") is not None and dose_args.get("weight_unit") and dose_args.get("indication"):
        turn.call("calculate_dose", dose_args)
    letter = letter_from_facts(f)
    # each footnote's first passage first, so the chat's marker [n] is the letter's footnote n
    firsts = [(note, note.quotes[:1]) for note in letter.footnotes]
    rests = [(note, note.quotes[1:]) for note in letter.footnotes]
    for note, quotes in firsts + rests:
        for quote in quotes:
            turn.cites.add({"doc_id": note.doc_id, "quote": quote}, note.section)
    if letter.withheld:
        return _withheld(turn, letter, policy)
    staff = letter.staff_text()
    turn.answer.answer = letter.text() + (f"\n\n{staff}" if staff else "")  # staff notes carry their own heading
    turn.answer.warnings.extend(f"Label safety: {s.message}" for s in letter.safety)
    return turn.answer


def _withheld(turn: Turn, letter, policy: dict) -> Answer:
    """Withheld: the reasons for staff; the facts the check could not settle are asked for (a reply re-runs it)."""
    from assistant.compose import _plain

    missing = list(dict.fromkeys(_plain(m) for m in policy.get("missing", [])))
    lines = ["The letter is withheld: it would have to state something the policy check did not find met."]
    lines += [f"- {r}" for r in letter.reasons]
    if letter.checklist:
        lines += ["", "Open items for staff:"] + [f"- {c}" for c in letter.checklist]
    turn.answer.answer = "\n".join(lines)
    turn.answer.warnings.extend(f"Label safety: {s.message}" for s in letter.safety)
    if missing:
        from assistant.planners.messages import CHOICES

        turn.session.pending = "letter"
        turn.answer.status = "needs_info"
        turn.answer.missing = missing
        turn.answer.options = {m: CHOICES[m] for m in missing if CHOICES.get(m)}
    return turn.answer
