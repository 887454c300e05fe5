"""Label safety rules: every rule fires and stays quiet on both sides of its boundary; unknown never errs."""

from __future__ import annotations

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import safety as safety_module
from assistant.corpus import get_corpus
from assistant.errors import DataError
from assistant.safety import SafetyInput, check_safety, load_safety_rules


def fired(**facts) -> dict[str, str]:
    """rule id -> severity for every finding on these facts."""
    return {f.rule: f.severity for f in check_safety(SafetyInput(**facts))}


# (rule, facts, fires): each rule on both sides of its boundary, and with the deciding fact unknown.
TABLE = [
    # no dose above 3.6 mg/kg
    ("dose-above-label-maximum", dict(mg_per_kg=3.61), True),
    ("dose-above-label-maximum", dict(mg_per_kg=3.6), False),
    ("dose-above-label-maximum", dict(mg_per_kg=5.4), True),
    ("dose-above-label-maximum", dict(mg_per_kg=3.0), False),
    ("dose-above-label-maximum", dict(), False),
    # no re-escalation after a reduction
    ("no-re-escalation", dict(dose_reduced=True, previous_mg_per_kg=3.0, mg_per_kg=3.01), True),
    ("no-re-escalation", dict(dose_reduced=True, previous_mg_per_kg=3.0, mg_per_kg=3.0), False),
    ("no-re-escalation", dict(dose_reduced=True, previous_mg_per_kg=3.0, mg_per_kg=2.4), False),
    ("no-re-escalation", dict(dose_reduced=True, mg_per_kg=3.6), True),  # back to the full dose
    ("no-re-escalation", dict(dose_reduced=True, mg_per_kg=3.59), False),
    ("no-re-escalation", dict(dose_reduced=False, previous_mg_per_kg=3.0, mg_per_kg=3.6), False),
    ("no-re-escalation", dict(previous_mg_per_kg=3.0, mg_per_kg=3.6), False),  # reduction unknown: no error
    ("no-re-escalation", dict(dose_reduced=True), False),  # level unknown: no error
    ("reduced-dose-stays-reduced", dict(dose_reduced=True), True),
    ("reduced-dose-stays-reduced", dict(dose_reduced=True, mg_per_kg=3.0), True),
    ("reduced-dose-stays-reduced", dict(dose_reduced=True, mg_per_kg=3.0, previous_mg_per_kg=3.0), True),
    ("reduced-dose-stays-reduced", dict(dose_reduced=True, mg_per_kg=3.0, previous_mg_per_kg=2.99), False),
    ("reduced-dose-stays-reduced", dict(dose_reduced=True, mg_per_kg=3.6), False),  # the error says it instead
    ("reduced-dose-stays-reduced", dict(dose_reduced=False, mg_per_kg=3.0), False),
    ("reduced-dose-stays-reduced", dict(mg_per_kg=3.0), False),
    ("lower-dose-then-higher", dict(previous_mg_per_kg=3.0, mg_per_kg=3.6), True),
    ("lower-dose-then-higher", dict(previous_mg_per_kg=3.59, mg_per_kg=3.6), True),
    ("lower-dose-then-higher", dict(previous_mg_per_kg=3.6, mg_per_kg=3.6), False),  # previous was the full dose
    ("lower-dose-then-higher", dict(previous_mg_per_kg=3.0, mg_per_kg=3.0), False),
    ("lower-dose-then-higher", dict(previous_mg_per_kg=3.0, mg_per_kg=3.6, dose_reduced=False), False),
    ("lower-dose-then-higher", dict(previous_mg_per_kg=3.0), False),
    # no 5% dextrose; saline is the diluent
    ("no-dextrose", dict(diluent="D5W"), True),
    ("no-dextrose", dict(diluent="5% dextrose"), True),
    ("no-dextrose", dict(diluent="Dextrose 5% in water"), True),
    ("no-dextrose", dict(diluent="D5NS"), True),
    ("no-dextrose", dict(diluent="0.9% Sodium Chloride Injection"), False),
    ("no-dextrose", dict(diluent="normal saline"), False),
    ("no-dextrose", dict(diluent=""), False),
    ("no-dextrose", dict(), False),
    ("diluent-is-saline", dict(diluent="lactated Ringer's"), True),
    ("diluent-is-saline", dict(diluent="0.45% sodium chloride"), True),
    ("diluent-is-saline", dict(diluent="1/2NS"), True),
    ("diluent-is-saline", dict(diluent="0.9% NaCl"), False),
    ("diluent-is-saline", dict(diluent="NS 250 mL"), False),
    ("diluent-is-saline", dict(diluent="D5W"), False),  # the error says it instead
    ("diluent-is-saline", dict(), False),
    # the 0.2 / 0.22 micron in-line PES filter
    ("in-line-filter-required", dict(filter_used=False), True),
    ("in-line-filter-required", dict(filter_used=True), False),
    ("in-line-filter-required", dict(), False),
    ("in-line-filter-pore-size", dict(filter_micron=0.2), False),
    ("in-line-filter-pore-size", dict(filter_micron=0.22), False),
    ("in-line-filter-pore-size", dict(filter_micron=0.19), True),
    ("in-line-filter-pore-size", dict(filter_micron=0.23), True),
    ("in-line-filter-pore-size", dict(filter_micron=0.45), True),
    ("in-line-filter-pore-size", dict(filter_micron=1.2), True),
    ("in-line-filter-pore-size", dict(), False),
    ("in-line-filter-material", dict(filter_material="PES"), False),
    ("in-line-filter-material", dict(filter_material="polyethersulfone"), False),
    ("in-line-filter-material", dict(filter_material="nylon"), True),
    ("in-line-filter-material", dict(), False),
    # Kadcyla is not Enhertu: code, dose, name
    ("not-enhertu-code", dict(codes=["J9358"]), True),
    ("not-enhertu-code", dict(codes=[" j9358 "]), True),
    ("not-enhertu-code", dict(codes=["J9354"]), False),
    ("not-enhertu-code", dict(codes=[]), False),
    ("not-enhertu-dose", dict(mg_per_kg=5.4), True),
    ("not-enhertu-dose", dict(mg_per_kg=5.35), True),
    ("not-enhertu-dose", dict(mg_per_kg=5.45), True),
    ("not-enhertu-dose", dict(mg_per_kg=5.34), False),
    ("not-enhertu-dose", dict(mg_per_kg=5.46), False),
    ("not-enhertu-dose", dict(mg_per_kg=6.4), True),
    ("not-enhertu-dose", dict(mg_per_kg=3.6), False),
    ("not-enhertu-dose", dict(), False),
    ("not-enhertu-name", dict(products=["Enhertu"]), True),
    ("not-enhertu-name", dict(products=["T-DXd"]), True),
    ("not-enhertu-name", dict(products=["fam-trastuzumab deruxtecan-nxki"]), True),
    ("not-enhertu-name", dict(products=["Kadcyla", "T-DM1"]), False),
    ("not-enhertu-name", dict(products=["enhertuish"]), False),
    ("not-enhertu-name", dict(), False),
    # Kadcyla is not trastuzumab: code, name
    ("not-trastuzumab-code", dict(codes=["J9355"]), True),
    ("not-trastuzumab-code", dict(codes=["J9354", "96413"]), False),
    ("not-trastuzumab-code", dict(), False),
    ("not-trastuzumab-name", dict(products=["Herceptin"]), True),
    ("not-trastuzumab-name", dict(products=["trastuzumab"]), True),
    ("not-trastuzumab-name", dict(products=["Kanjinti"]), True),
    ("not-trastuzumab-name", dict(products=["ado-trastuzumab emtansine"]), False),
    ("not-trastuzumab-name", dict(products=["trastuzumab emtansine"]), False),
    ("not-trastuzumab-name", dict(), False),
    # HER2-low / ultralow (and negative) are not eligible
    ("her2-low-not-eligible", dict(her2_category="low"), True),
    ("her2-low-not-eligible", dict(her2_category="ultralow"), True),
    ("her2-low-not-eligible", dict(her2_category="positive"), False),
    ("her2-low-not-eligible", dict(her2_category="incomplete"), False),
    ("her2-low-not-eligible", dict(), False),
    ("her2-negative-not-eligible", dict(her2_category="negative"), True),
    ("her2-negative-not-eligible", dict(her2_category="positive"), False),
    ("her2-negative-not-eligible", dict(her2_category="unknown"), False),
    # first infusion over 90 minutes, 90 minutes of observation; later cycles 30 / 30
    ("first-infusion-90-minutes", dict(cycle=1, infusion_minutes=89), True),
    ("first-infusion-90-minutes", dict(cycle=1, infusion_minutes=90), False),
    ("first-infusion-90-minutes", dict(cycle=2, infusion_minutes=30), False),
    ("first-infusion-90-minutes", dict(cycle=1), False),
    ("first-infusion-90-minutes", dict(infusion_minutes=30), False),  # cycle unknown: no error
    ("first-observation-90-minutes", dict(cycle=1, observation_minutes=89), True),
    ("first-observation-90-minutes", dict(cycle=1, observation_minutes=90), False),
    ("first-observation-90-minutes", dict(cycle=2, observation_minutes=30), False),
    ("first-observation-90-minutes", dict(observation_minutes=30), False),
    ("later-infusion-30-minutes", dict(cycle=2, infusion_minutes=29), True),
    ("later-infusion-30-minutes", dict(cycle=2, infusion_minutes=30), False),
    ("later-infusion-30-minutes", dict(cycle=14, infusion_minutes=15), True),
    ("later-infusion-30-minutes", dict(cycle=1, infusion_minutes=29), False),  # the cycle-1 rule says it
    ("later-infusion-30-minutes", dict(cycle=2), False),
    ("later-observation-30-minutes", dict(cycle=3, observation_minutes=29), True),
    ("later-observation-30-minutes", dict(cycle=3, observation_minutes=30), False),
    ("later-observation-30-minutes", dict(observation_minutes=29), False),
    ("infusion-under-30-minutes", dict(infusion_minutes=29), True),
    ("infusion-under-30-minutes", dict(infusion_minutes=30), False),
    ("infusion-under-30-minutes", dict(cycle=2, infusion_minutes=29), False),  # the cycle rule says it
    ("infusion-first-cycle-unknown", dict(infusion_minutes=30), True),
    ("infusion-first-cycle-unknown", dict(infusion_minutes=89), True),
    ("infusion-first-cycle-unknown", dict(infusion_minutes=90), False),
    ("infusion-first-cycle-unknown", dict(infusion_minutes=29), False),
    ("infusion-first-cycle-unknown", dict(cycle=2, infusion_minutes=30), False),
    ("observation-under-30-minutes", dict(observation_minutes=29), True),
    ("observation-under-30-minutes", dict(observation_minutes=30), False),
    ("observation-under-30-minutes", dict(cycle=1, observation_minutes=29), False),
]


@pytest.mark.parametrize(("rule", "facts", "fires"), TABLE, ids=lambda v: str(v) if isinstance(v, str) else None)
def test_rule_table(rule, facts, fires):
    assert (rule in fired(**facts)) == fires, fired(**facts)


def test_every_rule_is_in_the_table_both_ways():
    ids = {r.id for r in load_safety_rules().rules}
    assert {r for r, _, fires in TABLE if fires} == ids
    assert {r for r, _, fires in TABLE if not fires} == ids


def test_nothing_known_nothing_fires():
    assert check_safety(SafetyInput()) == []


def test_a_correct_first_cycle_fires_nothing():
    facts = SafetyInput(mg_per_kg=3.6, diluent="0.9% Sodium Chloride Injection", filter_used=True, filter_micron=0.22,
                        filter_material="PES", products=["Kadcyla"], codes=["J9354", "96413", "96415"],
                        her2_category="positive", cycle=1, infusion_minutes=90, observation_minutes=90)
    assert check_safety(facts) == []


# Every fact alone, set to any value, never yields an error from a rule that needs another fact.
single_facts = st.one_of(
    st.builds(lambda v: {"previous_mg_per_kg": v}, st.floats(0.1, 8, allow_nan=False)),
    st.builds(lambda v: {"dose_reduced": v}, st.booleans()),
    st.builds(lambda v: {"cycle": v}, st.integers(1, 30)),
    st.builds(lambda v: {"infusion_minutes": v}, st.floats(30, 400, allow_nan=False)),
    st.builds(lambda v: {"observation_minutes": v}, st.floats(30, 400, allow_nan=False)),
)


@settings(max_examples=80, deadline=None)
@given(single_facts)
def test_unknown_never_fires_an_error(facts):
    assert "error" not in fired(**facts).values()


def test_findings_carry_exact_quotes_and_the_facts_read():
    corpus = get_corpus()
    findings = check_safety(SafetyInput(mg_per_kg=5.4, codes=["J9358"], diluent="D5W", cycle=1, infusion_minutes=30))
    assert [f.severity for f in findings] == sorted((f.severity for f in findings), key=lambda s: s != "error")
    for f in findings:
        for q in [f.quote, *f.also]:
            assert corpus.text(q.doc_id)[q.start : q.end] == q.quote
            assert q.section
    by = {f.rule: f for f in findings}
    assert by["dose-above-label-maximum"].facts == {"mg_per_kg": 5.4}
    assert by["first-infusion-90-minutes"].facts == {"cycle": 1, "infusion_minutes": 30.0}
    assert "5.4 mg/kg" in by["not-enhertu-dose"].message and "J9358" in by["not-enhertu-dose"].message
    assert by["no-dextrose"].quote.doc_id == "adc-monograph-kadcyla"
    assert "Do not use Dextrose (5%) solution." in by["no-dextrose"].quote.quote


def test_re_escalation_message_names_both_levels():
    (f,) = [f for f in check_safety(SafetyInput(dose_reduced=True, previous_mg_per_kg=3.0, mg_per_kg=3.6))
            if f.rule == "no-re-escalation"]
    assert "3.6 mg/kg goes back up from the previous 3 mg/kg (the full dose" in f.message
    (g,) = [f for f in check_safety(SafetyInput(dose_reduced=True, mg_per_kg=3.6)) if f.rule == "no-re-escalation"]
    assert "3.6 mg/kg goes back up (the full dose" in g.message
    assert f.quote.quote == "Do not re-escalate the ado-trastuzumab emtansine dose after a dose reduction is made."


# ---------------------------------------------------------------- the data file is checked at load


def _broken(tmp_path, monkeypatch, edit):
    raw = yaml.safe_load(safety_module.RULES_FILE.read_text(encoding="utf-8"))
    edit(raw)
    path = tmp_path / "safety.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(safety_module, "RULES_FILE", path)


def _rule(raw, rule_id):
    return next(r for r in raw["rules"] if r["id"] == rule_id)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda raw: _rule(raw, "no-dextrose")["quotes"][0].update(text="Never use dextrose."), "not an exact substring"),
        (lambda raw: _rule(raw, "dose-above-label-maximum")["when"].update(value=3.7), "3.7 is not written"),
        (lambda raw: _rule(raw, "first-infusion-90-minutes")["message"].__class__ and
         _rule(raw, "first-infusion-90-minutes").update(message="Infuse over 60 minutes."), "message's 60"),
        (lambda raw: _rule(raw, "no-dextrose")["when"].update(fact="diluant"), "unknown fact 'diluant'"),
        (lambda raw: _rule(raw, "no-dextrose")["when"].update(value="dextorse"), "'dextorse' is not one of"),
        (lambda raw: _rule(raw, "not-enhertu-code")["when"].update(value="J9999"), "J9999 is not written"),
        (lambda raw: raw["rules"].append(dict(_rule(raw, "no-dextrose"))), "duplicate rule id"),
        (lambda raw: _rule(raw, "no-dextrose")["when"].update(op="is"), "malformed"),
    ],
    ids=["quote", "threshold", "message-number", "fact", "word", "code", "duplicate", "op"],
)
def test_a_broken_rule_file_fails_loudly(tmp_path, monkeypatch, edit, message):
    _broken(tmp_path, monkeypatch, edit)
    with pytest.raises(DataError, match=message):
        load_safety_rules()


def test_shipped_rules_load():
    rules = load_safety_rules()
    assert len(rules.rules) >= 10
    assert all(r.sources and len(r.sources) == len(r.quotes) for r in rules.rules)
