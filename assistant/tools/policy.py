"""Check a patient case against a payer's Kadcyla policy, criterion by criterion, with quotes."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from assistant.errors import InputError
from assistant.models import Figure
from assistant.settings import get_settings
from assistant.tools.her2 import Her2Status, classify_her2
from assistant.tools.policy_case import PatientCase, parse_case, spelling_key
from assistant.tools.policy_data import Criterion, Policy, Section, load_policy, payer_aliases, policy_files
from assistant.tools.policy_result import (
    ApprovalDuration,
    ChecklistEntry,
    Contact,
    CriterionResult,
    MissingItem,
    Note,
    PolicyResult,
    Referral,
    SectionResult,
    Submission,
)
from assistant.tools.policy_rules import Context, Outcome, combine, evaluate

_SECTION_VERDICT = {"met": "meets_criteria", "not_met": "does_not_meet", "unknown": "incomplete"}


def payer_policy_id(payer: str) -> str:
    """The policy id for a payer ('Centene' -> 'centene-cp-phar-229'); InputError lists supported payers."""
    table = payer_aliases()
    found = table.get(spelling_key(payer or ""))
    if found is None:
        raise InputError(f"unsupported payer {payer!r}; supported payers: {', '.join(sorted(set(table.values())))}")
    return next(pid for pid, (_, p, _) in policy_files().items() if p == found)


def _applies(conditions: dict[str, list[str]], case: PatientCase) -> bool:
    """True unless a known case value is outside a condition's list (unknown never excludes)."""
    return all(getattr(case, f) is None or getattr(case, f) in values for f, values in conditions.items())


# ---------------------------------------------------------------- evaluation


def _evaluate(c: Criterion, ctx: Context, parent: str | None, out: list[CriterionResult]) -> Outcome:
    """Evaluate a criterion and its sub-criteria; append their rows to out, parent first."""
    slot = len(out)
    cond = evaluate(c.applies_if, ctx) if c.applies_if else None
    if cond is not None and cond.verdict == "not_met":
        result = Outcome("met", f"Does not apply: {cond.reason}")
    elif c.logic is not None:
        result = evaluate(c.logic, ctx)
    else:
        kids = [(k.id, _evaluate(k, ctx, c.id, out)) for k in c.criteria]
        result = combine(c.combine, [o for _, o in kids])
        result.reason = _summary(c.combine, result.verdict, kids)
        result.figures = []  # the children carry them
    if cond is not None and cond.verdict == "unknown" and result.verdict != "met":
        # "if A then B" is unknown when A is unknown and B is not already met
        result = Outcome("unknown", f"{cond.reason} {result.reason}", cond.missing + result.missing)
    src = c.source
    figures = [Figure(value=v, unit=u, label=("case: " if from_case else "policy: ") + label,
                      source=None if from_case else src) for v, u, label, from_case in result.figures]
    row = CriterionResult(id=c.id, label=c.label, verdict=result.verdict, reason=result.reason, quote=c.quote,
                          doc_id=src.doc_id, section=src.section, start=src.start, end=src.end, parent=parent,
                          figures=figures)
    out.insert(slot, row)
    return result


def _summary(kind: str, verdict: str, kids: list[tuple[str, Outcome]]) -> str:
    def ids(v: str) -> str:
        return ", ".join(i for i, o in kids if o.verdict == v)

    if verdict == "met":
        return f"Met by {ids('met')}." if kind == "any_of" else f"All of {ids('met')} are met."
    if verdict == "not_met":
        return f"Not met: none of {ids('not_met')} is met." if kind == "any_of" else f"Not met: {ids('not_met')}."
    return f"Not settled: {ids('unknown')} unknown" + (f"; {ids('not_met')} not met." if ids("not_met") else ".")


def _referrals(section: Section, results: dict[str, CriterionResult], case: PatientCase,
               verdict: str) -> list[Referral]:
    out = []
    for top in section.criteria:
        for c in top.walk():
            if not c.referral:
                continue
            seen = results[c.id].verdict
            certain = seen == c.referral.when
            if not certain and not (seen == "unknown" and verdict == "incomplete"):
                continue
            lob = case.line_of_business
            out += [Referral(policy=code, kind=c.referral.kind, line_of_business=line, criterion=c.id,
                             certain=certain, source=c.source)
                    for line, code in c.referral.policies.items() if line == "all" or lob in (None, line)]
    return _distinct(out)


def _distinct(referrals: list[Referral]) -> list[Referral]:
    """One referral per (policy, line of business), the certain one when there is one."""
    out: dict[tuple[str, str], Referral] = {}
    for r in referrals:
        key = (r.policy, r.line_of_business)
        if key not in out or (r.certain and not out[key].certain):
            out[key] = r
    return list(out.values())


def _section(section: Section, ctx: Context) -> tuple[SectionResult, Outcome]:
    rows: list[CriterionResult] = []
    tops = [(c.id, _evaluate(c, ctx, None, rows)) for c in section.criteria]
    outcome = combine(section.combine, [o for _, o in tops])
    verdict = _SECTION_VERDICT[outcome.verdict]
    reason = _summary(section.combine, outcome.verdict, tops)
    referral = _referrals(section, {r.id: r for r in rows}, ctx.case, verdict)
    if section.kind == "referral":
        codes = ", ".join(dict.fromkeys(r.policy for r in referral)) or "another policy"
        how = "refers the request to" if all(r.certain for r in referral) else "may refer the request to one of"
        reason += f" This policy has no approval criteria for this use; it {how} {codes}."
    notes = [Note(label=n.label, source=n.source) for n in section.notes]
    return SectionResult(id=section.id, title=section.title, kind=section.kind, verdict=verdict, reason=reason,
                         criteria=rows, referral=referral, notes=notes), outcome


# ---------------------------------------------------------------- durations and checklist


def _add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _today() -> dt.date:
    override = get_settings().today
    try:
        return dt.date.fromisoformat(override) if override else dt.date.today()
    except ValueError:
        raise InputError(f"ASSISTANT_TODAY must be a date YYYY-MM-DD, not {override!r}") from None


def _durations(section: Section, result: SectionResult, case: PatientCase) -> list[ApprovalDuration]:
    verdicts = {r.id: r for r in result.criteria}

    def only_met(cid: str) -> bool:
        parent = verdicts[cid].parent
        siblings = [r for r in result.criteria if r.parent == parent]
        return verdicts[cid].verdict == "met" and all(r.verdict != "met" for r in siblings if r.id != cid)

    fitting = [d for d in section.approval_durations
               if d.lines_of_business is None or case.line_of_business in (None, *d.lines_of_business)]
    chosen = [d for d in fitting if d.basis and only_met(d.basis)] or [d for d in fitting if not d.basis]
    out = []
    for d in chosen:
        until = None
        if d.or_renewal_date and case.renewal_date:
            until = max(_add_months(_today(), d.months), case.renewal_date)
        out.append(ApprovalDuration(months=d.months, label=d.label, up_to=d.up_to,
                                    lines_of_business=d.lines_of_business,
                                    or_renewal_date=d.or_renewal_date, until=until, section=section.id,
                                    source=d.source))
    return out


def _checklist(policy: Policy, case: PatientCase) -> list[ChecklistEntry]:
    given = set(case.documents or [])
    out = []
    for item in policy.checklist:
        # an item for a setting (adjuvant, continuation...) is listed once the case is known to be in it
        if not all(getattr(case, f) in values for f, values in item.applies_when.items()):
            continue
        status = "provided" if item.id in given else ("missing" if item.required else "optional")
        src = item.source
        out.append(ChecklistEntry(id=item.id, label=item.label, status=status, doc_id=src.doc_id, quote=src.quote,
                                  start=src.start, end=src.end))
    return out


# ---------------------------------------------------------------- the tool


def check_policy(case: PatientCase | dict[str, Any], policy_id: str | None = None) -> PolicyResult:
    """Check a Kadcyla (J9354) prior-authorization case against a payer's written policy.

    Use this when the question is whether a patient meets a payer's coverage criteria for Kadcyla
    (or, for Oscar, another HER2-targeted product), what is missing from the request, how long an
    approval lasts, where to send it, or which documents the PA packet needs. Supported payers:
    Centene (policy CP.PHAR.229: Commercial, HIM/marketplace, ICHRA and Medicaid) and Oscar
    (guideline CG101: preferred HER2 products and exceptions for non-preferred ones).

    Input: a PatientCase (or a dict with the same fields). Every field may be left out when it is
    not known; unknown facts make criteria "unknown" and the verdict "incomplete", never "met".
    Friendly spellings are accepted: payer "Centene"; line_of_business "Commercial", "Medicaid",
    "HIM"/"marketplace", "ICHRA"; request_type "initial"/"renewal"; diagnosis "mbc", "adjuvant"
    (ebc_residual), "nsclc", "salivary", "brain_mets", "other"; her2_ihc "3+" or "3"; her2_ish
    "positive"/"negative"/"pending"/"not done"; regimen "single agent", "with neratinib",
    "with pertuzumab"; prior_therapies ["Herceptin", "paclitaxel"]; preferred_trials
    ["enhertu: failure", "perjeta: intolerance"]. policy_id overrides the payer's policy.

    Output: per criterion met / not_met / unknown with the reason and the exact quote and offsets
    from the policy; per section and overall meets_criteria / does_not_meet / incomplete; `missing`
    lists exactly what to obtain; `approval_duration` by line of business (all lines when it is
    unknown); `referral` names the policy a request is sent to when this policy does not cover the
    use; `checklist` marks each PA document provided or missing; `her2` gives the HER2 category
    (HER2-low and HER2-negative are not eligible for Kadcyla; the billing guide points HER2-low to
    Enhertu); `submission` says where to submit (Oscar: EviCore). State numbers only from this
    result. Raises InputError for an unsupported payer or an invalid case.
    """
    case = parse_case(case)
    if policy_id is None:
        if case.payer is None:
            raise InputError("the case has no payer; give payer (centene or oscar) or a policy_id")
        policy_id = payer_policy_id(case.payer)
    policy = load_policy(policy_id)
    if case.payer is not None and case.payer != policy.payer:
        raise InputError(f"the case's payer is {case.payer} but policy {policy_id} is {policy.payer}'s")
    if not _applies(policy.applies_when, case):
        wanted = "; ".join(f"{f} {', '.join(v)}" for f, v in policy.applies_when.items())
        raise InputError(f"policy {policy_id} applies only to {wanted}; the case does not match")
    her2 = classify_her2(case.her2_ihc, case.her2_ish)
    ctx = Context(case=case, her2=her2, preferred=policy.preferred)

    candidates = [s for s in policy.sections if _applies(s.applies_when, case)]
    if not candidates:
        raise InputError(f"no section of policy {policy_id} applies to this case")
    results = [(s, *_section(s, ctx)) for s in candidates]
    paths = [r.verdict if s.kind == "approval" else "does_not_meet" for s, r, _ in results]
    overall = paths[0] if len(set(paths)) == 1 else "incomplete"

    missing = _missing(candidates, results, case) if overall == "incomplete" else []
    durations, questions = [], []
    if overall != "does_not_meet":
        durations = [d for s, r, _ in results if s.kind == "approval" and r.verdict != "does_not_meet"
                     for d in _durations(s, r, case)]
    referral = _distinct([ref for _, r, _ in results for ref in r.referral])
    if case.line_of_business is None and (len({d.months for d in durations}) > 1 or
                                          any(ref.line_of_business != "all" for ref in referral)):
        questions.append(PatientCase.question("line_of_business") + " The approval duration or referral policy "
                         "depends on it; all lines are listed.")
    for d in durations:
        if d.or_renewal_date and case.renewal_date is None:
            questions.append(f"What is the member's renewal date? Approval runs {d.months} months or to the "
                             "renewal date, whichever is longer.")
    if any(not ref.certain for ref in referral):
        questions += [PatientCase.question(f) for s, _, o in results if s.kind == "referral" for f in o.missing]
    questions = list(dict.fromkeys(questions))
    return PolicyResult(
        payer=policy.payer, policy_id=policy.policy_id, policy_version=policy.version, policy_title=policy.title,
        doc_id=policy.doc_id, sections=[r for _, r, _ in results], overall=overall,
        overall_reason=_overall_reason(overall, results), approval_duration=durations, referral=referral,
        missing=missing, questions=questions, checklist=_checklist(policy, case), her2=her2,
        submission=_submission(policy), warnings=_warnings(policy, case, her2), case=case,
    )


def _missing(candidates: list[Section], results: list, case: PatientCase) -> list[MissingItem]:
    """Unknown fields that pick the section come first, then what each open approval section waits on."""
    missing: dict[str, MissingItem] = {}
    for f in (f for s in candidates for f in s.applies_when if getattr(case, f) is None):
        missing[f] = MissingItem(field=f, question=PatientCase.question(f), sections=[s.id for s in candidates])
    for s, r, outcome in results:
        if s.kind == "approval" and r.verdict == "incomplete":
            for f in outcome.missing:
                item = missing.setdefault(f, MissingItem(field=f, question=PatientCase.question(f), sections=[]))
                if s.id not in item.sections:
                    item.sections.append(s.id)
    return list(missing.values())


def _overall_reason(overall: str, results: list) -> str:
    if overall == "meets_criteria":
        return "Meets " + " and ".join(f"section {s.id}" for s, _, _ in results) + "."
    if overall == "incomplete":
        open_ = [s.id for s, r, _ in results if r.verdict == "incomplete" or s.kind == "referral"]
        return "Not settled; depends on what is missing (sections " + ", ".join(open_) + ")."
    failed = [f"{s.id} ({'; '.join(c.id for c in r.criteria if c.verdict == 'not_met' and c.parent is None)})"
              for s, r, _ in results if s.kind == "approval"]
    referred = [s.id for s, _, _ in results if s.kind == "referral"]
    parts = [f"Does not meet section {', '.join(failed)}." if failed else ""]
    if referred:
        parts.append(f"This policy does not approve the use itself (section {', '.join(referred)}); see referral.")
    return " ".join(p for p in parts if p)


def _submission(policy: Policy) -> Submission | None:
    if not policy.submission:
        return None
    contacts = [Contact(method=c.method, value=c.value, source=c.source) for c in policy.submission.contacts]
    return Submission(review_entity=policy.submission.review_entity, contacts=contacts)


def _warnings(policy: Policy, case: PatientCase, her2: Her2Status) -> list[str]:
    out = []
    if case.requested_product in (None, "kadcyla") and her2.category in ("low", "negative"):
        out.append(f"HER2 {her2.category}: not eligible for Kadcyla. {her2.reason}")
    known = {item.id for item in policy.checklist}
    unknown = sorted(set(case.documents or []) - known)
    if unknown:
        out.append(f"Document ids not on this policy's checklist were ignored: {', '.join(unknown)}. "
                   f"Known ids: {', '.join(sorted(known))}.")
    return out
