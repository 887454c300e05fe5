"""Price quarters: the shipped Q2 2026 row, importing a CMS ASP file, and choosing by date of service."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.cli_dose import register
from assistant.corpus import get_corpus
from assistant.errors import InputError
from assistant.tools.dose import build_request, calculate_dose
from assistant.tools.prices import all_quarters, parse_quarter, price_on, read_asp_file, shipped_quarters

SAMPLE = Path(__file__).parent / "fixtures" / "asp_sample.csv"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")


@pytest.fixture
def run():
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def dose_on(day: str, weight: str = "70 kg"):
    return calculate_dose(build_request(weight=weight, indication="mbc", date_of_service=day))


def test_shipped_quarter_quotes_the_billing_guide():
    (q2,) = shipped_quarters()
    assert (q2.quarter, q2.effective_start, q2.effective_end) == ("2026Q2", dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    corpus = get_corpus()
    for source in [q2.period_source, q2.rows["J9354"].source, q2.rows["J9358"].source]:
        assert corpus.text(source.doc_id)[source.start : source.end] == source.quote
    assert q2.rows["J9354"].payment_limit == Decimal("42.198")
    assert q2.rows["J9358"].payment_limit == Decimal("31.262")


def test_fixture_is_cp1252_with_title_rows():
    raw = SAMPLE.read_bytes()
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert not raw.startswith(b"HCPCS Code")


def test_read_asp_file():
    q3 = read_asp_file(SAMPLE)
    assert (q3.quarter, q3.effective_start, q3.effective_end) == ("2026Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    row = q3.rows["J9354"]
    assert (row.payment_limit, row.dosage) == (Decimal("43.105"), "1 MG")
    assert row.description == "Inj, ado-trastuzumab emt 1mg"
    assert (row.source_file, row.source_row) == ("asp_sample.csv", 7)
    assert SAMPLE.read_bytes().decode("cp1252").splitlines()[row.source_row - 1].startswith("J9354,")
    assert "–" in q3.rows["J9358"].description  # cp1252 byte 0x96 read as an en dash
    assert "J9999" not in q3.rows  # no payment limit, no price


def test_prices_load_then_a_date_in_that_quarter_uses_the_new_price(run):
    result = run("prices", "load", SAMPLE)
    assert result.exit_code == 0, result.output
    assert "2026Q3" in result.stdout and "43.105" in result.stdout

    r = dose_on("2026-08-15")
    assert r.payment.quarter == "2026Q3" and r.payment.covers_date_of_service
    assert r.payment.price_per_unit.value == 43.105
    assert r.payment.per_cycle.value == 11207.30  # 260 x 43.105
    assert r.payment.price_source_file == "asp_sample.csv" and r.payment.price_source_row == 7
    assert r.payment.price_per_unit.source is None  # an imported row is not a corpus quote
    assert "asp_sample.csv, row 7" in r.payment.price_per_unit.label
    assert not [w for w in r.warnings if w.startswith("Stale")]

    assert dose_on("2026-05-01").payment.price_per_unit.value == 42.198  # Q2 still uses the guide
    later = dose_on("2026-11-21")
    assert later.payment.quarter == "2026Q3"
    assert any("outside Q3 2026" in w and "2026Q4" in w for w in later.warnings)

    listed = run("prices", "list")
    assert "2026Q2" in listed.stdout and "2026Q3" in listed.stdout and "asp_sample.csv" in listed.stdout


def test_load_with_quarter_option_when_titles_lack_it(tmp_path, run):
    bare = tmp_path / "no_title.csv"
    bare.write_text("HCPCS Code,Short Description,HCPCS Code Dosage,Payment Limit\nJ9354,Kadcyla,1 MG,44.000\n")
    assert run("prices", "load", bare).exit_code == 2  # no quarter anywhere
    result = run("prices", "load", bare, "--quarter", "2026Q4")
    assert result.exit_code == 0, result.output
    assert price_on("J9354", dt.date(2026, 12, 1)).row.payment_limit == Decimal("44.000")


def test_columns_found_by_name_in_any_order(tmp_path):
    moved = tmp_path / "moved.csv"
    moved.write_text(
        "ASP Pricing File, Q1 2027\n\n"
        "Payment Limit, hcpcs  code ,Notes,HCPCS Code Dosage\n$45.01,J9354,,1 MG\n",
        encoding="utf-8-sig",
    )
    q = read_asp_file(moved)
    assert q.quarter == "2027Q1" and q.rows["J9354"].payment_limit == Decimal("45.01")


@pytest.mark.parametrize(
    ("content", "quarter", "message"),
    [
        ("a,b\n1,2\n", None, "no header row"),
        ("HCPCS Code,Payment Limit\nJ9354,42\n", "2026Q3", "HCPCS Code Dosage"),
        ('"Effective July 1, 2026 through September 30, 2026"\nHCPCS Code,HCPCS Code Dosage,Payment Limit\n'
         "J9354,1 MG,43\n", "2026Q4", "title rows say 2026Q3 but --quarter says 2026Q4"),
        ('"Effective July 1, 2026 through August 30, 2026"\nHCPCS Code,HCPCS Code Dosage,Payment Limit\n'
         "J9354,1 MG,43\n", None, "not a calendar quarter"),
        ("HCPCS Code,HCPCS Code Dosage,Payment Limit\nJ9354,1 MG,N/A\n", "2026Q3", "no priced rows"),
    ],
)  # fmt: skip
def test_bad_files_are_refused(tmp_path, content, quarter, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=message):
        read_asp_file(path, quarter)


def test_missing_file_is_one_line_exit_2(run, tmp_path):
    result = run("prices", "load", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and "not found" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2026Q3", ("2026Q3", dt.date(2026, 7, 1), dt.date(2026, 9, 30))),
     ("Q4 2026", ("2026Q4", dt.date(2026, 10, 1), dt.date(2026, 12, 31))),
     ("2027-q1", ("2027Q1", dt.date(2027, 1, 1), dt.date(2027, 3, 31)))],
)  # fmt: skip
def test_parse_quarter(text, expected):
    assert parse_quarter(text) == expected


@pytest.mark.parametrize("text", ["2026Q5", "2026Q0", "Q3", "", "summer 2026"])
def test_parse_quarter_refuses(text):
    with pytest.raises(InputError, match="like 2026Q3"):
        parse_quarter(text)


def test_an_imported_quarter_replaces_the_shipped_one(tmp_path, run):
    path = tmp_path / "q2.csv"
    path.write_text("HCPCS Code,HCPCS Code Dosage,Payment Limit\nJ9354,1 MG,42.500\n", encoding="utf-8")
    assert run("prices", "load", path, "--quarter", "2026Q2").exit_code == 0
    assert [q.origin for q in all_quarters()] == ["imported"]
    assert dose_on("2026-05-01").payment.price_per_unit.value == 42.5


def test_price_per_10_mg_is_refused_for_a_1_mg_code(tmp_path, run):
    path = tmp_path / "odd.csv"
    path.write_text("HCPCS Code,HCPCS Code Dosage,Payment Limit\nJ9354,10 MG,421.98\n", encoding="utf-8")
    assert run("prices", "load", path, "--quarter", "2026Q3").exit_code == 0
    result = run("dose", "--weight", "70kg", "--indication", "mbc", "--date", "2026-08-01")
    assert result.exit_code == 1 and "Data error" in result.stderr and "per 10 MG" in result.stderr
