"""Several weights in one message: the one taken back is dropped, past weights and changes are not today's,
and two that disagree are asked for — never one of them guessed."""

from pathlib import Path

import pytest
import yaml

from assistant.agent import ask
from assistant.extract import read_facts
from assistant.session import Session

ROWS = yaml.safe_load((Path(__file__).parent / "data" / "weight_conflicts.yaml").read_text())


@pytest.mark.parametrize("row", ROWS, ids=[r["text"][:40] for r in ROWS])
def test_weight_read(row):
    reading = read_facts(row["text"])
    facts = reading.facts
    if row.get("conflict"):
        assert facts.value("weight") is None
        assert len(reading.conflicts["weight"]) >= 2
    else:
        assert (facts.value("weight"), facts.value("weight_unit")) == (row["weight"], row["unit"])
        assert "weight" not in reading.conflicts


def test_table_has_both_sides():
    assert sum(1 for r in ROWS if r.get("conflict")) >= 5
    assert sum(1 for r in ROWS if not r.get("conflict")) >= 20


def test_evidence_quotes_the_corrected_weight():
    text = "80 kg, no wait 70 kg, mbc dose"
    fact = read_facts(text).facts.get("weight")
    assert [text[e.start:e.end] for e in fact.evidence] == ["70 kg"]


def test_conflict_is_asked_and_an_older_weight_is_not_used():
    session = Session()
    first = ask("70 kg metastatic, dose?", session)
    assert first.status == "answered"
    second = ask("sorry she is 72 kg or 80 kg, not sure which", session)
    assert second.status == "needs_info"
    assert any("two different weights" in w for w in second.warnings)
    assert "252" not in second.answer and not second.tool_calls


def test_correction_is_said():
    answer = ask("80 kg, no wait 70 kg, mbc dose")
    assert answer.status == "answered"
    assert any("took back" in w and "80 kg" in w for w in answer.warnings)
    dose = next(c for c in answer.tool_calls if c.tool == "calculate_dose")
    assert dose.input["weight"] == 70


# A short message putting the weight right after a dose answer: the number is the weight, in the unit it
# corrects (the last rows were written after the reader, tried once).
CORRECTIONS = [
    ("kadcyla mbc wt 86kg dose + vials", "sorry 68 not 86", 68, "kg"),
    ("dose kadcyla 80kg mbc", "wait no 70, wrong pt chart", 70, "kg"),
    ("dose kadcyla 154 lb mbc", "oops its 160", 160, "lb"),
    ("72 kg mbc dose", "68 not 72", 68, "kg"),
    ("t-dm1 dose 61 kg adjuvant", "typo - 66", 66, "kg"),
    ("kadcyla 90 kg mbc", "sry 92", 92, "kg"),
    ("kadcyla 65kg metastatic", "no wait its 56", 56, "kg"),
    ("wt 140 lb mbc kadcyla dose", "correction: 145", 145, "lb"),
    ("kadcyla dose 71 kg mbc", "should be 77 not 71", 77, "kg"),
]


@pytest.mark.parametrize(("first", "fix", "weight", "unit"), CORRECTIONS, ids=[c[1] for c in CORRECTIONS])
def test_a_bare_corrected_number_is_the_weight_in_its_unit(first, fix, weight, unit):
    session = Session()
    assert ask(first, session).status == "answered"
    answer = ask(fix, session)
    assert answer.route == "correction", answer.route
    dose = next(c for c in answer.tool_calls if c.tool == "calculate_dose")
    assert (dose.input["weight"], dose.input["weight_unit"]) == (weight, unit)


@pytest.mark.parametrize("fix", ["sorry cycle 3", "sorry 3.6 not 3", "no 2", "sorry, 3 mg/kg"])
def test_a_small_corrected_number_is_not_a_weight(fix):
    assert read_facts(fix).facts.value("weight") is None
