"""Derived-data jobs: receivables snapshots."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from integrations.cli.render import console, progress_bar

snapshots_app = typer.Typer(help="Receivables snapshots behind fast portfolio answers.", no_args_is_help=True)


@snapshots_app.command("refresh")
def refresh_command(
    today: Annotated[str | None, typer.Option(help="Treat this date as today (YYYY-MM-DD).")] = None,
) -> None:
    """Rebuild today's and the last twelve month-end snapshots."""
    from tools.maintenance import refresh_receivable_snapshots

    day = date.fromisoformat(today) if today else None
    with progress_bar() as progress:
        built = refresh_receivable_snapshots(None, day, progress=progress)
    console.print(f"built {len(built)} snapshots, {sum(built.values()):,} customer rows")


def register(app: typer.Typer) -> None:
    app.add_typer(snapshots_app, name="snapshots")
