"""`assistant check-claim`: check a Kadcyla (J9354) claim file line by line with check_claim."""

from __future__ import annotations

import json

import typer

from assistant.errors import AssistantError, DataError

_MARK = {"ok": "[ok]    ", "wrong": "[WRONG] ", "check": "[check] "}


def register(app: typer.Typer) -> None:
    """Add the check-claim command to the app."""

    @app.command("check-claim")
    def check_claim_command(
        claim: str = typer.Option(..., "--claim", help="Claim file (JSON or YAML) with ClaimRequest fields."),
        as_json: bool = typer.Option(False, "--json", help="Print the ClaimResult as JSON."),
    ) -> None:
        """Check a Kadcyla claim: units, JZ/JW, NDCs, admin codes, ICD-10 and place of service, line by line."""
        from pathlib import Path

        from assistant.cli import fail
        from assistant.cli_audit import audited
        from assistant.tools.claim_request import load_claim
        from assistant.tools.claims import check_claim

        with audited("check-claim", "check_claim", {"claim": Path(claim).name}) as call:
            try:
                request = load_claim(claim)
                call.inputs = request.model_dump(mode="json", exclude_none=True)
                result = check_claim(request)
            except DataError as exc:
                fail(f"claim check data problem (a maintainer must fix it): {exc}", code=1)
            except AssistantError as exc:
                fail(str(exc))
            call.output = result.model_dump(mode="json")
        if as_json:
            typer.echo(json.dumps(result.model_dump(mode="json"), ensure_ascii=False, indent=2))
            return
        typer.echo("\n".join(render(result)))


def render(result) -> list[str]:
    """The result as plain text lines, for people."""
    lines = [f"Claim: {result.overall.upper()}"]
    if result.implied_mg_per_kg is not None:
        lines.append(f"Implied dose level: {result.implied_mg_per_kg.formula}")
    if result.expected is not None:
        exp = result.expected
        bill = " + ".join(f"{ln.hcpcs} {ln.modifier} × {ln.units.value}" for ln in exp.billing.lines)
        lines.append(f"Expected for this order: {exp.dose_mg.formula}; {exp.drawn_mg.formula}; {bill}")
    lines.append("")
    for line in result.lines:
        mods = f" {'/'.join(line.modifiers)}" if line.modifiers else ""
        lines.append(f"Line {line.line}: {line.code}{mods} × {line.units:g} — {line.status}")
        lines += _findings(line.findings, "  ")
    lines.append("Whole claim:")
    lines += _findings(result.claim, "  ")
    for f in result.safety:
        lines.append(f"Label {f.severity}: {f.message}")
        lines.append(f"    “{f.quote.quote}” ({f.quote.doc_id}, {f.quote.section})")
    return lines


def _findings(findings, indent: str) -> list[str]:
    out = []
    for f in findings:
        out.append(f"{indent}{_MARK[f.status]} {f.check}: {f.reason}")
        if f.quote is not None:
            out.append(f"{indent}          “{f.quote.quote}” ({f.quote.doc_id}, {f.quote.section})")
    return out
