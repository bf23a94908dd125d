"""A local mock of Slack's Web API (aiohttp, random loopback port, own thread) that records every call.

Point the app at `mock.api_url` (it ends in `/api/`, as slack_sdk expects). It answers the methods the app uses,
issues upload URLs for files_upload_v2 that point back at itself, and accepts `response_url` posts at
`mock.response_url`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

BOT_USER_ID = "UBOTCD0"
BOT_ID = "BBOTCD0"
TEAM_ID = "T0TEAM0"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


class MockSlack:
    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.uploads: list[bytes] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="mock-slack", daemon=True)
        self.port = 0
        self._ts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    @property
    def response_url(self) -> str:
        return f"{self.base_url}/respond/hook"

    def start(self) -> MockSlack:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=10)
        return self

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{hook}", self._respond)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _record(self, method: str, args: dict[str, Any]) -> None:
        with self._lock:
            self.calls.append(Call(method, args))

    async def _read_args(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if request.content_type == "application/json":
            args: dict[str, Any] = json.loads(raw or b"{}")
        else:
            args = dict(parse_qsl(raw.decode("utf-8", "replace")))
        args = {**dict(request.query), **args}
        for key in ("blocks", "view", "files"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        self._record(method, args)
        with self._lock:
            self._ts += 1
            ts = f"1700000000.{self._ts:06d}"
        body: dict[str, Any] = {"ok": True}
        if method == "auth.test":
            body |= {"user_id": BOT_USER_ID, "bot_id": BOT_ID, "team_id": TEAM_ID, "user": "creditdesk"}
        elif method == "chat.postMessage":
            body |= {"channel": args.get("channel"), "ts": ts, "message": {"ts": ts, "text": args.get("text")}}
        elif method == "chat.update":
            body |= {"channel": args.get("channel"), "ts": args.get("ts")}
        elif method == "chat.postEphemeral":
            body |= {"message_ts": ts}
        elif method == "files.getUploadURLExternal":
            file_id = f"F{self._ts:06d}"
            body |= {"upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
        elif method == "files.completeUploadExternal":
            files = args.get("files") or []
            body |= {"files": [{"id": f.get("id"), "title": f.get("title")} for f in files]}
        elif method == "files.info":
            body |= {"file": {"id": args.get("file")}}
        return web.json_response(body)

    async def _upload(self, request: web.Request) -> web.Response:
        data = await request.read()
        with self._lock:
            self.uploads.append(data)
        self._record("upload", {"file_id": request.match_info["file_id"], "bytes": len(data)})
        return web.Response(text="OK - 200")

    async def _respond(self, request: web.Request) -> web.Response:
        self._record("response_url", await self._read_args(request))
        return web.Response(text="ok")

    # --- assertions --------------------------------------------------------------------------------------------

    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; calls so far: {[c.method for c in self.calls]}")

    def settle(self, quiet: float = 0.4, timeout: float = 10.0) -> None:
        """Wait until no new call arrived for `quiet` seconds (to prove something did NOT happen)."""
        deadline = time.monotonic() + timeout
        count = -1
        while time.monotonic() < deadline:
            with self._lock:
                current = len(self.calls)
            if current == count:
                return
            count = current
            time.sleep(quiet)
