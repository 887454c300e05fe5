"""Label safety rules for Kadcyla: rules are data (assistant/data/safety.yaml), walked over the facts of an answer.

A rule is an `all`/`any`/`not` tree of conditions over the variables declared once below (VARIABLES),
with a severity, a plain message and the exact corpus passages it rests on. Logic is three-valued:
a fact that is unknown makes its condition unknown, and a rule fires only when its tree is true,
so a missing fact never raises an error. Any answer (dose, policy, code, narrative, claim) can pass
the facts it holds to check_safety and show the findings with their quotes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.corpus import get_corpus
from assistant.errors import DataError
from assistant.models import SourceQuote
from assistant.settings import get_settings

RULES_FILE = Path(__file__).resolve().parent / "data" / "safety.yaml"

Her2Category = Literal["positive", "low", "ultralow", "negative", "incomplete", "unknown"]


class SafetyInput(BaseModel):
    """The facts a safety check reads. Every field is optional: None (or an empty list) means not known."""

    model_config = ConfigDict(extra="forbid")
    mg_per_kg: float | None = Field(default=None, description="dose level ordered or implied, mg/kg")
    previous_mg_per_kg: float | None = Field(default=None, description="the dose level of the previous cycle, mg/kg")
    dose_reduced: bool | None = Field(default=None, description="True if a dose reduction has been made; None if not known")
    diluent: str | None = Field(default=None, description="the infusion-bag fluid as written, e.g. 'D5W', '0.9% NaCl'")
    filter_used: bool | None = Field(default=None, description="False if the infusion runs without an in-line filter")
    filter_micron: float | None = Field(default=None, description="in-line filter pore size, micron")
    filter_material: str | None = Field(default=None, description="in-line filter material as written, e.g. 'PES'")
    products: list[str] = Field(default_factory=list, description="drug names mentioned with the order, as written")
    codes: list[str] = Field(default_factory=list, description="HCPCS codes mentioned with the order, e.g. J9354")
    her2_category: Her2Category | None = Field(default=None, description="HER2 category; low/ultralow are not eligible")
    cycle: int | None = Field(default=None, ge=1, description="cycle number; 1 is the first infusion")
    infusion_minutes: float | None = Field(default=None, ge=0, description="infusion time, minutes")
    observation_minutes: float | None = Field(default=None, ge=0, description="observation after the infusion, minutes")


class SafetyFinding(BaseModel):
    """One label rule broken (error) or to keep in mind (warning), with the passage it rests on."""

    rule: str = Field(description="rule id in assistant/data/safety.yaml")
    severity: Literal["error", "warning"]
    message: str = Field(description="what is wrong and what the label says, in plain words")
    quote: SourceQuote = Field(description="the main passage (doc id, section, exact quote, offsets)")
    also: list[SourceQuote] = Field(default_factory=list, description="further passages saying the same")
    facts: dict[str, Any] = Field(default_factory=dict, description="the facts the rule read, as given")


# ---------------------------------------------------------------- variables, declared once


@dataclass(frozen=True)
class Variable:
    """A typed fact a rule can name: how it is read from the input, and which input field it reads."""

    kind: Literal["number", "bool", "word", "list"]
    read: Callable[[SafetyInput, Terms], Any]
    field: str


def _words(text: str) -> str:
    return " ".join(str(text).casefold().split())


def _has_term(text: str, term: str) -> bool:
    return re.search(rf"(?<![a-z0-9]){re.escape(_words(term))}(?![a-z0-9])", _words(text)) is not None


def _kind_of(text: str | None, table: dict[str, list[str]]) -> str | None:
    """The first kind whose term the text names, 'other' if none; None for no text."""
    if text is None or not str(text).strip():
        return None
    return next((kind for kind, terms in table.items() if any(_has_term(text, t) for t in terms)), "other")


def _product_ids(names: list[str]) -> list[str]:
    """Product ids (products.yaml) for the names given; names the reference does not know are left out."""
    from assistant.tools.code_reference import load_reference

    def key(text: str) -> str:
        return " ".join(re.findall(r"[^\W_]+", str(text).casefold()))

    index: dict[str, str] = {}
    for product in load_reference().products:
        for fact in [product.brand, product.generic, *product.aliases]:
            index.setdefault(key(fact.value), product.id)
        index.setdefault(key(product.id), product.id)
    return list(dict.fromkeys(index[key(n)] for n in names if key(n) in index))


VARIABLES: dict[str, Variable] = {
    "mg_per_kg": Variable("number", lambda i, t: i.mg_per_kg, "mg_per_kg"),
    "previous_mg_per_kg": Variable("number", lambda i, t: i.previous_mg_per_kg, "previous_mg_per_kg"),
    "dose_reduced": Variable("bool", lambda i, t: i.dose_reduced, "dose_reduced"),
    "diluent_kind": Variable("word", lambda i, t: _kind_of(i.diluent, t.diluent), "diluent"),
    "filter_used": Variable("bool", lambda i, t: i.filter_used, "filter_used"),
    "filter_micron": Variable("number", lambda i, t: i.filter_micron, "filter_micron"),
    "filter_material_kind": Variable("word", lambda i, t: _kind_of(i.filter_material, t.filter_material), "filter_material"),
    "products": Variable("list", lambda i, t: _product_ids(i.products), "products"),
    "codes": Variable("list", lambda i, t: [c.strip().upper() for c in i.codes], "codes"),
    "her2_category": Variable("word", lambda i, t: i.her2_category, "her2_category"),
    "cycle": Variable("number", lambda i, t: i.cycle, "cycle"),
    "infusion_minutes": Variable("number", lambda i, t: i.infusion_minutes, "infusion_minutes"),
    "observation_minutes": Variable("number", lambda i, t: i.observation_minutes, "observation_minutes"),
}
_WORDS = {"her2_category": set(Her2Category.__args__)}  # word values not drawn from `terms`

# ---------------------------------------------------------------- the rule file

Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "approx", "in", "not_in", "contains", "unknown", "known"]


class Condition(BaseModel):
    """fact op value (or fact op fact2): e.g. {fact: mg_per_kg, op: gt, value: 3.6}."""

    model_config = ConfigDict(extra="forbid")
    fact: str
    op: Op
    value: Any = None
    fact2: str | None = None
    tolerance: float | None = None

    @model_validator(mode="after")
    def _shape(self) -> Condition:
        for name in (self.fact, self.fact2):
            if name is not None and name not in VARIABLES:
                raise ValueError(f"unknown fact {name!r}; facts: {', '.join(VARIABLES)}")
        needs_value = self.op not in ("unknown", "known")
        if needs_value and (self.value is None) == (self.fact2 is None):
            raise ValueError(f"op {self.op!r} needs exactly one of value or fact2")
        if self.op in ("in", "not_in") and not isinstance(self.value, list):
            raise ValueError(f"op {self.op!r} needs a list value")
        if (self.op == "approx") != (self.tolerance is not None):
            raise ValueError("tolerance goes with op approx, and approx needs one")
        return self


class Node(BaseModel):
    """all / any / not over conditions and nodes."""

    model_config = ConfigDict(extra="forbid")
    all: list[Node | Condition] | None = None
    any: list[Node | Condition] | None = None
    not_: Node | Condition | None = Field(default=None, alias="not")

    @model_validator(mode="after")
    def _one(self) -> Node:
        if sum(x is not None for x in (self.all, self.any, self.not_)) != 1:
            raise ValueError("a node has exactly one of all, any, not")
        return self


class QuoteRef(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_id: str
    section: str = ""
    text: str


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    severity: Literal["error", "warning"]
    when: Node | Condition
    message: str
    quotes: list[QuoteRef] = Field(min_length=1)
    sources: list[SourceQuote] = Field(default_factory=list, description="filled by the loader")


class Terms(BaseModel):
    model_config = ConfigDict(extra="forbid")
    diluent: dict[str, list[str]]
    filter_material: dict[str, list[str]]


class SafetyRules(BaseModel):
    """Everything in assistant/data/safety.yaml."""

    model_config = ConfigDict(extra="forbid")
    terms: Terms
    rules: list[Rule] = Field(min_length=1)


def _conditions(node: Node | Condition) -> list[Condition]:
    if isinstance(node, Condition):
        return [node]
    return [c for child in _children(node) for c in _conditions(child)]


def _children(node: Node) -> list[Node | Condition]:
    if node.all is not None:
        return node.all
    return node.any if node.any is not None else [node.not_]


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
_CODE = re.compile(r"\b[A-Z]\d{4}\b")


def _written(token: str, texts: list[str]) -> bool:
    pattern = rf"(?<![\d.]){re.escape(token)}(?![\d])" if token[0].isdigit() else rf"\b{re.escape(token)}\b"
    return any(re.search(pattern, t) for t in texts)


def _check_rule(rule: Rule, terms: Terms) -> None:
    """Each constant a condition compares with, and each number in the message, is written in a quote."""
    texts = [s.quote for s in rule.sources]
    for cond in _conditions(rule.when):
        var = VARIABLES[cond.fact]
        values = cond.value if isinstance(cond.value, list) else [cond.value]
        for value in values if cond.value is not None else []:
            if var.kind == "number":
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise DataError(f"{RULES_FILE}: rule {rule.id}: {cond.fact} compares with a number, not {value!r}")
                if not _written(f"{value:g}", texts):
                    raise DataError(f"{RULES_FILE}: rule {rule.id}: {value:g} is not written in any of its quotes")
            elif var.kind == "bool" and not isinstance(value, bool):
                raise DataError(f"{RULES_FILE}: rule {rule.id}: {cond.fact} is true or false, not {value!r}")
            elif var.kind == "word":
                table = getattr(terms, var.field, None)
                allowed = _WORDS.get(cond.fact) or {*(table or {}), "other"}
                if value not in allowed:
                    raise DataError(f"{RULES_FILE}: rule {rule.id}: {value!r} is not one of {sorted(allowed)}")
            elif var.kind == "list" and _CODE.fullmatch(str(value)) and not _written(str(value), texts):
                raise DataError(f"{RULES_FILE}: rule {rule.id}: {value} is not written in any of its quotes")
    fixed = re.sub(r"\{\w+\}", "", rule.message)  # the [optional] brackets hold no numbers of their own
    for token in _NUMBER.findall(fixed) + _CODE.findall(fixed):
        if not _written(token, texts):
            raise DataError(f"{RULES_FILE}: rule {rule.id}: the message's {token} is not written in any of its quotes")


@lru_cache(maxsize=4)
def _load(path: str, corpus_dir: str) -> SafetyRules:
    try:
        rules = SafetyRules.model_validate(yaml.safe_load(Path(path).read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError, OSError) as exc:
        raise DataError(f"{path} is malformed: {exc}") from None
    ids = [r.id for r in rules.rules]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: duplicate rule id in {ids}")
    corpus = get_corpus()
    for rule in rules.rules:
        rule.sources = [corpus.find(q.doc_id, q.text, q.section) for q in rule.quotes]
        _check_rule(rule, rules.terms)
    return rules


def load_safety_rules() -> SafetyRules:
    """The rules, every quote checked against the corpus (DataError if one is not found or a value is unquoted)."""
    return _load(str(RULES_FILE), str(get_settings().corpus_dir))


# ---------------------------------------------------------------- evaluation


def _test(cond: Condition, facts: dict[str, Any]) -> bool | None:
    left = facts[cond.fact]
    if cond.op == "unknown":
        return left is None
    if cond.op == "known":
        return left is not None
    right = facts[cond.fact2] if cond.fact2 else cond.value
    if left is None or right is None:
        return None
    match cond.op:
        case "eq":
            return left == right
        case "ne":
            return left != right
        case "lt":
            return left < right
        case "le":
            return left <= right
        case "gt":
            return left > right
        case "ge":
            return left >= right
        case "approx":
            return abs(left - right) <= cond.tolerance + 1e-9
        case "in":
            return left in right
        case "not_in":
            return left not in right
        case "contains":
            return right in left
    raise AssertionError(cond.op)  # pragma: no cover - Op lists every case


def _truth(node: Node | Condition, facts: dict[str, Any]) -> bool | None:
    """Kleene logic: all is False if any is False, any is True if any is True, otherwise unknown wins."""
    if isinstance(node, Condition):
        return _test(node, facts)
    if node.not_ is not None:
        value = _truth(node.not_, facts)
        return None if value is None else not value
    values = [_truth(child, facts) for child in _children(node)]
    if node.all is not None:
        return False if False in values else (None if None in values else True)
    return True if True in values else (None if None in values else False)


def _shown(value: Any) -> str:
    if value is None:
        return "not given"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _message(template: str, given: dict[str, Any]) -> str:
    """Fill {fact} placeholders; drop a [part] whose placeholders are not all known."""
    def part(m: re.Match) -> str:
        names = re.findall(r"\{(\w+)\}", m.group(1))
        return m.group(1) if all(given.get(n) is not None for n in names) else ""

    text = re.sub(r"\[([^\[\]]*)\]", part, template)
    return re.sub(r"\{(\w+)\}", lambda m: _shown(given.get(m.group(1))), text)


def check_safety(facts: SafetyInput) -> list[SafetyFinding]:
    """Every label rule the facts break (errors first, then warnings), each with its quote; [] if none.

    Pure: the same facts give the same findings. A rule fires only on the facts it names, and a fact
    that is not known never fires an error.
    """
    rules = load_safety_rules()
    values = {name: var.read(facts, rules.terms) for name, var in VARIABLES.items()}
    given = facts.model_dump()
    found = []
    for rule in rules.rules:
        if _truth(rule.when, values) is not True:
            continue
        read = {VARIABLES[c.fact].field for c in _conditions(rule.when)}
        read |= {VARIABLES[c.fact2].field for c in _conditions(rule.when) if c.fact2}
        message = _message(rule.message, given)
        found.append(
            SafetyFinding(
                rule=rule.id,
                severity=rule.severity,
                message=message,
                quote=rule.sources[0],
                also=rule.sources[1:],
                facts={k: given[k] for k in sorted(read) if given[k] not in (None, [])},
            )
        )
    return sorted(found, key=lambda f: f.severity != "error")
