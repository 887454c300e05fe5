"""The look-alike HER2 product reference (data/products.yaml), every fact checked against the corpus."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from assistant.corpus import Corpus, get_corpus
from assistant.errors import DataError
from assistant.models import SourceQuote

DATA_FILE = Path(__file__).resolve().parent.parent / "data" / "products.yaml"

_NDC10_LAYOUTS = {(4, 4, 2): 0, (5, 3, 2): 1, (5, 4, 1): 2}  # layout -> segment that gets the leading 0


def ndc_to_11(ndc10: str) -> str:
    """The 11-digit (5-4-2) form of a hyphenated 10-digit NDC; ValueError unless it is 4-4-2, 5-3-2 or 5-4-1."""
    parts = ndc10.split("-")
    layout = tuple(len(p) for p in parts)
    if layout not in _NDC10_LAYOUTS or not all(p.isdigit() for p in parts):
        raise ValueError(f"{ndc10!r} is not a hyphenated 10-digit NDC (4-4-2, 5-3-2 or 5-4-1)")
    parts[_NDC10_LAYOUTS[layout]] = "0" + parts[_NDC10_LAYOUTS[layout]]
    return "-".join(parts)


def _cite(data: Any, info: ValidationInfo) -> Any:
    """Turn a raw {doc, quote, section} into a checked `source` SourceQuote."""
    if not isinstance(data, dict) or "quote" not in data:
        return data
    corpus: Corpus | None = (info.context or {}).get("corpus")
    if corpus is None:
        raise ValueError("no corpus to check the quote against")
    data = dict(data)
    doc, quote, section = data.pop("doc", None), data.pop("quote"), data.pop("section", "")
    if not doc:
        raise ValueError("a quote needs its 'doc'")
    try:
        data["source"] = corpus.find(doc, quote, section)
    except DataError as exc:
        raise ValueError(str(exc)) from None
    return data


def _shows(value: str | float, quote: str) -> bool:
    if isinstance(value, str):
        return value.casefold() in quote.casefold()
    return re.search(rf"(?<![\d.]){re.escape(f'{value:g}')}(?![\d])", quote) is not None


class Cited(BaseModel):
    """Base for anything resting on a corpus quote; YAML gives doc + quote, the loader fills `source`."""

    model_config = ConfigDict(extra="forbid")

    source: SourceQuote

    @model_validator(mode="before")
    @classmethod
    def _load_quote(cls, data: Any, info: ValidationInfo) -> Any:
        return _cite(data, info)


class Fact(Cited):
    """One reference fact; its value appears in its quote (checked on load)."""

    value: str | float
    unit: str = ""
    note: str = Field(default="", description="how to read the quote, e.g. a run-together table cell")

    @model_validator(mode="after")
    def _value_in_quote(self) -> Fact:
        if not _shows(self.value, self.source.quote):
            raise ValueError(f"value {self.value!r} does not appear in its quote {self.source.quote!r}")
        return self


class Dose(Fact):
    """A labelled dose in mg/kg."""

    value: float
    schedule: str = ""
    context: str = ""


class Ndc(Cited):
    """One package NDC in both its 10-digit and 11-digit (5-4-2) forms."""

    ndc10: str
    ndc11: str
    strength_mg: float

    @model_validator(mode="after")
    def _forms_agree(self) -> Ndc:
        if ndc_to_11(self.ndc10) != self.ndc11:
            raise ValueError(f"ndc11 {self.ndc11!r} is not the 11-digit form of ndc10 {self.ndc10!r}")
        for value in (self.ndc10, self.ndc11, self.strength_mg):
            if not _shows(value, self.source.quote):
                raise ValueError(f"ndc value {value!r} does not appear in its quote {self.source.quote!r}")
        return self

    @property
    def digits11(self) -> str:
        return self.ndc11.replace("-", "")


class External(BaseModel):
    """A note the corpus does not give, with the named source it comes from. Never cited."""

    model_config = ConfigDict(extra="forbid")

    text: str
    source: str


class Product(BaseModel):
    """One HER2-targeted product and its cited facts; a fact the corpus lacks is None or empty."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    brand: Fact
    generic: Fact
    aliases: list[Fact] = Field(default_factory=list)
    jcode: Fact
    descriptor: Fact | None = None
    mg_per_unit: Fact | None = None
    doses: list[Dose] = Field(default_factory=list)
    ndcs: list[Ndc] = Field(default_factory=list)
    payload: Fact | None = None
    payload_terms: list[Fact] = Field(default_factory=list)
    her2: Fact | None = None
    manufacturer: Fact | None = None
    external: list[External] = Field(default_factory=list)


class AmbiguousTerm(Fact):
    """A word that names several products; only `primary` is its exact meaning."""

    products: list[str] = Field(min_length=2)
    primary: str


class UnclassifiedCodes(Cited):
    codes: list[str]


class Quoted(Cited):
    """A bare cited passage."""


class WarningRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    when_any: list[str]
    text: str
    quotes: list[Quoted]


class ConflictGuidance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    when_all: list[str]
    confirm: list[str]
    quotes: list[Quoted]


class Reference(BaseModel):
    """Everything in products.yaml, checked."""

    model_config = ConfigDict(extra="forbid")

    products: list[Product] = Field(min_length=1)
    ambiguous_terms: list[AmbiguousTerm] = Field(default_factory=list)
    unclassified_codes: list[UnclassifiedCodes] = Field(default_factory=list)
    warnings: list[WarningRule] = Field(default_factory=list)
    conflict_guidance: list[ConflictGuidance] = Field(min_length=1)
    rounding: str

    @model_validator(mode="after")
    def _ids_known(self) -> Reference:
        ids = [p.id for p in self.products]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate product id in {ids}")
        named = [(t.primary, t.products) for t in self.ambiguous_terms]
        named += [(None, w.when_any) for w in self.warnings] + [(None, g.when_all) for g in self.conflict_guidance]
        for primary, group in named:
            unknown = sorted({i for i in group if i not in ids} | ({primary} - set(group) if primary else set()))
            if unknown:
                raise ValueError(f"unknown or unlisted product id(s) {unknown}; known: {ids}")
        if self.conflict_guidance[-1].when_all:
            raise ValueError("the last conflict_guidance entry is the default and must have when_all: []")
        return self

    def product(self, product_id: str) -> Product:
        return next(p for p in self.products if p.id == product_id)

    def all_quotes(self) -> list[SourceQuote]:
        """Every corpus quote the reference holds."""
        found: list[SourceQuote] = []

        def walk(node: Any) -> None:
            if isinstance(node, SourceQuote):
                found.append(node)
            elif isinstance(node, BaseModel):
                for name in type(node).model_fields:
                    walk(getattr(node, name))
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self)
        return found


def _where(error: ValidationError, raw: dict) -> str:
    parts = []
    for err in error.errors():
        loc = list(err["loc"])
        if len(loc) >= 2 and loc[0] == "products" and isinstance(loc[1], int):
            try:
                loc[1] = raw["products"][loc[1]]["id"]
            except (KeyError, IndexError, TypeError):
                pass
        parts.append(f"{'.'.join(str(p) for p in loc) or '(top)'}: {err['msg']}")
    return "; ".join(parts)


def _check_terms(ref: Reference, path: Path) -> None:
    """A name, alias or payload word must point to one product only (ambiguity is declared, not accidental)."""
    seen: dict[str, str] = {}
    for product in ref.products:
        for fact in [product.brand, product.generic, *product.aliases, *product.payload_terms]:
            key = " ".join(re.findall(r"[^\W_]+", str(fact.value).casefold()))
            if seen.get(key, product.id) != product.id:
                raise DataError(
                    f"product reference {path}: term {fact.value!r} names both {seen[key]} and {product.id}"
                )
            seen[key] = product.id


def load_reference(path: Path | None = None) -> Reference:
    """Read and check the reference; DataError names the bad entry. Cached for the default file."""
    if path is None:
        return _cached(str(DATA_FILE), str(get_corpus().dir))
    return _load(Path(path), get_corpus())


@lru_cache(maxsize=4)
def _cached(path: str, corpus_dir: str) -> Reference:
    return _load(Path(path), get_corpus())


def _load(path: Path, corpus: Corpus) -> Reference:
    if not path.is_file():
        raise DataError(f"product reference not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise DataError(f"product reference {path} is not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise DataError(f"product reference {path}: expected a mapping with 'products'")
    try:
        ref = Reference.model_validate(raw, context={"corpus": corpus})
    except ValidationError as exc:
        raise DataError(f"product reference {path}: {_where(exc, raw)}") from None
    _check_terms(ref, path)
    return ref
