"""What the user wants: an ordered table of named routes over typed predicates, then the classifier.

Each route reads the message, the facts it states (PatientFacts) and the conversation state (the
pending question, the last intent). The first route whose predicate holds decides the intent and the
mode of answering; the intent classifier (rules, then the MiniLM similarity as its named fallback)
is the last route. `route(text, state, said)` needs no index and no model unless it reaches the
similarity fallback, so the table is tested row by row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from assistant.facts import PatientFacts
from assistant.routing import cues

PATIENT_INTENTS = ("dose", "policy")
# The sizes that decide whether a message is a short reply or a new question, named once.
FOLLOW_UP_CHARS = 70  # "and the 160?", "how long does it keep?"
REPLY_CHARS = 80  # "initial, oncologist, single agent"; a longer message is a question of its own
CLAIM_OR_COURSE_CHARS = 80
SHORT_CHARS = 90
LETTER_CHARS = 40  # "pa narrative", "letter of med necessity for J9354": short enough to be the request itself


@dataclass(frozen=True)
class State:
    """What the routes may know of the conversation."""

    pending: str | None = None  # the intent waiting for the facts the assistant asked for
    last_intent: str | None = None
    has_dose: bool = False  # the session holds a weight with its unit (a dose can be re-run)
    turns: int = 0
    has_payer: bool = False  # the session holds a payer we hold a policy for


@dataclass(frozen=True)
class Decision:
    route: str
    intent: str
    mode: str = "ask"  # ask | rerun | correct | what_if | next_cycle | course | follow_up | multi
    parts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    name: str
    when: Callable[[str, State, PatientFacts], bool]
    intent: Callable[[str, State, PatientFacts], str]
    mode: str = "ask"


def _last(_t: str, s: State, _f: PatientFacts) -> str:
    return s.pending or s.last_intent or "dose"


def _short(text: str, limit: int = SHORT_CHARS) -> bool:
    return len(text.strip()) <= limit


def _any_fact(f: PatientFacts) -> bool:
    return bool(f.facts or f.therapies or f.combined_with or f.preferred_trials)


def _claim(t: str, s: State, f: PatientFacts) -> bool:
    return bool(cues.CLAIM.search(t)) and bool(re.search(r"\bj\d{4}\b", t, re.I)) and bool(cues.CLAIM_LINE.search(t))


def _correction(t: str, s: State, f: PatientFacts) -> bool:
    return bool(s.pending or s.last_intent in PATIENT_INTENTS) and bool(cues.CORRECTION.search(t)) and _any_fact(f) \
        and not cues.WHAT_IF.search(t)


def _what_if(t: str, s: State, f: PatientFacts) -> bool:
    return s.last_intent in PATIENT_INTENTS and bool(cues.WHAT_IF.search(t)) and _any_fact(f)


def _next_cycle(t: str, s: State, f: PatientFacts) -> bool:
    return s.last_intent == "dose" and s.has_dose and _short(t, FOLLOW_UP_CHARS) and bool(cues.NEXT_CYCLE.search(t)) \
        and not cues.COURSE.search(t)


def _payment(t: str, s: State, f: PatientFacts) -> bool:
    return s.last_intent == "dose" and s.has_dose and _short(t, REPLY_CHARS) and bool(cues.PAYMENT.search(t)) \
        and not cues.COURSE.search(t) and f.value("weight") is None


def _dose_follow_up(t: str, s: State, f: PatientFacts) -> bool:
    # "vials?", "and the JW units", "how many mL" after a dose answer: the same patient's dose again
    from assistant.intent import _OTHER_DRUGS  # another drug's dose is not this patient's Kadcyla dose

    return s.last_intent == "dose" and s.has_dose and _short(t, FOLLOW_UP_CHARS) and bool(cues.DOSE_WORDS.search(t)) \
        and not cues.OTHER_TOPIC.search(t) and not _OTHER_DRUGS.search(t) and not _other_her2(f)


def _other_her2(f: PatientFacts) -> bool:
    return any(d not in ("kadcyla",) for d in f.therapies)


def _policy_follow_up(t: str, s: State, f: PatientFacts) -> bool:
    return s.last_intent == "policy" and _short(t, REPLY_CHARS) and bool(cues.FOLLOW_UP.search(t) or cues.DURATION.search(t))


def _course(t: str, s: State, f: PatientFacts) -> bool:
    return s.last_intent == "dose" and s.has_dose and _short(t, REPLY_CHARS) and bool(cues.COURSE.search(t))


def _spans(f: PatientFacts) -> list[tuple[int, int]]:
    rows = f.rows()
    return [(e["start"], e["end"]) for r in rows for e in r["evidence"]]


def _fact_reply(t: str, s: State, f: PatientFacts) -> bool:
    waiting = s.pending or (s.last_intent if s.last_intent in PATIENT_INTENTS else None)
    return bool(waiting) and bool(f.stated() or f.therapies or f.combined_with) and cues.mostly_facts(t, _spans(f)) \
        and "?" not in t[:-1]


def _pending_short(t: str, s: State, f: PatientFacts) -> bool:
    quiet = _short(t, REPLY_CHARS) and not re.search(r"\?|\b(what|how|is|does|can|which)\b", t.lower())
    return bool(s.pending) and (quiet or ("?" not in t and bool(f.stated())))


def _cycle_for_patient(t: str, s: State, f: PatientFacts) -> bool:
    # "what about cycle 2?" after a dose answer: the same patient, the next cycle
    return s.has_dose and s.last_intent == "dose" and f.value("cycle") is not None and _short(t, FOLLOW_UP_CHARS)


def _code_follow_up(t: str, s: State, f: PatientFacts) -> bool:
    return s.last_intent == "code" and _short(t, FOLLOW_UP_CHARS) and bool(cues.FOLLOW_UP.search(t))


def _document_follow_up(t: str, s: State, f: PatientFacts) -> bool:
    tiny = len(t.split()) <= 3 and not f.stated()  # "fax #", "phone?"
    return s.last_intent == "document" and _short(t, FOLLOW_UP_CHARS) and bool(cues.FOLLOW_UP.search(t) or tiny) \
        and f.value("weight") is None and not f.value("payer")


# The facts a coverage check reads; a message stating several of them, after a question about a payer whose
# policy we hold, is that patient's case ("HER2 3+, 44F, residual dz after TCHP, onc ordering, commercial").
CASE_FACTS = ("her2_ihc", "her2_ish", "her2_positive", "age", "diagnosis", "prescriber_oncologist", "regimen",
              "line_of_business", "request_type", "line_of_therapy", "responding")
CASE_FACTS_MIN = 3


def _case_facts(t: str, s: State, f: PatientFacts) -> bool:
    if not (s.has_payer or f.value("payer")) or s.last_intent not in ("document", "policy") or s.pending:
        return False
    if cues.ASKING.match(t) or cues.DOSE_WORDS.search(cues.REGIMEN_DOSE.sub(" ", t)):
        return False  # "3.6 mg/kg q21d" is the regimen of the case; "vials?" asks for a dose
    given = f.stated()
    count = sum(1 for k in CASE_FACTS if k in given) + (1 if f.therapies else 0)
    return count >= CASE_FACTS_MIN


def _contact_follow_up(t: str, s: State, f: PatientFacts) -> bool:
    # "fax #", "phone?", "portal?" after a coverage answer: where that payer's request goes
    return s.last_intent == "policy" and len(t.split()) <= 3 and bool(cues.CONTACT.search(t)) and not f.stated()


def _multi(t: str, s: State, f: PatientFacts) -> bool:
    return len(split_parts(t)) > 1


def _price(t: str, s: State, f: PatientFacts) -> bool:
    # "how often does CareCost refresh ASP pricing?" is about the documents, not today's rate
    about_updates = re.search(r"\b(?:how often|when|update[sd]?|refresh\w*|next|history|changes?)\b", t, re.I)
    return bool(cues.PRICE.search(t)) and f.value("weight") is None and not s.has_dose and not about_updates


def _dose_modification(t: str, s: State, f: PatientFacts) -> bool:
    # "AST 4x ULN - what do we do?", "LVEF 40% hold kadcyla?": the label's management rules, not a dose
    if not cues.MANAGE.search(t):
        return False
    if f.value("weight") is not None and f.value("mg_per_kg") is not None:
        return False  # "reducing to 3 mg/kg, 70 kg - new dose?": a dose at the reduced level, computed
    from assistant.documents.toxicity import toxicities

    return bool(toxicities(t))


def _letter(t: str, s: State, f: PatientFacts) -> bool:
    noun = cues.LETTER.search(t)
    if not (noun or cues.NECESSITY.search(t)) or cues.LETTER_RECEIVED.search(t):
        return False
    asking = bool(cues.ASKING.match(t)) and not cues.REQUEST_QUESTION.match(t)  # "does X need a letter?"
    # "write up the medical necessity" asks; "medical necessity for kadcyla" alone does not
    return not asking and (bool(cues.LETTER_ASK.search(t)) or bool(noun) and _short(t, LETTER_CHARS))


ROUTES: tuple[Route, ...] = (
    Route("letter", _letter, lambda t, s, f: "letter"),
    Route("claim", _claim, lambda t, s, f: "claim"),
    Route("correction", _correction, _last, "correct"),
    Route("what_if", _what_if, lambda t, s, f: s.last_intent or "dose", "what_if"),
    Route("next_cycle", _next_cycle, lambda t, s, f: "dose", "next_cycle"),
    Route("course", _course, lambda t, s, f: "dose", "course"),
    Route("payment", _payment, lambda t, s, f: "dose", "rerun"),
    Route("cycle_for_patient", _cycle_for_patient, lambda t, s, f: "dose", "rerun"),
    Route("dose_follow_up", _dose_follow_up, lambda t, s, f: "dose", "rerun"),
    Route("fact_reply", _fact_reply, _last, "rerun"),
    Route("case_facts", _case_facts, lambda t, s, f: "policy", "rerun"),
    Route("contact_follow_up", _contact_follow_up, lambda t, s, f: "document", "follow_up"),
    Route("pending_reply", _pending_short, lambda t, s, f: s.pending or "dose", "rerun"),
    Route("code_follow_up", _code_follow_up, lambda t, s, f: "code", "follow_up"),
    Route("document_follow_up", _document_follow_up, lambda t, s, f: "document", "follow_up"),
    Route("policy_follow_up", _policy_follow_up,
          lambda t, s, f: "policy" if cues.DURATION.search(t) and not re.search(r"renew|continu|reauth", t, re.I) else "document",
          "follow_up"),
    Route("price", _price, lambda t, s, f: "price"),
    Route("dose_modification", _dose_modification, lambda t, s, f: "dose_modification"),
    Route("multi_part", _multi, lambda t, s, f: "multi", "multi"),
)


def split_parts(text: str) -> list[str]:
    """'dose, and does Centene cover it?' -> ['dose', 'does Centene cover it?'] when the parts ask different things."""
    pieces = [p.strip(" ,;") for p in cues.SPLIT.split(text) if p and p.strip(" ,;")]
    if len(pieces) < 2:
        return [text]
    kinds = {_kind(p) for p in pieces}
    return pieces if len(kinds) > 1 and None not in kinds else [text]


def part_kind(part: str) -> str | None:
    """What one part of a multi-part message asks for, by its words: policy, dose, code, or None."""
    return _kind(part)


def _kind(part: str) -> str | None:
    low = part.lower()
    if re.search(r"\b(cover|covered|coverage|criteria|qualif|meet|eligible|approv|pa\b|prior auth|requir)", low):
        return "policy"
    if re.search(r"\b(dose|dosing|vials?|waste|units|jz|jw|how much|volume)\b", low):
        return "dose"
    if re.search(r"\b(j-?code|ndc|hcpcs)\b", low):
        return "code"
    return None


def route(text: str, state: State, said: PatientFacts, classify: Callable[[str], tuple[str, str]] | None = None) -> Decision:
    """The first route that holds; else the classifier: classify(text) -> (intent, 'rule' | 'embedding')."""
    for r in ROUTES:
        if r.when(text, state, said):
            intent = r.intent(text, state, said)
            parts = tuple(split_parts(text)) if r.mode == "multi" else ()
            return Decision(r.name, intent, r.mode, parts)
    if classify is None:
        return Decision("classify", "document")
    intent, by = classify(text)
    return Decision(f"classify:{by}", intent)
