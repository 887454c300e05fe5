"""Checks on one answer, all computed in code (no LLM): status, tools, figures, text, citations."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

from assistant.evals.citations import citation_valid, cites, where as cited_where
from assistant.evals.results import BaselineTurn, Check, Hit, Tally, TurnResult
from assistant.evals.spec import Expect, FigureSpec, Turn
from assistant.models import Answer

RetrieveFn = Callable[[str], list[Any]]

REFUSALS = {"out_of_scope", "error"}
# A number as people write it: 10971.48, 10,971.48, $10,971.48; not the digits inside J9354 or 50242-088-01's parts.
_NUMBER = re.compile(r"(?<![^\W\d_])(?<![\d.,])(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)")
NOT_FIGURES = {"start", "end", "score", "marker"}  # passage offsets and ranks, not numbers shown to anyone
_UNIT_ALIASES = {
    "usd": {"$", "usd", "dollar", "dollars", "us$"},
    "unit": {"unit", "units", "billing unit", "billing units", "hcpcs unit", "hcpcs units"},
    "mg": {"mg", "milligram", "milligrams"},
    "ml": {"ml", "milliliter", "milliliters", "millilitre", "millilitres"},
    "kg": {"kg", "kilogram", "kilograms"},
    "min": {"min", "mins", "minute", "minutes"},
    "vial": {"vial", "vials"},
    "mg/kg": {"mg/kg", "mg per kg"},
}


# ---------------------------------------------------------------- text, numbers, units


def numbers_in_text(text: str) -> list[float]:
    """Every number written in the text, commas removed."""
    return [float(m.group(1).replace(",", "")) for m in _NUMBER.finditer(text or "")]


def tool_numbers(node: Any, unit: str | None = None) -> Iterator[tuple[float, str | None]]:
    """Every number in a tool output, with the unit of the figure it belongs to (if any)."""
    if isinstance(node, dict):
        own_unit = node.get("unit") if isinstance(node.get("unit"), str) else unit
        for key, value in node.items():
            if key not in NOT_FIGURES:
                yield from tool_numbers(value, own_unit if key == "value" else unit)
    elif isinstance(node, list):
        for item in node:
            yield from tool_numbers(item, unit)
    elif isinstance(node, int | float) and not isinstance(node, bool) and math.isfinite(node):
        yield float(node), unit


def normal_unit(unit: str | None) -> str | None:
    if unit is None:
        return None
    key = " ".join(unit.casefold().split())
    return next((name for name, names in _UNIT_ALIASES.items() if key in names), key)


def _close(a: float, b: float, tolerance: float) -> bool:
    return abs(a - b) <= tolerance + 1e-9 * max(1.0, abs(a), abs(b))


def figure_check(spec: FigureSpec, answer: Answer, *, need_tool: bool = True) -> tuple[Check, bool]:
    """The figure is in a tool output (with a compatible unit) and written in the answer text; (check, in text)."""
    want_unit = normal_unit(spec.unit)
    in_tool = any(
        _close(value, spec.value, spec.tolerance) and (want_unit is None or unit is None or normal_unit(unit) == want_unit)
        for call in answer.tool_calls
        for value, unit in tool_numbers(call.output)
    )
    in_text = any(_close(n, spec.value, spec.tolerance) for n in numbers_in_text(answer.answer))
    what = f"{spec.value:g}{' ' + spec.unit if spec.unit else ''}" + (f" ±{spec.tolerance:g}" if spec.tolerance else "")
    if spec.label:
        what += f" ({spec.label})"
    missing = ([] if in_tool or not need_tool else ["not in any tool output"]) + ([] if in_text else ["not in the answer text"])
    return Check(name="figure", passed=not missing, detail=f"{what}: {'; '.join(missing) or 'found'}"), in_text


def visible_text(answer: Answer) -> str:
    """What the user reads: answer, missing items and warnings (must_contain looks here)."""
    return "\n".join([answer.answer, *answer.missing, *answer.warnings])


def said_text(answer: Answer) -> str:
    """What the assistant asserts: answer and missing items, not warnings, which may quote the user's text back."""
    return "\n".join([answer.answer, *answer.missing])


def _has(text: str, needle: str) -> bool:
    if needle.startswith("re:"):
        return re.search(needle[3:], text, re.IGNORECASE) is not None
    return " ".join(needle.casefold().split()) in " ".join(text.casefold().split())


# ---------------------------------------------------------------- scoring


def _same(expected: Any, actual: Any) -> bool:
    if expected is None:
        return actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected == actual
    if isinstance(expected, int | float):
        try:
            return _close(float(actual), float(expected), 0.0)
        except (TypeError, ValueError):
            return False
    if isinstance(expected, list):  # against a list: all of them are in it; against one value: it is one of them
        if isinstance(actual, list):
            return all(any(_same(e, a) for a in actual) for e in expected)
        return any(_same(e, actual) for e in expected)
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(_same(v, actual.get(k)) for k, v in expected.items())
    return actual is not None and " ".join(str(actual).casefold().split()) == " ".join(str(expected).casefold().split())


_ABSENT = object()


def _used(call: Any, key: str) -> Any:
    """The value a tool call used for key: its input, else the request the tool echoes in its output."""
    if key in call.input:
        return call.input[key]
    output = call.output if isinstance(call.output, dict) else {}
    request = output.get("request") if isinstance(output.get("request"), dict) else {}
    return request.get(key, output.get(key, _ABSENT))


def _tool_checks(expect: Expect, answer: Answer, tally: Tally) -> list[Check]:
    checks = []
    called = [c.tool for c in answer.tool_calls]
    if expect.tool or expect.forbidden_tools:
        tally.tool_expected = 1
        ok = True
        if expect.tool == "none":
            ok = not called
            checks.append(Check(name="tool", passed=ok, detail=f"expected no tool call; called {called or 'none'}"))
        elif expect.tool:
            ok = expect.tool in called
            checks.append(Check(name="tool", passed=ok, detail=f"expected {expect.tool}; called {called or 'none'}"))
        bad = [t for t in expect.forbidden_tools if t in called]
        if expect.forbidden_tools:
            checks.append(Check(name="forbidden_tools", passed=not bad, detail=f"must not call {expect.forbidden_tools}; called {called or 'none'}"))
        tally.tool_correct = int(ok and not bad)
    if expect.tool_input and expect.tool not in (None, "none"):
        calls = [c for c in answer.tool_calls if c.tool == expect.tool]
        ok = any(all(_same(v, _used(c, k)) for k, v in expect.tool_input.items()) for c in calls)
        seen = [{k: _used(c, k) for k in expect.tool_input if _used(c, k) is not _ABSENT} for c in calls]
        checks.append(Check(name="tool_input", passed=ok, detail=f"expected {expect.tool_input}; used {seen or 'no call'}"))
    if expect.tool_output and expect.tool not in (None, "none"):
        calls = [c for c in answer.tool_calls if c.tool == expect.tool]
        ok = any(all(_same(v, at_path(c.output, k)) for k, v in expect.tool_output.items()) for c in calls)
        seen = [{k: at_path(c.output, k) for k in expect.tool_output} for c in calls]
        checks.append(Check(name="tool_output", passed=ok, detail=f"expected {expect.tool_output}; got {seen or 'no call'}"))
    return checks


def at_path(node: Any, path: str) -> Any:
    """The value at a dotted path ('overall', 'billing.lines.1.units.value'); None if absent."""
    for part in path.split("."):
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.lstrip("-").isdigit() and -len(node) <= int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def score_turn(turn: Turn, answer: Answer, raised: str | None, seconds: float, crashed: bool = False) -> TurnResult:
    """Every check the turn's expectations ask for, on the agent's answer."""
    expect, tally, checks = turn.expect, Tally(), []
    if crashed:
        checks.append(Check(name="no_crash", passed=False, detail=f"ask() raised {raised}"))
    statuses = expect.statuses()
    if statuses:
        ok = answer.status in statuses
        note = f" (ask() raised {raised})" if raised and not crashed else ""
        checks.append(Check(name="status", passed=ok, detail=f"expected {' or '.join(statuses)}; got {answer.status}{note}"))
        if set(statuses) <= REFUSALS:
            tally.refusal_expected, tally.refusal_correct = 1, int(ok)
        elif answer.status in REFUSALS and not set(statuses) & REFUSALS:
            tally.over_refusal = 1
    if expect.intent:
        checks.append(Check(name="intent", passed=answer.intent == expect.intent, detail=f"expected {expect.intent}; got {answer.intent}"))
    checks += _tool_checks(expect, answer, tally)
    checks += _figure_checks(expect.figures, answer, tally, need_tool=True)
    checks += _text_checks(expect, visible_text(answer), tally, said=said_text(answer))
    for want in expect.missing:
        ok = any(_has(m.replace("_", " "), want.replace("_", " ")) for m in answer.missing)
        checks.append(Check(name="missing", passed=ok, detail=f"expected {want!r} in missing {answer.missing}"))
    for want in expect.warnings:
        ok = any(_has(w, want) for w in answer.warnings)
        checks.append(Check(name="warnings", passed=ok, detail=f"expected {want!r} in warnings {answer.warnings}"))
    for c in answer.citations:
        tally.citations_total += 1
        problem = citation_valid(c.doc_id, c.quote, c.start, c.end)
        tally.citations_valid += int(problem is None)
        if problem:
            checks.append(Check(name="citation_valid", passed=False, detail=f"[{c.marker}] {problem}"))
    valid = [c for c in answer.citations if citation_valid(c.doc_id, c.quote, c.start, c.end) is None]
    found = [(c.doc_id, c.section, c.quote, c.start, c.end) for c in valid]  # an invalid quote cites nothing
    checks += _recall_checks(expect.citations, found, tally)
    return TurnResult(question=turn.question, answer=answer.model_dump(mode="json"), raised=raised, seconds=seconds, checks=checks, tally=tally)


def _figure_checks(specs: list[FigureSpec], answer: Answer, tally: Tally, *, need_tool: bool) -> list[Check]:
    checks = []
    for spec in specs:
        check, in_text = figure_check(spec, answer, need_tool=need_tool)
        checks.append(check)
        tally.figures_expected += 1
        tally.figures_matched += int(check.passed)
        tally.figures_in_text += int(in_text)
    return checks


def _text_checks(expect: Expect, text: str, tally: Tally, said: str | None = None) -> list[Check]:
    checks = []
    for want in expect.must_contain:
        options = [want] if isinstance(want, str) else list(want)
        ok = any(_has(text, o) for o in options)
        tally.contains_expected += 1
        tally.contains_matched += int(ok)
        shown = options[0] if len(options) == 1 else " or ".join(repr(o) for o in options)
        checks.append(Check(name="must_contain", passed=ok, detail=f"{shown!s}: {'found' if ok else 'not in the answer'}"))
    for bad in expect.must_not_contain:
        ok = not _has(text if said is None else said, bad)
        checks.append(Check(name="must_not_contain", passed=ok, detail=f"{bad!r}: {'absent' if ok else 'present in the answer'}"))
    return checks


def _recall_checks(items: list, found: list[tuple], tally: Tally) -> list[Check]:
    checks = []
    for item in items:
        options = item if isinstance(item, list) else [item]
        ok = any(cites(spec, *f) for spec in options for f in found)
        tally.cites_expected += 1
        tally.cites_matched += int(ok)
        where = " or ".join(cited_where(spec) for spec in options)
        got = sorted({f"{d} § {s}" for d, s, *_ in found}) or "no citations"
        checks.append(Check(name="citation_recall", passed=ok, detail=f"expected {where}; cited {got}"))
    return checks


def retrieve_top(retrieve: RetrieveFn, question: str) -> Hit | str:
    """The top passage for the question, or the error text when retrieval refuses the question."""
    try:
        hits = retrieve(question)
    except Exception as exc:  # noqa: BLE001 - the baseline refusing (e.g. empty query) is a result
        return f"{type(exc).__name__}: {exc}"
    if not hits:
        return "no passage found"
    top = hits[0]
    data = top.model_dump() if isinstance(top, BaseModel) else dict(top)
    return Hit.model_validate({k: data.get(k) for k in Hit.model_fields if data.get(k) is not None})


def score_baseline(turn: Turn, top: Hit | str) -> BaselineTurn:
    """Score the top retrieved passage on the checks plain retrieval can meet: figures in text, must-contain, recall."""
    expect, tally = turn.expect, Tally()
    hit = top if isinstance(top, Hit) else None
    text = hit.quote if hit else ""
    answer = Answer(question=turn.question, status="answered", answer=text)
    checks = _figure_checks(expect.figures, answer, tally, need_tool=False)
    checks += _text_checks(Expect(must_contain=expect.must_contain), text, tally)
    found = [(hit.doc_id, hit.section, hit.quote, hit.start, hit.end)] if hit else []
    checks += _recall_checks(expect.citations, found, tally)
    return BaselineTurn(question=turn.question, hit=hit, error=None if hit else str(top), checks=checks, tally=tally)
