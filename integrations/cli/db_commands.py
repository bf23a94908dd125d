from __future__ import annotations

from typing import Annotated

import typer

from integrations.cli.render import console, fail

db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)


@db_app.command("upgrade")
def upgrade_command(revision: Annotated[str, typer.Argument(help="Target revision.")] = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from db.migrate import current_revision, upgrade

    upgrade(revision=revision)
    console.print(f"database at revision [bold]{current_revision()}[/]")


# ignore_unknown_options: `downgrade -1` is a relative revision, not an option.
@db_app.command("downgrade", context_settings={"ignore_unknown_options": True})
def downgrade_command(revision: Annotated[str, typer.Argument(help="Target revision, e.g. -1 or base.")]) -> None:
    """Revert migrations down to REVISION."""
    from db.migrate import current_revision, downgrade

    downgrade(revision=revision)
    console.print(f"database at revision [bold]{current_revision() or 'base'}[/]")


@db_app.command("current")
def current_command() -> None:
    """Show the applied and the newest revision (exit code 1, saying what to run, when they differ)."""
    from db.migrate import current_revision, head_revision, schema_fault

    console.print(f"applied: {current_revision() or 'none'}  newest: {head_revision()}")
    problem = schema_fault()
    if problem is not None:
        fail(problem)


def register(app: typer.Typer) -> None:
    app.add_typer(db_app, name="db")
