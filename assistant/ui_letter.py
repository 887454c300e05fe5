"""The PA letter for the chat page, from the conversation's facts: one function, `letter_for(facts)`.

The letter itself is assistant.narrative's: `letter_from_facts(facts)` when it is there, else the older
`build_narrative(case)` fed the same facts (the page only calls this module, so the switch is here).
Which answers may become a letter is decided here too (`can_become_letter`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from assistant.errors import AssistantError, InputError
from assistant.facts import PatientFacts
from assistant.models import Answer

# The tools whose answers are a request a letter can be written for.
LETTER_TOOLS = ("calculate_dose", "check_policy")


@dataclass
class Letter:
    text: str = ""
    markdown: str = ""
    withheld: bool = False
    reasons: list[str] = field(default_factory=list)
    checklist: list[str] = field(default_factory=list)
    safety: list[str] = field(default_factory=list)
    docx: Callable[[Any], Any] | None = None  # writes the letter as a Word file to a path, when the letter can


def can_become_letter(answer: Answer) -> bool:
    """An answered dose or policy question: not a question back, an out-of-scope or an error reply."""
    return answer.status == "answered" and any(
        c.tool in LETTER_TOOLS and isinstance(c.output, dict) and "error" not in c.output for c in answer.tool_calls)


def _words(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return str(item.get("message") or item.get("label") or item.get("text") or item)
    for name in ("message", "label", "text"):
        if getattr(item, name, None):
            return str(getattr(item, name))
    return str(item)


def _from_result(result: Any) -> Letter:
    return Letter(text=result.text(), markdown=result.markdown(), withheld=bool(result.withheld),
                  reasons=[_words(r) for r in result.reasons or []],
                  checklist=[_words(c) for c in result.checklist or []],
                  safety=[_words(s) for s in result.safety or []], docx=result.docx)


def _older_case(facts: PatientFacts) -> dict[str, Any]:
    case = {k: v for k, v in facts.to_case().items() if k != "evidence"}
    case["drug"] = "kadcyla"
    for name in ("weight", "weight_unit", "cycle"):
        if facts.value(name) is not None:
            case[name] = facts.value(name)
    return case


def letter_for(facts: PatientFacts) -> Letter:
    """The letter for these facts; withheld with the reasons (never an exception) when it cannot be written."""
    try:
        from assistant import narrative

        if hasattr(narrative, "letter_from_facts"):
            return _from_result(narrative.letter_from_facts(facts))
        built = narrative.build_narrative(_older_case(facts))
        return Letter(text=built.text(), markdown=built.markdown())
    except (InputError, AssistantError, ValueError) as exc:
        return Letter(withheld=True, reasons=[str(exc)])
