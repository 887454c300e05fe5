"""`assistant dose` through a local Typer app: the table, --json, and one-line refusals (exit 2)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from assistant.cli_dose import register
from assistant.tools.dose import DoseResult


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-11-21")


@pytest.fixture
def run():
    app = typer.Typer()
    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_table_shows_the_guide_example(run):
    result = run("dose", "--weight", "70kg", "--indication", "mbc", "--date", "2026-05-01")
    assert result.exit_code == 0, result.output
    for text in ["252 mg", "260 mg", "8 mg", "252 units", "8 units", "(JW)", "12.6 mL", "$10,633.90", "$10,971.48",
                 "50242-0088-01", "50242-087-01", "96415", "carecost-j9354"]:  # fmt: skip
        assert text in result.stdout, text
    assert "Warning" not in result.stdout


def test_json_is_the_dose_result(run):
    result = run("dose", "--weight", "85 kg", "--indication", "ebc", "--cycle", "2", "--date", "2026-05-01", "--json")
    assert result.exit_code == 0, result.output
    parsed = DoseResult.model_validate_json(result.stdout)
    assert parsed.dose_mg.value == 306 and parsed.payment.per_cycle.value == 13503.36
    assert [c.value for c in parsed.administration.cpt] == ["96413"]
    assert set(json.loads(result.stdout)) >= {"dose_mg", "vials", "billing", "payment", "warnings"}


@pytest.mark.parametrize(
    ("weight", "kg"), [("154 lb", 69.85322498), ("70kg", 70), ("70 kg", 70), ("154lbs", 69.85322498), ("70 KG", 70)]
)
def test_weight_spellings(run, weight, kg):
    result = run("dose", "--weight", weight, "--indication", "mbc", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["weight_kg"]["value"] == kg


@pytest.mark.parametrize(
    ("word", "code"),
    [("mbc", "mbc"), ("metastatic", "mbc"), ("ebc", "ebc"),
     ("adjuvant", "ebc"), ("katherine", "ebc"), ("early", "ebc")],  # fmt: skip
)
def test_indication_spellings(run, word, code):
    result = run("dose", "--weight", "70kg", "--indication", word, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["request"]["indication"] == code


REFUSED = [
    (["--weight", "0kg"], "more than 0"),
    (["--weight", "-70kg"], "more than 0"),
    (["--weight", "NaN kg"], "number with a unit"),
    (["--weight", "seventy"], "number with a unit"),
    (["--weight", "1000 kg"], "outside 20–350 kg"),
    (["--weight", "70"], "What is the patient's weight, in kg or lb?"),
    ([], "What is the patient's weight, in kg or lb?"),
    (["--weight", "70kg", "--mg-per-kg", "4"], "above the label maximum of 3.6 mg/kg"),
    (["--weight", "70kg", "--mg-per-kg", "four"], "mg/kg must be a number"),
    (["--weight", "70kg", "--indication", "ebc", "--cycle", "15"], "beyond the 14-cycle"),
    (["--weight", "70kg", "--cycle", "two"], "whole number"),
    (["--weight", "70kg", "--date", "May 1"], "YYYY-MM-DD"),
    (["--weight", "70kg", "--indication", "gastric"], "not understood"),
]


@pytest.mark.parametrize(("args", "message"), REFUSED)
def test_refusals_are_one_line_on_stderr(run, args, message):
    if "--indication" not in args:
        args = [*args, "--indication", "mbc"]
    result = run("dose", *args)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert isinstance(result.exception, SystemExit)  # no traceback
    assert "Traceback" not in result.output


def test_missing_indication_is_asked_for(run):
    result = run("dose", "--weight", "70kg")
    assert result.exit_code == 2 and "Which indication" in result.stderr


def test_stale_price_is_a_warning_in_the_table(run):
    result = run("dose", "--weight", "70kg", "--indication", "mbc")  # today, 2026-11-21, is past Q2 2026
    assert result.exit_code == 0
    assert "Warning:" in result.stdout and "Stale price" in result.stdout
    assert "used today's date, 2026-11-21" in result.stdout


def test_prices_list(run):
    result = run("prices", "list")
    assert result.exit_code == 0
    assert "2026Q2" in result.stdout and "42.198" in result.stdout


# ---------------------------------------------------------------- the new dose forms


def test_vials_in_stock(run):
    result = run("dose", "--weight", "70kg", "--indication", "mbc", "--vials", "160", "--date", "2026-05-01", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [(v["strength_mg"]["value"], v["count"]["value"]) for v in out["vials"]] == [(160, 2)]
    assert out["waste_mg"]["value"] == 68 and out["vials_available"] == [160]


@pytest.mark.parametrize("args", [["--vials", "100,160"], ["--vials", "100", "--vials", "160"], []])
def test_both_strengths_spelled_any_way(run, args):
    result = run("dose", "--weight", "70kg", "--indication", "mbc", *args, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["drawn_mg"]["value"] == 260


def test_prescribed_dose_without_weight(run):
    result = run("dose", "--dose-mg", "300", "--indication", "mbc", "--date", "2026-05-01")
    assert result.exit_code == 0, result.output
    for text in ["300 mg", "3 ", "15 mL", "300 units", "$12,659.40", "could not be checked"]:
        assert text in result.stdout, text


def test_off_label_indication(run):
    result = run("dose", "--weight", "70kg", "--indication", "nsclc", "--date", "2026-05-01")
    assert result.exit_code == 0, result.output
    assert "centene-cp-phar-229" in result.stdout and "252 mg" in result.stdout
    assert "non-small cell lung cancer" in result.stdout


def test_reduced_dose_notes_do_not_re_escalate(run):
    result = run("dose", "--weight", "70kg", "--indication", "mbc", "--dose-reduced", "--mg-per-kg", "3", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["dose_mg"]["value"] == 210 and out["safety"][0]["rule"] == "reduced-dose-stays-reduced"


def test_sequestration_row(run):
    result = run("dose", "--weight", "70kg", "--indication", "mbc", "--date", "2026-05-01")
    assert "$182,784.86" in result.stdout and "sequestration" in result.stdout


NEW_REFUSALS = [
    (["--weight", "70kg", "--dose-reduced"], "what is the reduced dose level"),
    (["--weight", "70kg", "--dose-reduced", "--mg-per-kg", "3.6"], "Do not re-escalate"),
    (["--weight", "70kg", "--dose-reduced", "--mg-per-kg", "3.2", "--previous-mg-per-kg", "3"], "goes back up"),
    (["--weight", "70kg", "--dose-mg", "253"], "at most 252 mg for this weight"),
    (["--weight", "70kg", "--dose-mg", "250", "--mg-per-kg", "3"], "not both"),
    (["--weight", "70kg", "--vials", "120"], "100 and 160 mg single-dose vials only"),
    (["--dose-mg", "lots"], "prescribed dose must be a number"),
]


@pytest.mark.parametrize(("args", "message"), NEW_REFUSALS)
def test_new_refusals_are_one_line(run, args, message):
    result = run("dose", *args, "--indication", "mbc")
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1
    assert result.stdout == "" and "Traceback" not in result.output
