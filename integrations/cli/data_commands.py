"""Setting up and filling the credit database: init, seed, import, overview."""

from __future__ import annotations

import getpass
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.errors import CreditDeskError
from integrations.cli.render import console, fail, progress_bar


def _cli_actor() -> str:
    """Who ran an operator command, for the audit trail."""
    return f"cli:{getpass.getuser()}"


def _parse_date(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


def _database_has_customers() -> bool:
    from sqlalchemy import func, select

    from db.engine import read_session
    from db.models import Customer

    with read_session() as session:
        return bool(session.scalar(select(func.count()).select_from(Customer)))


def _seed(customers: int, seed: int, as_of: date | None, reset: bool) -> None:
    from db.demo.generator import SeedOptions, reset_business_data, seed_demo_portfolio
    from tools.maintenance import refresh_derived_data

    if reset:
        reset_business_data(None)
    with progress_bar() as progress:
        report = seed_demo_portfolio(
            None, SeedOptions(customers=customers, seed=seed, as_of=as_of), progress=progress, actor=_cli_actor()
        )
        refresh_derived_data(None, progress=progress)
    counts = ", ".join(f"{n:,} {table}" for table, n in report.counts.items() if n)
    console.print(f"seeded as of {report.as_of} (seed {report.seed}) in {report.seconds:.1f} s: {counts}")


def init_command(
    customers: Annotated[int, typer.Option(min=1, max=1_000_000, help="Demo customers to generate.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same portfolio.")] = 42,
    as_of: Annotated[str | None, typer.Option(help="Anchor date of the demo portfolio (default today).")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Wipe existing business data and seed again.")] = False,
) -> None:
    """Create or upgrade the database, seed the demo portfolio (once), ingest the policy documents, show an overview."""
    from db.migrate import upgrade
    from integrations.cli.knowledge_commands import ingest_default_documents

    try:
        upgrade()
        if reset or not _database_has_customers():
            _seed(customers, seed, _parse_date(as_of), reset=reset)
        else:
            console.print("database already holds a portfolio; keeping it (use --reset to start over)")
        ingest_default_documents()
        overview_command()
    except CreditDeskError as error:
        fail(error)


def seed_command(
    customers: Annotated[int, typer.Option(min=1, max=1_000_000, help="Customers to generate.")] = 300,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same portfolio.")] = 42,
    as_of: Annotated[str | None, typer.Option(help="Anchor date of the portfolio (default today).")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Wipe existing business data first.")] = False,
) -> None:
    """Generate a deterministic demo portfolio (customers, invoices, payments, disputes, promises, …)."""
    try:
        _seed(customers, seed, _parse_date(as_of), reset=reset)
    except CreditDeskError as error:
        fail(error)


def import_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="CSV or Excel file.")],
    mapping: Annotated[str, typer.Option(help="Shipped mapping name (e.g. ibm-ar) or a mapping YAML path.")],
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", help="Import the valid rows and report the rest.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only; write nothing.")] = False,
) -> None:
    """Import an ERP export. A file with any bad row changes nothing unless --skip-bad-rows."""
    from integrations.importers.importer import import_file
    from tools.maintenance import refresh_derived_data

    try:
        with progress_bar() as progress:
            report = import_file(
                file, mapping, skip_bad_rows=skip_bad_rows, dry_run=dry_run, progress=progress, actor=_cli_actor()
            )
            if not dry_run and report.rows_imported:
                refresh_derived_data(None, progress=progress)
    except CreditDeskError as error:
        fail(error)
    table = Table("entity", "created", "updated", "unchanged", title=f"{report.file} ({report.mapping})")
    for entity, counts in report.counts.items():
        table.add_row(entity, *(f"{getattr(counts, k):,}" for k in ("created", "updated", "unchanged")))
    console.print(table)
    for note in report.notes:  # what was detected rather than declared (number format, CSV delimiter)
        console.print(f"note: {note}", markup=False, highlight=False)
    console.print(
        f"{report.rows_read:,} rows read, {report.rows_imported:,} imported, {report.rows_rejected:,} rejected"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    for row_error in report.errors[:50]:
        where = f"  line {row_error.line}" + (f", {row_error.column}" if row_error.column else "")
        console.print(f"{where}: {row_error.reason}")
    if len(report.errors) > 50:
        console.print(f"  … and {len(report.errors) - 50} more")


def overview_command() -> None:
    """Counts and open receivables by currency."""
    from core.dates import business_today, day_number
    from core.settings import get_settings
    from db.engine import read_session
    from db.queries.overview import get_database_overview

    today = business_today(get_settings().timezone)
    with read_session() as session:
        overview = get_database_overview(session, as_of_day=day_number(today))
    console.print(
        f"[bold]{overview.customers:,}[/] customers · {overview.invoices:,} invoices · "
        f"{overview.active_disputes:,} active disputes · {overview.open_promises:,} open promises · "
        f"{overview.open_orders_on_hold:,} orders on hold · {overview.staff_users:,} staff users"
    )
    table = Table("currency", "open items", "open receivables", "overdue", title=f"Open receivables as of {today}")
    for balance in overview.balances:
        table.add_row(
            balance.currency,
            f"{balance.open_items:,}",
            f"{balance.open_amount:,.2f}",
            f"{balance.overdue_amount:,.2f}",
        )
    console.print(table)
    console.print("overdue = open amount of items whose due date is before today (ageing by due date)")


def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
    app.command("seed")(seed_command)
    app.command("import")(import_command)
    app.command("overview")(overview_command)
