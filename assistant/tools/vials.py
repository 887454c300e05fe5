"""Vials: which single-dose vials to open (least drug, then fewest vials), and how to prepare the dose."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING

from pydantic import BaseModel

from assistant.models import Figure

if TYPE_CHECKING:
    from assistant.tools.dose_facts import DoseFacts


class VialCombination(BaseModel):
    """How many vials of each strength to open, and the milligrams they hold."""

    counts: dict[int, int]
    total_mg: int
    vial_count: int

    def waste_mg(self, dose_mg: Decimal) -> Decimal:
        """Milligrams opened but not given."""
        return Decimal(self.total_mg) - dose_mg


def best_combination(dose_mg: Decimal, strengths: Sequence[int]) -> VialCombination:
    """The smallest vial total at or above the dose; ties go to fewer vials, then larger vials."""
    if dose_mg <= 0:
        raise ValueError(f"dose must be positive, got {dose_mg}")
    if not strengths or any(s <= 0 for s in strengths):
        raise ValueError(f"vial strengths must be positive, got {list(strengths)}")
    sizes = sorted(set(strengths), reverse=True)
    # Any combination with more than ceil(dose / s) vials of one strength s wastes a whole vial,
    # so these ranges hold every candidate for the minimum.
    ranges = [range(math.ceil(dose_mg / s) + 1) for s in sizes]
    best: tuple[int, int, tuple[int, ...]] | None = None
    for counts in itertools.product(*ranges):
        total = sum(n * s for n, s in zip(counts, sizes))
        if total < dose_mg:
            continue
        # Negated counts (largest strength first) make the final tie-break prefer big vials.
        key = (total, sum(counts), tuple(-n for n in counts))
        if best is None or key < best:
            best = key
    assert best is not None  # ceil(dose / s) vials of any one strength always cover the dose
    total, vial_count, negated = best
    return VialCombination(
        counts={s: -n for s, n in zip(sizes, negated)}, total_mg=total, vial_count=vial_count
    )


class VialLine(BaseModel):
    """Vials of one strength to open, with NDCs and the sterile water to reconstitute each."""

    strength_mg: Figure
    count: Figure
    ndc_11: Figure
    ndc_10: Figure
    reconstitution_ml: Figure


class Preparation(BaseModel):
    """Reconstitution, the volume to withdraw, dilution and the in-line filter."""

    concentration_mg_per_ml: Figure
    withdraw_ml: Figure
    diluent_volume_ml: Figure
    diluent: Figure
    diluent_forbidden: Figure
    filter: Figure


def vial_lines(combo: VialCombination, facts: DoseFacts) -> list[VialLine]:
    """One line per vial strength opened, smallest strength first."""
    out = []
    for v in sorted(facts.vials, key=lambda v: int(v.strength.value)):
        mg = int(v.strength.value)
        if combo.counts.get(mg, 0):
            out.append(
                VialLine(
                    strength_mg=v.strength.figure(f"{mg} mg single-dose vial"),
                    count=v.strength.figure(f"{mg} mg vials to open", value=combo.counts[mg], unit="vials"),
                    ndc_11=v.ndc_11.figure(f"NDC, 11-digit, {mg} mg vial"),
                    ndc_10=v.ndc_10.figure(f"NDC, 10-digit, {mg} mg vial"),
                    reconstitution_ml=v.reconstitution.figure(f"Sterile Water for Injection per {mg} mg vial"),
                )
            )
    return out


def preparation(dose_mg: Decimal, facts: DoseFacts) -> Preparation:
    """How to reconstitute, withdraw and dilute the dose."""
    concentration = Decimal(str(facts.concentration_mg_per_ml.value))
    withdraw = (dose_mg / concentration).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return Preparation(
        concentration_mg_per_ml=facts.concentration_mg_per_ml.figure("concentration after reconstitution"),
        withdraw_ml=facts.concentration_mg_per_ml.figure(
            "volume to withdraw",
            value=float(withdraw),
            unit="mL",
            formula=f"{plain(dose_mg)} mg ÷ {concentration} mg/mL = {plain(withdraw)} mL",
        ),
        diluent_volume_ml=facts.diluent_volume_ml.figure("infusion bag volume"),
        diluent=facts.diluent.figure("diluent"),
        diluent_forbidden=facts.diluent_forbidden.figure("never dilute in"),
        filter=facts.filter.figure("in-line filter"),
    )


def plain(value: Decimal) -> str:
    """A Decimal without exponent or trailing zeros: 70, 69.85322498."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text
