from __future__ import annotations

import os
from typing import Annotated

import typer

from core.logging import configure_logging
from core.settings import get_settings, reset_settings

app = typer.Typer(
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
