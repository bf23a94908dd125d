"""The FastAPI app factory: REST API, web chat, health and metrics, and Slack's HTTP events when configured.

Nothing happens at import time; `create_app()` builds everything, and the Bolt app only exists when Slack is
configured (`SLACK_SIGNING_SECRET` + `SLACK_BOT_TOKEN`).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel

from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from core.settings import Settings, get_settings
from integrations.api.deps import ApiState, State
from integrations.api.metrics import Metrics, metrics_middleware
from integrations.api.problems import install_problem_handlers, not_ready_detail, problem_response
from integrations.surface import ChatService, build_default_service

log = get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"chat.js": "text/javascript", "chat.css": "text/css"}
DEFAULT_CHAT_CONCURRENCY = 4


DEMO_BANNER = """
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
!! DEMO LOGIN IS ON: anyone who can reach {where} may act as ANY staff user, without a key.
!! Loopback only; never on a server that holds real data. Turn it off: drop --demo and unset
!! CREDITDESK_WEB_DEMO_USERS.
!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!
"""


def is_loopback_host(host: str) -> bool:
    """True only when every address `host` stands for is a loopback address (127.0.0.0/8, ::1). Wildcards
    (0.0.0.0, ::), LAN and public addresses, and names that do not resolve, or resolve anywhere else, are not."""
    name = host.strip().removeprefix("[").removesuffix("]").split("%", 1)[0]
    if not name:
        return False
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        try:
            found = {info[4][0] for info in socket.getaddrinfo(name, None)}
        except (OSError, UnicodeError):
            return False
        return bool(found) and all(_is_loopback_address(str(a)) for a in found)
    return _is_loopback_address(str(address))


def _is_loopback_address(text: str) -> bool:
    try:
        address = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_demo_login(settings: Settings, bind_host: str | None) -> None:
    """Demo login (pick a staff user without a key) is refused unless the server binds a loopback address."""
    if not settings.web_demo_users:
        return
    if bind_host is None:
        raise CreditDeskError(
            ErrorCode.INVALID_INPUT,
            "demo login is on (--demo or CREDITDESK_WEB_DEMO_USERS) but the app was not told which address it "
            "binds: demo login only runs on a loopback address (create_app(bind_host='127.0.0.1'))",
        )
    if not is_loopback_host(bind_host):
        raise CreditDeskError(
            ErrorCode.INVALID_INPUT,
            f"demo login lets anyone act as any staff user without a key, so it only runs on a loopback address "
            f"(127.0.0.1, ::1, localhost); {bind_host!r} is not one. Serve with --host 127.0.0.1, or turn demo login "
            "off (drop --demo and unset CREDITDESK_WEB_DEMO_USERS).",
            details={"host": bind_host},
        )


def demo_banner(bind_host: str) -> str:
    return DEMO_BANNER.format(where=bind_host)


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str
    migrations: str


def create_app(
    *,
    settings: Settings | None = None,
    service: ChatService | None = None,
    database_url: str | None = None,
    chat_concurrency: int = DEFAULT_CHAT_CONCURRENCY,
    enable_slack: bool | None = None,
    slack_socket_mode: bool = False,
    slack_workers: int = 4,
    bind_host: str | None = None,
) -> FastAPI:
    """Build the app. `service` defaults to the real assistant service for `database_url`; `enable_slack`
    defaults to "when a signing secret and a bot token are set"; `slack_socket_mode` also connects Socket Mode
    (needs `SLACK_APP_TOKEN`) while the app runs. `chat_concurrency` and `slack_workers` bound the assistant turns
    running at once for the API and for Slack (CPU-bound threads also slow the event loop's acks). `bind_host` is
    the address the server will listen on: demo login (`settings.web_demo_users`) is refused unless it is a
    loopback address, and announced with a banner on stderr when it is."""
    settings = settings or get_settings()
    check_demo_login(settings, bind_host)
    if settings.web_demo_users:
        assert bind_host is not None
        log.warning("api.demo_login_enabled", bind_host=bind_host)
        sys.stderr.write(demo_banner(bind_host))
    url = database_url or settings.resolved_database_url
    metrics = Metrics()
    state = ApiState(
        settings=settings,
        database_url=url,
        service=service or build_default_service(url),
        metrics=metrics,
        chat_limiter=anyio.CapacityLimiter(chat_concurrency),
    )
    slack_wanted = enable_slack if enable_slack is not None else slack_configured(settings)
    if slack_wanted:
        from integrations.slack.app import SlackSurface

        state.slack = SlackSurface(
            settings=settings, service=state.service, database_url=url, metrics=metrics, max_workers=slack_workers
        )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        socket_task = None
        if state.slack is not None and slack_socket_mode:
            socket_task = await state.slack.start_socket_mode()
        try:
            yield
        finally:
            if state.slack is not None:
                await state.slack.close()
            if socket_task is not None:
                socket_task.cancel()
            close = getattr(state.service, "close", None)
            if callable(close) and service is None:
                close()

    app = FastAPI(
        title="creditdesk API",
        version="1.0",
        description=(
            "A conversational credit & collections desk. Authenticate with an API key "
            "(`creditdesk apikeys create --user NAME`) sent as `Authorization: Bearer cdk_…`. Errors are "
            "`application/problem+json`."
        ),
        lifespan=lifespan,
    )
    app.state.creditdesk = state
    install_problem_handlers(app)
    app.middleware("http")(metrics_middleware(metrics))

    from integrations.api.routes import router

    app.include_router(router)
    _add_operational_routes(app)
    _add_web_chat(app)
    if state.slack is not None and settings.slack_signing_secret:
        _add_slack_events(app, state)
    return app


def slack_configured(settings: Settings) -> bool:
    """HTTP events need the signing secret, Socket Mode the app token; both need the bot token."""
    return bool(settings.slack_bot_token and (settings.slack_signing_secret or settings.slack_app_token))


def _add_operational_routes(app: FastAPI) -> None:
    @app.get("/healthz", response_model=Health, tags=["operations"], summary="The process is up")
    def healthz() -> Health:
        return Health(status="ok")

    @app.get(
        "/readyz",
        response_model=Readiness,
        tags=["operations"],
        summary="The database is reachable and migrated to head",
        responses={503: {"description": "Not ready"}},
    )
    def readyz(state: State) -> Response:
        from db.engine import read_session
        from db.migrate import current_revision, head_revision
        from db.queries.access import database_reachable

        try:
            with read_session(state.database_url) as session:
                database_reachable(session)
            current = current_revision(state.database_url)
        except Exception as error:  # any failure to reach the database means "not ready"
            log.warning("api.not_ready", error=type(error).__name__)
            return problem_response(503, not_ready_detail(error), code="not_ready")
        head = head_revision()
        if current != head:
            return problem_response(
                503,
                f"the database is at migration {current}, not {head}: run `creditdesk db upgrade`",
                code="not_ready",
            )
        return JSONResponse(Readiness(status="ready", database="ok", migrations=str(head)).model_dump())

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics", response_class=Response)
    def metrics(state: State) -> Response:
        return state.metrics.render()


def _add_web_chat(app: FastAPI) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/chat", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> Response:
        media_type = STATIC_FILES.get(name)
        if media_type is None:
            return problem_response(404, "not found")
        return FileResponse(STATIC_DIR / name, media_type=media_type)

    @app.get("/v1/config", include_in_schema=False)
    def web_config(state: State) -> dict[str, Any]:
        return {"demo_users": state.settings.web_demo_users}


def _add_slack_events(app: FastAPI, state: ApiState) -> None:
    slack = state.slack
    assert slack is not None

    @app.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await slack.handle_http(request)
