from __future__ import annotations

import os
from typing import Annotated, Any

import typer
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from core.errors import CreditDeskError
from core.logging import configure_logging
from core.settings import get_settings, reset_settings
from integrations.cli.render import fail


class CreditDeskGroup(TyperGroup):
    """Every command's failures the user can act on — bad input, and a database that is unreachable, missing, not
    migrated or unsupported — end as one clear line on stderr and exit code 1, never a traceback."""

    def invoke(self, ctx: Any) -> Any:  # typer's vendored click.Context
        try:
            return super().invoke(ctx)
        except CreditDeskError as error:
            fail(error)
        except SQLAlchemyError as error:
            from db.engine import database_fault

            fault = database_fault(error)
            if fault is None:
                raise
            fail(fault)


app = typer.Typer(
    cls=CreditDeskGroup,
    name="creditdesk",
    help="creditdesk: a conversational credit & collections desk. Start with `creditdesk init`.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _global_options(
    db: Annotated[
        str | None, typer.Option("--db", help="Database URL (overrides CREDITDESK_DATABASE_URL).", show_default=False)
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log at INFO level to stderr.")] = False,
) -> None:
    if db:
        from db.engine import normalise_url

        normalise_url(db)  # an unreadable or unsupported URL is refused before any command runs
        os.environ["CREDITDESK_DATABASE_URL"] = db
        reset_settings()
    settings = get_settings()
    configure_logging("INFO" if verbose else "WARNING", settings.log_format)


def _register() -> None:
    from integrations.cli import (
        api_commands,
        bench_commands,
        chat_commands,
        data_commands,
        db_commands,
        eval_commands,
        governance_commands,
        knowledge_commands,
        maintenance_commands,
        score_commands,
        tool_commands,
        user_commands,
    )

    db_commands.register(app)
    data_commands.register(app)
    user_commands.register(app)
    tool_commands.register(app)
    maintenance_commands.register(app)
    bench_commands.register(app)
    governance_commands.register(app)
    score_commands.register(app)
    knowledge_commands.register(app)
    chat_commands.register(app)
    api_commands.register(app)
    eval_commands.register(app)


_register()
