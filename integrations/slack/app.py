"""The Slack surface: one Bolt `AsyncApp` serving both HTTP events (`/slack/events` in the FastAPI app) and Socket
Mode, built lazily and only when Slack is configured.

Every listener acknowledges first (Bolt acks events before the listener runs; actions and commands call `ack()`
first), then does its work: blocking calls (the assistant, the database) run in a bounded thread pool so the event
loop stays free to ack the next request within Slack's 3 seconds.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from core.logging import get_logger, install_log_redaction
from core.settings import Settings
from integrations.surface import ChatService

if TYPE_CHECKING:
    from slack_bolt.async_app import AsyncApp
    from starlette.requests import Request
    from starlette.responses import Response

    from integrations.api.metrics import Metrics

log = get_logger(__name__)

T = TypeVar("T")
DEFAULT_WORKERS = 4
SLACK_API_URL = "https://slack.com/api/"


class SlackSurface:
    """Holds the Bolt app, its worker pool and (optionally) the Socket Mode connection."""

    def __init__(
        self,
        *,
        settings: Settings,
        service: ChatService,
        database_url: str,
        metrics: Metrics,
        max_workers: int = DEFAULT_WORKERS,
    ) -> None:
        self.settings = settings
        self.service = service
        self.database_url = database_url
        self.metrics = metrics
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="slack-worker")
        self._bolt: AsyncApp | None = None
        self._http_handler: Any = None
        self._socket_handler: Any = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.claims = 0  # events claimed for dedupe (drives the periodic purge)
        # Bolt logs a rejected request's whole body, slack_sdk every message it posts: redacted like every library.
        install_log_redaction()

    @property
    def bolt(self) -> AsyncApp:
        if self._bolt is None:
            self._bolt = self._build()
        return self._bolt

    def _build(self) -> AsyncApp:
        from slack_bolt.async_app import AsyncApp
        from slack_sdk.web.async_client import AsyncWebClient

        from integrations.slack.handlers import register

        token = self.settings.slack_bot_token.get_secret_value() if self.settings.slack_bot_token else None
        secret = self.settings.slack_signing_secret.get_secret_value() if self.settings.slack_signing_secret else None
        client = AsyncWebClient(token=token, base_url=self.settings.slack_api_url or SLACK_API_URL)
        app = AsyncApp(
            name="creditdesk",
            client=client,
            signing_secret=secret,
            # Socket Mode needs no signature; over HTTP Bolt verifies signature and the 5-minute timestamp window.
            request_verification_enabled=bool(secret),
            process_before_response=False,
        )
        register(app, self)
        return app

    async def handle_http(self, request: Request) -> Response:
        if self._http_handler is None:
            from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

            self._http_handler = AsyncSlackRequestHandler(self.bolt)
        response: Response = await self._http_handler.handle(request)
        return response

    async def start_socket_mode(self) -> asyncio.Task[Any] | None:
        """Connect Socket Mode in the background (the API keeps serving if Slack is unreachable)."""
        if not self.settings.slack_app_token:
            log.info("slack.socket_mode_off", reason="no_app_token")
            return None
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        self._socket_handler = AsyncSocketModeHandler(self.bolt, self.settings.slack_app_token.get_secret_value())

        async def connect() -> None:
            try:
                await self._socket_handler.connect_async()
                log.info("slack.socket_mode_connected")
            except Exception as error:  # keep serving HTTP; the operator sees the log line
                log.error("slack.socket_mode_failed", error=type(error).__name__)

        return self.spawn(connect())

    def spawn(self, coroutine: Any) -> asyncio.Task[Any]:
        """A background task that is kept referenced until it finishes."""
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def run_blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    async def close(self) -> None:
        if self._socket_handler is not None:
            try:
                await self._socket_handler.close_async()
            except Exception as error:
                log.warning("slack.socket_mode_close_failed", error=type(error).__name__)
            self._socket_handler = None
        self.executor.shutdown(wait=False, cancel_futures=True)
