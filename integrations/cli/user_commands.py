from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import typer
from rich.table import Table

from core.errors import CreditDeskError, invalid_input
from core.money import parse_money
from integrations.cli.render import console, fail

users_app = typer.Typer(help="Staff users and their roles.", no_args_is_help=True)


@users_app.command("add")
def add_user(
    name: Annotated[str, typer.Argument(help="Login handle used with --as, e.g. 'dana'.")],
    role: Annotated[str, typer.Option(help="collector, sales, credit_analyst, credit_manager or admin.")],
    full_name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    email: Annotated[str | None, typer.Option(help="E-mail address.")] = None,
    slack_id: Annotated[str | None, typer.Option(help="Slack user id, e.g. U012ABCDEF.")] = None,
    approval_limit: Annotated[str | None, typer.Option(help="Personal approval cap in the reporting currency.")] = None,
) -> None:
    """Add a staff user."""
    from db.engine import write_session
    from db.models import Role
    from db.queries.staff import add_staff_user

    try:
        try:
            parsed_role = Role(role.strip().lower().replace(" ", "_").replace("-", "_"))
        except ValueError:
            raise invalid_input(f"unknown role {role!r}; use one of: {', '.join(r.value for r in Role)}") from None
        limit: Decimal | None = parse_money(approval_limit, field="approval limit") if approval_limit else None
        with write_session() as session:
            user = add_staff_user(
                session,
                name=name,
                role=parsed_role,
                full_name=full_name,
                email=email,
                slack_user_id=slack_id,
                approval_limit=limit,
            )
            console.print(f"added user [bold]{user.name}[/] ({user.role.value}) with id {user.id}")
    except CreditDeskError as error:
        fail(error)


@users_app.command("list")
def list_users() -> None:
    """List staff users."""
    from db.engine import read_session
    from db.queries.staff import list_staff_users

    with read_session() as session:
        users = list_staff_users(session)
    table = Table("id", "name", "full name", "role", "e-mail", "slack id", "approval limit", "active")
    for user in users:
        table.add_row(
            str(user.id),
            user.name,
            user.full_name or "",
            user.role.value,
            user.email or "",
            user.slack_user_id or "",
            f"{user.approval_limit:,.2f}" if user.approval_limit is not None else "—",
            "yes" if user.active else "no",
        )
    console.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
