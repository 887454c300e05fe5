"""`assistant check-policy`: check a case file against a payer's Kadcyla policy."""

from __future__ import annotations

import json

import typer

from assistant.errors import AssistantError, DataError

_MARK = {"met": "[met]    ", "not_met": "[NOT MET]", "unknown": "[unknown]"}


def register(app: typer.Typer) -> None:
    """Add the check-policy command to the app."""

    @app.command("check-policy")
    def check_policy_command(
        case: str = typer.Option(..., "--case", help="Case file (JSON or YAML): the same file `assistant narrative` "
                                 "reads; the letter's fields (icd10, weight, cycles ...) are checked and not used here."),
        policy: str = typer.Option(None, "--policy", help="Policy id; default: the case's payer's policy."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Check a patient case against a payer's Kadcyla policy, criterion by criterion."""
        from pathlib import Path

        from assistant.cli import fail
        from assistant.cli_audit import audited
        from assistant.tools.policy import check_policy
        from assistant.tools.case_file import load_case_file

        with audited("check-policy", "check_policy", {"case": Path(case).name, "policy": policy}) as call:
            try:
                patient = load_case_file(case).patient
            except AssistantError as exc:
                fail(str(exc))
            call.inputs = patient.model_dump(mode="json", exclude_none=True) | ({"policy": policy} if policy else {})
            try:
                result = check_policy(patient, policy)
            except DataError as exc:
                fail(f"policy data problem (a maintainer must fix it): {exc}", code=1)
            except AssistantError as exc:
                fail(str(exc))
            call.output = result.model_dump(mode="json")
        if as_json:
            data = result.model_dump(mode="json")
            data["figures"] = [f.model_dump(mode="json") for f in result.figures()]
            typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
            return
        typer.echo("\n".join(render(result)))


def render(result) -> list[str]:
    """The result as plain text lines, for people."""
    lines = [f"{result.payer.title()} — {result.policy_version}: {result.policy_title}",
             f"Overall: {result.overall.replace('_', ' ').upper()} — {result.overall_reason}", ""]
    for s in result.sections:
        lines.append(f"{s.id} {s.title}: {s.verdict.replace('_', ' ')}")
        for c in s.criteria:
            indent = "    " if c.parent else "  "
            lines.append(f"{indent}{_MARK[c.verdict]} {c.id} {c.label} — {c.reason}")
            lines.append(f"{indent}          “{c.quote}” ({c.doc_id} {c.start}–{c.end})")
        lines += [f"  → refer to {r.policy} ({r.kind}, {r.line_of_business})"
                  + ("" if r.certain else " — if the open questions go that way") for r in s.referral]
        lines += [f"  note: {n.label} — “{n.source.quote}”" for n in s.notes]
        lines.append("")
    for d in result.approval_duration:
        lobs = ", ".join(d.lines_of_business) if d.lines_of_business else "all lines of business"
        until = f", until {d.until.isoformat()}" if d.until else ""
        lines.append(f"Approval duration ({lobs}): {'up to ' if d.up_to else ''}{d.months} months"
                     f"{' or to the renewal date, whichever is longer' if d.or_renewal_date else ''}{until}"
                     f" — “{d.source.quote}”")
    if result.missing:
        lines.append("Missing (obtain to settle the verdict):")
        lines += [f"  - {m.field}: {m.question} (sections {', '.join(m.sections)})" for m in result.missing]
    lines += [f"Question: {q}" for q in result.questions]
    h = result.her2
    lines.append(f"HER2: {h.category} — {h.reason}" + (f" Next: {h.action}" if h.action else ""))
    lines.append("PA packet checklist:")
    lines += [f"  [{c.status}] {c.id}: {c.label}" for c in result.checklist]
    if result.submission:
        contacts = "; ".join(f"{c.method} {c.value}" for c in result.submission.contacts)
        lines.append(f"Submit to {result.submission.review_entity}: {contacts}")
    lines += [f"Warning: {w}" for w in result.warnings]
    return lines


if __name__ == "__main__":  # run alone: python -m assistant.cli_policy check-policy --case case.json
    standalone = typer.Typer(add_completion=False)

    @standalone.callback()
    def _main() -> None:
        """Kadcyla policy checker."""

    register(standalone)
    standalone()
