"""check_claim: a Kadcyla (J9354) claim, line by line, against the order, calculate_dose and the billing guide.

The drug lines are checked here (J9354 units against weight × 3.6 mg/kg, JZ and JW lines adding up
to the vials opened, 11-digit NDCs for every vial used, look-alike J-codes); administration codes,
ICD-10 codes and place of service in assistant.tools.claim_codes. Every finding carries its quote.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal

from pydantic import BaseModel, Field

from assistant.models import Figure
from assistant.safety import SafetyFinding, SafetyInput, check_safety
from assistant.tools.claim_codes import (
    check_admin_line,
    check_admin_lines,
    check_icd10,
    check_place_of_service,
    is_admin_or_visit,
)
from assistant.tools.claim_request import (
    ClaimChecks,
    ClaimFinding,
    ClaimLine,
    ClaimRequest,
    LineResult,
    Status,
    load_claim_checks,
    parse_claim,
    worst,
)
from assistant.tools.code_reference import load_reference, ndc_to_11
from assistant.tools.dose import DoseFacts, DoseResult, build_request, calculate_dose, load_dose_facts
from assistant.tools.vials import plain

KADCYLA = "J9354"
HUNDREDTH = Decimal("0.01")


class ClaimResult(BaseModel):
    """Every claim line with its verdict and reasons, the claim-wide checks, and the dose the order implies."""

    request: ClaimRequest
    overall: Status = Field(description="wrong if any finding is wrong, check if any needs checking, else ok")
    lines: list[LineResult]
    claim: list[ClaimFinding] = Field(description="checks of the claim as a whole: missing lines, ICD-10, place of service")
    implied_mg_per_kg: Figure | None = Field(default=None, description="JZ units ÷ weight, the dose level billed")
    expected: DoseResult | None = Field(default=None, description="calculate_dose for this weight: what the drug lines should show")
    safety: list[SafetyFinding] = Field(default_factory=list, description="label rules the claim's facts break or touch")


class _Order(BaseModel):
    """The dose the order implies for this weight (None without a weight), and at the 3.6 mg/kg cap."""

    kg: Decimal | None = None
    level: Decimal = Decimal("3.6")
    expected: DoseResult | None = None
    cap: DoseResult | None = None


def check_claim(request: ClaimRequest) -> ClaimResult:
    """Check a Kadcyla (ado-trastuzumab emtansine, HCPCS J9354) claim line by line before it is sent.

    Use this tool when a user asks whether a claim, its units, modifiers, NDCs, administration
    codes, diagnosis codes or place of service look right ("does this claim look right: J9354 JZ
    378 units, 70 kg ..."). Never judge a claim in prose: report each line's status and reason
    and the quote this tool returns.

    Inputs (ClaimRequest): `lines` (code, modifiers, units, ndcs with qualifier, unit and
    quantity), `icd10`, `place_of_service`, and the order: weight with its unit (never guessed),
    indication, cycle, date_of_service, the ordered mg_per_kg if below 3.6, dose_reduced,
    previous_mg_per_kg, vials_available and line_of_business, each null when not stated.

    Returns a ClaimResult: per line `ok` / `wrong` / `check` with findings (check id, reason,
    quote): J9354 JZ units against weight × 3.6 mg/kg from calculate_dose (the implied mg/kg is
    shown; above 3.6 is wrong), JZ and JW lines present and adding up to the vials opened, the
    least-waste vial choice, an 11-digit NDC (N4, ML) for every vial used, J9358 (Enhertu) or J9355
    (trastuzumab) on a Kadcyla claim, 96413 every cycle plus 96415 on cycle 1 and never 96365,
    Z51.11 with C50.x, and the place of service against the billing guide's site-of-care table.
    `claim` holds checks of the whole claim, `expected` the calculate_dose result the drug lines
    should match, `safety` the label rules broken (errors, which make the claim wrong) or to note
    (warnings). `wrong` means fix before sending; `check` means payer-dependent or not decidable
    from what was given.
    Raises InputError for a claim that cannot be read (no lines, a weight without its unit ...).
    """
    request = parse_claim(request.model_dump(exclude_unset=True))  # re-check: model_construct skips validation
    data, facts = load_claim_checks(), load_dose_facts()
    claim: list[ClaimFinding] = []
    order = _order(request, facts, data, claim)
    drug = [(i, line) for i, line in enumerate(request.lines) if line.code == KADCYLA]
    jz = [line for _, line in drug if "JZ" in line.modifiers]
    jw = [line for _, line in drug if "JW" in line.modifiers]
    jz_units = int(sum(line.units for line in jz))
    opened = _opened_mg(jz or [line for _, line in drug], facts)
    if opened is None and order.expected is not None:
        opened = order.expected.drawn_mg.value

    results = []
    for number, line in enumerate(request.lines, start=1):
        findings: list[ClaimFinding] = []
        if line.code == KADCYLA:
            findings += _drug_line(line, order, data, jz_units, opened, facts)
        elif is_admin_or_visit(line.code):
            findings += check_admin_line(line, request.cycle, data)
        else:
            findings += _other_code(line, data)
        results.append(LineResult(line=number, code=line.code, modifiers=line.modifiers, units=line.units,
                                  status=worst([f.status for f in findings]), findings=findings))

    claim += _drug_lines_together(request, drug, jz, jw, jz_units, opened, order, facts, data)
    claim += check_admin_lines(request.lines, request.cycle, data)
    claim += check_icd10(request.icd10, _indication(request), data)
    claim += check_place_of_service(request.place_of_service, request.cycle, request.line_of_business, data)

    implied = None
    if order.kg is not None and jz:
        shown = (Decimal(jz_units) / order.kg).quantize(HUNDREDTH, ROUND_HALF_UP)
        implied = Figure(value=float(shown), unit="mg/kg", label="dose level the JZ units imply",
                         formula=f"{jz_units} units ÷ {plain(order.kg)} kg = {plain(shown)} mg/kg",
                         source=data.quote("one-mg-per-unit"))
    safety = check_safety(SafetyInput(
        mg_per_kg=_level_for_safety(jz_units if jz else None, order, request),
        previous_mg_per_kg=request.previous_mg_per_kg,
        dose_reduced=request.dose_reduced,
        codes=[line.code for line in request.lines],
        cycle=request.cycle,
    ))  # fmt: skip
    statuses = [r.status for r in results] + [f.status for f in claim]
    statuses += ["wrong" for f in safety if f.severity == "error"]  # warnings are shown, not a verdict
    return ClaimResult(request=request, overall=worst(statuses), lines=results, claim=claim,
                       implied_mg_per_kg=implied, expected=order.expected, safety=safety)


def _indication(request: ClaimRequest) -> str | None:
    if request.indication is None:
        return None
    return build_request(weight="70 kg", indication=request.indication).indication  # the same spellings as dose


def _order(request: ClaimRequest, facts: DoseFacts, data: ClaimChecks, claim: list[ClaimFinding]) -> _Order:
    """calculate_dose for the claim's weight, at the ordered level and at the 3.6 mg/kg cap."""
    if request.weight is None:
        return _Order()
    indication = _indication(request) or "mbc"  # every indication is dosed the same; only the course differs
    cycle = request.cycle or 1
    course = int(facts.ebc_course_cycles.value)
    if indication == "ebc" and cycle > course:
        claim.append(ClaimFinding(
            check="ebc-course", status="wrong", quote=data.quote("ebc-course"),
            reason=f"Cycle {cycle} is beyond the {course}-cycle adjuvant (EBC, KATHERINE) course.",
        ))  # fmt: skip
        cycle = 1
    cap_level = Decimal(str(facts.max_mg_per_kg.value))
    level = cap_level
    if request.mg_per_kg is not None:
        level = Decimal(repr(request.mg_per_kg))
        if level > cap_level:
            claim.append(ClaimFinding(
                check="units-cap", status="wrong", quote=data.quote("units-cap"),
                reason=f"The order's {plain(level)} mg/kg is above the {cap_level} mg/kg maximum; "
                       "the units are checked against 3.6 mg/kg.",
            ))  # fmt: skip
            level = cap_level
    common = dict(weight=request.weight, weight_unit=request.weight_unit, indication=indication, cycle=cycle,
                  date_of_service=request.date_of_service, vials_available=request.vials_available)
    expected = calculate_dose(build_request(mg_per_kg=float(level), **common))
    cap = expected if level == cap_level else calculate_dose(build_request(**common))
    return _Order(kg=Decimal(repr(expected.weight_kg.value)), level=level, expected=expected, cap=cap)


def _ndc_vial(ndc: str, facts: DoseFacts):
    """The dose-facts vial an 11-digit NDC names (hyphens optional), else None."""
    digits = re.sub(r"\D", "", ndc)
    return next((v for v in facts.vials if str(v.ndc_11.value).replace("-", "") == digits and len(digits) == 11), None)


def _opened_mg(lines: list[ClaimLine], facts: DoseFacts) -> int | None:
    """mg in the vials the first drug line with NDCs reports (ML ÷ the vial's reconstitution volume, or UN)."""
    for line in lines:
        if not line.ndcs:
            continue
        total = 0
        for entry in line.ndcs:
            vial = _ndc_vial(entry.ndc, facts)
            unit = (entry.unit or "").upper()
            if vial is None or not entry.quantity or entry.quantity <= 0 or unit not in ("ML", "UN"):
                return None
            per = float(vial.reconstitution.value) if unit == "ML" else 1.0
            total += math.ceil(entry.quantity / per - 1e-9) * int(vial.strength.value)
        return total
    return None


def _drug_line(line: ClaimLine, order: _Order, data: ClaimChecks, jz_units: int, opened: int | None,
               facts: DoseFacts) -> list[ClaimFinding]:
    """One J9354 line: its modifier, its units and its NDCs."""
    q, out = data.quote, []
    mods = {"JZ", "JW"} & set(line.modifiers)
    if not mods:
        return [ClaimFinding(check="modifier-required", status="wrong", quote=q("modifier-required"),
                             reason="J9354 without JZ or JW: the administered units carry JZ, the discarded units JW.")] + _ndcs(line, facts, data)
    if mods == {"JZ", "JW"}:
        return [ClaimFinding(check="jz-jw-lines", status="wrong", quote=q("jz-jw-lines"),
                             reason="JZ and JW on one line: bill the administered units with JZ and the discarded "
                                    "units on a separate line with JW.")] + _ndcs(line, facts, data)
    if line.units != int(line.units) or line.units <= 0:
        out.append(ClaimFinding(check="whole-units", status="wrong", quote=q("one-mg-per-unit"),
                                reason=f"{line.units:g} units: J9354 is billed in whole units of 1 mg, more than 0."))
    elif "JZ" in mods:
        out.append(_jz_units(int(line.units), order, data))
    else:
        out.append(_jw_units(int(line.units), jz_units, opened, data))
    return out + _ndcs(line, facts, data)


def _jz_units(units: int, order: _Order, data: ClaimChecks) -> ClaimFinding:
    q = data.quote
    if order.expected is None or order.kg is None:
        return ClaimFinding(check="units-dose", status="check", quote=q("units-dose"),
                            reason=f"No weight on the claim: {units} units cannot be checked against 3.6 mg/kg. "
                                   "Give the weight.")
    exp, cap = order.expected, order.cap
    want, most = exp.billing.units("JZ"), cap.billing.units("JZ")
    kg = plain(order.kg.quantize(HUNDREDTH, ROUND_HALF_UP))
    level = (Decimal(units) / order.kg).quantize(HUNDREDTH, ROUND_HALF_UP)
    figures = [exp.dose_mg, exp.billing.lines[0].units]
    if units > most:
        up = (Decimal(units) / order.kg).quantize(HUNDREDTH, ROUND_UP)
        return ClaimFinding(
            check="units-cap", status="wrong", quote=q("units-cap"), figures=[cap.dose_mg, cap.billing.lines[0].units],
            reason=f"{units} JZ units for {kg} kg is {plain(up)} mg/kg, above the 3.6 mg/kg maximum: at most "
                   f"{most} units ({plain(Decimal(str(cap.dose_mg.value)))} mg) for this weight.",
        )  # fmt: skip
    if units > want:
        return ClaimFinding(
            check="units-dose", status="wrong", quote=q("units-dose"), figures=figures,
            reason=f"{units} JZ units is more than the ordered {plain(order.level)} mg/kg dose for {kg} kg: "
                   f"{want} units ({exp.dose_mg.formula}).",
        )  # fmt: skip
    if units == want:
        return ClaimFinding(
            check="units-dose", status="ok", quote=q("units-dose"), figures=figures,
            reason=f"{units} JZ units = the {plain(Decimal(str(exp.dose_mg.value)))} mg administered "
                   f"({exp.dose_mg.formula}), {plain(level)} mg/kg.",
        )  # fmt: skip
    return ClaimFinding(
        check="units-dose", status="check", quote=q("units-dose"), figures=figures,
        reason=f"{units} JZ units is {plain(level)} mg/kg, less than the ordered {plain(order.level)} mg/kg dose "
               f"({want} units for {kg} kg). If the dose was reduced, record the reduced level; otherwise bill "
               "the units given.",
    )  # fmt: skip


def _jw_units(units: int, jz_units: int, opened: int | None, data: ClaimChecks) -> ClaimFinding:
    q = data.quote
    if opened is None:
        return ClaimFinding(check="jw-units", status="check", quote=q("lines-per-unit"),
                            reason=f"{units} JW units cannot be checked: no weight and no vial quantities on the claim.")
    left = opened - jz_units
    if left <= 0:
        return ClaimFinding(check="jw-units", status="wrong", quote=q("waste-line"),
                            reason=f"A JW line, but nothing is discarded: {opened} mg opened, {jz_units} units "
                                   "administered. Remove the JW line.")
    if units == left:
        return ClaimFinding(check="jw-units", status="ok", quote=q("lines-per-unit"),
                            reason=f"{units} JW units = {opened} mg opened − {jz_units} units administered.")
    return ClaimFinding(check="jw-units", status="wrong", quote=q("lines-per-unit"),
                        reason=f"{units} JW units, but {opened} mg opened − {jz_units} units administered = {left}: "
                               "JZ + JW must add up to the vials opened.")


def _ndcs(line: ClaimLine, facts: DoseFacts, data: ClaimChecks) -> list[ClaimFinding]:
    """Each NDC on a drug line: the 11-digit form of a Kadcyla vial, N4 qualifier, ML and a quantity."""
    out = []
    known = ", ".join(f"{v.ndc_11.value} ({v.strength.value} mg)" for v in facts.vials)
    for entry in line.ndcs:
        ndc, problems, status = entry.ndc.strip(), [], "ok"
        parts = ndc.split("-")
        digits = re.sub(r"\D", "", ndc)
        if (len(parts) == 3 and tuple(map(len, parts)) != (5, 4, 2)) or (len(parts) == 1 and len(digits) == 10):
            fixed = _eleven(ndc, digits, facts)
            hint = f"; the 11-digit form is {fixed}" if fixed else ""
            out.append(ClaimFinding(check="ndc-format", status="wrong", quote=data.quote("ndc-format"),
                                    reason=f"NDC {ndc} is not in the 11-digit 5-4-2 format{hint}."))
            continue
        vial = _ndc_vial(ndc, facts)
        if vial is None:
            out.append(ClaimFinding(check="ndc-format", status="wrong", quote=data.quote("ndc-format"),
                                    reason=f"NDC {ndc} is not a Kadcyla vial: {known}."))
            continue
        qualifier, unit = (entry.qualifier or "").upper(), (entry.unit or "").upper()
        if qualifier != "N4":
            status = "wrong" if qualifier else "check"
            problems.append("the N4 qualifier goes before the NDC" + (f" (got {qualifier})" if qualifier else ""))
        if unit != "ML":
            status = "check" if status == "ok" else status
            problems.append("the unit is ML with the volume drawn" + (f" (got {unit})" if unit else ""))
        if not entry.quantity or entry.quantity <= 0:
            status = "check" if status == "ok" else status
            problems.append("a quantity is needed")
        said = f"{vial.ndc_11.value}, the {vial.strength.value} mg vial"
        if problems:
            out.append(ClaimFinding(check="ndc-qualifier", status=status, quote=data.quote("ndc-claim-form"),
                                    reason=f"NDC {said}: {'; '.join(problems)}."))
        else:
            out.append(ClaimFinding(check="ndc-format", status="ok", quote=data.quote("ndc-claim-form"),
                                    reason=f"NDC {said}: N4, 11-digit, {entry.quantity:g} ML."))
    return out


def _eleven(ndc: str, digits: str, facts: DoseFacts) -> str | None:
    """The 11-digit form of a 10-digit NDC when it is a Kadcyla vial's (a bare 10 digits fits several layouts)."""
    layouts = [ndc] if "-" in ndc else [f"{digits[:a]}-{digits[a:a + b]}-{digits[a + b:]}"
                                        for a, b in ((4, 4), (5, 3), (5, 4))]
    for layout in layouts:
        try:
            fixed = ndc_to_11(layout)
        except ValueError:
            continue
        if _ndc_vial(fixed, facts):
            return fixed
    return None


def _other_code(line: ClaimLine, data: ClaimChecks) -> list[ClaimFinding]:
    """A code that is neither J9354 nor an administration code: a look-alike product, or unknown."""
    product = next((p for p in load_reference().products if p.jcode.value == line.code), None)
    if product is None:
        return [ClaimFinding(check="unknown-code", status="check",
                             reason=f"{line.code} is not a code this checker knows (J9354, administration, "
                                    "pre-medication, HER2 test and E/M codes); check it by hand.")]
    if product.id in ("enhertu", "trastuzumab"):
        return [ClaimFinding(
            check="wrong-drug", status="wrong", quote=data.quote("wrong-drug"),
            reason=f"{line.code} is {product.brand.value} ({product.generic.value}), not Kadcyla (J9354). "
                   "Bill the drug actually given under its own code.",
        )]  # fmt: skip
    return [ClaimFinding(check="wrong-drug", status="check", quote=data.quote("wrong-drug"),
                         reason=f"{line.code} is {product.brand.value}, another HER2 drug, on a Kadcyla claim; "
                                "confirm it was given.")]


def _drug_lines_together(request: ClaimRequest, drug: list, jz: list, jw: list, jz_units: int, opened: int | None,
                         order: _Order, facts: DoseFacts, data: ClaimChecks) -> list[ClaimFinding]:
    """The J9354 lines as a set: a JZ line, a JW line when drug is discarded, the vials, every vial's NDC."""
    q, out = data.quote, []
    if not drug:
        return [ClaimFinding(check="no-kadcyla-line", status="wrong", quote=q("wrong-drug"),
                             reason="No J9354 line: a Kadcyla claim bills the drug as J9354 (1 unit = 1 mg).")]
    if not jz:
        out.append(ClaimFinding(check="jz-line", status="wrong", quote=q("jz-jw-lines"),
                                reason="No JZ line: the administered units go on a J9354 line with JZ."))
    if len(jz) > 1 or len(jw) > 1:
        out.append(ClaimFinding(check="one-jz-one-jw", status="check", quote=q("jz-jw-lines"),
                                reason="More than one JZ or JW line: one line for the administered units (JZ), "
                                       "one for the discarded units (JW); the units were added up."))
    if jz and not jw and opened is not None and opened > jz_units:
        out.append(ClaimFinding(check="jw-line", status="wrong", quote=q("jw-line"),
                                reason=f"No JW line: {opened} mg opened − {jz_units} units administered = "
                                       f"{opened - jz_units} units discarded, billed on a J9354 line with JW."))
    reported = _opened_mg(jz or [line for _, line in drug], facts)
    exp = order.expected
    if reported is not None and jz and reported < jz_units:
        out.append(ClaimFinding(check="vial-choice", status="wrong", quote=q("vial-choice"),
                                reason=f"The vials on the claim hold {reported} mg, less than the {jz_units} units "
                                       "administered."))
    elif reported is not None and exp is not None and reported > exp.drawn_mg.value:
        out.append(ClaimFinding(
            check="vial-choice", status="check", quote=q("vial-choice"), figures=[exp.drawn_mg],
            reason=f"The vials on the claim hold {reported} mg; the least-waste choice for this dose is "
                   f"{exp.drawn_mg.formula}. Document why more was opened (e.g. vials in stock).",
        ))  # fmt: skip
    # Vials that do not cover the dose, or cannot be read, say nothing of the vials used: use the dose's.
    from_claim = reported is not None and reported >= jz_units
    out += _ndc_coverage(drug, listed_only=from_claim, exp=exp, facts=facts, data=data)
    return out


def _ndc_coverage(drug: list, *, listed_only: bool, exp: DoseResult | None, facts: DoseFacts,
                  data: ClaimChecks) -> list[ClaimFinding]:
    """Every vial strength used has its 11-digit NDC on a J9354 line."""
    listed = {int(v.strength.value) for _, line in drug for e in line.ndcs if (v := _ndc_vial(e.ndc, facts))}
    if not any(line.ndcs for _, line in drug):
        return [ClaimFinding(check="ndc-missing", status="wrong", quote=data.quote("ndc-claim-form"),
                             reason="No NDC on the J9354 lines: report N4 + the 11-digit NDC + ML + the volume for "
                                    "each vial used.")]
    used = listed if listed_only or exp is None else {int(v.strength_mg.value) for v in exp.vials}
    missing = sorted(used - listed)
    if not missing:
        return []
    ndcs = {int(v.strength.value): v.ndc_11.value for v in facts.vials}
    names = " and ".join(f"{ndcs[s]} ({s} mg)" for s in missing)
    return [ClaimFinding(check="ndc-missing", status="wrong", quote=data.quote("ndc-format"),
                         reason=f"The dose uses the {', '.join(f'{s} mg' for s in missing)} vial too: list {names} "
                                "with the volume drawn from it.")]


def _level_for_safety(jz_units: int | None, order: _Order, request: ClaimRequest) -> float | None:
    """The dose level the JZ units stand for, for the label rules.

    Units are whole mg rounded half-up from the dose, so units ÷ weight can exceed the level given by
    up to 0.5 mg ÷ weight. Units equal to calculate_dose's JZ units stand for that level exactly;
    other units stand for at least (units − 0.5) ÷ weight, shown as units ÷ weight to 0.01 when both
    are above the cap (378 units for 70 kg: 5.4 mg/kg).
    """
    if jz_units is None or order.kg is None or order.expected is None:
        return request.mg_per_kg
    known = {order.cap.billing.units("JZ"): Decimal("3.6"), order.expected.billing.units("JZ"): order.level}
    if jz_units in known:
        return float(known[jz_units])
    least = ((Decimal(jz_units) - Decimal("0.5")) / order.kg).quantize(Decimal("0.0001"), ROUND_DOWN)
    shown = (Decimal(jz_units) / order.kg).quantize(HUNDREDTH, ROUND_HALF_UP)
    cap = Decimal(str(order.cap.mg_per_kg.value))
    return float(shown if least > cap and shown > cap else least)  # above the cap: the plain figure, when it says so
