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
