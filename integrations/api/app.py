"""The FastAPI app factory: REST API, web chat, health and metrics, and Slack's HTTP events when configured.

Nothing happens at import time; `create_app()` builds everything, and the Bolt app only exists when Slack is
configured (`SLACK_SIGNING_SECRET` + `SLACK_BOT_TOKEN`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel

from core.logging import get_logger
from core.settings import Settings, get_settings
from integrations.api.deps import ApiState, State
from integrations.api.metrics import Metrics, metrics_middleware
from integrations.api.problems import install_problem_handlers, problem_response
from integrations.surface import ChatService, build_default_service

log = get_logger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_FILES = {"chat.js": "text/javascript", "chat.css": "text/css"}
DEFAULT_CHAT_CONCURRENCY = 4


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
) -> FastAPI:
    """Build the app. `service` defaults to the real assistant service for `database_url`; `enable_slack`
    defaults to "when a signing secret and a bot token are set"; `slack_socket_mode` also connects Socket Mode
    (needs `SLACK_APP_TOKEN`) while the app runs. `chat_concurrency` and `slack_workers` bound the assistant turns
    running at once for the API and for Slack (CPU-bound threads also slow the event loop's acks)."""
    settings = settings or get_settings()
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
            return problem_response(503, "the database is not reachable", code="not_ready")
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
