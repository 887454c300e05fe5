"""Every command that reads patient data or produces a figure leaves an audit entry, and unreachable services
are one line, never a traceback.

dose, check-policy, check-claim, narrative, jcode and prices load are each recorded (kind `command`, the
tool, its redacted inputs and output), refusals too; with ASSISTANT_AUDIT_REQUIRED=1 and a log that cannot be
written each prints nothing and exits 1. A chroma server or PostgreSQL that is down is named with its
address in one line (exit 2, or status `error` in an answer), and dose, policy and code answers go on.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant import audit, cli, retrieval
from assistant.audit_verify import verify

from pg_cluster import free_port
from private_data import _one_torch_thread, pg_cluster, pg_url, sqlite_dir  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
POLICY_CASE = ROOT / "evals" / "cases" / "policy" / "centene-mbc-commercial-met.json"
CLAIM = ROOT / "evals" / "cases" / "claims" / "correct-70kg-mbc-cycle1.json"
NARRATIVE_CASE = ROOT / "evals" / "cases" / "narrative" / "mbc-centene-commercial-70kg.json"
ASP = ROOT / "tests" / "fixtures" / "asp_sample.csv"

COMMANDS = {
    "dose": (["dose", "--weight", "70kg", "--indication", "mbc", "--json"], "calculate_dose", {"weight": "70kg"}),
    "check-policy": (["check-policy", "--case", str(POLICY_CASE), "--json"], "check_policy", {"payer": "centene"}),
    "check-claim": (["check-claim", "--claim", str(CLAIM), "--json"], "check_claim", {"indication": "mbc"}),
    "narrative": (["narrative", "--case", str(NARRATIVE_CASE)], "build_narrative", {}),
    "jcode": (["jcode", "J9358 for Mrs. Canarysmith", "--json"], "disambiguate_code", {"query": "J9358 for Mrs. [NAME]"}),
    "prices load": (["prices", "load", str(ASP)], "import_asp_file", {"file": "asp_sample.csv"}),
}


@pytest.fixture(scope="module")
def app():
    if not any(c.name == "dose" for c in cli.app.registered_commands):
        cli._register_tools()
    return cli.app


def run(app, *args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("command", list(COMMANDS))
def test_each_command_is_recorded(sqlite_dir, app, command):
    args, tool, expected = COMMANDS[command]
    result = run(app, *args)
    assert result.exit_code == 0, result.output
    (entry,) = audit.list_entries(5)
    assert (entry.kind, entry.command, entry.status) == ("command", command, "answered")
    (call,) = entry.tool_calls
    assert call["tool"] == tool and expected.items() <= call["input"].items()
    assert call["output"] and "Canarysmith" not in entry.model_dump_json()
    assert entry.question.startswith(f"assistant {command}")
    assert verify().ok


def test_a_refused_command_is_recorded_too(sqlite_dir, app):
    result = run(app, "dose", "--weight", "70", "--indication", "mbc")
    assert result.exit_code == 2
    (entry,) = audit.list_entries(5)
    assert (entry.command, entry.status) == ("dose", "error") and "unit" in entry.tool_calls[0]["output"]["error"]


def test_a_recorded_dose_command_replays_the_same(sqlite_dir, app):
    assert run(app, *COMMANDS["dose"][0]).exit_code == 0
    (entry,) = audit.list_entries(1)
    replayed = run(app, "audit", "replay", entry.id, "--json")
    assert replayed.exit_code == 0, replayed.output
    assert json.loads(replayed.stdout)["same"] is True


@pytest.mark.parametrize("command", list(COMMANDS))
def test_required_audit_refuses_each_command_when_the_log_is_down(sqlite_dir, app, monkeypatch, command):
    (sqlite_dir / audit.DB_NAME).mkdir()  # the log cannot be written
    monkeypatch.setenv("ASSISTANT_AUDIT_REQUIRED", "1")
    result = run(app, *COMMANDS[command][0])
    assert result.exit_code == 1, result.output
    assert result.stdout.strip() == "" or "Refused" in result.output.splitlines()[-1]
    assert "audit log cannot be written" in result.output and "Traceback" not in result.output
    assert "252" not in result.output and "J9354" not in result.output.replace("ASSISTANT", "")


def test_commands_with_auditing_off_leave_one_trace(sqlite_dir, app, monkeypatch):
    monkeypatch.setenv("ASSISTANT_AUDIT", "0")
    audit._off_noted.clear()
    for command in ("dose", "jcode"):
        assert run(app, *COMMANDS[command][0]).exit_code == 0
    assert audit.list_entries(5) == []
    assert [e.event for e in audit.list_entries(5, events=True)] == ["audit_off"]


# -- unreachable services -------------------------------------------------------------------------
def one_error_line(result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert "Traceback" not in result.output and len([l for l in lines if l.startswith("Error")]) == 1, result.output
    return " ".join(result.output.split())


@pytest.fixture()
def chroma_down(sqlite_dir, monkeypatch):
    port = free_port()
    monkeypatch.setenv("CHROMA_HOST", "127.0.0.1")
    monkeypatch.setenv("CHROMA_PORT", str(port))
    monkeypatch.setattr(retrieval, "_retriever", None)
    return f"127.0.0.1:{port}"


def test_a_chroma_server_that_is_down_is_one_line(chroma_down, app):
    for args in (["search", "dextrose"], ["index"], ["ask", "Can Kadcyla be diluted in dextrose?"]):
        result = run(app, *args)
        assert result.exit_code == 2, (args, result.output)
        said = one_error_line(result)
        assert f"The chroma server at {chroma_down} is not reachable" in said, said


@pytest.mark.parametrize("question", ["70 kg mBC dose?", "Is J9354 Enhertu?",
                                      "Centene medicaid: 58 yo, HER2 IHC 3+, metastatic, prior trastuzumab and "
                                      "docetaxel, single agent, oncologist. Covered?"])
def test_dose_policy_and_code_answers_need_no_index(chroma_down, question):
    from assistant.agent import ask

    answer = ask(question)
    assert answer.status == "answered", answer.answer


def test_postgres_that_is_down_is_one_line(sqlite_dir, app, monkeypatch, caplog):
    port = free_port()
    monkeypatch.setenv("ASSISTANT_DB_URL", f"postgresql://assistant@127.0.0.1:{port}/kadcyla")
    where = f"PostgreSQL database at 127.0.0.1:{port}/kadcyla is not reachable"
    for args in (["audit", "list"], ["audit", "verify"], ["ask", "70 kg mBC dose?", "--session", "s1"]):
        result = run(app, *args)
        assert result.exit_code == 2, (args, result.output)
        assert where in one_error_line(result)
    caplog.set_level(logging.WARNING)
    dosed = run(app, *COMMANDS["dose"][0])  # not required: the figure, and a warning naming the server
    assert dosed.exit_code == 0 and json.loads(dosed.stdout)["dose_mg"]["value"] == 252
    assert where in caplog.text


def test_an_unreachable_llm_endpoint_is_named():
    """What the LLM planner raises when its chat model cannot be reached (see the closing note for the call site)."""
    from assistant.services import ServiceUnavailable, llm_unavailable

    class APIConnectionError(Exception):
        pass

    down = llm_unavailable(APIConnectionError("Connection error."), "openai:gpt-4o-mini", "http://127.0.0.1:9/v1")
    assert isinstance(down, ServiceUnavailable)
    assert str(down) == "The LLM endpoint (openai) at http://127.0.0.1:9/v1 is not reachable (APIConnectionError)."
    assert llm_unavailable(ValueError("bad tool arguments"), "openai:x", None) is None
