"""calculate_dose: the billing guide's worked examples, vial change points, refusals, invariants."""

from __future__ import annotations

import datetime as dt
import itertools
import math
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.corpus import get_corpus
from assistant.errors import DataError, InputError
from assistant.tools import dose as dose_module
from assistant.tools import dose_facts as dose_facts_module
from assistant.tools.dose import DoseRequest, build_request, calculate_dose, load_dose_facts, parse_weight
from assistant.tools.vials import best_combination

IN_Q2 = dt.date(2026, 5, 1)
relaxed = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")


def calc(weight, indication="mbc", **kw):
    """weight is '70 kg'-style text or a (value, unit) pair."""
    if isinstance(weight, tuple):
        kw.update(weight=weight[0], weight_unit=weight[1])
    else:
        kw["weight"] = weight
    kw.setdefault("date_of_service", IN_Q2)
    return calculate_dose(build_request(indication=indication, **kw))


def vials(result) -> dict[int, int]:
    return {int(v.strength_mg.value): int(v.count.value) for v in result.vials}


def lines(result) -> list[tuple[str, int]]:
    return [(line.modifier, int(line.units.value)) for line in result.billing.lines]


# ---------------------------------------------------------------- the billing guide, exactly


def test_guide_example_70kg_mbc():
    r = calc("70 kg", "mbc")
    assert r.dose_mg.value == 252
    assert vials(r) == {100: 1, 160: 1}
    assert r.drawn_mg.value == 260 and r.waste_mg.value == 8
    assert lines(r) == [("JZ", 252), ("JW", 8)]
    assert r.billing.hcpcs.value == "J9354"
    assert r.preparation.withdraw_ml.value == 12.6
    assert r.payment.price_per_unit.value == 42.198
    assert r.payment.administered.value == 10633.90
    assert r.payment.per_cycle.value == 10971.48
    assert r.payment.course_cycles.value == 17 and r.payment.course.value == 186515.16  # guide: ~$186,515
    assert [c.value for c in r.administration.cpt] == ["96413", "96415"]
    assert (r.administration.infusion_minutes.value, r.administration.observation_minutes.value) == (90, 90)
    assert r.warnings == []


def test_guide_example_85kg_ebc():
    r = calc("85 kg", "ebc")
    assert r.dose_mg.value == 306
    assert vials(r) == {160: 2}
    assert r.drawn_mg.value == 320 and r.waste_mg.value == 14
    assert lines(r) == [("JZ", 306), ("JW", 14)]
    assert r.payment.per_cycle.value == 13503.36
    assert r.payment.course_cycles.value == 14
    assert r.payment.course.value == 189047.04  # guide: about $189,047


def test_guide_katherine_total_for_70kg():
    assert calc("70 kg", "ebc").payment.course.value == 153600.72  # guide: ~$153,600.72


def test_ndcs_in_both_forms():
    r = calc("70 kg")
    got = {int(v.strength_mg.value): (v.ndc_11.value, v.ndc_10.value, v.reconstitution_ml.value) for v in r.vials}
    assert got == {100: ("50242-0088-01", "50242-088-01", 5), 160: ("50242-0087-01", "50242-087-01", 8)}


def test_preparation_and_later_cycles():
    r = calc("70 kg", cycle=2)
    assert r.preparation.concentration_mg_per_ml.value == 20
    assert r.preparation.diluent_volume_ml.value == 250
    assert r.preparation.diluent.value == "0.9% Sodium Chloride Injection"
    assert "dextrose" in r.preparation.diluent_forbidden.value
    assert r.preparation.filter.value == "0.2 or 0.22 micron"
    assert [c.value for c in r.administration.cpt] == ["96413"]
    assert (r.administration.infusion_minutes.value, r.administration.observation_minutes.value) == (30, 30)
    assert r.administration.condition


# ---------------------------------------------------------------- vial change points up to 350 kg

# Smallest total at or above the dose, fewest vials on a tie: total -> (100 mg vials, 160 mg vials).
# Written out by hand; test_table_is_every_change_point proves it lists every total 20–350 kg can reach.
BEST = {
    100: (1, 0), 160: (0, 1), 200: (2, 0), 260: (1, 1), 300: (3, 0), 320: (0, 2), 360: (2, 1), 400: (4, 0),
    420: (1, 2), 460: (3, 1), 480: (0, 3), 500: (5, 0), 520: (2, 2), 560: (4, 1), 580: (1, 3), 600: (6, 0),
    620: (3, 2), 640: (0, 4), 660: (5, 1), 680: (2, 3), 700: (7, 0), 720: (4, 2), 740: (1, 4), 760: (6, 1),
    780: (3, 3), 800: (0, 5), 820: (5, 2), 840: (2, 4), 860: (7, 1), 880: (4, 3), 900: (1, 5), 920: (6, 2),
    940: (3, 4), 960: (0, 6), 980: (5, 3), 1000: (2, 5), 1020: (7, 2), 1040: (4, 4), 1060: (1, 6),
    1080: (6, 3), 1100: (3, 5), 1120: (0, 7), 1140: (5, 4), 1160: (2, 6), 1180: (7, 3), 1200: (4, 5),
    1220: (1, 7), 1240: (6, 4), 1260: (3, 6),
}  # fmt: skip
MAX_DOSE = Decimal("3.6") * 350  # 1260 mg


def brute_force(dose: Decimal) -> tuple[int, int, int]:
    """(total mg, 100 mg vials, 160 mg vials): least total, then fewest vials, by enumeration."""
    options = [(100 * a + 160 * b, a + b, a, b) for a in range(15) for b in range(10) if 100 * a + 160 * b >= dose]
    total, _, a, b = min(options)
    return total, a, b


def test_table_is_every_change_point():
    # A total is chosen for some dose in 72–1260 mg (20–350 kg) iff it is reachable and in that range,
    # plus the first reachable total above 1260 mg if 1260 itself were not reachable.
    reachable = sorted({100 * a + 160 * b for a in range(15) for b in range(10)} - {0})
    lowest = Decimal("3.6") * 20
    choosable = [t for t in reachable if lowest <= t <= MAX_DOSE]
    if MAX_DOSE not in reachable:
        choosable.append(min(t for t in reachable if t > MAX_DOSE))
    assert sorted(BEST) == choosable
    for total, (a, b) in BEST.items():
        assert brute_force(Decimal(total)) == (total, a, b)


def ceil4(x: Decimal) -> float:
    return float(x.quantize(Decimal("0.0001"), ROUND_CEILING))


CASES = []
totals = sorted(BEST)
for here, after in zip(totals, totals[1:]):
    # At the change point the dose is exactly `here` (no waste); 0.1 mg above it, `after` is needed.
    at, over = ceil4(Decimal(here) / Decimal("3.6")), ceil4((Decimal(here) + Decimal("0.1")) / Decimal("3.6"))
    if at >= 20:
        CASES.append(pytest.param(at, here, BEST[here], id=f"{here}mg-at"))
    CASES.append(pytest.param(over, after, BEST[after], id=f"{here}mg-over"))
CASES += [pytest.param(20, 100, (1, 0), id="20kg-min"), pytest.param(350, 1260, (3, 6), id="350kg-max")]


@pytest.mark.parametrize(("kg", "total", "counts"), CASES)
def test_vials_either_side_of_each_change_point(kg, total, counts):
    r = calc((kg, "kg"))
    assert r.drawn_mg.value == total
    assert vials(r) == {s: n for s, n in zip((100, 160), counts) if n}
    assert sum(n for _, n in lines(r)) == total


def test_tie_goes_to_fewer_vials():
    # 800 mg: 8 x 100 and 5 x 160 both cover it exactly; 5 x 160 is fewer vials.
    r = calc((ceil4(Decimal(800) / Decimal("3.6")), "kg"))
    assert r.dose_mg.value == 800
    assert vials(r) == {160: 5}
    assert lines(r) == [("JZ", 800)]  # no waste: one JZ line only
    assert r.waste_mg.value == 0


def test_best_combination_refuses_nonsense():
    with pytest.raises(ValueError):
        best_combination(Decimal(0), [100, 160])


# ---------------------------------------------------------------- invariants

weights = st.decimals(min_value=20, max_value=350, places=2).map(float)
doses = st.decimals(min_value="1.0", max_value="3.6", places=2).map(float)  # below 1.0 is refused (REFUSED)


@relaxed
@given(kg=weights, mg_per_kg=doses)
def test_invariants(kg, mg_per_kg):
    r = calc((kg, "kg"), mg_per_kg=mg_per_kg)
    dose = Decimal(str(r.dose_mg.value))
    drawn = Decimal(r.drawn_mg.value)
    assert dose <= Decimal(repr(kg)) * Decimal(repr(mg_per_kg))  # never above the mg/kg asked for
    assert drawn >= dose
    assert (int(drawn), *vials_tuple(r)) == brute_force(dose)  # least waste, then fewest vials
    assert Decimal(str(r.waste_mg.value)) == drawn - dose >= 0
    units = dict(lines(r))
    assert units["JZ"] == int(dose.quantize(Decimal(1), ROUND_HALF_UP))
    assert units["JZ"] + units.get("JW", 0) == drawn == r.billing.total_units.value
    assert ("JW" in units) == (units["JZ"] != drawn)
    assert r.payment.per_cycle.value == float((Decimal("42.198") * drawn).quantize(Decimal("0.01"), ROUND_HALF_UP))


def vials_tuple(r) -> tuple[int, int]:
    v = vials(r)
    return v.get(100, 0), v.get(160, 0)


@relaxed
@given(lb=st.decimals(min_value=45, max_value=770, places=1).map(float))
def test_lb_is_kg_times_exact_factor(lb):
    in_lb = calc((lb, "lb"))
    in_kg = calc((float(Decimal(repr(lb)) * Decimal("0.45359237")), "kg"))
    assert in_lb.dose_mg == in_kg.dose_mg
    assert in_lb.weight_kg.value == in_kg.weight_kg.value


def test_lb_conversion_is_shown():
    r = calc("154 lb")
    assert r.weight_kg.value == 69.85322498
    assert r.weight_kg.formula == "154 lb × 0.45359237 kg/lb = 69.85322498 kg"
    assert r.dose_mg.value == 251.4  # 251.47160993 rounded down to 0.1 mg


# ---------------------------------------------------------------- parsing and refusals


@pytest.mark.parametrize(
    ("text", "expected"),
    [("70kg", (70, "kg")), ("70 kg", (70, "kg")), ("70 KG", (70, "kg")), ("70.5 kilograms", (70.5, "kg")),
     ("154 lb", (154, "lb")), ("154lbs", (154, "lb")), ("154 pounds", (154, "lb")), (" 154 Lbs. ", (154, "lb"))],
)  # fmt: skip
def test_parse_weight(text, expected):
    assert parse_weight(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [("70", "in kg or lb"), ("seventy", "number with a unit"), ("seventy kg", "number with a unit"),
     ("nan kg", "number with a unit"), ("inf lb", "number with a unit"), ("", "number with a unit"),
     ("70 stone", "not kg or lb"), ("70 kg 5", "number with a unit"), ("1e3 kg", "number with a unit")],
)  # fmt: skip
def test_parse_weight_refuses(text, message):
    with pytest.raises(InputError, match=message):
        parse_weight(text)


REFUSED = [
    (dict(weight="0 kg"), "more than 0"),
    (dict(weight="-70 kg"), "more than 0"),
    (dict(weight=-70, weight_unit="kg"), "more than 0"),
    (dict(weight=math.nan, weight_unit="kg"), "real number"),
    (dict(weight=math.inf, weight_unit="kg"), "real number"),
    (dict(weight="seventy"), "number with a unit"),
    (dict(weight="seventy", weight_unit="kg"), "number with a unit"),
    (dict(weight="1000 kg"), "outside 20–350 kg"),
    (dict(weight="19.99 kg"), "outside 20–350 kg"),
    (dict(weight="350.01 kg"), "outside 20–350 kg"),
    (dict(weight="44.09 lb"), r"44.09 lb \(19.999 kg\) is outside 20–350 kg"),
    (dict(weight="772 lb"), "outside 20–350 kg"),
    (dict(weight="70"), "What is the patient's weight, in kg or lb?"),
    (dict(weight=70), "What is the patient's weight, in kg or lb?"),
    (dict(weight=70, weight_unit=None), "What is the patient's weight, in kg or lb?"),
    (dict(weight="70 kg", weight_unit="lb"), "give one unit"),
    (dict(weight="70 kg", mg_per_kg=4), "above the label maximum of 3.6 mg/kg: \"Do not administer"),
    (dict(weight="70 kg", mg_per_kg=3.61), "above the label maximum"),
    (dict(weight="70 kg", mg_per_kg=0), "above 0"),
    (dict(weight="70 kg", mg_per_kg=math.nan), "above 0"),
    (dict(weight="70 kg", mg_per_kg="lots"), "mg/kg must be a number"),
    (dict(weight="70 kg", indication="ebc", cycle=15), "beyond the 14-cycle"),
    (dict(weight="70 kg", cycle=0), "Cycle must be 1 or more"),
    (dict(weight="70 kg", cycle=1.5), "whole number"),
    (dict(weight="70 kg", indication="lung"), "Indication 'lung' is not understood"),
    (dict(weight="70 kg", indication=None), "Which indication"),
    (dict(weight="70 kg", date_of_service="2026-13-01"), "YYYY-MM-DD"),
    (dict(weight="70 kg", mg_per_kg=0.001), "0.001 mg/kg is below 1.0 mg/kg"),
    (dict(weight="70 kg", mg_per_kg=0.01), "below 1.0 mg/kg"),
    (dict(weight="70 kg", mg_per_kg=0.99), "0.99 mg/kg is below 1.0 mg/kg"),
    (dict(weight="70 kg", mg_per_kg="0.5"), "below 1.0 mg/kg"),
    (dict(weight="70 kg", previous_mg_per_kg=0.5), "previous dose level of 0.5 mg/kg is below 1.0"),
    (dict(weight="70 kg", prescribed_mg=69.9), r"prescribed 69.9 mg for 70 kg \(0.999 mg/kg\) is below 1.0"),
    (dict(weight="70 kg", prescribed_mg=0.01), "is below 1.0 mg/kg"),
    (dict(prescribed_mg=19.9), "under 1.0 mg/kg for any weight"),
    (dict(weight="70 kg", date_of_service="9999-12-31"), "9999-12-31 is more than a year from today"),
    (dict(weight="70 kg", date_of_service="2099-01-01"), "more than a year from today"),
    (dict(weight="70 kg", date_of_service="2027-11-23"), "more than a year from today \\(2026-11-21\\)"),
    (dict(weight="70 kg", date_of_service="2025-11-19"), "more than a year from today"),
    (dict(weight="70 kg", date_of_service="0001-01-01"), "more than a year from today"),
    (dict(weight="70 kg", cycle=-1), "Cycle must be 1 or more"),
    (dict(weight="70 kg", cycle="0"), "Cycle must be 1 or more"),
    (dict(weight="70 kg", dose_mg=252), "Unknown input 'dose_mg'"),
    (dict(), "What is the patient's weight, in kg or lb?"),
]


@pytest.mark.parametrize(("raw", "message"), REFUSED)
def test_refused_input_says_what_to_fix(raw, message):
    raw = {"indication": "mbc", **raw}
    with pytest.raises(InputError, match=message) as caught:
        build_request(**raw)
    assert "\n" not in str(caught.value)
    assert "validation error" not in str(caught.value).lower()  # pydantic's wording never leaks


@pytest.mark.parametrize(
    ("raw", "kg"),
    [(dict(weight="20 kg"), 20), (dict(weight="350 kg"), 350),
     (dict(weight="44.1 lb"), float(Decimal("44.1") * Decimal("0.45359237"))),
     (dict(weight=70, weight_unit="KG"), 70), (dict(weight="70", weight_unit="kg"), 70)],
)  # fmt: skip
def test_accepted_boundaries(raw, kg):
    assert calculate_dose(build_request(indication="mbc", **raw)).weight_kg.value == kg


@pytest.mark.parametrize(
    ("raw", "ok"),
    [(dict(indication="ebc", cycle=14), True), (dict(indication="mbc", cycle=15), True),
     (dict(mg_per_kg=3.6), True), (dict(mg_per_kg=3.59), True),
     (dict(mg_per_kg=1.0), True), (dict(date_of_service="2027-11-22"), True), (dict(date_of_service="2025-11-20"), True)],
)  # fmt: skip
def test_accepted_on_the_inside_of_each_limit(raw, ok):
    raw = {"weight": "70 kg", "indication": "mbc", **raw}
    assert calculate_dose(build_request(**raw)).dose_mg.value > 0


@pytest.mark.parametrize("word", ["mbc", "MBC", "metastatic", "Metastatic breast cancer"])
def test_mbc_synonyms(word):
    assert build_request(weight="70 kg", indication=word).indication == "mbc"


@pytest.mark.parametrize("word", ["ebc", "adjuvant", "KATHERINE", "early", "early breast cancer"])
def test_ebc_synonyms(word):
    assert build_request(weight="70 kg", indication=word).indication == "ebc"


def test_calculate_dose_rechecks_an_unvalidated_request():
    forged = DoseRequest.model_construct(weight=1000.0, weight_unit="kg", indication="mbc", mg_per_kg=3.6, cycle=1)
    with pytest.raises(InputError, match="outside 20–350 kg"):
        calculate_dose(forged)


@pytest.mark.parametrize(("kg", "warned"), [(34.99, True), (35, False), (200, False), (200.01, True)])
def test_soft_weight_warning(kg, warned):
    r = calc((kg, "kg"))
    assert any("usual adult range" in w for w in r.warnings) == warned


def test_reduced_dose_is_labelled():
    r = calc("70 kg", mg_per_kg=3.0)
    assert r.reduced_dose and "reduced" in r.mg_per_kg.label
    assert r.dose_mg.value == 210
    assert any("Do not re-escalate" in n for n in r.notes)
    assert not calc("70 kg").reduced_dose


# ---------------------------------------------------------------- dates and prices


@pytest.mark.parametrize(
    ("day", "stale"),
    [(dt.date(2026, 5, 1), False), (dt.date(2026, 4, 1), False), (dt.date(2026, 6, 30), False),
     (dt.date(2026, 7, 1), True), (dt.date(2026, 3, 31), True), (dt.date(2026, 11, 21), True)],
)  # fmt: skip
def test_stale_price_warning(day, stale):
    r = calc("70 kg", date_of_service=day)
    warnings = [w for w in r.warnings if w.startswith("Stale price")]
    assert bool(warnings) == stale
    assert r.payment.covers_date_of_service == (not stale)
    if stale:
        assert "Q2 2026" in warnings[0] and str(day) in warnings[0]


def test_no_date_uses_today_and_says_so():
    r = calculate_dose(build_request(weight="70 kg", indication="mbc"))
    assert r.date_of_service == dt.date(2026, 11, 21)
    assert any("used today's date, 2026-11-21" in n for n in r.notes)
    assert any(w.startswith("Stale price") for w in r.warnings)  # today is past Q2 2026


# ---------------------------------------------------------------- figures and their sources


@pytest.mark.parametrize("kw", [dict(weight="70 kg"), dict(weight="154 lb", indication="ebc", cycle=3)])
def test_every_figure_rests_on_an_exact_quote(kw):
    r = calc(**{"indication": "mbc", **kw})
    corpus = get_corpus()
    figures = r.figures()
    assert len(figures) >= 30
    for fig in figures:
        if fig is r.weight_kg:
            assert fig.source is None  # the user's input
            continue
        assert fig.source is not None, fig.label
        text = corpus.text(fig.source.doc_id)
        assert text[fig.source.start : fig.source.end] == fig.source.quote, fig.label


def test_figures_lists_every_figure():
    r = calc("70 kg")
    values = {(f.label, str(f.value)) for f in r.figures()}
    for expected in [("dose", "252.0"), ("J9354 units discarded (JW)", "8"), ("volume to withdraw", "12.6")]:
        assert expected in values


def test_facts_file_with_a_wrong_quote_fails_loudly(tmp_path, monkeypatch):
    raw = yaml.safe_load(dose_module.FACTS_FILE.read_text(encoding="utf-8"))
    raw["max_mg_per_kg"]["quote"] = "Do not administer at doses greater than 3.6 mg/kg."  # not in the monograph
    broken = tmp_path / "dose_facts.yaml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(dose_facts_module, "FACTS_FILE", broken)
    dose_module._load_facts.cache_clear()
    try:
        with pytest.raises(DataError, match="not an exact substring"):
            load_dose_facts()
    finally:
        dose_module._load_facts.cache_clear()


def test_facts_file_with_a_value_not_in_its_quote_fails_loudly(tmp_path, monkeypatch):
    raw = yaml.safe_load(dose_module.FACTS_FILE.read_text(encoding="utf-8"))
    raw["vials"][0]["reconstitution"]["value"] = 6  # the quote says 5 mL
    broken = tmp_path / "dose_facts.yaml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(dose_facts_module, "FACTS_FILE", broken)
    dose_module._load_facts.cache_clear()
    try:
        with pytest.raises(DataError, match="not written in its quote"):
            load_dose_facts()
    finally:
        dose_module._load_facts.cache_clear()


def test_request_schema_for_the_model():
    schema = DoseRequest.model_json_schema()
    fields = ["weight", "weight_unit", "indication", "mg_per_kg", "cycle", "date_of_service",
              "prescribed_mg", "vials_available", "dose_reduced", "previous_mg_per_kg"]  # new ones after the old
    assert list(schema["properties"]) == fields
    assert schema["required"] == ["weight", "weight_unit", "indication"]
    assert schema["properties"]["indication"]["enum"] == ["mbc", "ebc", "nsclc", "salivary", "brain_mets"]
    assert all(schema["properties"][f].get("description") for f in fields)
    assert "Never guess" in calculate_dose.__doc__


def test_brute_force_helper_agrees_with_itself_on_ties():
    # Guards the test's own oracle: every exact tie in range resolves to fewer vials.
    for a, b in itertools.product(range(9), range(6)):
        total = 100 * a + 160 * b
        if 0 < total <= 1260:
            t, a2, b2 = brute_force(Decimal(total))
            assert t == total and a2 + b2 <= a + b
