"""Named rules over a PatientCase, and three-valued all-of / any-of logic that combines them.

A policy file names these rules; adding a payer whose criteria use them needs no code.
Unknown is its own verdict and is never met.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from assistant.errors import DataError
from assistant.tools.her2 import Her2Status
from assistant.tools.policy_case import BOOL_WORDS, PatientCase

Verdict = Literal["met", "not_met", "unknown"]

DIAGNOSIS_WORDS = {
    "mbc": "HER2+ metastatic breast cancer",
    "ebc_residual": "early breast cancer with residual invasive disease after neoadjuvant therapy (adjuvant)",
    "nsclc": "recurrent, advanced or metastatic NSCLC",
    "salivary": "recurrent salivary gland tumor",
    "brain_mets": "brain metastases from breast cancer",
    "other": "a diagnosis this policy does not list",
}
# What counts toward a prior-therapy requirement; Enhertu and Kadcyla are not counted as trastuzumab-based.
THERAPY_GROUPS = {
    "trastuzumab_based": ({"trastuzumab", "phesgo"}, "trastuzumab-based therapy"),
    "taxane": ({"taxane", "paclitaxel", "docetaxel", "nab-paclitaxel"}, "a taxane"),
}


@dataclass
class Outcome:
    """A verdict, why, which case fields would settle it, and the numbers the reason states."""

    verdict: Verdict
    reason: str
    missing: list[str] = field(default_factory=list)
    # (value, unit, label, from_case): from_case False means the number is the policy's own threshold
    figures: list[tuple[Any, str, str, bool]] = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    case: PatientCase
    her2: Her2Status
    preferred: frozenset[str] = frozenset()


RULES: dict[str, Callable[..., Outcome]] = {}


def rule(fn: Callable[..., Outcome]) -> Callable[..., Outcome]:
    RULES[fn.__name__] = fn
    return fn


def _num(value: float) -> str:
    return f"{value:g}"


def _unknown(fld: str, what: str) -> Outcome:
    return Outcome("unknown", f"Unknown: {what} is not given.", [fld])


@rule
def diagnosis_in(ctx: Context, values: list[str]) -> Outcome:
    """The diagnosis is one of values."""
    dx = ctx.case.diagnosis
    if dx is None:
        return _unknown("diagnosis", "the diagnosis")
    wanted = " or ".join(DIAGNOSIS_WORDS.get(v, v) for v in values)
    if dx in values:
        return Outcome("met", f"The diagnosis is {DIAGNOSIS_WORDS[dx]}.")
    return Outcome("not_met", f"The diagnosis is {DIAGNOSIS_WORDS[dx]}, not {wanted}.")


@rule
def her2_positive(ctx: Context) -> Outcome:
    """HER2-positive by the billing guide's IHC/ISH rules."""
    h = ctx.her2
    stated = ctx.case.her2_positive
    if h.category == "unknown" and stated is not None:
        if stated:
            return Outcome("met", "HER2-positive as stated (no IHC or ISH result given: the pathology report must show it).")
        return Outcome("not_met", "Stated HER2-negative or HER2-low: Kadcyla requires HER2-positive disease.")
    if h.category == "positive":
        return Outcome("met", h.reason)
    if h.category in ("low", "negative"):
        return Outcome("not_met", h.reason)
    return Outcome("unknown", h.reason + (f" {h.action}" if h.action else ""),
                   ["her2_ish"] if h.category == "incomplete" else ["her2_ihc"])


@rule
def is_true(ctx: Context, field: str) -> Outcome:
    """A yes/no case field is yes."""
    value = getattr(ctx.case, field)
    yes, no = BOOL_WORDS[field]
    if value is None:
        return Outcome("unknown", f"Unknown: not stated whether {yes}.", [field])
    return Outcome("met", f"The case says {yes}.") if value else Outcome("not_met", f"The case says {no}.")


@rule
def is_false(ctx: Context, field: str) -> Outcome:
    """A yes/no case field is no."""
    value = getattr(ctx.case, field)
    yes, no = BOOL_WORDS[field]
    if value is None:
        return Outcome("unknown", f"Unknown: not stated whether {yes}.", [field])
    return Outcome("not_met", f"The case says {yes}.") if value else Outcome("met", f"The case says {no}.")


@rule
def min_age(ctx: Context, years: int) -> Outcome:
    """Age is at least years."""
    age = ctx.case.age
    if age is None:
        return _unknown("age", "the patient's age")
    figures = [(age, "years", "patient age", True), (years, "years", "minimum age", False)]
    if age >= years:
        return Outcome("met", f"Age {age} is at least {years}.", figures=figures)
    return Outcome("not_met", f"Age {age} is under {years}.", figures=figures)


@rule
def regimen_is(ctx: Context, value: str) -> Outcome:
    """Kadcyla is given as value (single_agent, with_neratinib, combination)."""
    regimen, others = ctx.case.regimen, ctx.case.combined_with or []
    if regimen is None:
        return _unknown("regimen", "whether Kadcyla is given alone or in combination")
    said = {"single_agent": "as a single agent", "with_neratinib": "in combination with neratinib"}
    shown = said.get(regimen) or ("with " + ", ".join(others) if others else "in a combination")
    verdict: Verdict = "met" if regimen == value else "not_met"
    tail = "" if verdict == "met" else f", not {said.get(value, value)}"
    return Outcome(verdict, f"Kadcyla is prescribed {shown}{tail}.")


@rule
def prior_therapies_include(ctx: Context, groups: list[str]) -> Outcome:
    """The prior therapies include a drug from each group (THERAPY_GROUPS)."""
    case = ctx.case
    prior, never = case.prior_therapies, case.therapies_not_received or []
    if prior is None and not never:
        return _unknown("prior_therapies", "the prior therapy history")
    prior = prior or []
    lacking, open_ = [], []
    for g in groups:
        drugs, words = THERAPY_GROUPS[g]
        if set(prior) & drugs:
            continue
        if set(never) & drugs or case.prior_therapies_complete and case.prior_therapies is not None:
            lacking.append(words)
        else:
            open_.append(words)
    listed = ", ".join(prior) or "none"
    if lacking:
        said = f" (stated not received: {', '.join(never)})" if never else ""
        return Outcome("not_met", f"No {' and no '.join(lacking)} among the prior therapies ({listed}){said}.")
    if open_:
        return Outcome("unknown", f"Unknown: whether the member received {' and '.join(open_)} is not stated "
                       f"(prior therapies named: {listed}).", ["prior_therapies"])
    wanted = " and ".join(THERAPY_GROUPS[g][1] for g in groups)
    return Outcome("met", f"Prior therapies ({listed}) include {wanted}.")


@rule
def dose_within(ctx: Context, max_mg_per_kg: float, every_days: int, max_doses: int | None = None) -> Outcome:
    """Dose at most max_mg_per_kg, at least every_days apart, and at most max_doses in all."""
    case = ctx.case
    checks = [("dose_mg_per_kg", case.dose_mg_per_kg, max_mg_per_kg, "mg/kg", "dose", "<="),
              ("interval_days", case.interval_days, every_days, "days", "interval between doses", ">=")]
    if max_doses is not None:
        checks.append(("number_of_doses", case.number_of_doses, max_doses, "doses", "number of doses", "<="))
    bad, ok, missing, figures = [], [], [], []
    for fld, value, limit, unit, what, op in checks:
        if value is None:
            missing.append(fld)
            continue
        figures += [(value, unit, f"requested {what}", True), (limit, unit, f"limit on {what}", False)]
        fits = value <= limit if op == "<=" else value >= limit
        word = ("at most" if op == "<=" else "at least") if fits else ("over" if op == "<=" else "under")
        text = f"{what} {_num(value)} {unit} is {word} {_num(limit)} {unit}"
        (ok if fits else bad).append(text)
    if bad:
        return Outcome("not_met", "Exceeds the limit: " + "; ".join(bad) + ".", figures=figures)
    if missing:
        asked = ", ".join(PatientCase.question(m).rstrip("?").lower() for m in missing)
        return Outcome("unknown", f"Unknown: {asked} not given.", missing, figures)
    return Outcome("met", "Within the limit: " + "; ".join(ok) + ".", figures=figures)


@rule
def at_least(ctx: Context, field: str, minimum: int, unit: str) -> Outcome:
    """A numeric case field is at least minimum."""
    value = getattr(ctx.case, field)
    if value is None:
        return _unknown(field, PatientCase.question(field).rstrip("?").lower())
    what = field.replace("_", " ")
    figures = [(value, unit, what, True), (minimum, unit, f"minimum {what}", False)]
    if value >= minimum:
        return Outcome("met", f"{value} {unit} is at least {minimum} {unit}.", figures=figures)
    return Outcome("not_met", f"{value} {unit} is fewer than {minimum} {unit}.", figures=figures)


@rule
def subsequent_line(ctx: Context) -> Outcome:
    """Requested as second line or later."""
    line = ctx.case.line_of_therapy
    if line is None:
        return _unknown("line_of_therapy", "the line of therapy")
    if line >= 2:
        return Outcome("met", f"Kadcyla is requested as line {line}, a subsequent therapy.")
    return Outcome("not_met", "Kadcyla is requested as first-line therapy, not as subsequent therapy.")


@rule
def product_in(ctx: Context, values: list[str]) -> Outcome:
    """The requested product is one of values."""
    product = ctx.case.requested_product
    if product is None:
        return _unknown("requested_product", "the requested product")
    if product in values:
        return Outcome("met", f"The requested product is {product}.")
    return Outcome("not_met", f"The requested product is {product}, not {' or '.join(values)}.")


def _preferred_trials(ctx: Context, outcome: str) -> list[str] | None:
    trials = ctx.case.preferred_trials
    if trials is None:
        return None
    return sorted({t.product for t in trials if t.outcome == outcome and t.product in ctx.preferred})


@rule
def preferred_failures(ctx: Context, minimum: int) -> Outcome:
    """Failure or inadequate response with at least minimum distinct preferred products."""
    failed = _preferred_trials(ctx, "failure")
    if failed is None:
        return _unknown("preferred_trials", "which preferred products were tried, and how they ended")
    figures = [(len(failed), "preferred products", "preferred products failed", True),
               (minimum, "preferred products", "failures required", False)]
    shown = f" ({', '.join(failed)})" if failed else ""
    verdict: Verdict = "met" if len(failed) >= minimum else "not_met"
    return Outcome(verdict, f"Failure or inadequate response with {len(failed)} preferred product(s){shown}; "
                   f"at least {minimum} needed.", figures=figures)


@rule
def preferred_any(ctx: Context, outcome: str) -> Outcome:
    """At least one preferred product ended with outcome (intolerance, contraindication)."""
    found = _preferred_trials(ctx, outcome)
    if found is None:
        return _unknown("preferred_trials", "which preferred products were tried, and how they ended")
    if found:
        return Outcome("met", f"Documented {outcome} with preferred product(s): {', '.join(found)}.")
    return Outcome("not_met", f"No {outcome} with a preferred product is recorded.")


@rule
def document_provided(ctx: Context, id: str) -> Outcome:
    """The checklist document id is among the documents provided."""
    documents = ctx.case.documents
    if documents is None:
        return Outcome("unknown", f"Unknown: the case does not list the documents provided ({id}).", ["documents"])
    if id in documents:
        return Outcome("met", f"Provided: {id}.")
    return Outcome("not_met", f"Not provided: {id}.")


# ---------------------------------------------------------------- three-valued logic


def combine(kind: str, outcomes: list[Outcome]) -> Outcome:
    """Kleene all-of / any-of: unknown unless decided; reasons and missing fields come from what decided it."""
    want, lose = ("not_met", "met") if kind == "all_of" else ("met", "not_met")
    deciders = [o for o in outcomes if o.verdict == want]
    figures = [f for o in outcomes for f in o.figures]
    if deciders:
        return Outcome(want, " ".join(o.reason for o in deciders), [], figures)
    unknown = [o for o in outcomes if o.verdict == "unknown"]
    if unknown:
        missing = list(dict.fromkeys(m for o in unknown for m in o.missing))
        return Outcome("unknown", " ".join(o.reason for o in unknown), missing, figures)
    return Outcome(lose, " ".join(o.reason for o in outcomes), [], figures)


# The case fields each rule reads, so a reason can quote the words those fields were read from.
RULE_FIELDS = {"diagnosis_in": ("diagnosis",), "her2_positive": ("her2_ihc", "her2_ish", "her2_positive"),
               "min_age": ("age",), "regimen_is": ("regimen",), "prior_therapies_include": ("prior_therapies",),
               "dose_within": ("dose_mg_per_kg", "interval_days", "number_of_doses"),
               "subsequent_line": ("line_of_therapy",), "product_in": ("requested_product",)}


def _fields(expr: dict[str, Any]) -> tuple[str, ...]:
    args = expr.get("args", {})
    return (args["field"],) if "field" in args else RULE_FIELDS.get(expr["rule"], ())


def evaluate(expr: dict[str, Any], ctx: Context) -> Outcome:
    """Evaluate a logic expression: {rule, args} | {all_of: [...]} | {any_of: [...]}."""
    if "rule" in expr:
        outcome = RULES[expr["rule"]](ctx, **expr.get("args", {}))
        said = ctx.case.evidence or {}
        quotes = [said[f] for f in _fields(expr) if said.get(f)]
        if quotes and outcome.verdict != "unknown":
            outcome.reason += " Read from your message: " + "; ".join(f"“{q}”" for q in dict.fromkeys(quotes)) + "."
        return outcome
    kind = "all_of" if "all_of" in expr else "any_of"
    return combine(kind, [evaluate(e, ctx) for e in expr[kind]])


def check_expr(expr: Any, where: str) -> list[float]:
    """Validate an expression from a data file; return the numeric arguments it uses (to find in the quote)."""
    if not isinstance(expr, dict) or len(set(expr) & {"rule", "all_of", "any_of"}) != 1:
        raise DataError(f"{where}: logic must be one of {{rule, args}}, {{all_of: [...]}}, {{any_of: [...]}}")
    if "rule" not in expr:
        items = next(iter(expr.values()))
        if set(expr) - {"all_of", "any_of"} or not isinstance(items, list) or not items:
            raise DataError(f"{where}: all_of/any_of needs a non-empty list")
        return [n for i, item in enumerate(items) for n in check_expr(item, f"{where}[{i}]")]
    if set(expr) - {"rule", "args"}:
        raise DataError(f"{where}: unexpected keys {sorted(set(expr) - {'rule', 'args'})}")
    fn = RULES.get(expr["rule"])
    if fn is None:
        raise DataError(f"{where}: unknown rule {expr['rule']!r}; known: {sorted(RULES)}")
    args = expr.get("args", {})
    try:
        inspect.signature(fn).bind(None, **args)
    except TypeError as exc:
        raise DataError(f"{where}: rule {expr['rule']}: {exc}") from None
    if "field" in args and args["field"] not in PatientCase.model_fields:
        raise DataError(f"{where}: unknown case field {args['field']!r}")
    if expr["rule"] in ("is_true", "is_false") and args["field"] not in BOOL_WORDS:
        raise DataError(f"{where}: {args['field']!r} is not a yes/no field")
    for g in args.get("groups", []):
        if g not in THERAPY_GROUPS:
            raise DataError(f"{where}: unknown therapy group {g!r}; known: {sorted(THERAPY_GROUPS)}")
    return [v for v in args.values() if isinstance(v, int | float) and not isinstance(v, bool)]
