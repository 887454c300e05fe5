"""`assistant jcode`: readable by default, JSON on request, one clear line on bad input."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from assistant.cli_codes import register
from assistant.tools.codes import CodeResult


@pytest.fixture()
def app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Keep sub-command mode with a single command."""

    register(app)
    return app


def test_readable_output(app):
    result = CliRunner().invoke(app, ["jcode", "J9358 3.6 mg/kg"])
    assert result.exit_code == 0, result.output
    assert "conflicting" in result.stdout.lower()
    assert "J9354" in result.stdout and "J9358" in result.stdout
    assert "Always confirm brand name" in result.stdout


def test_json_output(app):
    result = CliRunner().invoke(app, ["jcode", "50242008801", "--json"])
    assert result.exit_code == 0, result.output
    parsed = CodeResult.model_validate(json.loads(result.stdout))
    assert parsed.verdict == "consistent" and parsed.ndcs[0].ndc11 == "50242-0088-01"


@pytest.mark.parametrize("query", ["", "   "])
def test_bad_input_is_one_line_on_stderr(app, query):
    result = CliRunner().invoke(app, ["jcode", query])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert "empty" in result.stderr
    assert "Traceback" not in result.output
