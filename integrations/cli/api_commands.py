"""`creditdesk apikeys …` (API keys for the REST API and web chat) and `creditdesk serve` (API + web chat + Slack)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from core.errors import CreditDeskError
from core.settings import Settings
from integrations.cli.render import console, err_console, fail

apikeys_app = typer.Typer(help="API keys for the REST API and the web chat (stored hashed).", no_args_is_help=True)


@apikeys_app.command("create")
def create_key(
    user: Annotated[str, typer.Option("--user", help="Staff user the key acts as (name, e-mail or Slack id).")],
    label: Annotated[str | None, typer.Option(help="What the key is for, e.g. 'erp-sync'.")] = None,
) -> None:
    """Issue a key. It is printed once; only its hash is stored."""
    from db.engine import write_session
    from db.queries.access import create_api_key
    from db.queries.staff import get_staff_user

    try:
        with write_session() as session:
            staff = get_staff_user(session, user)
            issued = create_api_key(session, staff_user=staff, label=label)
            name, role = staff.name, staff.role.value
    except CreditDeskError as error:
        fail(error)
    err_console.print(f"API key {issued.prefix}… (id {issued.id}) for {name} ({role}); shown once, store it now:")
    print(issued.key)  # noqa: T201 - stdout carries only the key, so it can be captured by scripts


@apikeys_app.command("list")
def list_keys(user: Annotated[str | None, typer.Option("--user", help="Only this user's keys.")] = None) -> None:
    """List keys (prefix, user, role, created, revoked); never the keys themselves."""
    from db.engine import read_session
    from db.queries.access import list_api_keys
    from db.queries.staff import get_staff_user

    try:
        with read_session() as session:
            staff_id = get_staff_user(session, user).id if user else None
            keys = list_api_keys(session, staff_user_id=staff_id)
    except CreditDeskError as error:
        fail(error)
    table = Table("id", "prefix", "user", "role", "label", "created (UTC)", "revoked (UTC)")
    for key in keys:
        table.add_row(
            str(key.id),
            key.prefix,
            key.user,
            key.role,
            key.label or "",
            f"{key.created_at:%Y-%m-%d %H:%M}",
            f"{key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "",
        )
    console.print(table)


@apikeys_app.command("revoke")
def revoke_key(key: Annotated[str, typer.Argument(help="Key id or prefix (cdk_XXXXXXXX), as `list` shows.")]) -> None:
    """Revoke a key at once; requests with it get 401 from then on."""
    from db.engine import write_session
    from db.queries.access import revoke_api_key

    try:
        with write_session() as session:
            info = revoke_api_key(session, key)
    except CreditDeskError as error:
        fail(error)
    console.print(f"revoked key {info.prefix}… of {info.user}")


def serve_settings(host: str, demo: bool, settings: Settings) -> Settings:
    """The settings `serve` runs with: `--demo` turns demo login on; demo login (from `--demo` or
    CREDITDESK_WEB_DEMO_USERS) is refused unless `host` is a loopback address."""
    from integrations.api.app import check_demo_login

    if demo:
        settings = settings.model_copy(update={"web_demo_users": True})
    check_demo_login(settings, host)
    return settings


def serve_command(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8000,
    demo: Annotated[
        bool,
        typer.Option(
            "--demo", help="Let the web chat pick a seeded staff user without a key (demo only; loopback hosts only)."
        ),
    ] = False,
    chat_concurrency: Annotated[int, typer.Option(min=1, max=64, help="Assistant turns run at once.")] = 4,
) -> None:
    """Serve the REST API, the web chat (http://HOST:PORT/) and Slack (HTTP events at /slack/events when
    SLACK_SIGNING_SECRET is set; Socket Mode when SLACK_APP_TOKEN is set), until Ctrl-C."""
    import threading

    import uvicorn

    from core.audit_keys import load_audit_keys
    from core.errors import ErrorCode
    from core.settings import get_settings
    from db.migrate import schema_fault
    from integrations.api.app import create_app, slack_configured

    try:
        settings = serve_settings(host, demo, get_settings())
    except CreditDeskError as error:
        fail(error, code=2)
    try:
        problem = schema_fault(settings.resolved_database_url)
    except CreditDeskError as error:
        problem = error
    if problem is not None and problem.code is ErrorCode.UNAVAILABLE:  # may come back: serve, /readyz reports it
        err_console.print(f"[yellow]{problem.message}; /readyz answers 503 until it is reachable[/]")
    elif problem is not None:
        fail(problem)
    try:  # every approval writes audit events: a missing or unreadable audit key refuses now, not mid-approval
        load_audit_keys(settings, create=True)
    except CreditDeskError as error:
        fail(error)
    slack = slack_configured(settings)
    socket_mode = bool(slack and settings.slack_app_token)
    app = create_app(
        settings=settings, chat_concurrency=chat_concurrency, slack_socket_mode=socket_mode, bind_host=host
    )
    surfaces = ["API + docs at /docs", "web chat at /"]
    if slack and settings.slack_signing_secret:
        surfaces.append("Slack events at /slack/events")
    if socket_mode:
        surfaces.append("Slack Socket Mode")
    if settings.web_demo_users:
        how = "--demo" if demo else "CREDITDESK_WEB_DEMO_USERS"
        surfaces.append(f"[bold red]DEMO LOGIN ON ({how}): anyone reaching this address acts as any staff user[/]")
    err_console.print(f"creditdesk on http://{host}:{port} — " + ", ".join(surfaces))
    warm_up = getattr(app.state.creditdesk.service, "warm_up", None)
    if callable(warm_up):  # the embedding model and policy index load while the server starts, not on question one
        threading.Thread(target=warm_up, name="creditdesk-warm-up", daemon=True).start()
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def register(app: typer.Typer) -> None:
    app.add_typer(apikeys_app, name="apikeys")
    app.command("serve")(serve_command)
