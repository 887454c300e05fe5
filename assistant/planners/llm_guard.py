"""What the LLM planner's guard checks beyond the numbers: the model's tool inputs and its text.

The deterministic reading of the conversation is the referee. A tool argument the model passes is
compared with the PatientFacts read from the conversation: a value that differs from a stated fact,
or one the conversation never stated (a unit invented for a bare weight, a date of service from
nowhere), is a conflict and the call is not run. Text that echoes the question or carries a chat
template's tokens is never shown.
"""

from __future__ import annotations

import datetime as dt
import re
from enum import Enum
from typing import Any

from pydantic import BaseModel, ValidationError

from assistant.facts import PatientFacts

# The facts a tool input is compared with, in the tools' own field names.
GUARDED = ("weight", "weight_unit", "indication", "mg_per_kg", "dose_mg_per_kg", "cycle", "date_of_service",
           "payer", "line_of_business", "diagnosis")
# The tool whose result a route's answer rests on (price_lookup is no model tool: its answers are the rules').
ROUTE_TOOLS = {"dose": "calculate_dose", "policy": "check_policy", "code": "disambiguate_code",
               "claim": "check_claim", "document": "search_corpus", "dose_modification": "search_corpus"}
# Chat-template control tokens (ChatML, Gemma, Llama 2/3, Mistral, Phi): a model that writes one has
# leaked its own prompt format.
TEMPLATE_TOKEN = re.compile(
    r"<\|[a-z_]{2,24}\|>|</?(?:start_of_turn|end_of_turn|bos|eos|s)>|\[/?INST\]|<</?SYS>>", re.IGNORECASE)
_WORD = re.compile(r"[a-z0-9]+(?:\.[0-9]+)?")
ECHO_SHARE = 0.75  # a text this share of whose words are the question's says nothing the question did not


def reference(facts: PatientFacts) -> dict[str, Any]:
    """The guarded facts as the tools would receive them (dose request and policy case)."""
    ref = {**facts.to_case(), **facts.to_dose_request()}
    return {k: v for k, v in ref.items() if k in GUARDED}


def conflicts(request: type[BaseModel], args: dict, facts: PatientFacts) -> list[str]:
    """Why a tool call must not run: each argument that differs from, or is absent in, the stated facts.

    An argument the model left out counts when the tool's default differs from a stated fact
    ("cycle 3" stated, cycle left at 1). Arguments the tool's own validation rejects are judged on
    their raw values, so the reason names the conflict and not only the tool's complaint.
    """
    try:
        parsed, given_fields = request.model_validate(args), None
    except ValidationError:  # judged on the raw values; the tool's own error goes back to the model too
        parsed, given_fields = None, args
    ref = reference(facts)
    out = []
    for name in GUARDED:
        field = request.model_fields.get(name)
        if field is None:
            continue
        default = None if field.is_required() else _plain(field.get_default(call_default_factory=True))
        if parsed is not None:
            given, explicit = _plain(getattr(parsed, name)), name in parsed.model_fields_set
        else:
            explicit = given_fields.get(name) is not None
            given = _plain(given_fields[name]) if explicit else default
        stated = _plain(ref.get(name))
        if stated is not None:
            if not _same(given, stated):
                how = f"passed {given!r}" if explicit else f"left it at the default {default!r}"
                out.append(f"{name}: the conversation says {stated!r}{_words(facts, name)}; the call {how}")
        elif explicit and given is not None and not _same(given, default):
            out.append(f"{name}: the call passed {given!r}, which the conversation does not state")
    return out


def text_problems(text: str, question: str) -> list[str]:
    """Reasons a model's text cannot be shown whatever its numbers: template tokens, an echo of the question."""
    problems = []
    if (token := TEMPLATE_TOKEN.search(text)) is not None:
        problems.append(f"the text holds the chat-template token {token.group(0)!r}")
    if echoes(text, question):
        problems.append("the text repeats the question back")
    return problems


def echoes(text: str, question: str) -> bool:
    """The text is (nearly) the question's own words, once or more: most of its words are the question's."""
    said, asked = _WORD.findall(text.lower()), _WORD.findall(question.lower())
    if not said or not asked:
        return False
    from_question = sum(1 for w in said if w in set(asked))
    return from_question / len(said) >= ECHO_SHARE


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    if isinstance(value, str):
        return value.strip().lower()
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def _words(facts: PatientFacts, name: str) -> str:
    """The words a fact was read from, shown to the model beside its value (evidence is already redacted)."""
    fact = facts.get({"dose_mg_per_kg": "mg_per_kg", "diagnosis": "indication"}.get(name, name))
    return f" (“{fact.quote()}”)" if fact is not None and fact.evidence else ""
