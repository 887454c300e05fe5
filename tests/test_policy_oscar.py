"""Oscar CG101: preferred products, exception criteria 1.a–g AND documentation 2.a–e, durations, EviCore."""

from __future__ import annotations

import pytest

from assistant.tools.policy import check_policy

NONE_ELSE = dict(shortage=False, current_course_to_complete=False, guideline_supports_requested=False,
                 state_prohibits_step_therapy=False)
MARGENZA = dict(payer="oscar", requested_product="margenza", preferred_trials=["enhertu: failure", "perjeta: failure"],
                documents=["failure_details"], **NONE_ELSE)


def crit(result, cid):
    return next(c for s in result.sections for c in s.criteria if c.id == cid)


TABLE = [
    ("two preferred failures", {}, "1.a", "met", "meets_criteria"),
    ("one preferred failure", {"preferred_trials": ["enhertu: failure"]}, "1", "not_met", "does_not_meet"),
    ("one failure, other exceptions unknown", {"preferred_trials": ["enhertu: failure"], "shortage": None,
                                               "current_course_to_complete": None}, "1", "unknown", "incomplete"),
    ("the same product twice counts once", {"preferred_trials": ["enhertu: failure", "Enhertu: progressed"]}, "1.a",
     "not_met", "does_not_meet"),
    ("a non-preferred product does not count", {"preferred_trials": ["enhertu: failure", "trastuzumab: failure"]},
     "1.a", "not_met", "does_not_meet"),
    ("one failure plus an intolerance", {"preferred_trials": ["enhertu: failure", "perjeta: intolerance"],
                                         "documents": ["adverse_event_details"]}, "1.b", "met", "meets_criteria"),
    ("contraindication", {"preferred_trials": ["enhertu: contraindicated"], "documents": ["contraindication_details"]},
     "1.c", "met", "meets_criteria"),
    ("shortage", {"preferred_trials": [], "shortage": True, "documents": ["shortage_notice"]}, "1.d", "met",
     "meets_criteria"),
    ("completing a course", {"preferred_trials": [], "current_course_to_complete": True, "course_from_samples": False,
                             "documents": ["why_not_preferred"]}, "1.e", "met", "meets_criteria"),
    ("course from samples", {"preferred_trials": [], "current_course_to_complete": True, "course_from_samples": True},
     "1.e", "not_met", "does_not_meet"),
    ("guidelines favour it", {"preferred_trials": [], "guideline_supports_requested": True,
                              "documents": ["why_not_preferred"]}, "1.f", "met", "meets_criteria"),
    ("state prohibits step therapy", {"preferred_trials": [], "state_prohibits_step_therapy": True,
                                      "documents": ["why_not_preferred"]}, "1.g", "met", "meets_criteria"),
    ("trials unknown", {"preferred_trials": None}, "1.a", "unknown", "incomplete"),
    ("no documentation", {"documents": []}, "2", "not_met", "does_not_meet"),
    ("documentation not listed", {"documents": None}, "2", "unknown", "incomplete"),
]


@pytest.mark.parametrize("name,overrides,cid,verdict,overall", TABLE, ids=[row[0] for row in TABLE])
def test_exception_criteria(name, overrides, cid, verdict, overall):
    result = check_policy({**MARGENZA, **overrides})
    assert crit(result, cid).verdict == verdict, crit(result, cid).reason
    assert result.overall == overall, result.overall_reason


def test_exception_is_authorized_up_to_12_months():
    (d,) = check_policy(MARGENZA).approval_duration
    assert (d.months, d.up_to) == (12, True) and "12-months" in d.source.quote


def test_shortage_gets_3_months_initial():
    (d,) = check_policy({**MARGENZA, "preferred_trials": [], "shortage": True,
                         "documents": ["shortage_notice"]}).approval_duration
    assert d.months == 3 and "3 months" in d.source.quote


def test_shortage_alongside_another_exception_keeps_12_months():
    (d,) = check_policy({**MARGENZA, "shortage": True}).approval_duration
    assert d.months == 12


@pytest.mark.parametrize("product", ["kadcyla", "Kadcyla", "T-DM1", "enhertu", "perjeta", "pertuzumab", "phesgo"])
def test_preferred_products_need_no_exception(product):
    result = check_policy({"payer": "oscar", "requested_product": product})
    assert result.overall == "meets_criteria"
    assert [s.id for s in result.sections] == ["Table 1"]
    assert any("may still require a clinical prior authorization" in n.source.quote for n in result.sections[0].notes)


def test_oncology_requests_go_to_evicore():
    result = check_policy({"payer": "oscar", "requested_product": "kadcyla"})
    contacts = {c.method: c.value for c in result.submission.contacts}
    assert result.submission.review_entity == "EviCore"
    assert contacts == {"portal": "www.evicore.com", "phone": "855-252-1118", "fax": "800-540-2406"}
    assert {("855-252-1118", "phone"), ("800-540-2406", "fax")} <= {(f.value, f.unit) for f in result.figures()}


def test_trastuzumab_is_referred_to_cg082():
    result = check_policy({"payer": "oscar", "requested_product": "Herceptin"})
    assert result.overall == "does_not_meet"
    assert [(r.policy, r.certain) for r in result.referral] == [("CG082", True)]


def test_unknown_product_is_incomplete_and_asks_for_it():
    result = check_policy({"payer": "oscar"})
    assert result.overall == "incomplete"
    assert result.missing[0].field == "requested_product"


def test_exception_checklist_marks_alternatives_optional():
    status = {c.id: c.status for c in check_policy(MARGENZA).checklist}
    assert status["failure_details"] == "provided"
    assert status["prior_trial_records"] == "missing"
    assert status["shortage_notice"] == "optional"


def test_her2_low_kadcyla_under_oscar_warns():
    result = check_policy({"payer": "oscar", "requested_product": "kadcyla", "her2_ihc": "2+", "her2_ish": "negative"})
    assert result.overall == "meets_criteria"  # CG101 itself only lists preferred products
    assert any("Enhertu" in w for w in result.warnings)
