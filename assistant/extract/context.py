"""The ConText algorithm (Chapman, Harkema et al.): what a mention means, from trigger words around it.

Trigger rules are data (assistant/data/context_rules.yaml: medspaCy's English set plus ours). Each has
a category (negated, possible, hypothetical, historical), a direction (forward, backward, both) and a
scope: the rest of the sentence, ended by a terminator ('but', 'however', ';') or by a list separator
whose next item is not a mention of the same kind ("no prior Herceptin, oncologist prescribing" does
not negate the oncologist; "no trastuzumab, pertuzumab or taxane" negates all three).

Why not medspaCy itself: its import chain (spaCy, which imports torch through thinc, then quickumls,
nltk and scipy) adds 1.3 s (torch blocked) to 3.2 s to a cold start whose target is 3 s, and its pins
need five --no-deps installs. The rules are the same data; this engine is about 100 lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

from assistant.errors import DataError
from assistant.facts import Assertion

CATEGORY: dict[str, Assertion] = {"NEGATED_EXISTENCE": "absent", "POSSIBLE_EXISTENCE": "possible",
                                  "HYPOTHETICAL": "hypothetical", "HISTORICAL": "historical",
                                  "FAMILY": "hypothetical"}  # a relative's history is not the patient's
# When several triggers cover one mention: a question or what-if wins, then a negation, then doubt.
PRIORITY = ("hypothetical", "absent", "possible", "historical")
_DIRECTIONS = {"FORWARD", "BACKWARD", "BIDIRECTIONAL", "TERMINATE", "PSEUDO"}
# Words that may sit between the mentions of one list without ending a trigger's scope.
FILLER = {"prior", "previous", "any", "or", "and", "nor", "the", "a", "an", "other", "therapy", "therapies",
          "treatment", "based", "based therapy", "regimen", "product", "products", "biosimilar", "biosimilars", "either",
          "with", "plus", "&", "+", "/", "x", "cycles", "of", "chemo", "agent", "so far", "yet", "ever", "either"}


@dataclass(frozen=True)
class Rule:
    literal: str
    assertion: Assertion | None  # None for terminators and pseudo-triggers
    direction: str
    question_only: bool = False
    at_end: bool = False  # counts only at the end of a list item: "taxane no", "capecitabine: yes"


@dataclass(frozen=True)
class Trigger:
    rule: Rule
    start: int
    end: int


@lru_cache(maxsize=1)
def rules() -> tuple[Rule, ...]:
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("context_rules.yaml").read_text(encoding="utf-8"))
    out = []
    for group in ("medspacy", "ours"):
        for i, item in enumerate(raw.get(group) or []):
            direction, category = item.get("direction"), item.get("category")
            if direction not in _DIRECTIONS or not item.get("literal"):
                raise DataError(f"context_rules.yaml {group}[{i}]: needs a literal and a direction in {sorted(_DIRECTIONS)}")
            assertion = CATEGORY.get(category)
            if direction in ("FORWARD", "BACKWARD", "BIDIRECTIONAL") and assertion is None:
                raise DataError(f"context_rules.yaml {group}[{i}]: unknown category {category!r}")
            out.append(Rule(str(item["literal"]).lower(), assertion, direction, bool(item.get("question_only")),
                            bool(item.get("at_end"))))
    return tuple(out)


@lru_cache(maxsize=1)
def _matcher() -> tuple[re.Pattern, dict[str, list[Rule]]]:
    by_literal: dict[str, list[Rule]] = {}
    for r in rules():
        by_literal.setdefault(r.literal, []).append(r)
    # longest first, so "has not had" wins over "not" and "had"
    alts = sorted(by_literal, key=len, reverse=True)
    parts = [(r"(?<![\w/])" if lit[0].isalnum() else "") + re.escape(lit) + (r"(?![\w/])" if lit[-1].isalnum() else "")
             for lit in alts]
    return re.compile("|".join(parts), re.IGNORECASE), by_literal


# Words that make a question about this patient ("does centene cover her?"), not about the rules.
SUBJECT = re.compile(r"\b(?:she|he|pt|patient|member|her|his|mine|my|our|yo|y/o|years? old|year-old|woman|man|"
                     r"female|male|lady|\d+\s*[fm]|age[d:]?\s*\d+|\d+\s*(?:kg|lbs?)|ihc\s*[0-3]\+?)\b", re.IGNORECASE)


# Requirement words that make any question hypothetical, even one about this patient ("does she need to be ...").
ALWAYS_ASKING = {"need to be", "needs to be", "have to be", "has to be", "must be", "need to have", "required for",
                 "is required", "be required", "required to"}


_AT_END = re.compile(r"\s*(?:[,;:.)/]|-\s|$)")


@lru_cache(maxsize=4096)  # each mention of a sentence asks for its triggers: find them once per sentence
def triggers(sentence: str, is_question: bool) -> tuple[Trigger, ...]:
    """The triggers in a sentence; requirement words count only in a question about the rules."""
    rx, by_literal = _matcher()
    found = []
    about_rules = is_question and not SUBJECT.search(sentence)
    pos, last_end = 0, -1
    while (m := rx.search(sentence, pos)) is not None:
        pos = m.start() + 1  # overlapping triggers count too: "was not given" holds "was not" and "not given"
        if m.end() <= last_end:
            continue  # inside a longer trigger already found ("not" in "has not had")
        rules_here = [r for r in by_literal[m.group(0).lower()] if not r.at_end or _AT_END.match(sentence, m.end())]
        if not rules_here:  # ": no" in ": no evidence of ..." is not an answer: read "no evidence" instead
            continue
        last_end = m.end()
        for r in rules_here:
            if r.question_only and not (about_rules or is_question and r.literal in ALWAYS_ASKING):
                continue
            found.append(Trigger(r, m.start(), m.end()))
    return tuple(found)


# Between a trigger and the first thing it qualifies, only a new list item ends its reach; a colon or a
# bracket does not ("none of the following: herceptin", "per pt report (unverified) she had taxotere").
_ITEM_BREAK = re.compile(r",|\band\b|\bor\b|\+|&|;", re.IGNORECASE)
_SEPARATOR = re.compile(r",|\band\b|\bor\b|/|\+|&|\(|\)|-(?=\s)|:", re.IGNORECASE)


MAX_SCOPE_WORDS = 6  # words other than list glue and same-kind mentions a forward trigger may reach across


def _too_far(gap: str, same_kind: list[tuple[int, int]], a: int, b: int) -> bool:
    text = list(gap)
    for s, e in same_kind:
        if s >= a and e <= b:
            text[s - a:e - a] = " " * (e - s)
    words = [w for w in re.sub(r"[,+/&():\-]", " ", "".join(text).lower()).split() if w not in FILLER]
    return len(words) > MAX_SCOPE_WORDS


def _list_continues(between: str) -> bool:
    """True when the text between two mentions is only list glue ('', ', ', ' or ', ', prior ')."""
    words = re.sub(r"[,+/&():\-]", " ", between.lower()).split()
    return all(w in FILLER or re.fullmatch(r"x?\d{1,2}|cycles?|doses?", w) for w in words)


# Triggers that qualify a mention without ending another trigger's scope: "no prior Herceptin".
_NON_BLOCKING = {"prior", "previous", "previously", "s/p", "sp", "status post", "after", "following", "post",
                 "history of", "hx of", "hx", "h/o", "neoadjuvant", "neo-adjuvant"}


def assertion_of(sentence: str, start: int, end: int, same_kind: list[tuple[int, int]], is_question: bool,
                 default: Assertion = "present", found: tuple[Trigger, ...] | None = None) -> tuple[Assertion, Trigger | None]:
    """The assertion of the mention sentence[start:end], with the trigger that decided it.

    same_kind: spans of the other mentions of the same family in the sentence (list items)."""
    found = triggers(sentence, is_question) if found is None else found
    best: tuple[int, Trigger] | None = None
    for trig in found:
        r = trig.rule
        if r.assertion is None or (trig.start < end and trig.end > start):
            continue
        if trig.end <= start and r.direction in ("FORWARD", "BIDIRECTIONAL"):
            a, b = trig.end, start
        elif trig.start >= end and r.direction in ("BACKWARD", "BIDIRECTIONAL"):
            a, b = end, trig.start
        else:
            continue
        if not _in_scope(sentence, a, b, trig, found, same_kind):
            continue
        # a list item's own answer ("taxotere yes", "Enhertu: not received") outranks a trigger further off
        # a list item's own answer ("taxotere yes", "Enhertu: not received") outranks a trigger further off;
        # an adjacent history word ("no taxane given") does not outrank a negation
        adjacent = trig.start >= end and trig.start - end <= 3 and r.assertion != "historical"
        rank = PRIORITY.index(r.assertion) - (10 if r.at_end or adjacent else 0)
        if best is None or rank < best[0]:
            best = (rank, trig)
    if best is None:
        return default, None
    return best[1].rule.assertion, best[1]  # type: ignore[return-value]


def _in_scope(sentence: str, a: int, b: int, trig: Trigger, found: tuple[Trigger, ...],
              same_kind: list[tuple[int, int]]) -> bool:
    """A trigger reaches from a to b unless a terminator, another kind of trigger, or a list separator
    leaving the list lies between (medspaCy's terminate and limit_scope)."""
    for other in found:
        if other is trig or other.start < a or other.end > b:
            continue
        r = other.rule
        if r.direction == "TERMINATE":
            return False
        # a history cue ("received", "had") qualifies a mention but never ends a negation, doubt or what-if;
        # nothing but a terminator ends a what-if ("what if her PCP prescribes instead of onc")
        if r.assertion and r.assertion not in (trig.rule.assertion, "historical") and r.literal not in _NON_BLOCKING \
                and trig.rule.assertion != "hypothetical":
            return False
    # a slash inside a trigger ("h/o", "s/p", "w/o") is not a list separator ("no h/o herceptin")
    chars = list(sentence)
    for other in found:
        if other.start >= a and other.end <= b and "/" in other.rule.literal:
            chars[other.start:other.end] = "x" * (other.end - other.start)
    sentence = "".join(chars)
    gap = sentence[a:b]
    if trig.end <= a and _too_far(gap, same_kind, a, b):
        return False
    if not _SEPARATOR.search(gap) or trig.rule.assertion == "hypothetical" and trig.end <= a:
        return True  # a what-if reaches the end of its sentence: "if she progresses, plan taxane + HP"
    if trig.start >= b:
        # a backward trigger qualifies its own list item only ("progressed on enhertu, T-DM1 naive"),
        # across a header's colon or dash ("Enhertu: not received")
        return not re.search(r"\w", gap) and not re.search(r"[,;/+&]", gap)
    # Across separators the scope continues only through mentions of the same kind and list glue.
    cursor, first = a, True
    for s, e in sorted(same_kind):
        if s < a or e > b:
            continue
        # the words before the list's first item are the trigger's own ("possibly got a ..."); after it,
        # only list glue may come between the items
        if not first and not _list_continues(sentence[cursor:s]) or first and _ITEM_BREAK.search(sentence[cursor:s]):
            return False
        cursor, first = e, False
    return _list_continues(sentence[cursor:b]) if not first else not _ITEM_BREAK.search(sentence[cursor:b])
