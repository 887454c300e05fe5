"""The grounding guard: every number or code in an answer must come from a tool
result or a cited quote, and every cited quote must be in its document."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from assistant.corpus import get_corpus
from assistant.models import Answer

_MARKER = re.compile(r"\[\d{1,3}\]")
# A token with a digit in it: numbers, money, codes (J9354, 96413, 50242-0088-01, C50.911, CP.PHAR.229).
_TOKEN = re.compile(r"[$]?[A-Za-z]*\d[\w.,/\-]*\d|[$]?[A-Za-z]*\d[A-Za-z]*")


def _tokens(text: str) -> list[str]:
    text = _MARKER.sub(" ", text)
    out = []
    for raw in _TOKEN.findall(text):
        tok = raw.strip(".,;:/-")
        if tok:
            out.append(tok)
    return out


def _number(token: str) -> Decimal | None:
    t = token.lstrip("$").replace(",", "")
    try:
        return Decimal(t)
    except (InvalidOperation, ValueError):
        return None


# A number written with a unit must match a figure with that unit: "250 mg" is not grounded by "250 mL".
_UNITS = {"mg/kg": "mg/kg", "mg/ml": "mg/ml", "mg": "mg", "ml": "ml", "kg": "kg", "lb": "lb", "lbs": "lb",
          "unit": "units", "units": "units", "min": "minutes", "minute": "minutes", "minutes": "minutes",
          "hour": "hours", "hours": "hours", "day": "days", "days": "days", "month": "months", "months": "months",
          "week": "weeks", "weeks": "weeks", "vial": "vials", "vials": "vials", "%": "%"}
_WITH_UNIT = re.compile(
    r"(?<![\w.$])(\d[\d,]*(?:\.\d+)?)\s*-?\s*(mg/kg|mg/ml|mg|ml|kg|lbs?|units?|minutes?|min|hours?|days?|months?|weeks?|vials?|%)(?![\w/])",
    re.IGNORECASE,
)
# Input and output fields whose unit is in their name.
_KEY_UNITS = {"mg_per_kg": "mg/kg", "weight_kg": "kg"}
_KEY_SUFFIX = {"_mg": "mg", "_ml": "ml", "_kg": "kg", "_lb": "lb", "_units": "units", "_minutes": "minutes", "_days": "days"}


def _pairs(text: str) -> list[tuple[str, Decimal, str]]:
    out = []
    for m in _WITH_UNIT.finditer(_MARKER.sub(" ", text)):
        try:
            out.append((m.group(0), Decimal(m.group(1).replace(",", "")).normalize(), _UNITS[m.group(2).lower()]))
        except InvalidOperation:
            continue
    return out


def _figures(node: Any, pairs: set[tuple[Decimal, str]], unit: str | None = None) -> None:
    """(value, unit) pairs in tool inputs and outputs: Figure dicts, unit-named keys, and figures in text."""
    if isinstance(node, dict):
        if "value" in node and isinstance(node.get("unit"), str) and isinstance(node["value"], (int, float)):
            u = _UNITS.get(node["unit"].strip().lower(), node["unit"].strip().lower())
            pairs.add((Decimal(str(node["value"])).normalize(), u))
        if isinstance(node.get("weight"), (int, float)) and isinstance(node.get("weight_unit"), str):
            pairs.add((Decimal(str(node["weight"])).normalize(), _UNITS.get(node["weight_unit"].lower(), "")))
        for k, v in node.items():
            key_unit = _KEY_UNITS.get(k) or next((u for suf, u in _KEY_SUFFIX.items() if k.endswith(suf)), None)
            _figures(v, pairs, key_unit)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _figures(v, pairs, unit)
    elif isinstance(node, bool) or node is None:
        return
    elif isinstance(node, (int, float, Decimal)):
        if unit:
            pairs.add((Decimal(str(node)).normalize(), unit))
    else:
        pairs.update((n, u) for _, n, u in _pairs(str(node)))


def _walk(node: Any, strings: list[str], numbers: set[Decimal]) -> None:
    if isinstance(node, dict):
        for v in node.values():
            _walk(v, strings, numbers)
    elif isinstance(node, (list, tuple)):
        for v in node:
            _walk(v, strings, numbers)
    elif isinstance(node, bool) or node is None:
        return
    elif isinstance(node, (int, float, Decimal)):
        try:
            numbers.add(Decimal(str(node)).normalize())
        except InvalidOperation:
            pass
    else:
        s = str(node)
        strings.append(s)
        for tok in _tokens(s):
            if (n := _number(tok)) is not None:
                numbers.add(n.normalize())


def grounding(answer: Answer, extra_sources: list[str] = ()) -> list[str]:
    """Problems found: numbers without a source, quotes not in their document. Empty means grounded."""
    problems: list[str] = []
    corpus = get_corpus()
    strings: list[str] = list(extra_sources)
    numbers: set[Decimal] = set()
    pairs: set[tuple[Decimal, str]] = set()
    for call in answer.tool_calls:
        _walk(call.output, strings, numbers)
        _walk(call.input, strings, numbers)
        _figures(call.output, pairs)
        _figures(call.input, pairs)
    for text in extra_sources:
        _figures(text, pairs)
    for c in answer.citations:
        if not corpus.is_exact(c.doc_id, c.quote):
            problems.append(f"citation [{c.marker}] quote is not in {c.doc_id}: {c.quote[:60]!r}")
        strings.append(c.quote)
        _walk(c.quote, [], numbers)
        _figures(c.quote, pairs)
    for written, value, unit in _pairs(answer.answer):
        if (value, unit) not in pairs:
            problems.append(f"'{written}' matches no tool figure or cited quote with that unit")
    haystack = "\n".join(strings)
    for tok in _tokens(answer.answer):
        if tok in haystack:
            continue
        n = _number(tok)
        if n is not None and n.normalize() in numbers:
            continue
        problems.append(f"'{tok}' is not in any tool result or cited quote")
    return problems
