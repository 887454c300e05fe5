"""`assistant check-claim` through a local Typer app, and check_claim as a langchain tool."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.cli_claim import register

CLAIMS = Path(__file__).resolve().parent.parent / "evals" / "cases" / "claims"


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ASSISTANT_TODAY", "2026-05-01")


@pytest.fixture
def run():
    app = typer.Typer()
    register(app)

    @app.callback()
    def _main() -> None:
        """A group, so the command keeps its name."""

    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args])


def test_correct_claim_text(run):
    result = run("check-claim", "--claim", CLAIMS / "correct-70kg-mbc-cycle1.json")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Claim: OK")
    assert "Implied dose level: 252 units ÷ 70 kg = 3.6 mg/kg" in out
    assert "Line 1: J9354 JZ × 252 — ok" in out and "Line 2: J9354 JW × 8 — ok" in out
    assert "[WRONG]" not in out and "carecost-j9354" in out


def test_wrong_claim_text_names_the_line_and_quotes(run):
    result = run("check-claim", "--claim", CLAIMS / "wrong-units-enhertu-dose.json")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert out.startswith("Claim: WRONG")
    assert "Line 1: J9354 JZ × 378 — wrong" in out
    assert "5.4 mg/kg, above the 3.6 mg/kg maximum" in out
    assert "“Dose exceeds 3.6 mg/kg per cycle" in out
    assert "Label error: 5.4 mg/kg is Enhertu's dose" in out


def test_json_is_the_claim_result(run):
    result = run("check-claim", "--claim", CLAIMS / "wrong-missing-jw-line.json", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["overall"] == "wrong"
    assert [f["check"] for f in data["claim"] if f["status"] == "wrong"] == ["jw-line"]
    assert data["expected"]["dose_mg"]["value"] == 252 and data["implied_mg_per_kg"]["value"] == 3.6
    assert {"lines", "claim", "safety", "request"} <= set(data)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [(None, "missing.json", "not found"), ("{oops", "bad.json", "Cannot read claim file"),
     ('{"lines": []}', "empty.json", "lines"), ('{"lines": [{"code": "J9354", "units": 252}], "weight": 70}',
                                               "nounit.json", "has no unit"),
     ('{"lines": [{"code": "J9354", "units": 252}], "weight": "-70 kg"}', "neg.json", "more than 0"),
     ("[1, 2]", "list.json", "JSON object"), ("lines: [", "bad.yaml", "Cannot read claim file")],
)  # fmt: skip
def test_refusals_are_one_line_with_exit_2(run, tmp_path, content, name, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content, encoding="utf-8")
    result = run("check-claim", "--claim", path)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert message in result.stderr and result.stderr.startswith("Error: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_the_real_command_line(tmp_path):
    """`assistant check-claim` as installed: registered in assistant.cli, exit 0 on a checked claim, 2 on a bad file."""
    import subprocess
    import sys

    cmd = [sys.executable, "-c", "import sys; from assistant.cli import main; sys.argv[0] = 'assistant'; main()"]
    ok = subprocess.run([*cmd, "check-claim", "--claim", str(CLAIMS / "wrong-admin-96365.json")],
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "Claim: WRONG" in ok.stdout and "cpt-96365" in ok.stdout
    bad = subprocess.run([*cmd, "check-claim", "--claim", str(tmp_path / "none.json")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "not found" in bad.stderr and "Traceback" not in bad.stderr


def test_langchain_tool():
    from assistant.lc_tools import build_tools

    tool = {t.name: t for t in build_tools()}["check_claim"]
    schema = tool.args_schema.model_json_schema()
    assert schema["required"] == ["lines"] and "Never judge a claim in prose" in tool.description
    raw = json.loads((CLAIMS / "correct-70kg-mbc-cycle1.json").read_text(encoding="utf-8"))
    assert json.loads(tool.invoke(raw))["overall"] == "ok"
    refused = json.loads(tool.invoke({**raw, "weight": 1000}))
    assert "outside 20–350 kg" in refused["error"]
