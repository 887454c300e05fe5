"""Pick the single-dose vials for a dose: least drug drawn, then fewest vials. Pure arithmetic."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from decimal import Decimal

from pydantic import BaseModel


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
