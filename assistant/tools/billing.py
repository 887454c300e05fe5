"""J9354 billing: claim lines (JZ/JW units) and Medicare payment (ASP + 6%) by price quarter.

Given the milligrams given and the vials opened, this builds the J9354 drug lines (JZ administered,
JW discarded) and prices them with the quarter's payment limit from assistant.tools.prices. It is
separate from the price table so that module only reads, stores and looks up prices, and this one
only turns units into claim lines and dollars.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from assistant.errors import DataError
from assistant.models import Figure
from assistant.tools.prices import price_on
from assistant.tools.vials import plain

if TYPE_CHECKING:
    from assistant.tools.dose_facts import DoseFacts, Fact

CENT = Decimal("0.01")


def _usd(amount: Decimal) -> str:
    return f"${amount:,.2f}"


class Payment(BaseModel):
    """Medicare payment (ASP + 6%) for one cycle and for the course, with the price it rests on."""

    hcpcs: str
    quarter: str
    effective_start: dt.date
    effective_end: dt.date
    covers_date_of_service: bool
    price_source_file: str | None = Field(default=None, description="imported price: the CMS file name")
    price_source_row: int | None = Field(default=None, description="imported price: its line in that file")
    price_per_unit: Figure
    administered: Figure
    per_cycle: Figure
    course_cycles: Figure
    course: Figure
    rest_of_course: Figure | None = Field(
        default=None, description="EBC: this cycle and the ones left in the 14-cycle course"
    )
    after_sequestration: Figure | None = Field(
        default=None, description="mBC: the year after the billing guide's ~2% sequestration (approximate)"
    )


def medicare_payment(
    hcpcs: str,
    day: dt.date,
    administered_units: int,
    billed_units: int,
    mg_per_unit: Decimal,
    course_cycles: Figure,
    *,
    sequestration: Fact | None = None,
    rest_cycles: int | None = None,
) -> tuple[Payment, str | None]:
    """Payment for the administered units, for all billed units (one cycle), the course and, if asked, the
    rest of the course (rest_cycles, this one included) and the course after sequestration (a percent fact)."""
    found = price_on(hcpcs, day)
    row = found.row
    if row.mg_per_unit() != mg_per_unit:
        raise DataError(f"{hcpcs} price on file is per {row.dosage}, but {hcpcs} is billed {mg_per_unit} mg per unit")
    where = f"CMS ASP file {row.source_file}, row {row.source_row}" if row.source_file else "billing guide"
    price = row.payment_limit
    admin = (price * administered_units).quantize(CENT, ROUND_HALF_UP)
    cycle = (price * billed_units).quantize(CENT, ROUND_HALF_UP)
    cycles = int(course_cycles.value)
    course = cycle * cycles
    money = lambda label, value, formula: Figure(  # noqa: E731
        value=float(value), unit="USD", label=label, formula=formula, source=row.source
    )
    rest = None
    if rest_cycles is not None:
        left = cycle * rest_cycles
        rest = money(
            f"payment for the rest of the course, this cycle included ({rest_cycles} cycles)",
            left,
            f"{rest_cycles} cycles × {_usd(cycle)} = {_usd(left)}",
        )
    after = None
    if sequestration is not None:
        pct = Decimal(str(sequestration.value))
        net = (course * (1 - pct / 100)).quantize(CENT, ROUND_HALF_UP)
        after = Figure(
            value=float(net),
            unit="USD",
            label=f"{course_cycles.label}, after about {pct}% sequestration (the billing guide's figure; approximate)",
            formula=f"{_usd(course)} × (1 − {pct}%) = {_usd(net)}",
            source=sequestration.source,
        )
    payment = Payment(
        hcpcs=hcpcs,
        quarter=found.quarter,
        effective_start=found.effective_start,
        effective_end=found.effective_end,
        covers_date_of_service=found.covers_date,
        price_source_file=row.source_file,
        price_source_row=row.source_row,
        price_per_unit=Figure(
            value=float(price),
            unit="USD per unit",
            label=f"Medicare payment limit (ASP + 6%), {found.quarter_label}, {where}",
            source=row.source,
        ),
        administered=money(
            "payment for administered units (JZ)",
            admin,
            f"{administered_units} units × ${price}/unit = {_usd(admin)}",
        ),
        per_cycle=money(
            "payment per cycle, all billed units (JZ + JW)",
            cycle,
            f"{billed_units} units × ${price}/unit = {_usd(cycle)}",
        ),
        course_cycles=course_cycles,
        course=money(
            f"payment for {course_cycles.label}", course, f"{cycles} cycles × {_usd(cycle)} = {_usd(course)}"
        ),
        rest_of_course=rest,
        after_sequestration=after,
    )
    return payment, found.warning


ROUNDING_RULE = (
    "J9354 is billed at 1 unit per mg. Administered units (JZ) = the dose rounded half-up to a whole mg; "
    "discarded units (JW) = total mg in the vials opened − administered units, so the lines add up to the "
    "vials opened. No waste means one JZ line only."
)


class BillingLine(BaseModel):
    hcpcs: str
    modifier: Literal["JZ", "JW"]
    meaning: Literal["administered", "discarded"]
    units: Figure


class Billing(BaseModel):
    """The J9354 drug lines for one cycle."""

    hcpcs: Figure
    rounding_rule: str
    lines: list[BillingLine]
    total_units: Figure

    def units(self, modifier: str) -> int:
        return sum(int(line.units.value) for line in self.lines if line.modifier == modifier)


def billing(dose_mg: Decimal, vial_mg: int, facts: DoseFacts) -> Billing:
    """JZ line for the administered units and, when drug is discarded, a JW line for the rest."""
    hcpcs = str(facts.hcpcs.value)
    administered = int(dose_mg.quantize(Decimal(1), ROUND_HALF_UP))
    discarded = vial_mg - administered
    lines = [
        BillingLine(
            hcpcs=hcpcs,
            modifier="JZ",
            meaning="administered",
            units=facts.modifiers.figure(
                f"{hcpcs} units administered (JZ)",
                value=administered,
                unit="units",
                formula=f"{plain(dose_mg)} mg rounded half-up to a whole mg = {administered} units (1 unit = 1 mg)",
            ),
        )
    ]
    if discarded:
        lines.append(
            BillingLine(
                hcpcs=hcpcs,
                modifier="JW",
                meaning="discarded",
                units=facts.waste_line.figure(
                    f"{hcpcs} units discarded (JW)",
                    value=discarded,
                    unit="units",
                    formula=f"{vial_mg} mg in the vials opened − {administered} units administered = {discarded}",
                ),
            )
        )
    return Billing(
        hcpcs=facts.hcpcs.figure("HCPCS code"),
        rounding_rule=ROUNDING_RULE,
        lines=lines,
        total_units=facts.mg_per_unit.figure(
            f"{hcpcs} units billed (JZ + JW)",
            value=vial_mg,
            unit="units",
            formula=" + ".join(str(line.units.value) for line in lines) + f" = {vial_mg} units",
        ),
    )
