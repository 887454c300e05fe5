"""The doses staff ask for: Centene I.B off-label uses, vials in stock, a prescribed mg dose, reduced
doses with "do not re-escalate", and payment for this patient's cycle and course."""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest
from pydantic import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.tools.dose import DoseRequest, build_request, calculate_dose
from assistant.tools.vials import best_combination

IN_Q2 = dt.date(2026, 5, 1)


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")


def calc(**kw):
    kw.setdefault("indication", "mbc")
    kw.setdefault("date_of_service", IN_Q2)
    return calculate_dose(build_request(**kw))


def vials(r) -> dict[int, int]:
    return {int(v.strength_mg.value): int(v.count.value) for v in r.vials}


def lines(r) -> list[tuple[str, int]]:
    return [(line.modifier, int(line.units.value)) for line in r.billing.lines]


# ---------------------------------------------------------------- Centene I.B off-label uses

OFF_LABEL = [("nsclc", "non-small cell lung cancer (NSCLC);"), ("salivary", "Recurrent salivary gland tumor;"),
             ("brain_mets", "Brain metastases due to breast cancer;")]  # fmt: skip


@pytest.mark.parametrize(("indication", "diagnosis"), OFF_LABEL)
def test_off_label_uses_are_dosed_at_3_6_with_the_policy_quote(indication, diagnosis):
    r = calc(weight="70 kg", indication=indication)
    assert r.dose_mg.value == 252 and vials(r) == {100: 1, 160: 1} and lines(r) == [("JZ", 252), ("JW", 8)]
    assert r.mg_per_kg.value == 3.6
    assert r.mg_per_kg.source.doc_id == "centene-cp-phar-229"
    assert r.mg_per_kg.source.quote == "a. Dose does not exceed 3.6 mg/kg every 21 days;"
    assert r.dose_mg.source.doc_id == "centene-cp-phar-229"
    assert any(diagnosis in n and "every 21 days" in n for n in r.notes)
    assert "Centene I.B" in r.indication_label
    assert r.payment.course_cycles.value == 17 and r.payment.after_sequestration is None
    assert r.payment.rest_of_course is None


@pytest.mark.parametrize("indication", ["nsclc", "salivary", "brain_mets"])
def test_off_label_cycles_have_no_14_cycle_cap(indication):
    assert calc(weight="70 kg", indication=indication, cycle=15).request.cycle == 15


@pytest.mark.parametrize(
    ("word", "code"),
    [("NSCLC", "nsclc"), ("non-small cell lung cancer", "nsclc"), ("lung cancer", "nsclc"),
     ("salivary gland tumor", "salivary"), ("Salivary", "salivary"), ("brain mets", "brain_mets"),
     ("brain metastases", "brain_mets"), ("brain_mets", "brain_mets")],
)  # fmt: skip
def test_off_label_synonyms(word, code):
    assert build_request(weight="70 kg", indication=word).indication == code


@pytest.mark.parametrize("word", ["lung", "gastric", "breast"])
def test_other_indications_are_still_asked_about(word):
    with pytest.raises(InputError, match="nsclc, salivary and brain_mets"):
        build_request(weight="70 kg", indication=word)


def test_off_label_reduced_dose_is_labelled_reduced():
    r = calc(weight="70 kg", indication="nsclc", mg_per_kg=3.0)
    assert r.dose_mg.value == 210 and r.reduced_dose and "reduced" in r.mg_per_kg.label


# ---------------------------------------------------------------- vials in stock

STOCK = [
    # weight, stock, expected vials, drawn, waste, extra waste against both strengths
    ("70 kg", [160], {160: 2}, 320, 68, 60),
    ("70 kg", [100], {100: 3}, 300, 48, 40),
    ("85 kg", [160], {160: 2}, 320, 14, 0),
    ("85 kg", [100], {100: 4}, 400, 94, 80),
    ("40 kg", [160], {160: 1}, 160, 16, 0),  # 144 mg: 1 x 160 is the least-waste choice with both strengths too
    ("70 kg", [100, 160], {100: 1, 160: 1}, 260, 8, None),
]


@pytest.mark.parametrize(("weight", "stock", "counts", "drawn", "waste", "extra"), STOCK)
def test_vials_from_the_strengths_in_stock(weight, stock, counts, drawn, waste, extra):
    r = calc(weight=weight, vials_available=stock)
    assert vials(r) == counts
    assert r.drawn_mg.value == drawn and r.waste_mg.value == waste
    assert sum(n for _, n in lines(r)) == drawn
    assert r.vials_available == sorted(stock)
    stock_notes = [n for n in r.notes if "in stock" in n]
    if extra is None:
        assert stock_notes == [] and r.drawn_mg.label == "mg in the vials opened (least-waste combination)"
    else:
        (note,) = stock_notes
        assert (f"{extra} mg less waste" in note) == (extra > 0)
        assert ("same total" in note) == (extra == 0)
        assert "Sites that stock only the 100 mg vial waste more drug per dose." in note
        assert "in stock" in r.drawn_mg.label


@pytest.mark.parametrize(("text", "stock"), [("160", [160]), ("160 mg", [160]), ("100, 160", [100, 160]),
                                             ("100 and 160", [100, 160]), ([160, 160], [160]), (["100mg"], [100])])
def test_stock_spellings(text, stock):
    assert build_request(weight="70 kg", indication="mbc", vials_available=text).vials_available == stock


@pytest.mark.parametrize("stock", [[120], [], "lots", [100, 150], [0]])
def test_unknown_strengths_are_refused(stock):
    with pytest.raises(InputError, match="Kadcyla comes in 100 and 160 mg|mg amounts such as 100 or 160"):
        build_request(weight="70 kg", indication="mbc", vials_available=stock)


@settings(max_examples=120, deadline=None)
@given(kg=st.decimals(min_value=20, max_value=350, places=1).map(float),
       stock=st.sampled_from([[100], [160], [100, 160]]))
def test_stock_invariants(kg, stock):
    r = calc(weight=kg, weight_unit="kg", vials_available=stock)
    dose, drawn = Decimal(str(r.dose_mg.value)), r.drawn_mg.value
    assert set(vials(r)) <= set(stock)
    assert drawn >= dose and r.waste_mg.value >= 0
    assert sum(n for _, n in lines(r)) == drawn == r.billing.total_units.value
    assert drawn >= best_combination(dose, [100, 160]).total_mg  # fewer strengths never waste less


# ---------------------------------------------------------------- a prescribed mg dose


def test_prescribed_mg_with_weight_shows_the_implied_level():
    r = calc(weight="70 kg", prescribed_mg=250)
    assert r.dose_basis == "prescribed"
    assert r.dose_mg.value == 250 and r.dose_mg.source is None  # the user's figure
    assert r.mg_per_kg.value == 3.57 and "250 mg ÷ 70 kg" in r.mg_per_kg.formula
    assert vials(r) == {100: 1, 160: 1} and r.waste_mg.value == 10
    assert lines(r) == [("JZ", 250), ("JW", 10)]
    assert r.preparation.withdraw_ml.value == 12.5
    assert r.reduced_dose and any("below the 3.6 mg/kg label dose (252 mg for this weight)" in n for n in r.notes)


def test_prescribed_mg_at_the_label_dose_is_not_reduced():
    r = calc(weight="70 kg", prescribed_mg=252)
    assert r.mg_per_kg.value == 3.6 and not r.reduced_dose
    assert r.warnings == [] and r.safety == []


def test_prescribed_mg_without_weight():
    r = calc(prescribed_mg=300, weight=None)
    assert r.weight_kg is None and r.mg_per_kg is None
    assert vials(r) == {100: 3} and r.waste_mg.value == 0 and lines(r) == [("JZ", 300)]
    assert r.preparation.withdraw_ml.value == 15
    assert r.payment.per_cycle.value == 12659.40  # 300 x $42.198
    assert any("maximum could not be checked for 300 mg" in w for w in r.warnings)


def test_prescribed_mg_in_lb():
    r = calc(weight="154 lb", prescribed_mg=250)
    assert r.weight_kg.value == 69.85322498 and r.mg_per_kg.value == 3.58


@pytest.mark.parametrize(
    ("raw", "message"),
    [(dict(weight="70 kg", prescribed_mg=253), r"3.62 mg/kg, above the label maximum of 3.6 mg/kg \(at most 252 mg"),
     (dict(weight="70 kg", prescribed_mg=252.1), "above the label maximum"),
     (dict(prescribed_mg=1260.1), "above 3.6 mg/kg for any weight up to 350 kg"),
     (dict(weight="70 kg", prescribed_mg=250, mg_per_kg=3.0), "not both"),
     (dict(prescribed_mg=0), "above 0"),
     (dict(prescribed_mg=-5), "above 0"),
     (dict(prescribed_mg="lots"), "prescribed dose must be a number"),
     (dict(weight="70", prescribed_mg=250), "has no unit"),
     (dict(weight="1000 kg", prescribed_mg=250), "outside 20–350 kg")],
)  # fmt: skip
def test_prescribed_mg_refusals(raw, message):
    with pytest.raises(InputError, match=message):
        build_request(indication="mbc", **raw)


def test_prescribed_mg_boundaries_accepted():
    assert calc(prescribed_mg=1260).dose_mg.value == 1260
    assert calc(weight="70 kg", prescribed_mg=252).dose_mg.value == 252


def test_no_weight_and_no_prescribed_dose_still_asks_for_the_weight():
    with pytest.raises(InputError, match=r"^What is the patient's weight, in kg or lb\?"):
        build_request(indication="mbc")
    with pytest.raises(ValidationError, match="What is the patient's weight"):
        DoseRequest(weight=None, weight_unit=None, indication="mbc")


# ---------------------------------------------------------------- reduced doses: do not re-escalate

REDUCTIONS = [
    # (inputs, accepted?, text that must appear: a warning if accepted, the refusal if not)
    (dict(dose_reduced=True, mg_per_kg=3.0), True, "A dose reduction is recorded"),
    (dict(dose_reduced=True, mg_per_kg=3.0, previous_mg_per_kg=3.0), True, "Do not re-escalate"),
    (dict(dose_reduced=True, mg_per_kg=2.4, previous_mg_per_kg=3.0), True, "Do not re-escalate"),
    (dict(dose_reduced=True, mg_per_kg=3.01, previous_mg_per_kg=3.0), False, "goes back up from the previous 3 mg/kg"),
    (dict(dose_reduced=True, mg_per_kg=3.6, previous_mg_per_kg=3.0), False, "never to re-escalate"),
    (dict(dose_reduced=True, mg_per_kg=3.6), False, "Do not re-escalate the ado-trastuzumab emtansine dose"),
    (dict(dose_reduced=True, mg_per_kg=3.59), True, "A dose reduction is recorded"),
    (dict(dose_reduced=True), False, "what is the reduced dose level in mg/kg"),
    (dict(dose_reduced=True, prescribed_mg=252), False, "goes back up"),  # 70 kg: 3.6 mg/kg
    (dict(dose_reduced=True, prescribed_mg=210), True, "A dose reduction is recorded"),
    (dict(previous_mg_per_kg=3.0, mg_per_kg=3.6), True, "If the lower dose was a dose reduction"),
    (dict(previous_mg_per_kg=3.0, mg_per_kg=3.6, dose_reduced=False), True, None),
]


@pytest.mark.parametrize(("raw", "accepted", "text"), REDUCTIONS)
def test_reductions(raw, accepted, text):
    if not accepted:
        with pytest.raises(InputError, match=re.escape(text)):
            calc(weight="70 kg", **raw)
        return
    r = calc(weight="70 kg", **raw)
    if text is None:
        assert r.warnings == [] and r.safety == []
    else:
        assert any(text in w for w in r.warnings), r.warnings
        assert all(f.severity == "warning" for f in r.safety) and r.safety


def test_reduced_dose_result():
    r = calc(weight="70 kg", dose_reduced=True, mg_per_kg=3.0)
    assert r.dose_mg.value == 210 and r.reduced_dose
    assert [f.rule for f in r.safety] == ["reduced-dose-stays-reduced"]
    assert r.safety[0].quote.quote == "Do not re-escalate the ado-trastuzumab emtansine dose after a dose reduction is made."


def test_reduction_recorded_without_weight():
    r = calc(prescribed_mg=210, dose_reduced=True)
    assert r.reduced_dose and any("Do not re-escalate" in w for w in r.warnings)


# ---------------------------------------------------------------- payment for this patient

_DOLLARS = re.compile(r"\$[\d,]+(?:\.\d+)?")


def test_mbc_year_after_sequestration():
    r = calc(weight="70 kg")
    assert r.payment.course.value == 186515.16
    seq = r.payment.after_sequestration
    assert seq.value == 182784.86  # 186,515.16 x 0.98; the guide rounds it to ~$182,800
    assert seq.source.quote == "After ~2% sequestration" and seq.source.doc_id == "carecost-j9354"
    assert "2%" in seq.formula


@pytest.mark.parametrize(("cycle", "left"), [(1, 14), (3, 12), (14, 1)])
def test_ebc_rest_of_course(cycle, left):
    r = calc(weight="70 kg", indication="ebc", cycle=cycle)
    assert r.payment.course.value == 153600.72
    rest = r.payment.rest_of_course
    assert rest.value == float((Decimal("10971.48") * left).quantize(Decimal("0.01")))
    assert f"({left} cycles)" in rest.label
    assert r.payment.after_sequestration is None


@pytest.mark.parametrize("weight", ["100 kg", "55 kg", "160 lb", "120 kg"])
def test_payment_is_for_this_patient_not_the_guide_example(weight):
    for indication in ("mbc", "ebc"):
        r = calc(weight=weight, indication=indication)
        billed = Decimal(r.billing.total_units.value)
        per_cycle = (Decimal("42.198") * billed).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert r.payment.per_cycle.value == float(per_cycle)
        assert r.payment.course.value == float(per_cycle * int(r.payment.course_cycles.value))
        for fig in [f for f in (r.payment.per_cycle, r.payment.administered, r.payment.course,
                                r.payment.rest_of_course, r.payment.after_sequestration) if f]:
            # no worked-example dollar figure of the guide rides along in a quote
            assert set(_DOLLARS.findall(fig.source.quote)) <= {"$42.198"}, fig.source.quote
            for guide in ("10,971.48", "10,633.90", "186,515", "153,60", "182,800", "13,503.36", "189,047"):
                assert guide not in (fig.formula or "")


def test_new_figures_rest_on_exact_quotes():
    corpus = get_corpus()
    for r in (calc(weight="70 kg", indication="brain_mets", vials_available=[160]), calc(weight="70 kg"),
              calc(weight="70 kg", indication="ebc", cycle=2)):
        for fig in r.figures():
            if fig.source is not None:
                assert corpus.text(fig.source.doc_id)[fig.source.start : fig.source.end] == fig.source.quote


def test_old_request_shape_still_works():
    r = calculate_dose(DoseRequest(weight=70, weight_unit="kg", indication="mbc", date_of_service=IN_Q2))
    assert r.dose_mg.value == 252 and r.dose_basis == "weight" and r.safety == [] and r.warnings == []
    assert r.request.prescribed_mg is None and r.request.vials_available is None and r.request.dose_reduced is None
