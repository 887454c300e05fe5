"""The label's safety rules applied to every answer: facts of the turn -> SafetyInput -> findings shown.

An error is shown at the top of the answer with its quote ("the label says do not re-escalate ..."),
and a policy verdict that meets the payer's criteria but breaks a label rule says both in its first
line. Warnings go to the answer's warnings. Nothing here changes a figure or a verdict.
"""

from __future__ import annotations

import re
from typing import Any

from assistant.models import Answer

_DILUENT = re.compile(r"\b(d5w|d5|dextrose(?:\s*5\s*%)?|5\s*%\s*dextrose|ns|normal saline|0\.9\s*%\s*(?:nacl|sodium chloride)|"
                      r"saline|lactated ringer'?s?|lr|sterile water|swfi)\b", re.IGNORECASE)
_CODE = re.compile(r"\bJ\d{4}\b", re.IGNORECASE)
_MINUTES = re.compile(r"\b(?:over|infuse\w*(?:\s+over)?|run\w*\s+over|in)\s+(\d{1,3})\s*(?:min(?:ute)?s?|m)\b", re.IGNORECASE)
_OBSERVE = re.compile(r"\b(?:observ\w*|monitor\w*|watch\w*|obs)\D{0,20}?(\d{1,3})\s*(?:min(?:ute)?s?|m)\b|"
                      r"\b(\d{1,3})\s*(?:min(?:ute)?s?|m)\s*(?:of\s+)?(?:obs|observation|monitoring)\b", re.IGNORECASE)
_MICRON = re.compile(r"\b(\d?\.\d{1,2})\s*(?:-\s*)?(?:micron|µm|um|micrometer)s?\b", re.IGNORECASE)
_NO_FILTER = re.compile(r"\b(?:no|without(?:\s+an?)?|skip(?:ping)?(?:\s+the)?)\s+(?:in-?line\s+)?filter\b", re.IGNORECASE)
_MATERIAL = re.compile(r"\b(PES|polyethersulfone|nylon|cellulose|PVDF|PTFE)\b", re.IGNORECASE)
_HER2_LOW = re.compile(r"\bher-?2[\s-]*(low|ultra-?low)\b", re.IGNORECASE)


def safety_input(text: str, facts: Any) -> dict[str, Any]:
    """The SafetyInput fields the turn's facts and words give; only what was stated."""
    from assistant.extract.terms import find

    out: dict[str, Any] = {}
    for name in ("mg_per_kg", "previous_mg_per_kg", "dose_reduced", "cycle"):
        value = facts.value(name)
        if value is not None:
            out[name] = value
    if m := _DILUENT.search(text):
        out["diluent"] = m.group(1)
    # the products named with the order, not the patient's prior therapies ("after trastuzumab")
    history = {d for d, f in facts.therapies.items() if f.stated or f.assertion == "absent"}
    products = [m.text for m in find("drugs", text) if m.term not in history and m.term not in ("taxane", "tchp", "thp", "th")]
    if products:
        out["products"] = products
    codes = sorted({c.upper() for c in _CODE.findall(text)})
    if codes:
        out["codes"] = codes
    if m := _HER2_LOW.search(text):
        out["her2_category"] = "ultralow" if "ultra" in m.group(1).lower() else "low"
    elif facts.value("her2_ihc") is not None:
        from assistant.tools.her2 import classify_her2

        out["her2_category"] = classify_her2(facts.value("her2_ihc"), facts.value("her2_ish")).category
    if m := _MINUTES.search(text):
        out["infusion_minutes"] = float(m.group(1))
    if m := _OBSERVE.search(text):
        out["observation_minutes"] = float(m.group(1) or m.group(2))
    if m := _MICRON.search(text):
        out["filter_micron"] = float(m.group(1))
    if _NO_FILTER.search(text):
        out["filter_used"] = False
    if m := _MATERIAL.search(text):
        out["filter_material"] = m.group(1)
    return out


def add_safety(answer: Answer, turn: Any) -> None:
    """Check the label's rules on this turn's facts; errors lead the answer, warnings join the warnings."""
    if answer.status in ("out_of_scope",) or answer.intent in ("out_of_scope",):
        return
    from assistant.safety import SafetyInput, check_safety

    fields = safety_input(turn.clean, turn.facts)
    if not fields:
        return
    try:
        findings = check_safety(SafetyInput.model_validate(fields))
    except ValueError:
        return  # a value the rules cannot read (e.g. cycle 0) is refused by the tool that uses it
    seen = {f.get("rule") for call in answer.tool_calls if isinstance(call.output, dict)
            for f in call.output.get("safety", []) if isinstance(f, dict)}
    errors = []
    for f in findings:
        marker = _cite(turn, f.quote.model_dump())
        answer.safety.append({"rule": f.rule, "severity": f.severity, "message": f.message, "marker": marker})
        if f.rule in seen:
            continue  # the tool already reported it in its own result
        if f.severity == "error":
            errors.append(f"{f.message} “{f.quote.quote}” {marker}".strip())
            answer.warnings.append(f"Label safety (error): {f.message} {marker}".strip())
        else:
            answer.warnings.append(f"Label: {f.message} {marker}".strip())
    if errors:
        head = "Label safety: " + " ".join(errors)
        verdict = _verdict(answer)
        if verdict == "meets_criteria":
            head = f"Meets the payer's criteria, but the label says: {' '.join(errors)}"
        if answer.status == "needs_info":
            # the label settles it whatever the missing facts are: say so first, still ask for them
            answer.status = "answered"
        answer.answer = head + "\n" + answer.answer if answer.answer else head
    answer.citations = turn.cites.items


def _verdict(answer: Answer) -> str | None:
    for call in answer.tool_calls:
        if call.tool == "check_policy" and isinstance(call.output, dict):
            return call.output.get("overall")
    return None


def _cite(turn: Any, quote: dict) -> str:
    return turn.cites.add(quote, section=quote.get("section"))
