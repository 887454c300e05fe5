"""Payer policy files: schema, and a loader that checks every quote against the corpus.

A policy is assistant/data/policies/<policy_id>.yaml: sections of criteria, each criterion with the
exact quote it rests on and its logic over case fields (assistant/tools/policy_rules.py). Loading
fails loudly (DataError) when a quote is not an exact substring of its section of the document, a
rule is unknown, or a number, code or duration is not in the quote it claims to come from.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from assistant.corpus import Corpus, get_corpus
from assistant.errors import DataError, InputError
from assistant.models import SourceQuote
from assistant.tools.policy_case import LineOfBusiness, PatientCase, parse_case, spelling_key
from assistant.tools.policy_files import POLICY_DIR, _read_yaml, payer_aliases, policy_files  # noqa: F401 - re-exported
from assistant.tools.policy_rules import check_expr

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
CHECKLIST_FILE = DATA_DIR / "checklist.yaml"
LINES_OF_BUSINESS = ("commercial", "medicaid", "him", "ichra")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Quoted(_Strict):
    quote: str = Field(min_length=1)
    source: SourceQuote | None = Field(default=None, description="set by the loader")


class Referral(_Strict):
    kind: str = Field(description="what the referred policy is, e.g. 'off-label use policy'")
    when: Literal["met", "not_met"] = "met"
    policies: dict[str, str] = Field(description="line of business (or 'all') -> policy reference")


class Criterion(Quoted):
    id: str
    label: str = Field(description="what 'met' means, in plain words")
    logic: dict[str, Any] | None = None
    combine: Literal["all_of", "any_of"] = "all_of"
    criteria: list[Criterion] = Field(default_factory=list)
    applies_if: dict[str, Any] | None = Field(default=None, description="if this is not met, the criterion is met")
    referral: Referral | None = None

    @model_validator(mode="after")
    def _one_body(self) -> Criterion:
        if (self.logic is None) == (not self.criteria):
            raise ValueError(f"criterion {self.id}: give either logic or criteria, not both or neither")
        return self

    def walk(self) -> list[Criterion]:
        return [self, *(c for child in self.criteria for c in child.walk())]


class Duration(Quoted):
    months: int = Field(gt=0)
    label: str = Field(default="", description="what kind of approval this is, if the policy says")
    lines_of_business: list[LineOfBusiness] | None = Field(default=None, description="None: every line")
    up_to: bool = False
    or_renewal_date: bool = Field(default=False, description="or to the renewal date, whichever is longer")
    basis: str | None = Field(default=None, description="applies only when this criterion is the only one met "
                              "among its siblings")


class Note(Quoted):
    label: str


class Section(_Strict):
    id: str
    title: str
    anchor: str = Field(description="heading text that starts the section; unique in the document")
    kind: Literal["approval", "referral"] = "approval"
    combine: Literal["all_of", "any_of"] = "all_of"
    applies_when: dict[str, list[str]] = Field(default_factory=dict)
    criteria: list[Criterion] = Field(min_length=1)
    approval_durations: list[Duration] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)
    source: SourceQuote | None = None


class Product(Quoted):
    id: str
    status: Literal["preferred", "non_preferred", "covered"]
    hcpcs: str = Field(pattern=r"^J\d{4}$")


class Contact(Quoted):
    method: str
    value: str


class Submission(_Strict):
    review_entity: str
    anchor: str
    contacts: list[Contact]


class ChecklistItem(Quoted):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    label: str
    doc_id: str
    required: bool = Field(default=True, description="False: one of several alternatives, send if it applies")
    applies_when: dict[str, list[str]] = Field(default_factory=dict)


class Policy(_Strict):
    """One payer policy file, with every quote located in the corpus."""

    policy_id: str
    payer: str
    payer_aliases: list[str] = Field(default_factory=list)
    doc_id: str
    applies_when: dict[str, list[str]] = Field(default_factory=dict)
    products: list[Product] = Field(default_factory=list)
    sections: list[Section] = Field(min_length=1)
    checklist: list[ChecklistItem] = Field(default_factory=list)
    submission: Submission | None = None
    title: str = ""
    version: str = ""

    @property
    def preferred(self) -> frozenset[str]:
        return frozenset(p.id for p in self.products if p.status == "preferred")


def _validation(path: Path, exc: ValidationError) -> DataError:
    parts = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return DataError(f"{path}: " + "; ".join(parts))


def _locate(corpus: Corpus, doc_id: str, quote: str, where: str, span: tuple[int, int], section: str) -> SourceQuote:
    try:
        corpus.find(doc_id, quote)
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
    text = corpus.text(doc_id)
    start = text.find(quote, span[0])
    if start < 0 or start + len(quote) > span[1]:
        raise DataError(f"{where}: quote is in {doc_id} but not inside section {section!r} "
                        f"(characters {span[0]}-{span[1]}): {quote[:80]!r}")
    return SourceQuote(doc_id=doc_id, section=section, quote=quote, start=start, end=start + len(quote))


def _has_number(quote: str, value: float) -> bool:
    text = re.escape(f"{value:g}")
    return re.search(rf"(?<![\d.]){text}(?![\d]|\.\d)", quote) is not None


def _check_conditions(conditions: dict[str, list[str]], where: str) -> None:
    for fld, values in conditions.items():
        if fld not in PatientCase.model_fields:
            raise DataError(f"{where}: applies_when names unknown case field {fld!r}")
        for value in values:
            try:
                normal = getattr(parse_case({fld: value}), fld)
            except InputError as exc:
                raise DataError(f"{where}: applies_when {fld}: {exc}") from None
            if normal != value:
                raise DataError(f"{where}: applies_when {fld}: write {normal!r}, not {value!r}")


def _check_criterion(c: Criterion, where: str) -> None:
    for key, expr in (("logic", c.logic), ("applies_if", c.applies_if)):
        if expr is None:
            continue
        for number in check_expr(expr, f"{where} {key}"):
            if not _has_number(c.quote, number):
                raise DataError(f"{where}: the number {number:g} in its {key} is not in its quote {c.quote!r}")
    if c.referral:
        for lob, code in c.referral.policies.items():
            if lob != "all" and lob not in LINES_OF_BUSINESS:
                raise DataError(f"{where}: referral line of business {lob!r} is not one of {LINES_OF_BUSINESS}")
            if code not in c.quote:
                raise DataError(f"{where}: referral policy {code} is not in the quote")


def _load(path: Path, corpus: Corpus) -> Policy:
    raw = _read_yaml(path)
    try:
        policy = Policy.model_validate(raw)
    except ValidationError as exc:
        raise _validation(path, exc) from None
    name = f"{path.name}"
    meta = corpus.doc(policy.doc_id).meta
    text = corpus.text(policy.doc_id)
    policy.title = meta.title
    policy.version = " ".join(p for p in (meta.reference, f"(last reviewed {meta.date})" if meta.date else "") if p)
    _check_conditions(policy.applies_when, name)

    anchors = {}
    for block, anchor in [(s.id, s.anchor) for s in policy.sections] + (
        [("submission", policy.submission.anchor)] if policy.submission else []
    ):
        if text.count(anchor) != 1:
            raise DataError(f"{name} section {block}: anchor must occur exactly once in {policy.doc_id}, "
                            f"found {text.count(anchor)}: {anchor[:80]!r}")
        anchors[block] = text.find(anchor)
    starts = sorted(anchors.values())

    def span(block: str) -> tuple[int, int]:
        start = anchors[block]
        return start, next((s for s in starts if s > start), len(text))

    seen: set[str] = set()
    for section in policy.sections:
        where = f"{name} section {section.id}"
        _check_conditions(section.applies_when, where)
        section.source = _locate(corpus, policy.doc_id, section.anchor, where, span(section.id), section.id)
        ids = {c.id for top in section.criteria for c in top.walk()}
        for top in section.criteria:
            for c in top.walk():
                if c.id in seen:
                    raise DataError(f"{where}: duplicate criterion id {c.id}")
                seen.add(c.id)
                c.source = _locate(corpus, policy.doc_id, c.quote, f"{name} criterion {c.id}", span(section.id),
                                   section.id)
                _check_criterion(c, f"{name} criterion {c.id}")
        for d in section.approval_durations:
            d.source = _locate(corpus, policy.doc_id, d.quote, f"{where} duration", span(section.id), section.id)
            if not re.search(rf"(?<!\d){d.months}[ -]months?\b", d.quote):
                raise DataError(f"{where} duration: {d.months} months is not in its quote {d.quote!r}")
            if d.basis and d.basis not in ids:
                raise DataError(f"{where} duration: basis {d.basis!r} is not a criterion of the section")
        for note in section.notes:
            note.source = _locate(corpus, policy.doc_id, note.quote, f"{where} note", span(section.id), section.id)

    whole = (0, len(text))
    for product in policy.products:
        product.source = _locate(corpus, policy.doc_id, product.quote, f"{name} product {product.id}", whole, "")
        if product.hcpcs not in product.quote:
            raise DataError(f"{name} product {product.id}: {product.hcpcs} is not in its quote")
    if policy.submission:
        for contact in policy.submission.contacts:
            where = f"{name} submission {contact.method}"
            contact.source = _locate(corpus, policy.doc_id, contact.quote, where, (anchors["submission"], len(text)),
                                     "submission")
            if contact.value not in contact.quote:
                raise DataError(f"{where}: {contact.value!r} is not in its quote")

    policy.checklist = _checklist(corpus) + policy.checklist
    ids = [item.id for item in policy.checklist]
    if len(ids) != len(set(ids)):
        raise DataError(f"{name}: duplicate checklist ids {sorted({i for i in ids if ids.count(i) > 1})}")
    for item in policy.checklist:
        where = f"{name} checklist {item.id}"
        _check_conditions(item.applies_when, where)
        item.source = _locate(corpus, item.doc_id, item.quote, where, (0, len(corpus.text(item.doc_id))), "")
    return policy


def _checklist(corpus: Corpus) -> list[ChecklistItem]:
    raw = _read_yaml(CHECKLIST_FILE)
    try:
        return [ChecklistItem.model_validate(item) for item in (raw or {}).get("checklist", [])]
    except ValidationError as exc:
        raise _validation(CHECKLIST_FILE, exc) from None


@lru_cache(maxsize=16)
def load_policy_file(path: str | Path) -> Policy:
    """Load and verify one policy file (cached per path)."""
    return _load(Path(path), get_corpus())


def load_policy(policy_id: str) -> Policy:
    """The verified policy with this id; InputError lists the known ids."""
    files = policy_files()
    if policy_id not in files:
        raise InputError(f"unknown policy {policy_id!r}; known: {', '.join(sorted(files))}")
    policy = load_policy_file(str(files[policy_id][0]))
    if policy.policy_id != policy_id:
        raise DataError(f"{files[policy_id][0]}: policy_id changed while loading")
    return policy
