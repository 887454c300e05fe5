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
    for call in answer.tool_calls:
        _walk(call.output, strings, numbers)
        _walk(call.input, strings, numbers)
    for c in answer.citations:
        if not corpus.is_exact(c.doc_id, c.quote):
            problems.append(f"citation [{c.marker}] quote is not in {c.doc_id}: {c.quote[:60]!r}")
        strings.append(c.quote)
        _walk(c.quote, [], numbers)
    haystack = "\n".join(strings)
    for tok in _tokens(answer.answer):
        if tok in haystack:
            continue
        n = _number(tok)
        if n is not None and n.normalize() in numbers:
            continue
        problems.append(f"'{tok}' is not in any tool result or cited quote")
    return problems
