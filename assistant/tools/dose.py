"""Kadcyla dose, vials, waste, J9354 billing lines, preparation and Medicare payment for one cycle.

The request (weight or a prescribed mg dose, indication, mg/kg, cycle, date of service, vials in
stock, a recorded dose reduction) is parsed and checked in assistant.tools.dose_request; this
module holds the reference facts and the calculation.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.corpus import get_corpus
from assistant.errors import DataError
from assistant.models import Figure, SourceQuote
from assistant.safety import SafetyFinding, SafetyInput, check_safety
from assistant.settings import get_settings
from assistant.tools.billing import Billing, Payment, billing, medicare_payment
from assistant.tools.dose_facts import (  # noqa: F401 - re-exported: importers of dose read the facts from here
    FACTS_FILE,
    DoseFacts,
    Fact,
    VialFacts,
    _load_facts,
    _walk,
    load_dose_facts,
)
from assistant.tools.dose_request import (  # noqa: F401 - parse_weight is re-exported for importers of dose
    INDICATION_LABELS,
    KG_PER_LB,
    OFF_LABEL,
    DoseRequest,
    _dec,
    build_request,
    parse_weight,
)
from assistant.tools.vials import (
    Preparation,
    VialCombination,
    VialLine,
    best_combination,
    plain,
    preparation,
    vial_lines,
)

SOFT_MIN_KG, SOFT_MAX_KG = Decimal(35), Decimal(200)
TENTH = Decimal("0.1")


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
    weight_kg: Figure | None = Field(description="None only for a prescribed mg dose given without a weight")
    mg_per_kg: Figure | None = Field(
        description="the dose level; for a prescribed mg dose, the level it implies (None without a weight)"
    )
    reduced_dose: bool
    dose_basis: Literal["weight", "prescribed"] = Field(
        default="weight", description="weight × mg/kg, or the prescribed mg dose as given"
    )
    dose_mg: Figure
    vials: list[VialLine]
    drawn_mg: Figure
    waste_mg: Figure
    billing: Billing
    preparation: Preparation
    administration: Administration
    payment: Payment
    vials_available: list[int] = Field(default_factory=list, description="the vial strengths the choice was made from")
    safety: list[SafetyFinding] = Field(default_factory=list, description="label rules these facts touch, with quotes")
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
    asked for, including "what does Medicare pay for this one / the whole course". Never compute
    these in prose, and never quote the billing guide's worked examples (70 kg, 85 kg) for another
    patient: quote the figures this tool returns for this patient.

    Inputs (DoseRequest):
    - weight and weight_unit ('kg' or 'lb'): the patient's actual body weight exactly as the user
      gave it. Never guess or assume a weight or its unit; if either is missing, ask the user
      "What is the patient's weight, in kg or lb?". Accepted range 20–350 kg.
    - indication: 'mbc' (HER2+ metastatic breast cancer), 'ebc' (early breast cancer, adjuvant,
      KATHERINE, a 14-cycle course), or Centene CP.PHAR.229 I.B off-label uses dosed at up to
      3.6 mg/kg every 21 days: 'nsclc', 'salivary', 'brain_mets'. Ask if it is not clear.
    - mg_per_kg: default 3.6, the label dose and the maximum; lower values are reduced doses.
    - prescribed_mg: a dose in mg as prescribed, instead of weight × mg/kg (weight then optional:
      give it when known so the 3.6 mg/kg cap is checked). Not together with mg_per_kg.
    - dose_reduced: true when a dose reduction has been made; then give the reduced mg_per_kg.
      A dose at or above 3.6 mg/kg, or above previous_mg_per_kg, after a reduction is refused
      (the label: do not re-escalate).
    - previous_mg_per_kg: the previous cycle's dose level, if stated.
    - vials_available: vial strengths in stock, e.g. [160] ("we only stock 160 mg vials").
    - cycle: default 1 (cycle 1 has the 90-minute infusion); EBC cycles run 1–14.
    - date_of_service: picks the Medicare price quarter; default today.

    Returns a DoseResult. Every number is a Figure (value, unit, label, formula, source quote):
    weight in kg, dose in mg (weight × mg/kg, rounded down to 0.1 mg so it never exceeds the
    mg/kg asked for, or the prescribed mg with the mg/kg it implies), the least-waste combination
    of the vials in stock (100 mg and 160 mg unless limited; ties go to fewer vials) with 11- and
    10-digit NDCs, mg drawn and wasted, J9354 billing lines (JZ administered units, JW discarded
    units, rounding rule stated), reconstitution and withdrawal volumes, diluent and filter,
    infusion and observation minutes with CPT codes, and Medicare payment (ASP + 6%) for this
    patient's units: per cycle, for the course (EBC 14 cycles, with the rest of the course from
    this cycle; mBC and off-label uses one year, about 17 cycles) and, for mBC, the year after the
    billing guide's ~2% sequestration. `safety` holds the label rules the request touches, with
    quotes; `warnings` holds what the user must see (a stale price quarter, an unusual weight, a
    recorded reduction); pass them on. Raises InputError, whose message says what to fix, for
    refused input (no unit, weight outside 20–350 kg, mg/kg above 3.6, EBC cycle above 14, a
    dose that goes back up after a reduction, a reduction without its dose level).
    """
    request = build_request(**request.model_dump(exclude_unset=True))  # re-check: model_construct skips validation
    facts = load_dose_facts()
    warnings: list[str] = []
    notes: list[str] = []
    day = request.date_of_service
    if day is None:
        day = _today()
        notes.append(f"No date of service given: used today's date, {day}.")

    kg = request.weight_kg()
    if kg is not None and not SOFT_MIN_KG <= kg <= SOFT_MAX_KG:
        shown = plain(kg.quantize(TENTH))
        warnings.append(f"Weight {shown} kg is outside the usual adult range 35–200 kg; confirm it.")
    if request.indication in OFF_LABEL:
        diagnosis, cap = facts.offlabel_diagnoses[request.indication], facts.offlabel_dose
        notes.append(
            f"Off-label use, Centene CP.PHAR.229 I.B (NCCN-recommended): \"{diagnosis.quote}\" "
            f"Dose: \"{cap.quote}\" ({cap.doc_id})"
        )
    dose, dose_fig, level_fig, reduced = _dose(request, facts, kg, notes, warnings)
    stock, combo, drawn_label = _choose_vials(dose, request, facts, notes)
    combo_text = _combo_text(combo)
    waste = combo.waste_mg(dose)
    bill = billing(dose, combo.total_mg, facts)

    cycles, rest, sequestration = _course(request, facts, notes)
    payment, stale = medicare_payment(
        bill.lines[0].hcpcs, day, bill.units("JZ"), combo.total_mg, _dec(facts.mg_per_unit.value), cycles,
        sequestration=sequestration, rest_cycles=rest,
    )
    if stale:
        warnings.append(stale)
    level = request.dose_level()
    findings = check_safety(SafetyInput(
        mg_per_kg=None if level is None else float(round(level, 4)),
        previous_mg_per_kg=request.previous_mg_per_kg,
        dose_reduced=request.dose_reduced,
        cycle=request.cycle,
    ))  # fmt: skip
    warnings += [f"{f.message} \"{f.quote.quote}\" ({f.quote.doc_id})" for f in findings]

    lb_formula = None
    if request.weight_unit == "lb" and kg is not None:
        lb_formula = f"{request.weight:g} lb × {KG_PER_LB} kg/lb = {plain(kg)} kg"
    return DoseResult(
        request=request,
        indication_label=INDICATION_LABELS[request.indication],
        date_of_service=day,
        weight_kg=None if kg is None else Figure(
            value=float(kg), unit="kg", label="patient weight (input)", formula=lb_formula
        ),
        mg_per_kg=level_fig,
        reduced_dose=reduced,
        dose_basis="weight" if request.prescribed_mg is None else "prescribed",
        dose_mg=dose_fig,
        vials=vial_lines(combo, facts),
        drawn_mg=facts.vial_choice.figure(
            drawn_label, value=combo.total_mg, unit="mg", formula=f"{combo_text} = {combo.total_mg} mg"
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
        vials_available=stock,
        safety=findings,
        warnings=warnings,
        notes=notes,
    )


def _dose(
    request: DoseRequest, facts: DoseFacts, kg: Decimal | None, notes: list[str], warnings: list[str]
) -> tuple[Decimal, Figure, Figure | None, bool]:
    """(dose mg, dose figure, dose-level figure, reduced?) from weight × mg/kg or from the prescribed mg."""
    cap = facts.offlabel_dose if request.indication in OFF_LABEL else facts.label_mg_per_kg
    label_dose = _dec(facts.label_mg_per_kg.value)
    rule = facts.no_re_escalation
    if request.prescribed_mg is None:
        assert kg is not None  # the request refuses a weight-less dose without prescribed_mg
        mg_per_kg = _dec(request.mg_per_kg)
        exact = kg * mg_per_kg
        dose = exact.quantize(TENTH, ROUND_DOWN)  # down, so the dose never exceeds mg/kg × weight
        formula = f"{plain(kg)} kg × {plain(mg_per_kg)} mg/kg = {plain(exact)} mg"
        if exact != dose:
            formula += f" → {plain(dose)} mg (rounded down to 0.1 mg)"
        reduced = mg_per_kg < label_dose
        if reduced:
            notes.append(
                f"Reduced dose: {plain(mg_per_kg)} mg/kg, below the {label_dose} mg/kg label dose. "
                f"\"{rule.quote}\" ({rule.doc_id})"
            )
        what = f"reduced dose, below the {label_dose} mg/kg label dose" if reduced else "label dose"
        if request.indication in OFF_LABEL and not reduced:
            what = "Centene I.B maximum for this off-label use"
        return dose, cap.figure("dose", value=float(dose), unit="mg", formula=formula), cap.figure(
            what, value=request.mg_per_kg
        ), reduced

    dose = _dec(request.prescribed_mg)
    dose_fig = Figure(value=float(dose), unit="mg", label="dose (as prescribed)", formula=f"{plain(dose)} mg as prescribed")
    if kg is None:
        warnings.append(
            f"No weight given: the {facts.max_mg_per_kg.value} mg/kg maximum could not be checked for "
            f"{plain(dose)} mg. Give the weight to check it."
        )
        return dose, dose_fig, None, bool(request.dose_reduced)
    implied = (dose / kg).quantize(Decimal("0.01"), ROUND_HALF_UP)
    full = (kg * label_dose).quantize(TENTH, ROUND_DOWN)
    reduced = dose < full
    if reduced:
        notes.append(
            f"The prescribed {plain(dose)} mg is {plain(implied)} mg/kg, below the {label_dose} mg/kg label dose "
            f"({plain(full)} mg for this weight). If it is a dose reduction: \"{rule.quote}\" ({rule.doc_id})"
        )
    level = cap.figure(
        "dose level the prescribed dose implies" + (f", below the {label_dose} mg/kg label dose" if reduced else ""),
        value=float(implied),
        formula=f"{plain(dose)} mg ÷ {plain(kg)} kg = {plain(implied)} mg/kg (rounded to 0.01)",
    )
    return dose, dose_fig, level, reduced


def _combo_text(combo: VialCombination) -> str:
    return " + ".join(f"{n} × {s} mg" for s, n in sorted(combo.counts.items()) if n)


def _choose_vials(
    dose: Decimal, request: DoseRequest, facts: DoseFacts, notes: list[str]
) -> tuple[list[int], VialCombination, str]:
    """The least-waste combination of the strengths in stock, and how it compares with both strengths."""
    every = sorted(int(v.strength.value) for v in facts.vials)
    stock = request.vials_available or every
    combo = best_combination(dose, stock)
    if stock == every:
        return stock, combo, "mg in the vials opened (least-waste combination)"
    best = best_combination(dose, every)
    extra = combo.total_mg - best.total_mg
    compare = (
        f"with both strengths the least-waste choice would be {_combo_text(best)} = {best.total_mg} mg, "
        f"{extra} mg less waste"
        if extra
        else "the same total as the least-waste choice with both strengths"
    )
    shelf = " and ".join(map(str, stock))
    rule = facts.vial_stock
    notes.append(
        f"Only {shelf} mg vials in stock: {_combo_text(combo)} = {combo.total_mg} mg; {compare}. "
        f"\"{rule.quote}\" ({rule.doc_id})"
    )
    return stock, combo, f"mg in the vials opened (least waste from the {shelf} mg vials in stock)"


def _course(request: DoseRequest, facts: DoseFacts, notes: list[str]) -> tuple[Figure, int | None, Fact | None]:
    """(cycles the course figure counts, cycles left from this one for EBC, sequestration fact for mBC)."""
    if request.indication == "ebc":
        course = facts.ebc_course_cycles
        left = int(course.value) - request.cycle
        notes.append(f"Cycle {request.cycle} of {course.value}; {left} more after this one.")
        return course.figure(f"the {course.value}-cycle adjuvant (EBC, KATHERINE) course"), left + 1, None
    year = facts.mbc_cycles_per_year
    if request.indication == "mbc":
        notes.append("mBC is treated until progression or unacceptable toxicity; the course figure is one year.")
        return year.figure("one year of mBC treatment (about 17 cycles a year, q3w)"), None, facts.sequestration_percent
    notes.append("Off-label uses are dosed every 21 days; the course figure is one year (about 17 cycles, q3w).")
    return year.figure("one year of treatment every 21 days (about 17 cycles a year, q3w)"), None, None
