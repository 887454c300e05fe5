"""What the policy check found, in the letter's words: the met criteria that carry the argument, and
the reasons a letter is withheld (not met, not yet known, referred), without internal ids.

The criteria's logic is read from the policy data (load_policy) so each criterion can be tied to the
case facts it reads; an alternative that was not needed and a criterion that does not apply are
never shown.
"""

from __future__ import annotations

import re
from typing import Any

import assistant.letter.words as w
from assistant.tools.policy_case import PatientCase
from assistant.tools.policy_data import Criterion, Policy
from assistant.tools.policy_result import CriterionResult, PolicyResult, SectionResult
from assistant.tools.policy_rules import RULE_FIELDS, Context, evaluate

_TAIL = re.compile(r"(?:[;,:]\s*(?:or|and)?|\s+(?:or|and))\s*$")


def clause(quote: str) -> str:
    """A criterion's passage as the letter quotes it: one line, without the list's trailing '; or'."""
    text = quote.strip()
    while (trimmed := _TAIL.sub("", text)) != text:
        text = trimmed.strip()
    return " ".join(text.split())


def criteria_by_id(policy: Policy) -> dict[str, Criterion]:
    out: dict[str, Criterion] = {}

    def walk(items: list[Criterion]) -> None:
        for c in items:
            out[c.id] = c
            walk(c.criteria)

    for s in policy.sections:
        walk(s.criteria)
    return out


def logic_of(c: Criterion | None) -> dict[str, Any] | None:
    """The criterion's logic, or an all_of over its sub-criteria' logic."""
    if c is None:
        return None
    if c.logic:
        return c.logic
    parts = [p for sub in c.criteria if (p := logic_of(sub))]
    return {"all_of": parts} if parts else None


def _fields(logic: dict[str, Any] | None) -> list[str]:
    if not logic:
        return []
    for kind in ("all_of", "any_of"):
        if kind in logic:
            return [f for part in logic[kind] for f in _fields(part)]
    args = logic.get("args", {})
    if "field" in args:
        return [args["field"]]
    if logic["rule"] == "document_provided":
        return ["documents"]
    if logic["rule"] in ("preferred_failures", "preferred_any"):
        return ["preferred_trials"]
    return list(RULE_FIELDS.get(logic["rule"], ()))


def _open_questions(logic: dict[str, Any] | None, case: PatientCase, her2: str) -> list[str]:
    fields = []
    for f in _fields(logic):
        if f in ("her2_ihc", "her2_ish", "her2_positive"):
            if her2 not in ("unknown", "incomplete"):
                continue
            f = "her2_ish" if her2 == "incomplete" else "her2_ihc"  # 'pending' is given and still open
            if f not in fields:
                fields.append(f)
            continue
        if getattr(case, f, None) is None and f not in fields:
            fields.append(f)
    return [PatientCase.question(f) for f in fields]


def met_leaves(section: SectionResult, defs: dict[str, Criterion], ctx: Context) -> list[CriterionResult]:
    """The met criteria that carry the argument: a met parent is shown through its met sub-criteria, an
    alternative that was not needed (an OR-branch not taken) is not shown at all, and neither is a
    criterion that is 'met' only because it does not apply (applies_if not met: NSCLC-only, dose increase)."""
    parents = {c.parent for c in section.criteria if c.parent}
    skipped: set[str] = set()
    out = []
    for c in section.criteria:  # parents come before their sub-criteria
        d = defs.get(c.id)
        if c.parent in skipped or (d is not None and d.applies_if and evaluate(d.applies_if, ctx).verdict != "met"):
            skipped.add(c.id)
        elif c.verdict == "met" and c.id not in parents:
            out.append(c)
    return out


def _unknown_parts(cid: str, section: SectionResult, defs: dict[str, Criterion]) -> list[dict[str, Any] | None]:
    """The logic of the unknown criteria under cid that would settle it (not the alternatives already not met)."""
    children = [c for c in section.criteria if c.parent == cid]
    if not children:
        return [logic_of(defs.get(cid))]
    return [part for c in children if c.verdict == "unknown" for part in _unknown_parts(c.id, section, defs)]


def policy_reasons(result: PolicyResult, policy: Policy, case: PatientCase, brand: str) -> list[str]:
    """Why the policy check does not support the letter, in plain words, without internal ids."""
    if result.overall == "meets_criteria":
        return []
    selectors = {f for s in policy.sections for f in s.applies_when if getattr(case, f, None) is None}
    asked = [m.question for m in result.missing if m.field in selectors]
    if asked:  # until these are known, the policy section that applies is not known either
        return [f"Not yet known, and it decides which part of the policy applies: {q}" for q in asked]
    defs, docs, her2 = criteria_by_id(policy), {c.id: c.label for c in result.checklist}, result.her2.category
    out = []
    for s in result.sections:
        if s.kind == "referral":
            continue
        if s.verdict == "meets_criteria":
            continue
        for c in s.criteria:
            if c.parent is not None or c.verdict == "met":
                continue
            logic = logic_of(defs.get(c.id))
            facts = w.rule_facts(logic, case, her2, brand, docs)
            cited = f"Policy section {s.id}: “{clause(c.quote)}”"
            if c.verdict == "not_met":
                shown = f" ({'; '.join(facts)})" if facts else ""
                out.append(f"Not met: {c.label}{shown}. {cited}.")
            else:
                questions = [q for part in _unknown_parts(c.id, s, defs) for q in _open_questions(part, case, her2)]
                questions = list(dict.fromkeys(questions))
                to_settle = f" To settle: {' '.join(questions)}" if questions else ""
                out.append(f"Not yet known: {c.label}. {cited}.{to_settle}")
    for r in result.referral:
        out.append(f"The policy does not approve this use itself: it refers it to {r.policy} ({r.kind}"
                   + (", for this line of business" if r.line_of_business != "all" else "") + ")"
                   + ("" if r.certain else ", if the open questions go that way") + ".")
    if not out:
        out.append(f"The policy check does not support the request ({result.overall.replace('_', ' ')}).")
    return list(dict.fromkeys(out))
