"""J-code / NDC disambiguation for look-alike HER2 drugs: which product each clue points to, and whether they agree."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from assistant.corpus import check_input_text
from assistant.models import Figure, SourceQuote
from assistant.tools.code_clues import Clue, ClueKind, Lexicon, find_clues, primary_of
from assistant.tools.code_reference import Product, Reference, load_reference

Verdict = Literal["consistent", "conflicting", "ambiguous", "unknown"]

_KIND_LABEL = {"name": "name", "alias": "alias", "jcode": "J-code", "ndc": "NDC", "dose": "dose",
               "payload": "payload", "amount": "amount"}


class ConflictPoint(BaseModel):
    """One clue in a conflict and where it points."""

    text: str
    kind: ClueKind
    products: list[str] = Field(description="product ids; empty when the clue is not in the reference")
    jcodes: list[str] = Field(default_factory=list, description="the J-codes of those products")


class Conflict(BaseModel):
    """Clues that cannot all be true of one product, and what to confirm before the claim."""

    points: list[ConflictPoint]
    confirm: list[str]
    quotes: list[SourceQuote]


class NdcMatch(BaseModel):
    """An NDC in the query resolved to its product and package."""

    text: str
    product: str
    ndc10: str
    ndc11: str
    strength_mg: float
    source: SourceQuote


class UnitConversion(BaseModel):
    """A mg amount as billing units of one HCPCS code; units is None when the code's unit is not in the reference."""

    jcode: str
    product: str
    mg: float
    mg_per_unit: float | None
    exact_units: float | None = Field(description="mg ÷ mg per unit, before rounding")
    units: int | None
    rounding: str
    source: SourceQuote | None = Field(description="the HCPCS descriptor that gives the unit size")
    note: str = ""


class CodeWarning(BaseModel):
    """A do-not-confuse / do-not-substitute warning, in the documents' words."""

    id: str
    text: str
    quotes: list[SourceQuote]


class CodeResult(BaseModel):
    """What each clue in the query points to, whether the clues agree, and the cited facts."""

    query: str
    verdict: Verdict = Field(
        description="consistent: every clue fits one product; conflicting: clues point to different products; "
        "ambiguous: a name fits several products and nothing settles it; unknown: nothing in the reference matched"
    )
    message: str = Field(description="a plain summary; every number in it is in figures()")
    clues: list[Clue]
    products: list[Product] = Field(description="the product(s) in question, with their cited facts")
    choices: list[str] = Field(default_factory=list, description="product ids to choose from when ambiguous")
    conflicts: list[Conflict] = Field(default_factory=list)
    ndcs: list[NdcMatch] = Field(default_factory=list)
    units: list[UnitConversion] = Field(default_factory=list)
    warnings: list[CodeWarning] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="fuzzy readings, unchecked clues, external notes")

    def figures(self) -> list[Figure]:
        """Every number or code this result states, with the passage it rests on."""
        out: list[Figure] = []
        for p in self.products:
            out.append(Figure(value=str(p.jcode.value), unit="HCPCS code", label=f"{p.brand.value} J-code",
                              source=p.jcode.source))
            if p.mg_per_unit is not None:
                out.append(Figure(value=p.mg_per_unit.value, unit="mg per billing unit",
                                  label=f"{p.jcode.value} billing unit", source=p.mg_per_unit.source))
            for d in p.doses:
                label = f"{p.brand.value} dose {d.schedule} {d.context}".strip()
                out.append(Figure(value=d.value, unit="mg/kg", label=label, source=d.source))
            for n in p.ndcs:
                out += _ndc_figures(p.brand.value, n.ndc10, n.ndc11, n.strength_mg, n.source)
        for m in self.ndcs:
            out += _ndc_figures(m.product, m.ndc10, m.ndc11, m.strength_mg, m.source)
        for c in self.clues:
            if c.value is not None:
                out.append(Figure(value=c.value, unit=c.unit, label=f"{c.kind} from the query", source=c.quote))
            elif c.kind in ("jcode", "ndc"):
                out.append(Figure(value=c.matched or c.text, unit="HCPCS code" if c.kind == "jcode" else "NDC",
                                  label=f"{c.kind} from the query ({c.status})", source=c.quote))
        for u in self.units:
            if u.units is None:
                continue
            out.append(Figure(value=u.mg, unit="mg", label="amount from the query"))
            out.append(Figure(value=u.exact_units, unit="billing units before rounding", label=f"{u.jcode} units",
                              formula=f"{u.mg:g} mg ÷ {u.mg_per_unit:g} mg per unit", source=u.source))
            out.append(Figure(value=u.units, unit="billing units", label=f"{u.jcode} units for {u.mg:g} mg",
                              formula=f"ceil({u.mg:g} mg ÷ {u.mg_per_unit:g} mg per unit)", source=u.source))
        return out


def _ndc_figures(who: str | float, ndc10: str, ndc11: str, strength: float, source: SourceQuote) -> list[Figure]:
    return [
        Figure(value=ndc10, unit="NDC", label=f"{who} NDC (10-digit)", source=source),
        Figure(value=ndc11, unit="NDC", label=f"{who} NDC (11-digit)", source=source),
        Figure(value=strength, unit="mg", label=f"{who} vial strength", source=source),
    ]


def disambiguate_code(query: str) -> CodeResult:
    """Check which HER2-targeted drug a text names, by brand, generic name, alias, HCPCS J-code, NDC, dose or payload.

    Use this tool whenever a question or a claim line mentions Kadcyla, Enhertu, trastuzumab (Herceptin or a
    biosimilar), Perjeta, Phesgo or Margenza, any of their aliases (T-DM1, T-DXd, trastuzumab emtansine,
    trastuzumab deruxtecan, ado-trastuzumab), a J-code (J9354, J9358, J9355, J9306, J9316, J9353), an NDC
    (10- or 11-digit, with or without hyphens), a mg/kg dose, or a payload (DM1, deruxtecan) — and before
    stating which code, NDC or dose belongs to which drug. These drugs look alike: a claim with the wrong
    J-code (J9354 Kadcyla vs J9358 Enhertu) is denied, and Kadcyla must never be substituted for trastuzumab.

    Input: the user's free text as is, e.g. "J9358 3.6 mg/kg", "trastuzumab emtansine 5.4 mg/kg",
    "T-DXd J9354", "50242-087-01", "Is J9354 Enhertu?", "kadcila 252 mg". Misspelled names are read by fuzzy
    matching; ordinary words are ignored. Add a mg amount ("252 mg") to get billing units per code.

    Output: `verdict` is consistent (all clues fit one product), conflicting (clues point to different
    products — `conflicts` says which clue points where and what to confirm before the claim, with the
    billing guide's quotes), ambiguous (a name such as bare "trastuzumab" fits several products — `choices`
    lists them; never pick one yourself), or unknown (nothing matched the reference). `products` holds each
    product's J-code, billing unit, labelled doses, NDCs, payload, HER2 tier and manufacturer, each with the
    exact corpus quote; `ndcs` gives an NDC's product, strength and both forms; `units` converts a mg amount
    to billing units (rounded up to whole units — stated in `rounding`); `warnings` carries the
    do-not-confuse/do-not-substitute quotes. State only facts found in the result, with their quotes;
    a fact the result does not give is not in the reference.

    Raises InputError for an empty query.
    """
    text = check_input_text(query, what="query")
    ref = load_reference()
    lex = _lexicon(ref)
    clues = find_clues(text, ref, lex)
    return _judge(text, clues, ref, lex)


_LEXICONS: dict[int, Lexicon] = {}


def _lexicon(ref: Reference) -> Lexicon:
    if id(ref) not in _LEXICONS:  # the reference is cached, so one lexicon per loaded reference
        _LEXICONS.clear()
        _LEXICONS[id(ref)] = Lexicon(ref)
    return _LEXICONS[id(ref)]


def _has(product: Product, kind: str) -> bool:
    return {"jcode": True, "ndc": bool(product.ndcs)}.get(kind, False)


def _judge(query: str, clues: list[Clue], ref: Reference, lex: Lexicon) -> CodeResult:
    identifying = [c for c in clues if c.kind != "amount"]
    pointing = [c for c in identifying if c.products]
    notes = [f"Read '{c.text}' as '{c.matched}' (similarity {c.score:g}/100)." for c in clues if c.score is not None]
    notes += [_sentence(c.note) for c in clues if c.status in ("unknown", "invalid")]
    touched = list(dict.fromkeys(p for c in pointing for p in c.products))
    unchecked: list[str] = []
    verdict: Verdict
    candidates: list[str] = []
    choices: list[str] = []
    conflicts: list[Conflict] = []
    if not pointing:
        verdict, shown = "unknown", []
    else:
        candidates = list(pointing[0].products)
        for c in identifying:
            if c.products:
                candidates = [p for p in candidates if p in c.products]
            elif c.status == "unknown" and c.kind == "dose":
                # A dose no product has (a reduced dose, a typo) is not evidence of another drug: flag, don't exclude.
                for p in candidates:
                    brand = ref.product(p).brand.value
                    doses = ", ".join(f"{d.value:g} mg/kg {d.schedule}".strip() for d in ref.product(p).doses)
                    unchecked.append(f"'{c.text}' is not a dose the reference gives for {brand} ({doses}); confirm "
                                     "the dose." if doses else f"'{c.text}' could not be checked: the reference "
                                     f"gives no dose for {brand}.")
            elif c.status == "unknown" and c.kind in ("jcode", "ndc"):
                for p in candidates:
                    if not _has(ref.product(p), c.kind):
                        unchecked.append(f"'{c.text}' could not be checked: the reference has no "
                                         f"{_KIND_LABEL[c.kind]} for {ref.product(p).brand.value}.")
                candidates = [p for p in candidates if not _has(ref.product(p), c.kind)]
        loose = [c for c in pointing if c.status == "ambiguous" and primary_of(c, lex) not in candidates]
        if not candidates:
            verdict, shown = "conflicting", touched
            conflicts = [_conflict(identifying, ref)]
        elif len(candidates) > 1:
            verdict, shown = "ambiguous", candidates
        elif loose:
            verdict, shown = "ambiguous", list(loose[0].products)
        else:
            verdict, shown = "consistent", candidates
        choices = shown if verdict == "ambiguous" else []
    products = [ref.product(p) for p in shown]
    for p in products:
        notes += [f"Not from the corpus ({e.source}): {e.text}" for e in p.external]
    result = CodeResult(
        query=query, verdict=verdict, message="", clues=clues, products=products, choices=choices,
        conflicts=conflicts, ndcs=_ndcs(clues, ref), units=_units(clues, touched, ref),
        warnings=_warnings(touched, ref), notes=list(dict.fromkeys(notes + unchecked)),
    )
    result.message = _message(result, ref, candidates, unchecked)
    return result


def _conflict(identifying: list[Clue], ref: Reference) -> Conflict:
    points = [
        ConflictPoint(text=c.text, kind=c.kind, products=c.products,
                      jcodes=[str(ref.product(p).jcode.value) for p in c.products])
        for c in identifying if c.products or c.status == "unknown"
    ]
    # Guidance follows the products named for certain; an ambiguous word alone does not pick it.
    definite = {p for c in identifying if c.status == "matched" for p in c.products}
    guide = next(g for g in ref.conflict_guidance if set(g.when_all) <= definite)
    return Conflict(points=points, confirm=guide.confirm, quotes=[q.source for q in guide.quotes])


def _ndcs(clues: list[Clue], ref: Reference) -> list[NdcMatch]:
    out = []
    for c in clues:
        if c.kind == "ndc" and c.status == "matched":
            product = ref.product(c.products[0])
            n = next(n for n in product.ndcs if n.ndc11 == c.matched)
            out.append(NdcMatch(text=c.text, product=product.id, ndc10=n.ndc10, ndc11=n.ndc11,
                                strength_mg=n.strength_mg, source=n.source))
    return out


def _units(clues: list[Clue], touched: list[str], ref: Reference) -> list[UnitConversion]:
    amounts = [c.value for c in clues if c.kind == "amount" and c.value is not None]
    products = [ref.product(p) for p in touched] or ref.products
    out = []
    for mg in amounts:
        for p in products:
            code = str(p.jcode.value)
            if p.mg_per_unit is None:
                out.append(UnitConversion(jcode=code, product=p.id, mg=mg, mg_per_unit=None, exact_units=None,
                                          units=None, rounding=ref.rounding, source=None,
                                          note=f"the reference gives no billing unit for {code}"))
                continue
            per = float(p.mg_per_unit.value)
            exact = Decimal(str(mg)) / Decimal(str(per))
            out.append(UnitConversion(jcode=code, product=p.id, mg=mg, mg_per_unit=per, exact_units=float(exact),
                                      units=math.ceil(exact), rounding=ref.rounding, source=p.mg_per_unit.source))
    return out


def _warnings(touched: list[str], ref: Reference) -> list[CodeWarning]:
    return [
        CodeWarning(id=w.id, text=w.text, quotes=[q.source for q in w.quotes])
        for w in ref.warnings if set(w.when_any) & set(touched)
    ]


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _describe(p: Product) -> str:
    """'Kadcyla (ado-trastuzumab emtansine, J9354, 3.6 mg/kg q3w)' from the product's facts."""
    parts = [str(p.generic.value), str(p.jcode.value)]
    if p.doses:
        main, *more = p.doses
        dose = f"{main.value:g} mg/kg {main.schedule}".strip()
        extra = "; ".join(f"{d.value:g} mg/kg for {d.context}" for d in more)
        parts.append(f"{dose} ({extra})" if extra else dose)
    return f"{p.brand.value} ({', '.join(parts)})"


def _message(result: CodeResult, ref: Reference, candidates: list[str], unchecked: list[str]) -> str:
    lines: list[str] = []
    if result.verdict == "unknown":
        names = ", ".join(str(p.brand.value) for p in ref.products)
        lines.append(f"No drug in the reference was recognised. It covers {names} by name, alias, J-code, NDC, dose "
                     "and payload.")
    elif result.verdict == "consistent":
        lines.append(f"{_describe(result.products[0])}: the clues that identify a drug all point to this product.")
    elif result.verdict == "ambiguous":
        loose = next((c for c in result.clues if c.status == "ambiguous"), None)
        options = " or ".join(_describe(p) for p in result.products)
        what = f"'{loose.text}' alone" if loose else "The clues"
        lines.append(f"Ambiguous: {what} could mean {options}.")
        if len(candidates) == 1:
            narrowed = ref.product(candidates[0]).brand.value
            lines.append(f"The other clues point to {narrowed}; confirm the full drug name.")
        lines.append("Name the brand, or give the J-code or NDC; do not guess.")
    else:
        by_target: dict[str, list[str]] = {}
        for point in result.conflicts[0].points:
            if not point.products:
                target = "not in the reference"
            elif len(point.products) == 1:
                target = _describe(ref.product(point.products[0]))
            else:
                target = "one of " + " / ".join(str(ref.product(p).brand.value) for p in point.products)
            by_target.setdefault(target, []).append(f"'{point.text}' ({_KIND_LABEL[point.kind]})")
        sides = [f"{', '.join(labels)} → {target}" for target, labels in by_target.items()]
        lines.append("Conflicting: the clues point to different drugs — " + "; ".join(sides) + ".")
        confirm = result.conflicts[0].confirm
        lines.append(f"Before the claim, confirm {', '.join(confirm[:-1])} and {confirm[-1]}: a claim with the wrong "
                     "J-code is denied for missing prior authorization on the drug actually given.")
        named = {p for c in result.clues if c.kind in ("name", "alias") for p in c.products}
        if len(named) > 1:
            lines.append("If the text names more than one drug on purpose (a regimen or a comparison), check each "
                         "one on its own.")
    for m in result.ndcs:
        lines.append(f"NDC {m.ndc10} (also written {m.ndc11}) is the {m.strength_mg:g} mg "
                     f"{ref.product(m.product).brand.value} vial.")
    for u in result.units:
        if u.units is None:
            lines.append(f"{u.mg:g} mg: the reference gives no billing unit for {u.jcode}.")
        else:
            exact = "" if u.exact_units == u.units else f"; {u.exact_units:g} rounded up"
            lines.append(f"{u.mg:g} mg = {u.units} units of {u.jcode} ({u.mg_per_unit:g} mg per unit{exact}).")
    lines += [f"Read '{c.text}' as '{c.matched}'." for c in result.clues if c.score is not None]
    lines += [_sentence(c.note) for c in result.clues if c.status in ("unknown", "invalid")]
    lines += unchecked
    return " ".join(lines)
