"""check_claim: a correct claim passes every line; each single error is caught alone; any weight's
claim built from calculate_dose passes; the example claims under evals/cases/claims/."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.tools.claim_request import ClaimRequest, load_claim, parse_claim
from assistant.tools.claims import check_claim
from assistant.tools.dose import DoseResult, build_request, calculate_dose

CLAIMS = Path(__file__).resolve().parent.parent / "evals" / "cases" / "claims"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")


CORRECT = {
    "weight": 70, "weight_unit": "kg", "indication": "mbc", "cycle": 1, "date_of_service": "2026-05-01",
    "place_of_service": "11", "line_of_business": "commercial", "icd10": ["Z51.11", "C50.911", "C78.7"],
    "lines": [
        {"code": "J9354", "modifiers": ["JZ"], "units": 252,
         "ndcs": [{"ndc": "50242-0088-01", "qualifier": "N4", "unit": "ML", "quantity": 5},
                  {"ndc": "50242-0087-01", "qualifier": "N4", "unit": "ML", "quantity": 7.6}]},
        {"code": "J9354", "modifiers": ["JW"], "units": 8},
        {"code": "96413", "units": 1},
        {"code": "96415", "units": 1},
    ],
}  # fmt: skip


def run(raw: dict):
    return check_claim(parse_claim(raw))


def not_ok(result) -> dict[str, str]:
    """check id -> status (wrong before check) for every finding that is not ok, on the lines and the claim."""
    found: dict[str, str] = {}
    for f in [f for line in result.lines for f in line.findings] + result.claim:
        if f.status != "ok" and found.get(f.check) != "wrong":
            found[f.check] = f.status
    return found


def test_the_correct_claim_passes_every_line():
    r = run(CORRECT)
    assert r.overall == "ok", not_ok(r)
    assert [line.status for line in r.lines] == ["ok"] * 4
    assert all(f.status == "ok" for f in r.claim) and r.safety == []
    assert r.implied_mg_per_kg.value == 3.6 and r.implied_mg_per_kg.formula == "252 units ÷ 70 kg = 3.6 mg/kg"
    assert r.expected.dose_mg.value == 252 and r.expected.drawn_mg.value == 260


def test_every_finding_quotes_the_corpus_exactly():
    corpus = get_corpus()
    for raw in [CORRECT, *[mutate(CORRECT, edit) for _, edit, *_ in SINGLE_ERRORS]]:
        r = run(raw)
        for f in [f for line in r.lines for f in line.findings] + r.claim:
            if f.quote is not None:
                assert corpus.text(f.quote.doc_id)[f.quote.start : f.quote.end] == f.quote.quote
            assert f.reason and "\n" not in f.reason


def mutate(raw: dict, edit) -> dict:
    out = copy.deepcopy(raw)
    edit(out)
    return out


def line(raw, n):
    return raw["lines"][n]


# (id, edit, the check that catches it, its status, lines that must stay ok)
SINGLE_ERRORS = [
    ("jz-above-cap-enhertu-dose", lambda c: line(c, 0).update(units=378), "units-cap", "wrong", [2, 3]),
    ("jz-above-cap-by-one", lambda c: line(c, 0).update(units=253), "units-cap", "wrong", [2, 3]),
    ("jz-below-order", lambda c: line(c, 0).update(units=240), "units-dose", "check", [2, 3]),
    ("jz-fractional", lambda c: line(c, 0).update(units=252.5), "whole-units", "wrong", [2, 3]),
    ("jw-wrong-units", lambda c: line(c, 1).update(units=10), "jw-units", "wrong", [0, 2, 3]),
    ("jw-missing", lambda c: c["lines"].pop(1), "jw-line", "wrong", [0, 1, 2]),
    ("jz-no-modifier", lambda c: line(c, 0).update(modifiers=[]), "modifier-required", "wrong", [2, 3]),
    ("jz-and-jw-on-one-line", lambda c: line(c, 0).update(modifiers=["JZ", "JW"]), "jz-jw-lines", "wrong", [2, 3]),
    ("enhertu-code", lambda c: line(c, 0).update(code="J9358"), "wrong-drug", "wrong", [2, 3]),
    ("trastuzumab-code", lambda c: line(c, 0).update(code="J9355"), "wrong-drug", "wrong", [2, 3]),
    ("ndc-10-digit", lambda c: line(c, 0)["ndcs"][0].update(ndc="50242-088-01"), "ndc-format", "wrong", [1, 2, 3]),
    ("ndc-10-digit-bare", lambda c: line(c, 0)["ndcs"][1].update(ndc="5024208701"), "ndc-format", "wrong", [1, 2, 3]),
    ("ndc-not-kadcyla", lambda c: line(c, 0)["ndcs"][0].update(ndc="12345-6789-01"), "ndc-format", "wrong", [1, 2, 3]),
    ("ndc-100-mg-missing", lambda c: line(c, 0)["ndcs"].pop(0), "ndc-missing", "wrong", [2, 3]),
    ("ndc-none", lambda c: line(c, 0).pop("ndcs"), "ndc-missing", "wrong", [0, 1, 2, 3]),
    ("ndc-qualifier-wrong", lambda c: line(c, 0)["ndcs"][0].update(qualifier="N5"), "ndc-qualifier", "wrong", [1, 2, 3]),
    ("ndc-qualifier-missing", lambda c: line(c, 0)["ndcs"][0].pop("qualifier"), "ndc-qualifier", "check", [1, 2, 3]),
    ("ndc-unit-not-ml", lambda c: line(c, 0)["ndcs"][0].update(unit="GR"), "ndc-qualifier", "check", [2, 3]),
    ("therapeutic-infusion-code", lambda c: line(c, 2).update(code="96365"), "cpt-96365", "wrong", [0, 1, 3]),
    ("96413-missing", lambda c: c["lines"].pop(2), "cpt-96413-missing", "wrong", [0, 1, 2]),
    ("96415-missing-cycle-1", lambda c: c["lines"].pop(3), "cpt-96415-missing", "wrong", [0, 1, 2]),
    ("96415-on-cycle-2", lambda c: c.update(cycle=2), "cpt-96415", "check", [0, 1, 2]),
    ("96413-two-units", lambda c: line(c, 2).update(units=2), "cpt-96413", "check", [0, 1, 3]),
    ("z51-11-missing", lambda c: c.update(icd10=["C50.911", "C78.7"]), "icd-z51-11", "wrong", [0, 1, 2, 3]),
    ("z51-12-instead", lambda c: c.update(icd10=["Z51.12", "C50.911", "C78.7"]), "icd-z51-11", "check", [0, 1, 2, 3]),
    ("c50-missing", lambda c: c.update(icd10=["Z51.11", "C78.7"]), "icd-c50", "wrong", [0, 1, 2, 3]),
    ("icd-malformed", lambda c: c["icd10"].append("50.911"), "icd-format", "wrong", [0, 1, 2, 3]),
    ("mbc-without-mets-code", lambda c: c.update(icd10=["Z51.11", "C50.911"]), "icd-mets", "check", [0, 1, 2, 3]),
    ("hospital-cycle-4", lambda c: c.update(place_of_service="22", cycle=4) or c["lines"].pop(3),
     "place-of-service", "check", [0, 1, 2]),
    ("home-infusion", lambda c: c.update(place_of_service="12"), "place-of-service", "check", [0, 1, 2, 3]),
    ("unknown-place", lambda c: c.update(place_of_service="81"), "place-of-service", "check", [0, 1, 2, 3]),
    ("no-place", lambda c: c.pop("place_of_service"), "place-of-service", "check", [0, 1, 2, 3]),
    ("ebc-cycle-15", lambda c: c.update(indication="ebc", cycle=15, icd10=["Z51.11", "C50.911"]) or c["lines"].pop(3),
     "ebc-course", "wrong", [0, 1, 2]),
    ("more-vials-than-needed", lambda c: line(c, 0).update(ndcs=[
        {"ndc": "50242-0087-01", "qualifier": "N4", "unit": "ML", "quantity": 12.6}]) or line(c, 1).update(units=68),
     "vial-choice", "check", [1, 2, 3]),
    ("unknown-code", lambda c: c["lines"].append({"code": "J1234", "units": 1}), "unknown-code", "check", [0, 1, 2, 3]),
]


@pytest.mark.parametrize(("edit", "check", "status", "ok_lines"), [e[1:] for e in SINGLE_ERRORS],
                         ids=[e[0] for e in SINGLE_ERRORS])
def test_each_single_error_is_caught(edit, check, status, ok_lines):
    r = run(mutate(CORRECT, edit))
    found = not_ok(r)
    assert found.get(check) == status, found
    assert r.overall == ("wrong" if "wrong" in found.values() else "check")
    for n in ok_lines:
        assert r.lines[n].status == "ok", (n, r.lines[n].findings)


@pytest.mark.parametrize(("ndc", "hint"), [("50242-088-01", "50242-0088-01"), ("5024208701", "50242-0087-01"),
                                          ("5024208801", "50242-0088-01"), ("12345-678-90", None)])
def test_a_10_digit_ndc_gets_its_11_digit_form(ndc, hint):
    r = run(mutate(CORRECT, lambda c: line(c, 0)["ndcs"][0].update(ndc=ndc)))
    (finding,) = [f for f in r.lines[0].findings if f.check == "ndc-format" and f.status == "wrong"]
    assert "not in the 11-digit 5-4-2 format" in finding.reason
    assert (f"the 11-digit form is {hint}" in finding.reason) if hint else ("11-digit form is" not in finding.reason)


def test_the_issue_claim_378_units_for_70_kg():
    r = run(mutate(CORRECT, lambda c: line(c, 0).update(units=378)))
    (finding,) = [f for f in r.lines[0].findings if f.check == "units-cap"]
    assert "378 JZ units for 70 kg is 5.4 mg/kg, above the 3.6 mg/kg maximum: at most 252 units" in finding.reason
    assert r.implied_mg_per_kg.value == 5.4
    rules = {f.rule: f.severity for f in r.safety}
    assert rules == {"dose-above-label-maximum": "error", "not-enhertu-dose": "error"}


def test_enhertu_code_brings_the_label_rule():
    r = run(mutate(CORRECT, lambda c: line(c, 0).update(code="J9358")))
    assert "not-enhertu-code" in {f.rule for f in r.safety}
    assert any("Enhertu" in f.reason for f in r.lines[0].findings)


def test_re_escalation_after_a_reduction_is_wrong_overall():
    r = run({**CORRECT, "dose_reduced": True, "previous_mg_per_kg": 3.0})
    assert [line.status for line in r.lines] == ["ok"] * 4  # the lines bill what was given ...
    assert r.overall == "wrong"  # ... but the dose went back up
    assert [f.rule for f in r.safety if f.severity == "error"] == ["no-re-escalation"]


def test_a_reduced_order_is_billed_at_its_own_level():
    raw = mutate(CORRECT, lambda c: c.update(mg_per_kg=3.0, dose_reduced=True) or line(c, 0).update(units=210)
                 or line(c, 1).update(units=50))
    r = run(raw)
    assert r.overall == "ok", not_ok(r)
    assert [f.rule for f in r.safety] == ["reduced-dose-stays-reduced"]  # a warning, not an error
    high = run(mutate(raw, lambda c: line(c, 0).update(units=252) or line(c, 1).update(units=8)))
    assert not_ok(high)["units-dose"] == "wrong"  # more than the ordered reduced dose


def test_no_weight_leaves_units_to_check():
    r = run({k: v for k, v in CORRECT.items() if k not in ("weight", "weight_unit")})
    assert not_ok(r) == {"units-dose": "check"}  # JW still adds up to the vials the NDCs report
    assert r.expected is None and r.implied_mg_per_kg is None


def test_medicare_hospital_later_cycle_is_fine():
    r = run(mutate(CORRECT, lambda c: c.update(place_of_service="22", cycle=3, line_of_business="medicare")
                   or c["lines"].pop(3)))
    assert r.overall == "ok", not_ok(r)


def test_hospital_cycle_1_is_fine():
    assert run({**CORRECT, "place_of_service": "22"}).overall == "ok"


def test_vials_in_stock_change_the_expected_waste():
    raw = mutate(CORRECT, lambda c: c.update(vials_available=[160]) or line(c, 0).update(ndcs=[
        {"ndc": "50242-0087-01", "qualifier": "N4", "unit": "ML", "quantity": 12.6}]) or line(c, 1).update(units=68))
    assert run(raw).overall == "ok", not_ok(run(raw))


@pytest.mark.parametrize(
    ("raw", "message"),
    [({}, "lines: required"), ({"lines": []}, "lines"), ({**CORRECT, "weight": 70, "weight_unit": None}, "has no unit"),
     ({**CORRECT, "weight": 1000}, "outside 20–350 kg"), ({**CORRECT, "lines": [{"code": "J9354"}]}, "units: required"),
     ({**CORRECT, "lines": [{"code": "J9354", "units": -1}]}, "0 or more"), ({**CORRECT, "colour": "red"}, "unknown field"),
     ({**CORRECT, "indication": "gastric"}, "not understood"), ([1, 2], "JSON object")],
)  # fmt: skip
def test_unreadable_claims_are_refused(raw, message):
    with pytest.raises(InputError, match=message):
        check_claim(parse_claim(raw)) if isinstance(raw, dict) else parse_claim(raw)


# ---------------------------------------------------------------- any weight: calculate_dose's claim passes


def claim_from(r: DoseResult, cycle: int, indication: str) -> dict:
    """The claim a biller would write from the dose result: drug lines, NDCs, admin codes, diagnoses."""
    drug = [{"code": ln.hcpcs, "modifiers": [ln.modifier], "units": ln.units.value} for ln in r.billing.lines]
    drug[0]["ndcs"] = [{"ndc": v.ndc_11.value, "qualifier": "N4", "unit": "ML",
                        "quantity": v.count.value * v.reconstitution_ml.value} for v in r.vials]
    admin = [{"code": c.value, "units": 1} for c in r.administration.cpt]
    icd = ["Z51.11", "C50.912"] + (["C79.51"] if indication == "mbc" else [])
    return {"weight": r.request.weight, "weight_unit": r.request.weight_unit, "indication": indication,
            "cycle": cycle, "date_of_service": str(r.date_of_service), "place_of_service": "11",
            "icd10": icd, "lines": drug + admin}


@settings(max_examples=150, deadline=None)
@given(kg=st.decimals(min_value=20, max_value=350, places=2).map(float),
       indication=st.sampled_from(["mbc", "ebc"]), cycle=st.integers(1, 14),
       unit=st.sampled_from(["kg", "lb"]))
def test_any_weight_claim_from_calculate_dose_passes(kg, indication, cycle, unit):
    weight = kg if unit == "kg" else round(kg / 0.45359237, 2)
    if unit == "lb" and not 20 <= weight * 0.45359237 <= 350:
        return
    r = calculate_dose(build_request(weight=weight, weight_unit=unit, indication=indication, cycle=cycle,
                                     date_of_service="2026-05-01"))
    result = run(claim_from(r, cycle, indication))
    assert result.overall == "ok", not_ok(result)
    assert result.safety == []


# ---------------------------------------------------------------- the example claims

EXAMPLES = {
    # file: (overall, the checks that must not be ok, with their status)
    "correct-70kg-mbc-cycle1.json": ("ok", {}),
    "correct-85kg-ebc-cycle2.json": ("ok", {}),
    "wrong-units-enhertu-dose.json": ("wrong", {"units-cap": "wrong"}),
    "wrong-jcode-enhertu.json": ("wrong", {"wrong-drug": "wrong"}),
    "wrong-missing-jw-line.json": ("wrong", {"jw-line": "wrong"}),
    "wrong-ndc-10-digit.json": ("wrong", {"ndc-format": "wrong"}),
    "wrong-admin-96365.json": ("wrong", {"cpt-96365": "wrong", "cpt-96413-missing": "wrong"}),
    "wrong-missing-96415-cycle1.json": ("wrong", {"cpt-96415-missing": "wrong"}),
    "wrong-missing-z5111.json": ("wrong", {"icd-z51-11": "wrong"}),
    "check-hospital-cycle4-commercial.json": ("check", {"place-of-service": "check"}),
    "wrong-re-escalation-after-reduction.json": ("wrong", {}),
}


def test_every_example_file_is_listed():
    assert sorted(p.name for p in CLAIMS.glob("*.json")) == sorted(EXAMPLES)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_claims(name):
    overall, expected = EXAMPLES[name]
    r = check_claim(load_claim(CLAIMS / name))
    assert r.overall == overall, not_ok(r)
    found = not_ok(r)
    for check, status in expected.items():
        assert found.get(check) == status, found
    if overall == "ok":
        assert found == {}


def test_a_claim_file_that_is_not_json(tmp_path):
    bad = tmp_path / "claim.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="Cannot read claim file"):
        load_claim(bad)
    with pytest.raises(InputError, match="not found"):
        load_claim(tmp_path / "missing.json")


def test_claim_schema_for_the_model():
    schema = ClaimRequest.model_json_schema()
    assert schema["required"] == ["lines"]
    assert all(p.get("description") for p in schema["properties"].values())
    assert "Never judge a claim in prose" in check_claim.__doc__
    json.dumps(schema)


# ---------------------------------------------------------------- any input: a result or one InputError

_value = st.one_of(st.none(), st.booleans(), st.integers(-5, 2000), st.floats(allow_nan=True, allow_infinity=True),
                   st.text(max_size=12), st.sampled_from(["70 kg", "154 lb", "J9354", "JZ", "N4", "ML", "50242-0088-01"]))
_ndc = st.fixed_dictionaries({}, optional={"ndc": _value, "qualifier": _value, "unit": _value, "quantity": _value})
_line = st.fixed_dictionaries({}, optional={"code": st.one_of(_value, st.sampled_from(["J9354", "96413", "96415", "J9358"])),
                                            "modifiers": st.lists(_value, max_size=3), "units": _value,
                                            "ndcs": st.lists(_ndc, max_size=2)})
_claim = st.fixed_dictionaries({}, optional={
    "lines": st.lists(_line, max_size=4), "icd10": st.lists(_value, max_size=3), "place_of_service": _value,
    "weight": _value, "weight_unit": _value, "indication": _value, "cycle": _value, "date_of_service": _value,
    "mg_per_kg": _value, "dose_reduced": _value, "previous_mg_per_kg": _value, "vials_available": st.lists(_value, max_size=2),
    "line_of_business": _value})


def result_or_refusal(raw) -> None:
    try:
        result = check_claim(parse_claim(raw))
    except InputError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert result.overall in ("ok", "wrong", "check")


@settings(max_examples=300, deadline=None)
@given(_claim)
def test_any_claim_gives_a_result_or_one_readable_refusal(raw):
    result_or_refusal(raw)


_paths = st.sampled_from([("weight",), ("weight_unit",), ("indication",), ("cycle",), ("mg_per_kg",), ("dose_reduced",),
                          ("previous_mg_per_kg",), ("place_of_service",), ("date_of_service",), ("line_of_business",),
                          ("lines", 0, "units"), ("lines", 0, "code"), ("lines", 1, "units"), ("lines", 0, "ndcs", 0, "ndc"),
                          ("lines", 0, "ndcs", 0, "quantity"), ("lines", 0, "ndcs", 1, "unit"), ("lines", 2, "code"),
                          ("lines", 3, "units"), ("lines", 0, "modifiers", 0), ("icd10", 0), ("vials_available",)])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_paths, _value), min_size=1, max_size=3))
def test_the_correct_claim_with_any_field_changed(changes):
    raw = copy.deepcopy({**CORRECT, "vials_available": [100, 160]})
    for path, value in changes:
        node = raw
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    result_or_refusal(raw)
