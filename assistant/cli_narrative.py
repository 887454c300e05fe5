"""`assistant narrative`: the letter of medical necessity for a case file (the file check-policy reads)."""

from __future__ import annotations

from pathlib import Path

import typer

from assistant.errors import AssistantError, DataError

FORMATS = ("text", "markdown", "docx")


def register(app: typer.Typer) -> None:
    """Add the narrative command to the app."""

    @app.command("narrative")
    def narrative_command(
        case: str = typer.Option(..., "--case", help="Case file (JSON or YAML), the same file check-policy reads: "
                                 "PatientCase fields plus icd10, weight, weight_unit, cycle, cycles_requested, "
                                 "site_of_care (drug may name the product)."),
        fmt: str = typer.Option("text", "--format", help="text (one paragraph per line), markdown, or docx "
                                "(a Word file; needs --out)."),
        out: str = typer.Option(None, "--out", help="Write the letter to this file instead of stdout."),
        ascii_only: bool = typer.Option(False, "--ascii", help="ASCII characters only (× as x, ≥ as >=, dashes as -)."),
    ) -> None:
        """Write the letter of medical necessity, or say why it is withheld. Staff notes go to stderr."""
        from assistant.cli import fail
        from assistant.cli_audit import audited
        from assistant.letter import build_letter
        from assistant.tools.case_file import read_case_data

        if fmt not in FORMATS:
            fail(f"--format must be one of {', '.join(FORMATS)} (got {fmt!r})")
        if fmt == "docx" and not out:
            fail("--format docx writes a file: give --out PATH (e.g. --out letter.docx)")
        with audited("narrative", "build_narrative", {"case": Path(case).name}) as call:
            try:
                given = read_case_data(case)
                call.inputs = given if isinstance(given, dict) else {}
                letter = build_letter(given)
            except DataError as exc:
                fail(f"data problem (a maintainer must fix it): {exc}", code=1)
            except AssistantError as exc:
                fail(f"{case}: {exc}")
            call.output = letter.text()
        if letter.withheld:  # nothing is written for the payer; the notice says what to settle
            typer.echo(letter.markdown(ascii=ascii_only) if fmt == "markdown" else letter.text(ascii=ascii_only),
                       nl=False)
            if out:
                typer.echo(f"Letter withheld: nothing written to {out}", err=True)
            return
        try:
            if fmt == "docx":
                letter.docx(out, ascii=ascii_only)
            else:
                body = letter.text(ascii=ascii_only) if fmt == "text" else letter.markdown(ascii=ascii_only)
                if out:
                    Path(out).write_text(body, encoding="utf-8")
                else:
                    typer.echo(body, nl=False)
        except OSError as exc:
            fail(f"cannot write {out}: {exc}")
        if out:
            typer.echo(f"Wrote {out}", err=True)
        staff = letter.staff_text(ascii=ascii_only)
        if staff:
            typer.echo("\n" + staff, err=True, nl=False)
