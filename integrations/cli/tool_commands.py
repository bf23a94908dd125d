"""`creditdesk tool NAME --json '{...}'`: any registry tool from scripts; `--list` shows names and schemas."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from core.errors import CreditDeskError, invalid_input
from integrations.cli.render import console, fail


def _actor(handle: str | None) -> Any:
    from db.engine import read_session
    from db.queries.staff import get_staff_user
    from tools.context import Actor

    if handle is None:
        return Actor.operator()
    with read_session() as session:
        return Actor.from_user(get_staff_user(session, handle))


def tool_command(
    name: Annotated[str | None, typer.Argument(help="Tool name, e.g. get_customer_exposure.")] = None,
    arguments: Annotated[str, typer.Option("--json", help="Arguments as a JSON object.")] = "{}",
    as_user: Annotated[
        str | None, typer.Option("--as", help="Staff user to act as (default: operator, read-only tools).")
    ] = None,
    list_tools: Annotated[bool, typer.Option("--list", help="List tools with their kind and input schema.")] = False,
) -> None:
    """Run one tool and print its JSON result (exit code 1 with a clear message on bad input)."""
    from tools.context import ToolContext
    from tools.registry import call_tool, get_registry

    if list_tools or name is None:
        table = Table("tool", "kind", "roles", "description", "arguments", title="creditdesk tools")
        for spec in get_registry().values():
            schema = spec.json_schema()
            required = set(schema.get("required", []))
            fields = ", ".join(f"{k}{'' if k in required else '?'}" for k in schema.get("properties", {}))
            roles = ", ".join(sorted(role.value for role in spec.roles))
            table.add_row(spec.name, spec.kind, roles, spec.description[:90], fields)
        console.print(table)
        if list_tools:
            typer.echo(json.dumps({s.name: s.json_schema() for s in get_registry().values()}, indent=1))
        return
    try:
        try:
            parsed = json.loads(arguments)
        except json.JSONDecodeError as error:
            raise invalid_input(f"--json is not valid JSON: {error.msg} at position {error.pos}") from None
        if not isinstance(parsed, dict):
            raise invalid_input("--json must be a JSON object")
        actor = _actor(as_user)
        if actor.id is None and get_registry().get(name) is not None and get_registry()[name].kind == "write":
            raise invalid_input(f"{name} proposes a change: run it --as a staff user")
        result = call_tool(name, parsed, ToolContext(actor=actor))
    except CreditDeskError as error:
        fail(error)
    typer.echo(result.model_dump_json(indent=2))


def register(app: typer.Typer) -> None:
    app.command("tool")(tool_command)
