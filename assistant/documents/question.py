"""What a document question asks for: its answer type, whether it is about the first or the later
cycles, which boilerplate it asks for, which document it names. Rules are data
(assistant/data/answer_types.yaml), read as case-insensitive regular expressions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

ANSWER_TYPES = ("date", "duration", "frequency", "number", "code", "contact", "organisation", "yes_no", "list",
                "procedure", "text")


@dataclass(frozen=True)
class Question:
    """A document question, read."""

    text: str
    type: str  # one of ANSWER_TYPES
    cycle: str | None  # "first" | "later" | None
    asks_noise: frozenset[str]  # boilerplate kinds the question asks for
    documents: tuple[str, ...]  # documents the question names
    wants_list: bool  # asks for every item of something (criteria, warnings, documents ...)
    money: bool = False  # asks for a price, a payment or a cost
    contact_kind: int | None = None  # which kind of contact a contact question asks for (answer_types.yaml)


@lru_cache(maxsize=1)
def _rules() -> dict:
    raw = yaml.safe_load(resources.files("assistant.data").joinpath("answer_types.yaml").read_text(encoding="utf-8"))

    def rx(items: list[str]) -> list[re.Pattern[str]]:
        return [re.compile(p, re.IGNORECASE) for p in items]

    types = []
    for t in raw["types"]:
        if t["name"] not in ANSWER_TYPES:
            raise ValueError(f"answer_types.yaml: unknown type {t['name']!r}")
        types.append((t["name"], rx(t.get("asks") or []), rx(t.get("holds") or [])))
    holds: dict[str, list[re.Pattern[str]]] = {}
    for name, _, h in types:
        holds.setdefault(name, []).extend(h)
    cycles = {k: rx(v) for k, v in raw["cycles"].items()}
    return {"types": types, "holds": holds, "cycles": cycles,
            "noise": {k: rx(v) for k, v in raw["noise_asks"].items()},
            "documents": {k: rx(v) for k, v in raw["documents"].items()},
            "synonyms": [(re.compile(k, re.IGNORECASE), v) for k, v in (raw.get("synonyms") or {}).items()],
            "contact_kinds": [(rx(c["asks"]), rx(c["holds"])) for c in raw.get("contact_kinds") or []]}


def _any(patterns: list[re.Pattern[str]], text: str) -> bool:
    return any(p.search(text) for p in patterns)


def answer_type(text: str) -> str:
    """The first type whose cues the question holds (text when none does)."""
    for name, asks, _ in _rules()["types"]:
        if _any(asks, text):
            return name
    return "text"


def read_question(text: str, payer: str | None = None) -> Question:
    """What the question asks for. `payer` (read from the message) names a payer's document too."""
    rules = _rules()
    kind = answer_type(text)
    cycles = rules["cycles"]
    cycle = None
    if _any(cycles["about"], text):
        if _any(cycles["first_asks"], text):
            cycle = "first"
        elif _any(cycles["later_asks"], text):
            cycle = "later"
    noise = frozenset(k for k, pats in rules["noise"].items() if _any(pats, text))
    docs = [d for d, pats in rules["documents"].items() if _any(pats, text)]
    if payer == "centene" and "centene-cp-phar-229" not in docs:
        docs.append("centene-cp-phar-229")
    if payer == "oscar" and "oscar-cg101" not in docs:
        docs.append("oscar-cg101")
    list_asks = next(asks for name, asks, _ in rules["types"] if name == "list")
    why = bool(re.match(r"\s*why\b", text, re.I))
    contact = next((i for i, (asks, _) in enumerate(rules["contact_kinds"]) if _any(asks, text)), None)
    return Question(text, kind, cycle, noise, tuple(docs), kind == "list" or (not why and _any(list_asks, text)),
                    money=bool(_MONEY.search(text)), contact_kind=contact if kind == "contact" else None)


# The drug every document is about: in nearly every sentence, so it only blurs which sentence a question
# is about ("special handling kadcyla" is about special handling).
_TOPIC = re.compile(r"\b(?:kadcyla|kadcila|kadsyla|kadcyl|t-?dm-?1|tdm1|ado-?trastuzumab emtansine|trastuzumab emtansine|"
                    r"ado-?trastuzumab)\b®?", re.IGNORECASE)
# Words of a question that say nothing of what it is about (for the rare words it shares with a sentence).
QUESTION_WORDS = frozenset("per get gets use used whats what kind thing things need needed go goes do does ok okay "
                           "much many long often tell say says said give please any some still usually really very "
                           "quick yes no where there here about know want".split())


def topic_free(text: str) -> str:
    """What the question asks about Kadcyla: without the drug's names and the names of the documents
    (the document named is preferred by itself), with staff shorthand spelled out beside it ("obs" also
    reads "observation"). The question itself when nothing else is left."""
    rules = _rules()
    rest = _TOPIC.sub(" ", text)
    for pats in rules["documents"].values():
        for p in pats:
            rest = p.sub(" ", rest)
    rest = " ".join(rest.split())
    if not (len(re.findall(r"[a-z0-9]{2,}", rest.lower())) >= 1 and len(rest) >= 4):
        rest = text
    extra = [v for rx, v in rules["synonyms"] if rx.search(rest)]
    return f"{rest} ({'; '.join(extra)})" if extra else rest


_MONEY = re.compile(r"\$|\bcost|\bprice|\bpay(?:s|ment)?\b|\bpaid\b|\breimburs|\basp\b|\bdollars?\b", re.IGNORECASE)
_AMOUNT = re.compile(r"\$\s?\d")


def money_holds(text: str) -> bool:
    return bool(_AMOUNT.search(text))


def contact_holds(kind: int, text: str) -> bool:
    """The text holds a contact of that kind (a phone number, an e-mail address, a web address)."""
    return _any(_rules()["contact_kinds"][kind][1], text)


def contact_kinds() -> int:
    return len(_rules()["contact_kinds"])


def holds(kind: str, text: str) -> bool:
    """The text holds an answer of this type (a date, a phone number ...); text and list hold nothing."""
    return _any(_rules()["holds"].get(kind, []), text)


def type_spans(kind: str, text: str) -> list[tuple[int, int]]:
    """Where in the text answers of this type are."""
    return [(m.start(), m.end()) for p in _rules()["holds"].get(kind, []) for m in p.finditer(text)]


def says_cycle(text: str) -> tuple[bool, bool]:
    """(says first/initial/cycle 1, says subsequent/cycles 2+)."""
    c = _rules()["cycles"]
    return _any(c["first_says"], text), _any(c["later_says"], text)
