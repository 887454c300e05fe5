"""HER2 status from IHC and ISH results, by the billing guide's rules for Kadcyla."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field

from assistant.corpus import get_corpus
from assistant.errors import DataError, InputError
from assistant.models import SourceQuote
from assistant.tools.policy_case import normalise_ihc, normalise_ish

REFERENCE_FILE = Path(__file__).resolve().parent.parent / "data" / "checklist.yaml"
_QUOTE_KEYS = ("positive", "low", "low_to_enhertu", "ish_reflex", "ihc3_no_reflex")

Her2Category = Literal["positive", "low", "negative", "incomplete", "unknown"]


class Her2Status(BaseModel):
    """HER2 category, whether it allows Kadcyla, what to do next, and the passages it rests on."""

    ihc: str | None
    ish: str | None
    category: Her2Category = Field(description="positive, low, negative, incomplete (ISH needed) or unknown")
    eligible: bool | None = Field(description="True only for HER2-positive; None while incomplete or unknown")
    reason: str
    action: str | None = Field(default=None, description="what to obtain or do next, if anything")
    alternative: str | None = Field(default=None, description="the product the guide points to instead")
    sources: list[SourceQuote] = Field(default_factory=list)


@lru_cache(maxsize=4)
def her2_quotes(path: str = str(REFERENCE_FILE)) -> dict[str, SourceQuote]:
    """The billing-guide passages behind the HER2 rules, checked against the corpus."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        block = raw["her2"]
        doc_id = block["doc_id"]
        quotes = {key: block["quotes"][key] for key in _QUOTE_KEYS}
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: the her2 block needs doc_id and quotes {list(_QUOTE_KEYS)} ({exc!r})") from None
    corpus = get_corpus()
    return {key: corpus.find(doc_id, quote, section="HER2 rules") for key, quote in quotes.items()}


def classify_her2(ihc: Any, ish: Any) -> Her2Status:
    """Classify HER2 from the IHC score (0, 1+, 2+, 3+) and ISH result (positive, negative, pending, not_done).

    IHC 3+, or IHC 2+ with ISH-positive: HER2-positive (Kadcyla eligible). IHC 2+ with ISH pending or not done:
    incomplete (order ISH). IHC 1+, or 2+ with ISH-negative: HER2-low, not eligible; the guide points to Enhertu.
    IHC 0: HER2-negative, not eligible. Friendly spellings ('3', 'pos') are accepted; nonsense raises InputError.
    """
    try:
        ihc, ish = normalise_ihc(ihc), normalise_ish(ish)
    except ValueError as exc:
        raise InputError(f"HER2 result: {exc}") from None
    q = her2_quotes()

    def status(category: Her2Category, eligible: bool | None, reason: str, keys: tuple[str, ...],
               action: str | None = None, alternative: str | None = None) -> Her2Status:
        return Her2Status(ihc=ihc, ish=ish, category=category, eligible=eligible, reason=reason, action=action,
                          alternative=alternative, sources=[q[k] for k in keys])

    if ihc == "3+":
        return status("positive", True, "IHC 3+ is HER2-positive; it qualifies without ISH reflex.",
                      ("positive", "ihc3_no_reflex"))
    if ihc == "2+" and ish == "positive":
        return status("positive", True, "IHC 2+ with ISH-positive is HER2-positive.", ("positive",))
    if ihc == "2+" and ish in (None, "pending", "not_done"):
        said = {None: "is not given", "pending": "is pending", "not_done": "has not been done"}[ish]
        return status("incomplete", None, f"IHC 2+ is equivocal and the ISH result {said}; HER2 status is not settled.",
                      ("ish_reflex",), action="Order (or obtain) reflex ISH testing for the IHC 2+ result.")
    if ihc == "1+" or (ihc == "2+" and ish == "negative"):
        shown = "IHC 1+" if ihc == "1+" else "IHC 2+ with ISH-negative"
        return status("low", False, f"{shown} is HER2-low, which is not eligible for Kadcyla; the billing guide "
                      "points HER2-low patients to Enhertu.", ("low", "low_to_enhertu"),
                      action="Re-verify the pathology report; consider Enhertu (J9358) as the guide advises.",
                      alternative="Enhertu")
    if ihc == "0":
        return status("negative", False, "IHC 0 is HER2-negative; Kadcyla is for HER2-positive disease only "
                      "(IHC 3+ or 2+/ISH+).", ("positive",))
    if ish == "positive":
        return status("unknown", None, "ISH is positive but the IHC score is not given; the guide defines "
                      "HER2-positive as IHC 3+ or IHC 2+ with ISH-positive.", ("positive",),
                      action="Obtain the HER2 IHC score from the pathology report.")
    return status("unknown", None, "The HER2 IHC score is not given.", ("positive",),
                  action="Obtain the HER2 IHC/ISH pathology report.")
