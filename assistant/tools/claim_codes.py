"""Claim checks outside the drug lines: administration CPT codes, ICD-10-CM codes and place of service.

Each check returns ClaimFindings (ok / wrong / check) with the billing guide's passage; the drug
lines (J9354 units, JZ/JW, NDCs) are checked in assistant.tools.claims.
"""

from __future__ import annotations

import re

from assistant.tools.claim_request import ClaimChecks, ClaimFinding, ClaimLine

CHEMO_FIRST_HOUR, CHEMO_EACH_HOUR = "96413", "96415"
THERAPEUTIC = {"96365", "96366"}
PREMEDICATION = {"96367", "96368", "96375"}
HER2_TESTS = {"88360", "88361", "88373", "88374", "88377"}
ADMIN_CODES = {CHEMO_FIRST_HOUR, CHEMO_EACH_HOUR, *THERAPEUTIC, *PREMEDICATION, *HER2_TESTS}
_EM = re.compile(r"^992(0[2-5]|1[1-5])$")  # office / outpatient E/M visits
_ICD10 = re.compile(r"^[A-TV-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?$")
_BREAST = ("mbc", "ebc", "brain_mets")


def is_admin_or_visit(code: str) -> bool:
    """A code this module checks: an administration, pre-medication, HER2 test or E/M visit code."""
    return code in ADMIN_CODES or bool(_EM.match(code))


def check_admin_line(line: ClaimLine, cycle: int | None, data: ClaimChecks) -> list[ClaimFinding]:
    """One administration / visit line: the right code for the cycle, one unit."""
    code, q = line.code, data.quote
    if code in THERAPEUTIC:
        return [ClaimFinding(
            check="cpt-96365", status="wrong", quote=q("cpt-96365"),
            reason=f"{code} is a therapeutic (non-chemo) infusion code; Kadcyla is billed as chemotherapy "
                   "administration: 96413 (+ 96415 on cycle 1).",
        )]  # fmt: skip
    if code == CHEMO_FIRST_HOUR:
        ok = line.units == 1
        return [ClaimFinding(
            check="cpt-96413", status="ok" if ok else "check", quote=q("cpt-cycle-1" if cycle == 1 else "cpt-later-cycles"),
            reason="96413 × 1, the first hour, every cycle." if ok
            else f"96413 is billed × {line.units:g}; it is one unit per infusion (the first hour).",
        )]  # fmt: skip
    if code == CHEMO_EACH_HOUR:
        if cycle == 1:
            ok = line.units == 1
            return [ClaimFinding(
                check="cpt-96415", status="ok" if ok else "check", quote=q("cpt-cycle-1"),
                reason="96415 × 1 for the 90-minute first infusion." if ok
                else f"96415 is billed × {line.units:g}; the 90-minute first infusion takes 96415 × 1.",
            )]  # fmt: skip
        when = f"cycle {cycle}" if cycle else "a cycle not stated"
        return [ClaimFinding(
            check="cpt-96415", status="check", quote=q("cpt-96415"),
            reason=f"96415 on {when}: the guide bills it on cycle 1 only (cycles 2+ run 30 minutes, 96413 only). "
                   "Keep it only if this infusion documented more than the first hour.",
        )]  # fmt: skip
    if code in PREMEDICATION:
        return [ClaimFinding(check="cpt-premedication", status="ok", quote=q("cpt-premedication"),
                             reason=f"{code}: pre-medication administration, billed on its own line.")]
    if code in HER2_TESTS:
        return [ClaimFinding(check="cpt-her2-test", status="ok", quote=q("cpt-her2-test"),
                             reason=f"{code}: a HER2 biomarker test line, billed separately when first done.")]
    if _EM.match(code):
        if "25" in line.modifiers:
            return [ClaimFinding(check="cpt-em-25", status="ok", quote=q("cpt-em-25"),
                                 reason=f"{code} with modifier 25: a separately identifiable visit on the infusion day.")]
        return [ClaimFinding(check="cpt-em-25", status="check", quote=q("cpt-em-bundled"),
                             reason=f"{code} without modifier 25 on an infusion day: a routine pre-infusion assessment "
                                    "is bundled into the administration code; add 25 only for a separate visit.")]
    raise ValueError(f"{code} is not an administration code")  # pragma: no cover - callers check first


def check_admin_lines(lines: list[ClaimLine], cycle: int | None, data: ClaimChecks) -> list[ClaimFinding]:
    """The claim as a whole: 96413 every cycle, 96415 on cycle 1."""
    codes = {line.code for line in lines}
    out = []
    if CHEMO_FIRST_HOUR not in codes:
        out.append(ClaimFinding(
            check="cpt-96413-missing", status="wrong", quote=data.quote("cpt-cycle-1" if cycle == 1 else "cpt-later-cycles"),
            reason="No 96413 line: every Kadcyla infusion bills 96413 × 1 (chemotherapy administration, first hour).",
        ))  # fmt: skip
    if CHEMO_EACH_HOUR not in codes:
        if cycle == 1:
            out.append(ClaimFinding(
                check="cpt-96415-missing", status="wrong", quote=data.quote("cpt-cycle-1"),
                reason="Cycle 1 without 96415: the 90-minute first infusion bills 96413 + 96415 × 1.",
            ))  # fmt: skip
        elif cycle is None:
            out.append(ClaimFinding(
                check="cpt-96415-missing", status="check", quote=data.quote("cpt-cycle-1"),
                reason="The cycle is not stated: if this is cycle 1, add 96415 × 1 (90-minute infusion); "
                       "cycles 2+ bill 96413 only.",
            ))  # fmt: skip
    return out


def check_icd10(codes: list[str], indication: str | None, data: ClaimChecks) -> list[ClaimFinding]:
    """Diagnosis codes: a valid form, C50.x for breast cancer, Z51.11 on the infusion day, mets coding for mBC."""
    q, out = data.quote, []
    bad = [c for c in codes if not _ICD10.match(c)]
    if bad:
        out.append(ClaimFinding(check="icd-format", status="wrong",
                                reason=f"Not an ICD-10-CM code: {', '.join(bad)}."))
    plain = [c.replace(".", "") for c in codes if _ICD10.match(c)]
    breast = [c for c in plain if c.startswith("C50")]
    if indication in _BREAST or indication is None:
        if breast:
            out.append(ClaimFinding(check="icd-c50", status="ok", quote=q("icd-c50"),
                                    reason=f"Breast cancer site code present: {', '.join(_dotted(c) for c in breast)}."))
        else:
            out.append(ClaimFinding(
                check="icd-c50", status="wrong" if indication else "check", quote=q("icd-c50"),
                reason="No C50.x breast cancer code" + ("" if indication else " (the indication is not stated)")
                       + ": Kadcyla's breast indications need the C50.x site code with laterality.",
            ))  # fmt: skip
    else:
        out.append(ClaimFinding(
            check="icd-indication", status="check",
            reason=f"Off-label use ({indication}): the billing guide's ICD-10 table covers breast cancer only; "
                   "confirm the diagnosis codes with the payer's policy.",
        ))  # fmt: skip
    if "Z5111" in plain:
        out.append(ClaimFinding(check="icd-z51-11", status="ok", quote=q("icd-z51-11"),
                                reason="Z51.11, encounter for antineoplastic chemotherapy, on the infusion claim."))
    elif "Z5112" in plain:
        out.append(ClaimFinding(check="icd-z51-11", status="check", quote=q("icd-z51-12"),
                                reason="Z51.12 (immunotherapy) instead of Z51.11: some payers prefer it for ADCs, "
                                       "most accept Z51.11; verify with the payer."))
    else:
        out.append(ClaimFinding(check="icd-z51-11", status="wrong", quote=q("icd-z51-11"),
                                reason="No Z51.11: the infusion day's primary encounter code, paired with C50.x."))
    if indication == "mbc" and not any(c[:3] in ("C77", "C78", "C79") for c in plain):
        out.append(ClaimFinding(check="icd-mets", status="check", quote=q("icd-mets"),
                                reason="Metastatic breast cancer without a C77–C79 code for the metastatic sites."))
    return out


def _dotted(code: str) -> str:
    return code if len(code) <= 3 else f"{code[:3]}.{code[3:]}"


def check_place_of_service(
    pos: str | None, cycle: int | None, line_of_business: str | None, data: ClaimChecks
) -> list[ClaimFinding]:
    """The place of service against the billing guide's site-of-care table."""
    q = data.quote
    if pos is None:
        return [ClaimFinding(check="place-of-service", status="check",
                             reason="No place of service on the claim; give it (e.g. 11 office, 49 infusion suite).")]
    known = data.places_of_service.get(pos)
    if known is None:
        return [ClaimFinding(check="place-of-service", status="check",
                             reason=f"POS {pos} is not in the billing guide's site-of-care table (11, 49, 24, 22, 19, 12).")]
    said = f"POS {pos} ({known.setting})"
    if known.kind in ("preferred", "acceptable"):
        word = "preferred by commercial site-of-care programs" if known.kind == "preferred" else "acceptable"
        return [ClaimFinding(check="place-of-service", status="ok", quote=known.source, reason=f"{said}: {word}.")]
    if known.kind == "home":
        return [ClaimFinding(check="place-of-service", status="check", quote=known.source,
                             reason=f"{said}: generally not appropriate for Kadcyla; monitoring and infusion-reaction "
                                    "risk make a supervised setting standard.")]
    if line_of_business == "medicare":
        return [ClaimFinding(check="place-of-service", status="ok", quote=q("pos-medicare"),
                             reason=f"{said} under Original Medicare: no site-of-care program applies.")]
    if cycle == 1:
        return [ClaimFinding(check="place-of-service", status="ok", quote=q("pos-cycle-1"),
                             reason=f"{said} for cycle 1: most payers allow it for the 90-minute first infusion "
                                    "and its 90-minute observation.")]
    when = f"cycle {cycle}" if cycle else "a cycle not stated"
    return [ClaimFinding(
        check="place-of-service", status="check", quote=q("pos-steering" if cycle in (None, 2) else "pos-move"),
        reason=f"{said} for {when}: commercial site-of-care programs steer cycles 2+ to the office (POS 11) or an "
               "infusion suite (POS 49); keep the hospital only with a medical necessity letter.",
    )]  # fmt: skip
