"""Kadcyla's dose reference facts (assistant/data/dose_facts.yaml), each with its exact corpus passage.

Its own module so that the request checks (dose_request), the vial and billing helpers and the
calculator (dose) all read the facts without importing one another in a circle.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.corpus import get_corpus
from assistant.errors import DataError
from assistant.models import Figure, SourceQuote
from assistant.settings import get_settings

FACTS_FILE = Path(__file__).resolve().parent.parent / "data" / "dose_facts.yaml"




class Fact(BaseModel):
    """A reference value with the exact passage it comes from."""

    model_config = ConfigDict(extra="forbid")
    value: float | int | str
    unit: str
    doc_id: str
    section: str = ""
    quote: str
    source: SourceQuote | None = None

    def figure(self, label: str, value: Any = None, unit: str | None = None, formula: str | None = None) -> Figure:
        return Figure(
            value=self.value if value is None else value,
            unit=unit or self.unit,
            label=label,
            formula=formula,
            source=self.source,
        )


class VialFacts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    strength: Fact
    ndc_10: Fact
    ndc_11: Fact
    reconstitution: Fact


class DoseFacts(BaseModel):
    """Everything in assistant/data/dose_facts.yaml."""

    model_config = ConfigDict(extra="forbid")
    label_mg_per_kg: Fact
    max_mg_per_kg: Fact
    no_re_escalation: Fact
    ebc_course_cycles: Fact
    ebc_max_doses_policy: Fact
    mbc_cycles_per_year: Fact
    hcpcs: Fact
    mg_per_unit: Fact
    modifiers: Fact
    waste_line: Fact
    vial_choice: Fact
    vials: list[VialFacts] = Field(min_length=1)
    concentration_mg_per_ml: Fact
    diluent_volume_ml: Fact
    diluent: Fact
    diluent_forbidden: Fact
    filter: Fact
    first_infusion_minutes: Fact
    first_observation_minutes: Fact
    later_infusion_minutes: Fact
    later_observation_minutes: Fact
    first_cycle_cpt: list[Fact]
    later_cycle_cpt: list[Fact]
    offlabel_dose: Fact
    offlabel_diagnoses: dict[str, Fact]
    vial_stock: Fact
    sequestration_percent: Fact


def _walk(node: Any, kind: type) -> Iterator[Any]:
    """Every instance of kind inside nested models and lists, in field order."""
    if isinstance(node, kind):
        yield node
    elif isinstance(node, BaseModel):
        for name in type(node).model_fields:
            yield from _walk(getattr(node, name), kind)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item, kind)
    elif isinstance(node, dict):
        for item in node.values():
            yield from _walk(item, kind)


@lru_cache(maxsize=4)
def _load_facts(corpus_dir: str) -> DoseFacts:
    try:
        facts = DoseFacts.model_validate(yaml.safe_load(FACTS_FILE.read_text(encoding="utf-8")))
    except (ValidationError, yaml.YAMLError) as exc:
        raise DataError(f"{FACTS_FILE} is malformed: {exc}") from None
    corpus = get_corpus()
    for fact in _walk(facts, Fact):
        fact.source = corpus.find(fact.doc_id, fact.quote, fact.section)
        if str(fact.value) not in fact.quote:
            raise DataError(f"{FACTS_FILE}: value {fact.value!r} is not written in its quote {fact.quote[:60]!r}")
    return facts


def load_dose_facts() -> DoseFacts:
    """The dose facts, every quote checked against the corpus (DataError if one is not found)."""
    return _load_facts(str(get_settings().corpus_dir))


