"""Centene CP.PHAR.229: each criterion flips the verdict on its own, both sides of every boundary."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.tools.policy import check_policy

MBC = dict(payer="centene", line_of_business="commercial", request_type="initial", age=55, diagnosis="mbc",
           her2_ihc="3+", prescriber_oncologist=True, regimen="single_agent",
           prior_therapies=["trastuzumab", "paclitaxel"], dose_mg_per_kg=3.6, interval_days=21)
ADJ = dict(payer="centene", line_of_business="medicaid", request_type="initial", age=48, diagnosis="ebc_residual",
           her2_ihc="2+", her2_ish="positive", prescriber_oncologist=True, regimen="single_agent",
           dose_mg_per_kg=3.6, interval_days=21, number_of_doses=14)
NSCLC = dict(payer="centene", line_of_business="him", request_type="initial", age=62, diagnosis="nsclc",
             her2_ihc="3+", prescriber_oncologist=True, regimen="single_agent", line_of_therapy=2,
             dose_mg_per_kg=3.6, interval_days=21)
SALIVARY = {**NSCLC, "diagnosis": "salivary", "line_of_therapy": None}
BRAIN = {**NSCLC, "diagnosis": "brain_mets", "regimen": "with_neratinib", "line_of_therapy": None}
CONT = dict(payer="centene", line_of_business="medicaid", request_type="continuation", diagnosis="mbc",
            on_plan_benefit=False, days_on_therapy=60, responding=True, dose_increase=False)
CONT_ADJ = {**CONT, "diagnosis": "ebc_residual"}


def crit(result, cid):
    return next(c for s in result.sections for c in s.criteria if c.id == cid)


# (name, base case, overrides, criterion, criterion verdict, overall verdict)
TABLE = [
    ("mbc base", MBC, {}, "I.A.1", "met", "meets_criteria"),
    ("age 17", MBC, {"age": 17}, "I.A.3", "not_met", "does_not_meet"),
    ("age 18", MBC, {"age": 18}, "I.A.3", "met", "meets_criteria"),
    ("age unknown", MBC, {"age": None}, "I.A.3", "unknown", "incomplete"),
    ("not an oncologist", MBC, {"prescriber_oncologist": False}, "I.A.2", "not_met", "does_not_meet"),
    ("oncologist unknown", MBC, {"prescriber_oncologist": None}, "I.A.2", "unknown", "incomplete"),
    ("with pertuzumab", MBC, {"regimen": "with pertuzumab"}, "I.A.4", "not_met", "does_not_meet"),
    ("mbc with neratinib", MBC, {"regimen": "with neratinib"}, "I.A.4", "not_met", "does_not_meet"),
    ("regimen unknown", MBC, {"regimen": None}, "I.A.4", "unknown", "incomplete"),
    ("HER2 IHC 1+", MBC, {"her2_ihc": "1+"}, "I.A.1", "not_met", "does_not_meet"),
    ("HER2 IHC 0", MBC, {"her2_ihc": "0"}, "I.A.1", "not_met", "does_not_meet"),
    ("HER2 2+ ISH pending", MBC, {"her2_ihc": "2+", "her2_ish": "pending"}, "I.A.1", "unknown", "incomplete"),
    ("HER2 2+ ISH not done", MBC, {"her2_ihc": "2+", "her2_ish": "not_done"}, "I.A.1", "unknown", "incomplete"),
    ("HER2 2+ ISH positive", MBC, {"her2_ihc": "2+", "her2_ish": "positive"}, "I.A.1", "met", "meets_criteria"),
    ("HER2 2+ ISH negative", MBC, {"her2_ihc": "2+", "her2_ish": "negative"}, "I.A.1", "not_met", "does_not_meet"),
    ("HER2 unknown", MBC, {"her2_ihc": None}, "I.A.1", "unknown", "incomplete"),
    ("no taxane", MBC, {"prior_therapies": ["trastuzumab"]}, "I.A.5", "not_met", "does_not_meet"),
    ("no trastuzumab", MBC, {"prior_therapies": ["docetaxel"]}, "I.A.5", "not_met", "does_not_meet"),
    ("Enhertu is not trastuzumab-based here", MBC, {"prior_therapies": ["enhertu", "paclitaxel"]}, "I.A.5.a",
     "not_met", "does_not_meet"),
    ("brand names count", MBC, {"prior_therapies": ["Herceptin", "Taxol"]}, "I.A.5.a", "met", "meets_criteria"),
    ("prior therapy unknown", MBC, {"prior_therapies": None}, "I.A.5", "unknown", "incomplete"),
    ("3.8 mg/kg, evidence unknown", MBC, {"dose_mg_per_kg": 3.8}, "I.A.6", "unknown", "incomplete"),
    ("3.8 mg/kg, no evidence", MBC, {"dose_mg_per_kg": 3.8, "dose_evidence_submitted": False}, "I.A.6",
     "not_met", "does_not_meet"),
    ("3.8 mg/kg, evidence submitted", MBC, {"dose_mg_per_kg": 3.8, "dose_evidence_submitted": True}, "I.A.6",
     "met", "meets_criteria"),
    ("3.6 mg/kg", MBC, {"dose_mg_per_kg": 3.6, "dose_evidence_submitted": False}, "I.A.6.b", "met", "meets_criteria"),
    ("3.61 mg/kg", MBC, {"dose_mg_per_kg": 3.61, "dose_evidence_submitted": False}, "I.A.6.b", "not_met",
     "does_not_meet"),
    ("every 14 days", MBC, {"interval_days": 14, "dose_evidence_submitted": False}, "I.A.6", "not_met",
     "does_not_meet"),
    ("every 20 days", MBC, {"interval_days": 20, "dose_evidence_submitted": False}, "I.A.6.b", "not_met",
     "does_not_meet"),
    ("every 21 days", MBC, {"interval_days": 21}, "I.A.6.b", "met", "meets_criteria"),
    ("every 28 days", MBC, {"interval_days": 28}, "I.A.6.b", "met", "meets_criteria"),
    ("dose unknown", MBC, {"dose_mg_per_kg": None}, "I.A.6", "unknown", "incomplete"),
    ("adjuvant base", ADJ, {}, "I.A.5.b", "met", "meets_criteria"),
    ("adjuvant 14 doses", ADJ, {"number_of_doses": 14}, "I.A.6.a", "met", "meets_criteria"),
    ("adjuvant 15th dose", ADJ, {"number_of_doses": 15, "dose_evidence_submitted": False}, "I.A.6", "not_met",
     "does_not_meet"),
    ("adjuvant dose count unknown", ADJ, {"number_of_doses": None}, "I.A.6", "unknown", "incomplete"),
    ("adjuvant age 17", ADJ, {"age": 17}, "I.A.3", "not_met", "does_not_meet"),
    ("NSCLC subsequent", NSCLC, {}, "I.B.6", "met", "meets_criteria"),
    ("NSCLC first line", NSCLC, {"line_of_therapy": 1}, "I.B.6", "not_met", "does_not_meet"),
    ("NSCLC line unknown", NSCLC, {"line_of_therapy": None}, "I.B.6", "unknown", "incomplete"),
    ("salivary: line does not matter", SALIVARY, {}, "I.B.6", "met", "meets_criteria"),
    ("brain mets with neratinib", BRAIN, {}, "I.B.5", "met", "meets_criteria"),
    ("NSCLC with neratinib", NSCLC, {"regimen": "with_neratinib"}, "I.B.5", "not_met", "does_not_meet"),
    ("salivary with neratinib", SALIVARY, {"regimen": "with_neratinib"}, "I.B.5", "not_met", "does_not_meet"),
    ("brain mets with pertuzumab", BRAIN, {"regimen": "with pertuzumab"}, "I.B.5", "not_met", "does_not_meet"),
    ("NSCLC age 17", NSCLC, {"age": 17}, "I.B.3", "not_met", "does_not_meet"),
    ("NSCLC HER2-low", NSCLC, {"her2_ihc": "1+"}, "I.B.4", "not_met", "does_not_meet"),
    ("NSCLC not an oncologist", NSCLC, {"prescriber_oncologist": False}, "I.B.2", "not_met", "does_not_meet"),
    ("NSCLC 3.8 mg/kg", NSCLC, {"dose_mg_per_kg": 3.8, "dose_evidence_submitted": False}, "I.B.7", "not_met",
     "does_not_meet"),
    ("continuation base", CONT, {}, "II.A.1", "met", "meets_criteria"),
    ("29 days, not via plan", CONT, {"days_on_therapy": 29}, "II.A.1", "not_met", "does_not_meet"),
    ("30 days", CONT, {"days_on_therapy": 30}, "II.A.1", "met", "meets_criteria"),
    ("29 days via plan benefit", CONT, {"days_on_therapy": 29, "on_plan_benefit": True}, "II.A.1", "met",
     "meets_criteria"),
    ("days and benefit unknown", CONT, {"days_on_therapy": None, "on_plan_benefit": None}, "II.A.1", "unknown",
     "incomplete"),
    ("not responding", CONT, {"responding": False}, "II.A.2", "not_met", "does_not_meet"),
    ("response unknown", CONT, {"responding": None}, "II.A.2", "unknown", "incomplete"),
    ("dose increase within limit", CONT, {"dose_increase": True, "dose_mg_per_kg": 3.6, "interval_days": 21},
     "II.A.3", "met", "meets_criteria"),
    ("dose increase to 4.0", CONT, {"dose_increase": True, "dose_mg_per_kg": 4.0, "interval_days": 21,
                                    "dose_evidence_submitted": False}, "II.A.3", "not_met", "does_not_meet"),
    ("no dose increase: limits do not apply", CONT, {"dose_mg_per_kg": 4.0, "interval_days": 21}, "II.A.3", "met",
     "meets_criteria"),
    ("dose increase unknown, dose within limit", CONT, {"dose_increase": None, "dose_mg_per_kg": 3.6,
                                                        "interval_days": 21}, "II.A.3", "met", "meets_criteria"),
    ("dose increase unknown, dose unknown", CONT, {"dose_increase": None}, "II.A.3", "unknown", "incomplete"),
    ("adjuvant increase, 15 doses", CONT_ADJ, {"dose_increase": True, "dose_mg_per_kg": 3.6, "interval_days": 21,
                                               "number_of_doses": 15, "dose_evidence_submitted": False},
     "II.A.3", "not_met", "does_not_meet"),
    ("adjuvant increase, 14 doses", CONT_ADJ, {"dose_increase": True, "dose_mg_per_kg": 3.6, "interval_days": 21,
                                               "number_of_doses": 14}, "II.A.3", "met", "meets_criteria"),
]


@pytest.mark.parametrize("name,base,overrides,cid,verdict,overall", TABLE, ids=[row[0] for row in TABLE])
def test_criterion_flips_verdict(name, base, overrides, cid, verdict, overall):
    result = check_policy({**base, **overrides})
    assert crit(result, cid).verdict == verdict, crit(result, cid).reason
    assert result.overall == overall, result.overall_reason


def test_nsclc_first_line_says_why():
    reason = crit(check_policy({**NSCLC, "line_of_therapy": "first-line"}), "I.B.6").reason
    assert "first-line" in reason and "subsequent" in reason


def test_incomplete_lists_exactly_what_to_obtain():
    result = check_policy({**MBC, "her2_ihc": "2+", "her2_ish": "pending", "age": None})
    assert [m.field for m in result.missing] == ["her2_ish", "age"]
    assert all(m.sections == ["I.A"] for m in result.missing)
    assert "ISH" in crit(result, "I.A.1").reason


def test_met_and_not_met_have_nothing_missing():
    assert check_policy(MBC).missing == []
    assert check_policy({**MBC, "age": 17}).missing == []


@pytest.mark.parametrize("lob,months,renewal", [("commercial", 6, True), ("medicaid", 12, False),
                                                ("him", 12, False), ("ichra", 12, False)])
def test_approval_duration_by_line_of_business(lob, months, renewal):
    for base, section in ((MBC, "I.A"), (CONT, "II.A")):
        result = check_policy({**base, "line_of_business": lob})
        assert [(d.months, d.or_renewal_date, d.section) for d in result.approval_duration] == [
            (months, renewal, section)]
        assert f"{months} months" in result.approval_duration[0].source.quote


def test_unknown_line_of_business_lists_both_and_asks():
    result = check_policy({**MBC, "line_of_business": None})
    assert sorted(d.months for d in result.approval_duration) == [6, 12]
    assert result.overall == "meets_criteria"
    assert any("line of business" in q for q in result.questions)


@pytest.mark.parametrize("renewal,until", [("2027-03-01", dt.date(2027, 3, 1)), ("2026-08-01", dt.date(2026, 12, 1))])
def test_commercial_runs_to_the_later_of_six_months_and_renewal(monkeypatch, renewal, until):
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-06-01")
    (duration,) = check_policy({**MBC, "renewal_date": renewal}).approval_duration
    assert duration.until == until


def test_commercial_without_renewal_date_asks_for_it():
    result = check_policy(MBC)
    assert result.approval_duration[0].until is None
    assert any("renewal date" in q for q in result.questions)


def test_no_duration_when_criteria_are_not_met():
    assert check_policy({**MBC, "age": 17}).approval_duration == []


@pytest.mark.parametrize("lob,label_change,formulary,request_type,code", [
    ("commercial", False, None, "initial", "CP.CPA.09"),
    ("him", False, None, "initial", "HIM.PA.154"),
    ("medicaid", False, None, "continuation", "CP.PMN.53"),
    ("medicaid", True, True, "initial", "CP.PMN.255"),
    ("ichra", True, True, "initial", "HIM.PA.33"),
    ("him", True, False, "continuation", "HIM.PA.103"),
    ("medicaid", True, False, "initial", "CP.PMN.16"),
    ("commercial", True, False, "initial", "CP.CPA.190"),
])
def test_other_diagnoses_refer_by_line_of_business(lob, label_change, formulary, request_type, code):
    result = check_policy(dict(payer="centene", line_of_business=lob, request_type=request_type, diagnosis="other",
                               recent_label_change=label_change, on_formulary=formulary))
    assert result.overall == "does_not_meet"
    assert [s.id for s in result.sections] == (["I.C", "III"] if request_type == "initial" else ["II.B", "III"])
    certain = {r.policy for r in result.referral if r.certain}
    assert code in certain and len({r.line_of_business for r in result.referral}) == 1
    assert all(r.policy in r.source.quote for r in result.referral)


def test_other_diagnosis_with_unknown_line_lists_every_line():
    result = check_policy(dict(payer="centene", request_type="initial", diagnosis="other", recent_label_change=False))
    assert {r.line_of_business: r.policy for r in result.referral} == {
        "commercial": "CP.CPA.09", "him": "HIM.PA.154", "ichra": "HIM.PA.154", "medicaid": "CP.PMN.53"}
    assert any("line of business" in q for q in result.questions)


def test_empty_case_is_incomplete_and_asks_for_the_basics():
    result = check_policy({"payer": "centene"})
    assert result.overall == "incomplete"
    assert [m.field for m in result.missing][:2] == ["request_type", "diagnosis"]
    assert not any(c.verdict == "met" for s in result.sections for c in s.criteria if c.parent is None
                   and s.kind == "approval" and c.id not in ("I.B.6", "II.A.3"))


REQUIRED = ["age", "diagnosis", "her2_ihc", "prescriber_oncologist", "regimen", "prior_therapies",
            "dose_mg_per_kg", "interval_days", "request_type"]


@settings(max_examples=40, deadline=None)
@given(st.sets(st.sampled_from(REQUIRED + ["line_of_business"]), min_size=1))
def test_unknown_is_never_met(dropped):
    """Forgetting facts can only make a met case incomplete: never met on a gap, never a new not-met."""
    result = check_policy({k: v for k, v in MBC.items() if k not in dropped})
    if set(dropped) & set(REQUIRED):
        assert result.overall == "incomplete"
    else:
        assert result.overall == "meets_criteria"
    assert not any(c.verdict == "not_met" and c.parent is None for s in result.sections for c in s.criteria
                   if s.kind == "approval" and s.id == "I.A")


def test_checklist_marks_each_document():
    result = check_policy({**ADJ, "documents": ["her2_pathology", "Residual disease pathology"]})
    status = {c.id: c.status for c in result.checklist}
    assert status == {"her2_pathology": "provided", "residual_disease_pathology": "provided",
                      "neoadjuvant_regimen": "missing", "baseline_lfts": "missing", "baseline_lvef": "missing",
                      "chart_notes": "missing"}
    mbc = {c.id for c in check_policy(MBC).checklist}
    assert "prior_trastuzumab_taxane" in mbc and "residual_disease_pathology" not in mbc
    assert "continuation_monitoring" in {c.id for c in check_policy(CONT).checklist}


def test_her2_low_is_pointed_to_enhertu_with_a_quote():
    result = check_policy({**MBC, "her2_ihc": "1+"})
    assert result.her2.category == "low" and result.her2.alternative == "Enhertu"
    assert any("Enhertu" in q.quote for q in result.her2.sources)
    assert any("Enhertu" in w for w in result.warnings)


def test_figures_come_from_quotes_or_the_case():
    result = check_policy({**ADJ, "number_of_doses": 15, "dose_evidence_submitted": False, "line_of_business": None})
    figures = result.figures()
    assert {(f.value, f.unit) for f in figures if f.source} >= {(3.6, "mg/kg"), (21, "days"), (14, "doses"),
                                                                (18, "years")}
    assert (15, "doses") in {(f.value, f.unit) for f in figures if f.source is None}
    for f in figures:
        if f.source and f.formula is None:
            shown = f"{f.value:g}" if isinstance(f.value, int | float) else str(f.value)
            assert shown in f.source.quote, (f, f.source.quote)
        if f.source is None:
            assert f.label.startswith("case") or f.label == "case input"
