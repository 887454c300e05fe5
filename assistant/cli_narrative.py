"""`assistant narrative`: a prior-authorization letter of medical necessity from a case file."""

from __future__ import annotations

import json
from pathlib import Path

import typer
import yaml

from assistant.errors import AssistantError, DataError, InputError


def read_case(path: str) -> dict:
    """The raw case mapping from a JSON or YAML file; InputError for anything unreadable."""
    file = Path(path)
    if not file.is_file():
        raise InputError(f"case file not found: {file}")
    try:
        text = file.read_text(encoding="utf-8")
        data = json.loads(text) if file.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read case file {file}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"case file {file} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.YAMLError:
        raise InputError(f"case file {file} is not valid YAML") from None
    except RecursionError:
        raise InputError(f"case file {file} is nested too deeply to read") from None
    except ValueError as exc:  # the YAML reader's own, e.g. an impossible date such as 0000-00-00
        raise InputError(f"cannot read case file {file}: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"case file {file} must hold a mapping of field names to values")
    return data


def register(app: typer.Typer) -> None:
    """Add the narrative command to the app."""

    @app.command("narrative")
    def narrative_command(
        case: str = typer.Option(..., "--case", help="Case file (JSON or YAML): PatientCase fields plus drug, "
                                 "icd10, weight, weight_unit, cycle, cycles_requested, site_of_care."),
        fmt: str = typer.Option("text", "--format", help="text (pastes cleanly) or markdown."),
        out: str = typer.Option(None, "--out", help="Write to this file instead of stdout."),
    ) -> None:
        """Write a letter of medical necessity: request, clinical summary, criteria, open items, billing."""
        from assistant.cli import fail
        from assistant.cli_audit import audited
        from assistant.narrative import build_narrative

        if fmt not in ("text", "markdown"):
            fail(f"--format must be text or markdown (got {fmt!r})")
        with audited("narrative", "build_narrative", {"case": Path(case).name}) as call:
            try:
                given = read_case(case)
                call.inputs = given
                narrative = build_narrative(given)
            except DataError as exc:
                fail(f"data problem (a maintainer must fix it): {exc}", code=1)
            except AssistantError as exc:
                fail(str(exc))
            call.output = narrative.text()
        body = narrative.text() if fmt == "text" else narrative.markdown()
        if out:
            try:
                Path(out).write_text(body, encoding="utf-8")
            except OSError as exc:
                fail(f"cannot write {out}: {exc}")
            typer.echo(f"Wrote {out}", err=True)
        else:
            typer.echo(body, nl=False)
