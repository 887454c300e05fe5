"""Price quarters: the shipped Q2 2026 row, importing a CMS ASP file, and choosing by date of service."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.cli_dose import register
from assistant.corpus import get_corpus
from assistant.errors import DataError, InputError
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
    result = run("prices", "load", path, "--quarter", "2026Q3")
    assert result.exit_code == 2 and "row 2: J9354 dosage is '10 MG'" in result.stderr
    assert result.stderr.count("\n") == 1
    assert [q.quarter for q in all_quarters()] == ["2026Q2"]  # nothing stored


# -- import validation: a file that fails is refused whole, naming the row and the reason ----------------
HEAD = "HCPCS Code,Short Description,HCPCS Code Dosage,Payment Limit\n"
J9358 = "J9358,Enhertu,1 MG,31.262\n"


@pytest.mark.parametrize(
    ("rows", "quarter", "message"),
    [
        ("J9354,Kadcyla,1 MG,1e308\n", "2026Q3", "row 2: J9354 payment limit $1E+308 is not a plausible price"),
        ("J9354,Kadcyla,1 MG,$1e308\n", "2026Q3", "not a plausible price"),
        ("J9354,Kadcyla,1 MG,inf\n", "2026Q3", "row 2: J9354 payment limit 'inf' is not a positive amount"),
        ("J9354,Kadcyla,1 MG,NaN\n", "2026Q3", "is not a positive amount"),
        ("J9354,Kadcyla,1 MG,0\n", "2026Q3", "row 2: J9354 payment limit '0' is not a positive amount"),
        ("J9354,Kadcyla,1 MG,-42.198\n", "2026Q3", "is not a positive amount"),
        ("J9354,Kadcyla,1 MG,forty\n", "2026Q3", "row 2: J9354 payment limit 'forty' is not a number"),
        ("J9354,Kadcyla,1 MG,421.98\n", "2026Q3", "row 2: J9354 payment limit $421.98 is 10 times 2026Q2's $42.198"),
        ("J9354,Kadcyla,1 MG,4.2198\n", "2026Q3", "0.1 times 2026Q2's"),
        ("J9354,Kadcyla,1 MG,43.1\n" + J9358.replace("31.262", "3126.2"), "2026Q3", "row 3: J9358 payment limit"),
        ("J9354,Kadcyla,1 MG,43.1\nJ9354,Kadcyla,1 MG,43.2\n", "2026Q3", "row 3: J9354 appears twice (also row 2)"),
        ("J9354,Kadcyla,0 MG,43.1\n", "2026Q3", "row 2: J9354 dosage is '0 MG'; Kadcyla is billed per 1 MG"),
        ("J9354,Kadcyla,,43.1\n", "2026Q3", "J9354 dosage is ''"),
        ("J9354,Kadcyla,1 ML,43.1\n", "2026Q3", "J9354 dosage is '1 ML'"),
        ("J9354,Kadcyla,1 MG,43.1\n", "9999Q4", "9999Q4 is not a real price quarter"),
        ("J9354,Kadcyla,1 MG,43.1\n", "1999Q1", "1999Q1 is not a real price quarter"),
        ("J9354,Kadcyla,1 MG,43.1\n", "2028Q1", "2028Q1 is not a real price quarter"),  # today is 2026-11-21
        ("J9354,Kadcyla,1 MG,0\nJ9306,P,1 MG,-1\nJ9355,T,10 MG,x\nJ9358,E,1 MG,0\n", "2026Q3", "(and 1 more)"),
    ],
)  # fmt: skip
def test_an_implausible_file_is_refused_whole(tmp_path, run, rows, quarter, message):
    path = tmp_path / "bad.csv"
    path.write_text(HEAD + rows, encoding="utf-8")
    with pytest.raises(InputError) as info:
        read_asp_file(path, quarter)
    assert message in str(info.value)
    result = run("prices", "load", path, "--quarter", quarter)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    assert [q.quarter for q in all_quarters()] == ["2026Q2"]  # refused whole: nothing stored
    assert dose_on("2026-05-01").payment.price_per_unit.value == 42.198


def test_the_year_9999_in_the_title_rows_is_refused(tmp_path):
    path = tmp_path / "far.csv"
    path.write_text('"Effective October 1, 9999 through December 31, 9999"\n' + HEAD + "J9354,K,1 MG,43\n", encoding="utf-8")
    with pytest.raises(InputError, match="not a real price quarter"):
        read_asp_file(path)


@pytest.mark.parametrize(("limit", "ok"), [("14.07", True), ("14.06", False), ("126.594", True), ("126.595", False)])
def test_the_change_factor_boundary_on_both_sides(tmp_path, limit, ok):
    """42.198 / 3 = 14.066 and 42.198 x 3 = 126.594: the default factor 3 allows both ends and nothing past them."""
    path = tmp_path / "q3.csv"
    path.write_text(HEAD + f"J9354,K,1 MG,{limit}\n", encoding="utf-8")
    if ok:
        assert read_asp_file(path, "2026Q3").rows["J9354"].payment_limit == Decimal(limit)
    else:
        with pytest.raises(InputError, match="more than 3x away"):
            read_asp_file(path, "2026Q3")


def test_the_change_factor_is_configurable(tmp_path):
    path = tmp_path / "q3.csv"
    path.write_text(HEAD + "J9354,K,1 MG,50\n", encoding="utf-8")
    assert read_asp_file(path, "2026Q3").rows["J9354"].payment_limit == Decimal(50)  # 1.18x, within 3x
    with pytest.raises(InputError, match="more than 1.1x away"):
        read_asp_file(path, "2026Q3", max_change=1.1)
    path.write_text(HEAD + "J9354,K,1 MG,421.98\n", encoding="utf-8")
    assert read_asp_file(path, "2026Q3", max_change=20).rows["J9354"].payment_limit == Decimal("421.98")
    with pytest.raises(InputError, match="at least 1"):
        read_asp_file(path, "2026Q3", max_change=0.5)


def test_a_code_never_priced_before_is_only_checked_for_sign_and_size(tmp_path):
    path = tmp_path / "q3.csv"
    path.write_text(HEAD + "J9354,K,1 MG,43\nJ1234,New drug,10 MG,999999\n", encoding="utf-8")
    assert read_asp_file(path, "2026Q3").rows["J1234"].payment_limit == Decimal(999999)


def test_a_damaged_stored_quarter_affects_only_its_own_dates(run):
    assert run("prices", "load", SAMPLE).exit_code == 0  # 2026Q3
    stored = Path(os.environ["ASSISTANT_DATA_DIR"]) / "prices" / "2026Q3.json"
    stored.write_text(stored.read_text(encoding="utf-8")[:200], encoding="utf-8")  # a truncated write
    assert dose_on("2026-05-01").payment.price_per_unit.value == 42.198  # Q2 is untouched
    with pytest.raises(DataError, match="2026Q3.json is damaged"):
        dose_on("2026-08-15")
    assert run("prices", "load", SAMPLE).exit_code == 0  # loading it again repairs it
    assert dose_on("2026-08-15").payment.price_per_unit.value == 43.105
