"""Fact-reading rules kept from the first planner's findings: each rule with both sides of its boundary."""

from __future__ import annotations

from datetime import date

import pytest

from assistant.intent import search_query
from assistant.extract import read_facts

SLOTS = [
    # weight sign: a minus sign is kept so the calculator refuses it; a range is not a minus
    ("Kadcyla for a -70 kg mBC patient?", "weight", -70.0),
    ("Kadcyla for a −70 kg mBC patient?", "weight", -70.0),
    ("Kadcyla for a 70 kg mBC patient?", "weight", 70.0),
    ("pt weighs 60-70 kg", "weight", 70.0),
    # a bare number before "patient" is a weight without its unit
    ("Dose for a 70 patient with mBC?", "weight_bare", True),
    ("Dose for a 70 kg patient with mBC?", "weight_bare", False),
    ("kg", "weight_unit", "kg"),
    ("in lbs", "weight_unit", "lb"),
    ("kg is the unit I think", "weight_unit", None),
    # dates written with month names
    ("infused June 3, 2026", "date_of_service", date(2026, 6, 3)),
    ("DOS 3 June 2026", "date_of_service", date(2026, 6, 3)),
    ("Date of service May 12, 2026.", "date_of_service", date(2026, 5, 12)),
    ("on 2026-13-45", "date_of_service", None),
    ("on 2026-13-45", "bad_date", "2026-13-45"),
    ("on February 30, 2026", "bad_date", "February 30, 2026"),
    ("on 2026-02-28", "bad_date", None),
    # age
    ("patient just turned 18", "age", 18),
    ("patient turned 17 last week", "age", 17),
    ("a 57 y/o", "age", 57),
    # ISH result with words in between
    ("HER2 IHC 2+ and the ISH is still pending", "her2_ish", "pending"),
    ("HER2 IHC 2+, ISH positive", "her2_ish", "positive"),
    # prescriber
    ("from a family physician with no oncology consult", "oncologist", False),
    ("prescribed by a non-oncologist", "oncologist", False),
    ("family physician in consultation with an oncologist", "oncologist", True),
    ("her oncologist prescribed it", "oncologist", True),
    ("prescribed by her PCP", "oncologist", False),
    # course length and the dose evidence
    ("the plan is 15 doses", "number_of_doses", 15),
    ("for 14 doses", "number_of_doses", 14),
    ("cycle 2", "number_of_doses", None),
    ("no supporting literature was submitted", "dose_evidence_submitted", False),
    ("supporting literature was submitted", "dose_evidence_submitted", True),
    ("3.6 mg/kg q21d", "dose_evidence_submitted", None),
    # continuation details
    ("renewal, on Kadcyla through Centene for 5 months, no dose increase", "on_plan_benefit", True),
    ("renewal, on Kadcyla through Centene for 5 months, no dose increase", "days_on_therapy", 150),
    ("renewal, on Kadcyla through Centene for 5 months, no dose increase", "dose_increase", False),
    ("renewal requesting a dose increase", "dose_increase", True),
    ("initial request, 5 months since diagnosis", "days_on_therapy", None),
    # a prior therapy named as the only one
    ("Her only prior therapy was docetaxel.", "prior_therapies", ["taxane"]),
]


def read_slots(text: str):
    """The old slot view of a reading: stated values, the bad date and a weight without its unit."""
    reading = read_facts(text)
    facts = reading.facts

    class View:
        def __getattr__(self, name):
            if name == "bad_date":
                return reading.bad_date
            if name == "weight_bare":
                return facts.value("weight") is not None and facts.value("weight_unit") is None
            if name == "oncologist":
                return facts.value("prescriber_oncologist")
            if name == "prior_therapies":
                return facts.received()
            return facts.value(name)

    return View()


@pytest.mark.parametrize(("text", "slot", "value"), SLOTS)
def test_slot(text, slot, value):
    assert getattr(read_slots(text), slot) == value


def test_search_query_spells_out_abbreviations_and_keeps_the_question():
    assert search_query("Can Kadcyla be diluted in D5W?") == "Can Kadcyla be diluted in D5W? (5% dextrose)"
    assert search_query("What filter is needed?") == "What filter is needed?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("pt DOB 03/14/2005, 40 kg mBC, dose?", None),
        ("pt DOB 03/14/2005, 40 kg mBC, DOS 06/03/2026", date(2026, 6, 3)),
        ("born 2005-03-14; infusion 2026-06-03", date(2026, 6, 3)),
        ("date of birth: March 14, 2005", None),
        ("infusion 03/14/2026", date(2026, 3, 14)),
    ],
)
def test_a_date_of_birth_is_never_the_date_of_service(text, expected):
    assert read_slots(text).date_of_service == expected
