"""`assistant jcode "QUERY" [--json]`: the J-code / NDC disambiguator on the command line."""

from __future__ import annotations

import typer

from assistant.errors import AssistantError, InputError
from assistant.tools.codes import CodeResult, disambiguate_code


def render(result: CodeResult) -> str:
    """The result as plain text: verdict, summary, clues, conflicts, units, warnings, then the quotes."""
    out = [f"Verdict: {result.verdict}", result.message, ""]
    if result.clues:
        out.append("Clues:")
        for c in result.clues:
            where = ", ".join(c.products) if c.products else ("mg amount" if c.kind == "amount" else c.status)
            read = f" (read as {c.matched})" if c.matched and c.score is not None else ""
            out.append(f"  {c.kind:<8} {c.text!r}{read} -> {where}")
    for conflict in result.conflicts:
        out.append("Confirm before the claim: " + "; ".join(conflict.confirm))
        out += [f'  "{q.quote}" [{q.doc_id}]' for q in conflict.quotes]
    for p in result.products:
        out.append(f"{p.brand.value} — {p.generic.value}, {p.jcode.value}")
        facts = [("billing unit", p.descriptor), ("payload", p.payload), ("HER2", p.her2), ("maker", p.manufacturer)]
        facts += [(f"dose {d.schedule} {d.context}".rstrip(), d) for d in p.doses]
        for label, fact in facts:
            if fact is not None:
                value = f"{fact.value:g} {fact.unit}".strip() if isinstance(fact.value, float) else fact.value
                out.append(f'  {label}: {value}  "{fact.source.quote}" [{fact.source.doc_id}]')
        for n in p.ndcs:
            out.append(f"  NDC {n.ndc10} / {n.ndc11}: {n.strength_mg:g} mg  [{n.source.doc_id}]")
        out += [f"  not from the corpus ({e.source}): {e.text}" for e in p.external]
    if result.units:
        out.append(f"Units — {result.units[0].rounding}:")
        for u in result.units:
            shown = "no unit in the reference" if u.units is None else f"{u.units} units"
            out.append(f"  {u.mg:g} mg {u.jcode}: {shown}")
    for w in result.warnings:
        out.append(f"Warning: {w.text}")
        out += [f'  "{q.quote}" [{q.doc_id}]' for q in w.quotes]
    return "\n".join(out)


def register(app: typer.Typer) -> None:
    """Add the `jcode` command to the app."""

    @app.command("jcode")
    def jcode(
        query: str = typer.Argument(..., help='Drug name, alias, J-code, NDC or dose, e.g. "J9358 3.6 mg/kg".'),
        as_json: bool = typer.Option(False, "--json", help="Print the CodeResult as JSON."),
    ) -> None:
        """Which HER2 drug do a name, J-code, NDC or dose point to, and do they agree?"""
        from assistant.cli import _text
        from assistant.cli_audit import audited

        try:
            with audited("jcode", "disambiguate_code", {"query": _text(query)}) as call:
                result = disambiguate_code(_text(query))
                call.output = result.model_dump(mode="json")
        except InputError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(2) from None
        except AssistantError as exc:
            typer.echo(f"Error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(result.model_dump_json(indent=2) if as_json else render(result))
