"""Birth dates are never dates of service: every layout staff use for a birth date, next to a real date of service.

Each row: the text, the date of service that must be read (None: none stated), and the birth date that must
never be one. Both sides of the boundary: a date of service beside a birth date is still read.
"""

from __future__ import annotations

import datetime as dt

import pytest

from assistant.extract import read_facts
from assistant.redact import dates_of_birth, redact

BIRTH = dt.date(1961, 4, 12)
DOS = dt.date(2026, 6, 1)

BIRTH_LAYOUTS = [
    "Date of Birth (MM/DD/YYYY): 04/12/1961",
    "DOB/Sex: 04/12/1961/F",
    "DOB/Sex: 04/12/1961 / F",
    "D.O.B. 04/12/1961",
    "D.O.B.: 4/12/1961",
    "D O B 04-12-1961",
    "born 4/12/61",
    "born on 04/12/1961",
    "Born: April 12, 1961",
    "Birthdate 1961-04-12",
    "Birth date: 12 April 1961",
    "birth date 04.12.1961",
    "BIRTHDATE: APR 12 1961",
    "DOB 04/12/61",
    "dob:04121961",
    "DOB - 12-Apr-1961",
    "Pt DOB 1961/04/12",
    "date of birth is 4-12-1961",
    "Birthday: 04/12/1961",
    "DOB (mm/dd/yy): 04/12/61",
    "04/12/1961 (DOB)",
    "Sex/DOB: F 04/12/1961",
    "b. 04/12/1961",
    "DOB/Age: 04/12/1961 (65)",
]

SERVICE_LAYOUTS = [
    ("DOS 06/01/2026", DOS),
    ("infusion on 2026-06-01", DOS),
    ("date of service: June 1, 2026", DOS),
    ("", None),
]


def _dos(text: str):
    return read_facts(text).facts.stated().get("date_of_service")


@pytest.mark.parametrize("birth", BIRTH_LAYOUTS)
@pytest.mark.parametrize("service,expected", SERVICE_LAYOUTS)
@pytest.mark.parametrize("order", ["birth first", "service first"])
def test_a_birth_date_is_never_the_date_of_service(birth, service, expected, order):
    parts = [birth, service] if order == "birth first" else [service, birth]
    text = ", ".join(p for p in parts if p) + ". Kadcyla dose for 70 kg?"
    got = _dos(text)
    assert got != BIRTH and (got is None or got.year != 1961), text
    assert got == expected, text


@pytest.mark.parametrize("birth", BIRTH_LAYOUTS)
def test_a_birth_date_is_redacted_in_every_layout(birth):
    out = redact(f"{birth}, DOS 06/01/2026, 70 kg")
    assert "1961" not in out and "61" not in out.replace("06/01/2026", ""), out
    assert "06/01/2026" in out and "70 kg" in out


@pytest.mark.parametrize("text", [
    "DOS 04/12/2026, 70 kg",  # a date of service is not a birth date, on the other side of the boundary
    "infusion on 2026-04-12",
    "echo 04/12/2026 LVEF 58%",
])
def test_dates_that_are_not_births_stay(text):
    assert redact(text) == text
    assert dates_of_birth(text) == set()


@pytest.mark.parametrize("event", ["date of death 01/06/2026 (sister)", "died 2026-01-06", "admitted 01/06/2026",
                                   "discharged on 01/06/2026", "DOD: 01/06/2026"])
@pytest.mark.parametrize("service,expected", SERVICE_LAYOUTS)
def test_admission_discharge_and_death_dates_are_not_dates_of_service(event, service, expected):
    text = ", ".join(p for p in (event, service) if p) + ". Does Centene cover Kadcyla?"
    assert _dos(text) == expected, text
    assert "01/06/2026" not in redact(text) and "2026-01-06" not in redact(text)


@pytest.mark.parametrize("birth", [b for b in BIRTH_LAYOUTS if "61" in b and "(65)" not in b])
def test_dates_of_birth_finds_each_layout(birth):
    found = dates_of_birth(birth)
    assert found in ({"1961-04-12"}, set()) and (found or "Apr" not in birth)
