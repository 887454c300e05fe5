"""`assistant check-policy` through a local Typer app: the example cases, the JSON shape, one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.cli_policy import register

CASES = Path(__file__).resolve().parent.parent / "evals" / "cases" / "policy"
EXPECTED = {
    "centene-mbc-commercial-met.json": ("meets_criteria", [6]),
    "centene-adjuvant-medicaid-met.json": ("meets_criteria", [12]),
    "centene-brain-mets-neratinib-met.yaml": ("meets_criteria", [12]),
    "centene-continuation-medicaid-met.json": ("meets_criteria", [12]),
    "centene-her2-ihc2-ish-pending.json": ("incomplete", [12]),
    "centene-nsclc-first-line-not-met.json": ("does_not_meet", []),
    "centene-other-diagnosis-referral.json": ("does_not_meet", []),
    "oscar-margenza-two-failures-met.json": ("meets_criteria", [12]),
    "oscar-margenza-one-failure-not-met.json": ("does_not_meet", []),
    "oscar-margenza-shortage.json": ("meets_criteria", [3]),
}


@pytest.fixture(autouse=True)
def _env(monkeypatch):
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-06-01")


@pytest.fixture
def run():
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["check-policy", *args])


def test_every_example_case_is_expected():
    assert sorted(EXPECTED) == sorted(p.name for p in CASES.iterdir())


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_cases(run, name):
    result = run("--case", str(CASES / name), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    overall, months = EXPECTED[name]
    assert (data["overall"], [d["months"] for d in data["approval_duration"]]) == (overall, months)


def test_json_shape(run):
    data = json.loads(run("--case", str(CASES / "centene-her2-ihc2-ish-pending.json"), "--json").stdout)
    assert {"payer", "policy_id", "policy_version", "sections", "overall", "approval_duration", "missing",
            "checklist"} <= set(data)
    assert (data["payer"], data["policy_id"]) == ("centene", "centene-cp-phar-229")
    assert "CP.PHAR.229" in data["policy_version"]
    section = data["sections"][0]
    assert {"id", "title", "verdict", "criteria"} <= set(section)
    assert {"id", "quote", "verdict", "reason", "doc_id", "start", "end"} <= set(section["criteria"][0])
    assert data["missing"][0]["field"] == "her2_ish"
    assert {"id", "status", "quote"} <= set(data["checklist"][0])
    assert all(f["source"] is None or f["source"]["quote"] for f in data["figures"])


def test_text_output(run):
    result = run("--case", str(CASES / "oscar-margenza-two-failures-met.json"))
    assert result.exit_code == 0, result.output
    for text in ["Overall: MEETS CRITERIA", "1.a", "up to 12 months", "EviCore", "855-252-1118", "800-540-2406",
                 "[provided] failure_details"]:
        assert text in result.stdout, text


@pytest.mark.parametrize("name,text,message", [
    ("bad.json", '{"age": 50', "not valid JSON"),
    ("bad.yaml", "payer: [centene", "not valid YAML"),
    ("bad.json", '{"payer": "Aetna"}', "supported: centene, oscar"),
    ("bad.json", '{"payer": "centene", "her2_ihc": "5+"}', "her2_ihc"),
    ("bad.json", '{"age": 50}', "no payer"),
])
def test_bad_case_files_exit_2_with_one_line(run, tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    result = run("--case", str(path))
    assert result.exit_code == 2
    assert message in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_case_file(run, tmp_path):
    result = run("--case", str(tmp_path / "none.json"))
    assert result.exit_code == 2 and "not found" in result.stderr
