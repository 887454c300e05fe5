"""`assistant dose` and `assistant prices`: thin wrappers over calculate_dose and the price table."""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from assistant.errors import AssistantError, InputError
from assistant.models import Figure
from assistant.tools.dose import DoseResult, build_request, calculate_dose
from assistant.tools.prices import all_quarters, import_asp_file

out = Console()
err = Console(stderr=True)


def _refusals(command: Callable[..., Any]) -> Callable[..., Any]:
    """Refused input: one line on stderr, exit 2. A data fault: one line, exit 1. Never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except InputError as exc:
            err.print(f"[red]Error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except csv.Error as exc:  # a price file that is not CSV at all (e.g. one 3 MB line)
            err.print(f"[red]Error:[/red] not a readable CSV file: {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except AssistantError as exc:
            err.print(f"[red]Data error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def show(fig: Figure) -> str:
    """A figure's value and unit as a person reads them."""
    value = fig.value
    if fig.unit == "USD":
        return f"${value:,.2f}"
    if fig.unit == "USD per unit":
        return f"${value} per unit"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if fig.unit in ("HCPCS", "CPT") or fig.unit.startswith("NDC"):
        return str(value)
    return f"{value} {fig.unit}".strip()


def _row(table: Table, fig: Figure) -> None:
    how = fig.formula or ""
    if fig.source:
        how = f"{how}  [dim]({fig.source.doc_id})[/dim]" if how else f"[dim]{fig.source.doc_id}[/dim]"
    table.add_row(fig.label, show(fig), how)


def render(result: DoseResult) -> None:
    """The readable table for one cycle."""
    req = result.request
    title = (
        f"Kadcyla (J9354) — {result.indication_label}, cycle {req.cycle}, "
        f"date of service {result.date_of_service}"
    )
    table = Table(title=title, show_lines=False, expand=False)
    table.add_column("Item")
    table.add_column("Value", justify="right")
    table.add_column("How / source", overflow="fold")
    sections: list[tuple[str, list[Figure]]] = [
        ("Dose", [f for f in (result.weight_kg, result.mg_per_kg, result.dose_mg) if f is not None]),
        ("Vials", [f for v in result.vials for f in (v.count, v.ndc_11, v.ndc_10, v.reconstitution_ml)]),
        ("Waste", [result.drawn_mg, result.waste_mg]),
        ("Billing", [line.units for line in result.billing.lines] + [result.billing.total_units]),
        ("Preparation", list(_figures(result.preparation))),
        ("Administration", [result.administration.infusion_minutes, result.administration.observation_minutes]
         + result.administration.cpt),
        (f"Medicare payment ({result.payment.quarter})", list(_figures(result.payment))),
    ]  # fmt: skip
    for name, figures in sections:
        table.add_section()
        table.add_row(f"[bold]{name}[/bold]", "", "")
        for fig in figures:
            _row(table, fig)
    out.print(table)
    out.print(f"[dim]{result.billing.rounding_rule}[/dim]", highlight=False)
    if result.administration.condition:
        out.print(f"Cycles 2+: the 30-minute infusion applies {result.administration.condition}.", highlight=False)
    for warning in result.warnings:
        out.print(f"[yellow]Warning:[/yellow] {warning}", highlight=False)
    for note in result.notes:
        out.print(f"Note: {note}", highlight=False)


def _figures(model: Any) -> list[Figure]:
    return [getattr(model, name) for name in type(model).model_fields if isinstance(getattr(model, name), Figure)]


@_refusals
def dose(
    weight: str | None = typer.Option(None, "--weight", help="Weight with its unit: 70kg, '70 kg', '154 lb', 154lbs."),
    indication: str | None = typer.Option(
        None, "--indication", help="mbc (metastatic), ebc (adjuvant, KATHERINE), or Centene I.B: nsclc, salivary, brain_mets."
    ),
    cycle: str | None = typer.Option(None, "--cycle", help="Cycle number (default 1)."),
    mg_per_kg: str | None = typer.Option(None, "--mg-per-kg", help="Dose level in mg/kg (default 3.6, the maximum)."),
    date: str | None = typer.Option(None, "--date", help="Date of service, YYYY-MM-DD (default today)."),
    dose_mg: str | None = typer.Option(
        None, "--dose-mg", help="A prescribed dose in mg instead of weight × mg/kg (give --weight too to check the cap)."
    ),
    vials: list[str] | None = typer.Option(
        None, "--vials", help="Vial strengths in stock, e.g. --vials 160 or --vials 100,160 (default both)."
    ),
    dose_reduced: bool | None = typer.Option(
        None, "--dose-reduced/--not-reduced", help="A dose reduction has been made (then give the reduced --mg-per-kg)."
    ),
    previous_mg_per_kg: str | None = typer.Option(None, "--previous-mg-per-kg", help="The previous cycle's dose level."),
    as_json: bool = typer.Option(False, "--json", help="Print the DoseResult as JSON."),
) -> None:
    """Dose, vials, waste, J9354 lines, preparation and Medicare payment for one Kadcyla cycle."""
    from assistant.cli_audit import audited

    given = dict(
        weight=weight, indication=indication, cycle=cycle, mg_per_kg=mg_per_kg, date_of_service=date,
        prescribed_mg=dose_mg, vials_available=",".join(vials) if vials else None, dose_reduced=dose_reduced,
        previous_mg_per_kg=previous_mg_per_kg,
    )
    with audited("dose", "calculate_dose", {k: v for k, v in given.items() if v is not None}) as call:
        result = calculate_dose(build_request(**given))
        call.output = result.model_dump(mode="json")
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        render(result)


@_refusals
def prices_load(
    file: str = typer.Argument(..., help="A CMS ASP pricing file (CSV)."),
    quarter: str | None = typer.Option(None, "--quarter", help="The quarter, e.g. 2026Q3, if the title rows lack it."),
) -> None:
    """Import a CMS ASP pricing file; dose calculations then use it for dates in its quarter."""
    from assistant.cli_audit import audited
    from assistant.hashing import file_sha256

    with audited("prices load", "import_asp_file", {"file": Path(file).name, "quarter": quarter}) as call:
        if Path(file).is_file():
            call.inputs["sha256"] = file_sha256(Path(file))
        loaded = import_asp_file(Path(file), quarter)
        j9354 = loaded.rows.get("J9354")
        call.output = {"quarter": loaded.quarter, "effective_start": str(loaded.effective_start),
                       "effective_end": str(loaded.effective_end), "codes": len(loaded.rows),
                       "J9354": None if j9354 is None else {"payment_limit": str(j9354.payment_limit), "dosage": j9354.dosage}}
    out.print(
        f"Loaded {loaded.quarter} ({loaded.effective_start} to {loaded.effective_end}) from {loaded.source_file}: "
        f"{len(loaded.rows)} priced codes.",
        highlight=False,
    )
    row = loaded.rows.get("J9354")
    if row is None:
        err.print("[yellow]Warning:[/yellow] the file has no J9354 row; Kadcyla keeps its older price.")
    else:
        out.print(f"J9354: ${row.payment_limit} per {row.dosage} (row {row.source_row}).", highlight=False)


@_refusals
def prices_list() -> None:
    """The price quarters on file and the J9354 price in each."""
    table = Table(title="Medicare payment limits (ASP + 6%)")
    for column in ("Quarter", "Effective", "J9354", "Source"):
        table.add_column(column)
    for q in all_quarters():
        row = q.rows.get("J9354")
        price = f"${row.payment_limit} per {row.dosage}" if row else "—"
        source = q.source_file or (q.period_source.doc_id if q.period_source else "")
        table.add_row(q.quarter, f"{q.effective_start} to {q.effective_end}", price, f"{q.origin}: {source}")
    out.print(table)


def register(app: typer.Typer) -> None:
    """Add `dose` and the `prices` group (`load`, `list`) to the CLI."""
    app.command("dose")(dose)
    prices = typer.Typer(no_args_is_help=True, help="Medicare price quarters: list them, import a CMS ASP file.")
    prices.command("load")(prices_load)
    prices.command("list")(prices_list)
    app.add_typer(prices, name="prices")
