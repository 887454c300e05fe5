"""The offline planner: for the route's intent, call the deterministic tools and compose the answer.

`plan(turn, decision)` is the only entry; the LLM planner falls back through it too.
"""

from __future__ import annotations

from typing import Any

from assistant import compose
from assistant.errors import InputError
from assistant.facts import PatientFacts
from assistant.models import Answer, ToolCall
from assistant.planners.documents import _document, _tail
from assistant.planners.messages import ASK_DIAGNOSIS, ASK_INDICATION, ASK_PAYER, ASK_WEIGHT, COURSE_NOTE, SCOPE
from assistant.routing import Decision
from assistant.turn import Turn, jsonable

PAYER_NAMES = {"aetna": "Aetna", "unitedhealthcare": "UnitedHealthcare", "cigna": "Cigna", "humana": "Humana",
               "bcbs": "Blue Cross Blue Shield", "kaiser": "Kaiser Permanente", "molina": "Molina"}


def plan(turn: Turn, decision: Decision) -> Answer:
    """Answer the turn the way its route says."""
    turn.session.pending = None
    intent = decision.intent
    if intent == "multi":
        return _multi(turn, decision)
    handler = HANDLERS.get(intent)
    if handler is None:
        turn.answer.status = "out_of_scope"
        turn.answer.answer = SCOPE
        return turn.answer
    return handler(turn)


# -- dose ----------------------------------------------------------------------------------------
def _dose(turn: Turn) -> Answer:
    f = turn.facts
    args = f.to_dose_request()
    if turn.mode == "next_cycle" and turn.said.value("cycle") is None:
        args["cycle"] = int(args.get("cycle") or 1) + 1
        if f is turn.session.facts:
            f.set("cycle", args["cycle"], evidence=[], source="typed")
    has_weight = args.get("weight") is not None and args.get("weight_unit")
    if not has_weight and args.get("prescribed_mg") is None:
        q = ASK_WEIGHT
        if args.get("weight") is not None:  # kept: a reply of just "kg" or "lb" completes it
            q = f"You gave a weight of {args['weight']:g} without a unit. {ASK_WEIGHT}"
        missing, questions = ["weight (kg or lb)"], [q]
        if not args.get("indication"):
            missing.append("indication (mBC or EBC)")
            questions.append(ASK_INDICATION)
        return turn.needs("dose", missing, questions)
    guessed = not args.get("indication")
    if guessed:
        # The per-cycle dose, vials, units and volume do not depend on mBC vs EBC; only the course does.
        args["indication"] = "mbc"
    try:
        result = turn.call("calculate_dose", args)
    except InputError as exc:
        return _dose_refused(turn, args, exc)
    turn.answer.answer = compose.compose_dose(result, turn.cites)
    turn.answer.warnings.extend(result.get("warnings", []))
    if guessed:
        turn.answer.answer = _per_cycle_only(turn.answer.answer) + "\n" + COURSE_NOTE
        turn.answer.missing = ["indication (mBC or EBC)"]
        turn.answer.options = {"indication (mBC or EBC)": ["mBC", "EBC (adjuvant)"]}
        turn.session.pending = "dose"
    elif turn.mode == "course":
        turn.answer.answer = _course_first(result, turn.answer.answer)
    return turn.answer


def _per_cycle_only(text: str) -> str:
    """Without the indication the course figures are unknown: keep the per-cycle lines only."""
    lines = []
    for line in text.splitlines():
        if line.startswith("Kadcyla (J9354) for "):
            line = "Kadcyla (J9354), per cycle (indication not given)" + line[line.index(","):]
        if line.startswith("- Medicare"):
            line = line[: line.find("per cycle with waste") + len("per cycle with waste")] + "." if "per cycle with waste" in line else line
        if line.startswith(("- Rest of the course", "- A year after")):
            continue
        lines.append(line)
    return "\n".join(lines)


def _course_first(result: dict, text: str) -> str:
    pay = result.get("payment") or {}
    course = pay.get("rest_of_course") or pay.get("course")
    if not course:
        return text
    cycles = pay.get("course_cycles", {})
    lead = (f"Course: {compose._usd(course)} ({course.get('label') or 'the course'}; "
            f"{compose._fig(cycles)}), {compose._usd(pay['per_cycle'])} per cycle.")
    return lead + "\n" + text


def _dose_refused(turn: Turn, args: dict, exc: InputError) -> Answer:
    f = turn.facts
    turn.answer.status = "error"
    turn.answer.answer = str(exc)
    turn.answer.tool_calls.append(ToolCall(tool="calculate_dose", input=jsonable(args), output={"error": str(exc)}))
    if "weight" in str(exc).lower():  # an impossible weight is not kept for the next turn
        f.forget("weight")
        f.forget("weight_unit")
    if "mg/kg" in str(exc):
        f.forget("mg_per_kg")
    return turn.answer


# -- policy --------------------------------------------------------------------------------------
def _policy(turn: Turn) -> Answer:
    f = turn.facts
    other = turn.said.value("unsupported_payer") or (f.value("unsupported_payer") if not f.value("payer") else None)
    if other and not turn.said.value("payer") and (turn.said.value("unsupported_payer") or not f.value("payer")):
        return _other_payer(turn, other)
    case = f.to_case()
    missing, questions = [], []
    if not case.get("payer"):
        missing.append("payer")
        questions.append(ASK_PAYER)
    if not case.get("diagnosis") and case.get("payer") != "oscar":
        missing.append("diagnosis")
        questions.append(ASK_DIAGNOSIS)
    if missing:
        return turn.needs("policy", missing, questions)
    result = turn.call("check_policy", case)
    turn.answer.answer = compose.compose_policy(result, turn.cites)
    turn.answer.missing = list(dict.fromkeys(compose._plain(m) for m in result.get("missing", [])))
    turn.answer.warnings.extend(w if isinstance(w, str) else str(w) for w in result.get("warnings", []))
    if turn.answer.missing:
        turn.session.pending = "policy"  # a reply with the missing facts re-runs the check
    return turn.answer


def _other_payer(turn: Turn, payer: str) -> Answer:
    """A payer we hold no policy for: what CareCost's payer snapshot says, never run through the checker."""
    from assistant.documents import answer_other_payer

    reply = answer_other_payer(payer, None, turn.cites, question=turn.clean)
    turn.answer.answer = (f"I hold no {PAYER_NAMES.get(payer, payer)} policy document, so its criteria cannot be "
                          "checked here. " + reply.text)
    turn.answer.warnings.extend(reply.warnings)
    return turn.answer


def _dose_modification(turn: Turn) -> Answer:
    """A toxicity question: what the documents say (hold, reduce, stop); never a standard-dose calculation."""
    from assistant.documents import answer_dose_modification

    reply = answer_dose_modification(turn.clean, None, turn.cites)
    turn.answer.answer = reply.text
    turn.answer.warnings.extend(reply.warnings)
    turn.answer.intent = "document"
    return turn.answer


# -- codes, claims, prices -----------------------------------------------------------------------
def _code(turn: Turn) -> Answer:
    query = turn.clean
    if turn.mode == "follow_up" and turn.session.last_query:
        query = f"{turn.session.last_query} {query}"
    result = turn.call("disambiguate_code", {"query": _tail(turn, query, "Read codes and names from")})
    if not result.get("products") and not turn.said.therapies:
        # "send me the NDC for the small vial": the product asked about is Kadcyla's own
        turn.answer.tool_calls.pop()
        result = turn.call("disambiguate_code", {"query": _tail(turn, f"Kadcyla {query}", "Read codes and names from")})
    turn.answer.answer = compose.compose_code(result, turn.cites)
    if result.get("verdict") in ("conflicting", "ambiguous"):
        turn.answer.warnings.append(f"Product/code check: {result['verdict']} — confirm before the claim.")
    return turn.answer


def _claim(turn: Turn) -> Answer:
    from assistant.planners.claims import claim_args

    args, missing = claim_args(turn.clean, turn.facts)
    if missing:
        return turn.needs("claim", missing, [f"To check the claim I need: {', '.join(missing)}."])
    try:
        result = turn.call("check_claim", args)
    except InputError as exc:
        turn.answer.status = "error"
        turn.answer.answer = str(exc)
        return turn.answer
    from assistant.planners.claims import compose_claim

    turn.answer.answer = compose_claim(result, turn.cites)
    return turn.answer


def _price(turn: Turn) -> Answer:
    from assistant.planners.claims import compose_price

    day = turn.facts.value("date_of_service")
    found = turn.call("price_lookup", {"hcpcs": "J9354", **({"date_of_service": str(day)} if day else {})})
    text, warnings = compose_price(found, turn.cites)
    turn.answer.answer = text
    turn.answer.warnings.extend(warnings)
    return turn.answer


def _documents(turn: Turn) -> Answer:
    query = turn.clean
    payer = turn.facts.value("payer")
    if turn.mode == "follow_up" and turn.session.last_intent == "policy" and payer:
        query = f"{PAYER_DOC_NAMES.get(payer, payer)}: {query}"  # "and for the renewal what do they need?"
    elif turn.mode == "follow_up" and turn.session.last_query:
        query = f"{turn.session.last_query} — {query}"
    said = turn.said
    if payer and not said.value("payer") and turn.mode == "follow_up":
        said = turn.facts
    return _document(turn, query, said)


PAYER_DOC_NAMES = {"centene": "Centene CP.PHAR.229", "oscar": "Oscar CG101"}


# -- several questions in one message ------------------------------------------------------------
def _multi(turn: Turn, decision: Decision) -> Answer:
    from assistant.intent import classify

    texts, statuses, missing = [], [], []
    from assistant.routing import part_kind

    for i, part in enumerate(decision.parts, 1):
        intent = part_kind(part) or classify(f"{part} {turn.clean}" if len(part) < 25 else part, turn.said).name
        if intent == "out_of_scope" and i > 1:
            intent = "document"
        handler = HANDLERS.get(intent)
        if handler is None:
            continue
        turn.answer.answer, turn.answer.status = "", "answered"
        handler(turn)
        statuses.append(turn.answer.status)
        turn.session.last_intent = intent
        missing.extend(turn.answer.missing)
        texts.append(f"{i}. {part.strip().rstrip('?')}?\n{turn.answer.answer}")
    turn.answer.answer = "\n\n".join(texts)
    turn.answer.status = "answered" if "answered" in statuses else (statuses[0] if statuses else "out_of_scope")
    turn.answer.missing = list(dict.fromkeys(missing))
    turn.answer.intent = "multi"
    return turn.answer


def _letter(turn: Turn) -> Answer:
    from assistant.planners.letter import answer_letter

    return answer_letter(turn)


HANDLERS: dict[str, Any] = {"dose": _dose, "policy": _policy, "code": _code, "document": _documents, "claim": _claim,
                            "price": _price, "dose_modification": _dose_modification, "letter": _letter}


def variant_note(said: PatientFacts) -> str:
    rows = [f"{r['field'].replace('_', ' ')} {r['value']}" for r in said.rows() if r["value"] not in (None, True)]
    shown = ", ".join(rows) or "the change asked about"
    return (f"What-if: answered for {shown}. The patient's stored facts are unchanged; say so if this is the real "
            "value and it will be kept.")
