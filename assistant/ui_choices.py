"""What is still needed for an answer, each item once, with the few values it can take as buttons.

A choice either sets a fact (then the last request runs again with it) or, for the choices the
assistant itself offered in Answer.options, is sent as the reply. Pure, no streamlit import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assistant.models import Answer

_LOB_LABEL = {"medicaid": "Medicaid", "him": "Marketplace (HIM)", "ichra": "ICHRA", "commercial": "Commercial",
              "medicare": "Medicare"}


@dataclass(frozen=True)
class Choice:
    label: str
    fact: str | None = None  # the PatientFacts field this sets, or None: `reply` is sent as the next message
    value: Any = None
    reply: str | None = None


@dataclass(frozen=True)
class Needed:
    """One missing item: what is asked and the buttons that answer it (maybe none: type it or use the panel)."""

    question: str
    choices: tuple[Choice, ...] = ()


def _yes_no(fact: str, yes: str, no: str) -> tuple[Choice, ...]:
    return Choice(yes, fact, True), Choice(no, fact, False)


def _label_mg_per_kg() -> float | None:
    from assistant.tools.dose import load_dose_facts

    fig = load_dose_facts().label_mg_per_kg
    return getattr(fig, "value", fig) if fig is not None else None


def field_choices(field: str) -> tuple[Choice, ...]:
    """Buttons for a policy field the checker asks for; () when its values are too many for buttons."""
    if field == "request_type":
        return Choice("Initial request", field, "initial"), Choice("Continuation", field, "continuation")
    if field == "prescriber_oncologist":
        return _yes_no(field, "Oncologist: yes", "Oncologist: no")
    if field == "regimen":
        return (Choice("Single agent", field, "single_agent"), Choice("With neratinib", field, "with_neratinib"),
                Choice("Combination", field, "combination"))
    if field == "dose_mg_per_kg":
        label = _label_mg_per_kg()
        return (Choice(f"{label:g} mg/kg (label dose)", "mg_per_kg", float(label)),) if label else ()
    if field == "interval_days":
        return (Choice("Every 21 days", field, 21),)  # the label's schedule ("21-day cycle; Q3W")
    if field in ("dose_evidence_submitted", "on_plan_benefit", "responding", "dose_increase"):
        return _yes_no(field, "Yes", "No")
    return ()


def _humane(question: str) -> str:
    """The checker's question without enum names ('single_agent' -> 'single agent')."""
    return question.replace("single_agent", "single agent").replace("with_neratinib", "with neratinib")


def needed(answer: Answer) -> list[Needed]:
    """Every missing item of the answer, once, in the answer's order, with its buttons."""
    by_question: dict[str, tuple[Choice, ...]] = {}
    lob_row: Needed | None = None
    for call in answer.tool_calls:
        out = call.output
        if call.tool != "check_policy" or not isinstance(out, dict) or "error" in out:
            continue
        for m in out.get("missing") or []:
            if isinstance(m, dict) and m.get("question"):
                by_question[m["question"]] = field_choices(str(m.get("field")))
        lobs: list[str] = []
        for d in out.get("approval_duration") or []:
            if isinstance(d, dict):
                lobs += [x for x in d.get("lines_of_business") or [] if x not in lobs]
        if len(lobs) > 1 and not (out.get("case") or {}).get("line_of_business"):
            lob_row = Needed("Line of business (the approval duration depends on it)?",
                             tuple(Choice(_LOB_LABEL.get(x, x), "line_of_business", x) for x in lobs))
    rows: list[Needed] = []
    for item in answer.missing:
        offered = answer.options.get(item)
        buttons = tuple(Choice(o, reply=o) for o in offered) if offered else by_question.get(item, ())
        rows.append(Needed(_humane(item), buttons))
    for item, offered in answer.options.items():
        if item not in answer.missing:
            rows.append(Needed(item, tuple(Choice(o, reply=o) for o in offered)))
    if lob_row is not None:
        rows.append(lob_row)
    return rows
