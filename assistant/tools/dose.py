"""Kadcyla dose, vials, waste, J9354 billing lines, preparation and Medicare payment for one cycle.

The request (weight, indication, mg/kg, cycle, date of service) is parsed and checked in
assistant.tools.dose_request; this module holds the reference facts and the calculation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import ROUND_DOWN, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.corpus import get_corpus
from assistant.errors import DataError
from assistant.models import Figure, SourceQuote
from assistant.settings import get_settings
from assistant.tools.billing import Billing, Payment, billing, medicare_payment
from assistant.tools.dose_request import (  # noqa: F401 - parse_weight is re-exported for importers of dose
    INDICATION_LABELS,
    KG_PER_LB,
    DoseRequest,
    _dec,
    build_request,
    parse_weight,
)
from assistant.tools.vials import Preparation, VialLine, best_combination, plain, preparation, vial_lines

FACTS_FILE = Path(__file__).resolve().parent.parent / "data" / "dose_facts.yaml"
SOFT_MIN_KG, SOFT_MAX_KG = Decimal(35), Decimal(200)
TENTH = Decimal("0.1")


# ---------------------------------------------------------------- reference facts


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


# ---------------------------------------------------------------- result


class Administration(BaseModel):
    """Infusion and observation times and the administration CPT codes for this cycle."""

    cycle: int
    infusion_minutes: Figure
    observation_minutes: Figure
    condition: str | None = Field(default=None, description="when the shorter infusion applies")
    cpt: list[Figure]


class DoseResult(BaseModel):
    """One Kadcyla cycle: dose, vials, waste, billing, preparation, administration and payment."""

    request: DoseRequest
    indication_label: str
    date_of_service: dt.date
    weight_kg: Figure
    mg_per_kg: Figure
    reduced_dose: bool
    dose_mg: Figure
    vials: list[VialLine]
    drawn_mg: Figure
    waste_mg: Figure
    billing: Billing
    preparation: Preparation
    administration: Administration
    payment: Payment
    warnings: list[str] = Field(default_factory=list, description="what the user must see before acting")
    notes: list[str] = Field(default_factory=list)

    def figures(self) -> list[Figure]:
        """Every figure in the result, in field order."""
        return list(_walk(self, Figure))


def _today() -> dt.date:
    override = get_settings().today
    if override is None:
        return dt.date.today()
    try:
        return dt.date.fromisoformat(override)
    except ValueError:
        raise DataError(f"ASSISTANT_TODAY={override!r} is not a YYYY-MM-DD date") from None


def _administration(cycle: int, facts: DoseFacts) -> Administration:
    first = cycle == 1
    infusion = facts.first_infusion_minutes if first else facts.later_infusion_minutes
    observation = facts.first_observation_minutes if first else facts.later_observation_minutes
    codes = facts.first_cycle_cpt if first else facts.later_cycle_cpt
    return Administration(
        cycle=cycle,
        infusion_minutes=infusion.figure(f"infusion time, cycle {cycle}"),
        observation_minutes=observation.figure("observation after the infusion, at least"),
        condition=None if first else "if prior infusions were well tolerated",
        cpt=[f.figure("administration CPT code, 1 unit") for f in codes],
    )


def calculate_dose(request: DoseRequest) -> DoseResult:
    """Calculate one Kadcyla (ado-trastuzumab emtansine, HCPCS J9354) cycle for a patient.

    Use this tool whenever a dose, vial count, waste, J9354 units, JZ/JW lines, reconstitution or
    withdrawal volume, infusion time, administration CPT code or Medicare payment for Kadcyla is
    asked for. Never compute these in prose: quote the figures this tool returns.

    Inputs (DoseRequest):
    - weight and weight_unit ('kg' or 'lb'): the patient's actual body weight exactly as the user
      gave it. Never guess or assume a weight or its unit; if either is missing, ask the user
      "What is the patient's weight, in kg or lb?". Accepted range 20–350 kg.
    - indication: 'mbc' (HER2+ metastatic breast cancer) or 'ebc' (early breast cancer, adjuvant,
      KATHERINE, a 14-cycle course). Ask if it is not clear.
    - mg_per_kg: default 3.6, the label dose and the maximum; lower values are reduced doses.
    - cycle: default 1 (cycle 1 has the 90-minute infusion); EBC cycles run 1–14.
    - date_of_service: picks the Medicare price quarter; default today.

    Returns a DoseResult. Every number is a Figure (value, unit, label, formula, source quote):
    weight in kg, dose in mg (weight × mg/kg, rounded down to 0.1 mg so it never exceeds the
    mg/kg asked for), the least-waste combination of 100 mg and 160 mg single-dose vials (ties go
    to fewer vials) with 11- and 10-digit NDCs, mg drawn and wasted, J9354 billing lines (JZ
    administered units, JW discarded units, rounding rule stated), reconstitution and withdrawal
    volumes, diluent and filter, infusion and observation minutes with CPT codes, and Medicare
    payment (ASP + 6%) for the administered units, per cycle and for the course (EBC 14 cycles;
    mBC about 17 cycles a year). `warnings` holds what the user must see (a stale price quarter,
    an unusual weight); pass them on. Raises InputError, whose message says what to fix, for
    refused input (no unit, weight outside 20–350 kg, mg/kg above 3.6, EBC cycle above 14).
    """
    request = build_request(**request.model_dump())  # re-check: model_construct skips validation
    facts = load_dose_facts()
    warnings: list[str] = []
    notes: list[str] = []
    day = request.date_of_service
    if day is None:
        day = _today()
        notes.append(f"No date of service given: used today's date, {day}.")

    kg = request.weight_kg()
    if not SOFT_MIN_KG <= kg <= SOFT_MAX_KG:
        shown = plain(kg.quantize(TENTH))
        warnings.append(f"Weight {shown} kg is outside the usual adult range 35–200 kg; confirm it.")
    mg_per_kg = _dec(request.mg_per_kg)
    label_dose = _dec(facts.label_mg_per_kg.value)
    reduced = mg_per_kg < label_dose
    if reduced:
        rule = facts.no_re_escalation
        notes.append(
            f"Reduced dose: {plain(mg_per_kg)} mg/kg, below the {label_dose} mg/kg label dose. "
            f"\"{rule.quote}\" ({rule.doc_id})"
        )

    exact = kg * mg_per_kg
    dose = exact.quantize(TENTH, ROUND_DOWN)  # down, so the dose never exceeds mg/kg × weight
    combo = best_combination(dose, [int(v.strength.value) for v in facts.vials])
    combo_text = " + ".join(f"{n} × {s} mg" for s, n in sorted(combo.counts.items()) if n)
    waste = combo.waste_mg(dose)
    bill = billing(dose, combo.total_mg, facts)

    if request.indication == "ebc":
        course = facts.ebc_course_cycles
        cycles = course.figure(f"the {course.value}-cycle adjuvant (EBC, KATHERINE) course")
        left = int(course.value) - request.cycle
        notes.append(f"Cycle {request.cycle} of {course.value}; {left} more after this one.")
    else:
        cycles = facts.mbc_cycles_per_year.figure("one year of mBC treatment (about 17 cycles a year, q3w)")
        notes.append("mBC is treated until progression or unacceptable toxicity; the course figure is one year.")
    payment, stale = medicare_payment(
        bill.lines[0].hcpcs, day, bill.units("JZ"), combo.total_mg, _dec(facts.mg_per_unit.value), cycles
    )
    if stale:
        warnings.append(stale)

    dose_formula = f"{plain(kg)} kg × {plain(mg_per_kg)} mg/kg = {plain(exact)} mg"
    if exact != dose:
        dose_formula += f" → {plain(dose)} mg (rounded down to 0.1 mg)"
    lb_formula = f"{request.weight:g} lb × {KG_PER_LB} kg/lb = {plain(kg)} kg" if request.weight_unit == "lb" else None
    return DoseResult(
        request=request,
        indication_label=INDICATION_LABELS[request.indication],
        date_of_service=day,
        weight_kg=Figure(value=float(kg), unit="kg", label="patient weight (input)", formula=lb_formula),
        mg_per_kg=facts.label_mg_per_kg.figure(
            f"reduced dose, below the {label_dose} mg/kg label dose" if reduced else "label dose",
            value=request.mg_per_kg,
        ),
        reduced_dose=reduced,
        dose_mg=facts.label_mg_per_kg.figure("dose", value=float(dose), unit="mg", formula=dose_formula),
        vials=vial_lines(combo, facts),
        drawn_mg=facts.vial_choice.figure(
            "mg in the vials opened (least-waste combination)",
            value=combo.total_mg,
            unit="mg",
            formula=f"{combo_text} = {combo.total_mg} mg",
        ),
        waste_mg=facts.waste_line.figure(
            "mg discarded",
            value=float(waste),
            unit="mg",
            formula=f"{combo.total_mg} mg − {plain(dose)} mg = {plain(waste)} mg",
        ),
        billing=bill,
        preparation=preparation(dose, facts),
        administration=_administration(request.cycle, facts),
        payment=payment,
        warnings=warnings,
        notes=notes,
    )
