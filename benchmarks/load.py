"""A bounded loopback load test of the surfaces.

1. Chat: `--concurrency` (default 50) clients send `--requests` `/v1/chat` questions (a mix of exposure, worklist,
   score and portfolio questions, offline planner) to a real uvicorn server; reports throughput, p50/p95/max.
2. Slack: signed `app_mention` events posted to `/slack/events` while the workers answer them (against a local
   mock of Slack's Web API); reports the ack latency p50/p99 — what Slack's 3-second rule is about.

By default it builds a throw-away seeded SQLite database and serves it in-process on 127.0.0.1; `--base-url` and
`--api-key` target a server you started yourself (`creditdesk serve`) for the chat part only.

    .venv/bin/python -m benchmarks.load                # everything, self-hosted
    .venv/bin/python -m benchmarks.load --requests 400 --concurrency 50 --customers 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

QUESTIONS = (
    "What is the exposure of {customer}?",
    "show my worklist",
    "score {customer}",
    "portfolio summary by region",
    "is {customer} on hold?",
)
CUSTOMERS = ("Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Soylent", "Hooli")
SLACK_SECRET = "load-test-signing-secret"  # noqa: S105 - a throw-away secret for a loopback test


@dataclass
class Timings:
    seconds: list[float]
    errors: int
    wall: float

    def percentile(self, p: float) -> float:
        if not self.seconds:
            return float("nan")
        ordered = sorted(self.seconds)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
        return ordered[index]

    def summary(self, name: str) -> dict[str, Any]:
        return {
            "name": name,
            "requests": len(self.seconds) + self.errors,
            "errors": self.errors,
            "throughput_per_s": round(len(self.seconds) / self.wall, 1) if self.wall else None,
            "p50_ms": round(statistics.median(self.seconds) * 1000, 1) if self.seconds else None,
            "p95_ms": round(self.percentile(95) * 1000, 1),
            "p99_ms": round(self.percentile(99) * 1000, 1),
            "max_ms": round(max(self.seconds) * 1000, 1) if self.seconds else None,
        }


async def _load(client: httpx.AsyncClient, total: int, concurrency: int, send: Any, *, warmup: int = 0) -> Timings:
    for index in range(warmup):  # ids after the measured ones: a repeated Slack event id would be deduplicated
        await send(client, total + index)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(total):
        queue.put_nowait(index)
    seconds: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        while True:
            try:
                index = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            started = time.perf_counter()
            try:
                ok = await send(client, index)
            except httpx.HTTPError:
                ok = False
            if ok:
                seconds.append(time.perf_counter() - started)
            else:
                errors += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Timings(seconds, errors, time.perf_counter() - started)


async def chat_load(base_url: str, key: str, total: int, concurrency: int) -> Timings:
    async def send(client: httpx.AsyncClient, index: int) -> bool:
        question = QUESTIONS[index % len(QUESTIONS)].format(customer=CUSTOMERS[index % len(CUSTOMERS)])
        response = await client.post("/v1/chat", json={"message": question, "conversation_id": f"load-{index % 25}"})
        return response.status_code == 200 and not response.json().get("error")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=120, limits=limits) as client:
        return await _load(client, total, concurrency, send, warmup=3)


async def slack_ack_load(base_url: str, total: int, concurrency: int) -> Timings:
    from slack_sdk.signature import SignatureVerifier

    verifier = SignatureVerifier(SLACK_SECRET)

    async def send(client: httpx.AsyncClient, index: int) -> bool:
        ts = f"{1_800_000_000 + index}.000100"
        body = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0LOAD",
                "api_app_id": "A0LOAD",
                "event_id": f"EvLoad{index:06d}",
                "event_time": int(time.time()),
                "event": {
                    "type": "app_mention",
                    "user": "U0AVERY0",
                    "text": f"<@UBOT> exposure of {CUSTOMERS[index % len(CUSTOMERS)]}",
                    "channel": "C0LOAD",
                    "ts": ts,
                },
            }
        ).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": str(verifier.generate_signature(timestamp=timestamp, body=body)),
        }
        response = await client.post("/slack/events", content=body, headers=headers)
        return response.status_code == 200

    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return await _load(client, total, concurrency, send, warmup=1)


class _MockSlackApi:
    """The few Web API methods the handlers call, answered ok (so the workers run as they would in production)."""

    def __init__(self) -> None:
        self.posts = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    def start(self) -> str:
        from aiohttp import web

        async def api(request: web.Request) -> web.Response:
            method = request.match_info["method"]
            await request.read()
            if method == "chat.postMessage":
                self.posts += 1
            extra = {"user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0LOAD"} if method == "auth.test" else {}
            return web.json_response({"ok": True, "ts": "1.1", **extra})

        async def serve() -> None:
            app = web.Application()
            app.router.add_post("/api/{method}", api)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            assert site._server is not None
            self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

        self._thread.start()
        asyncio.run_coroutine_threadsafe(serve(), self._loop).result(timeout=10)
        return f"http://127.0.0.1:{self.port}/api/"


class _Server:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def _prepare(customers: int, folder: Path) -> tuple[str, str]:
    """A seeded SQLite database in `folder` and an API key for the credit analyst `avery`."""
    os.environ["CREDITDESK_DATA_DIR"] = str(folder)
    from core.dates import business_today
    from core.settings import reset_settings
    from db.demo import SeedOptions, seed_demo_portfolio
    from db.engine import write_session
    from db.migrate import upgrade
    from db.queries.access import create_api_key
    from db.queries.staff import get_staff_user
    from tools.maintenance import refresh_derived_data

    reset_settings()
    url = f"sqlite:///{folder / 'load.db'}"
    upgrade(url)
    seed_demo_portfolio(url, SeedOptions(customers=customers, seed=11, as_of=business_today()))
    refresh_derived_data(url, business_today())
    with write_session(url) as session:
        key = create_api_key(session, staff_user=get_staff_user(session, "avery"), label="load test").key
    return url, key


def serve(args: argparse.Namespace) -> None:
    """The server side, in its own process (so the load generator does not share its GIL): prepare, print one
    JSON line with the URL and key, serve until terminated."""
    from pydantic import SecretStr

    from assistant.service import AssistantService
    from core.settings import get_settings
    from integrations.api.app import create_app

    with tempfile.TemporaryDirectory(prefix="creditdesk-load-") as folder:
        url, key = _prepare(args.customers, Path(folder))
        mock = _MockSlackApi()
        settings = get_settings().model_copy(
            update={
                "slack_bot_token": SecretStr("xoxb-load"),
                "slack_signing_secret": SecretStr(SLACK_SECRET),
                "slack_api_url": mock.start(),
            }
        )
        service = AssistantService(database_url=url, engine="planner")
        app = create_app(
            settings=settings,
            database_url=url,
            service=service,
            chat_concurrency=args.chat_workers,
            slack_workers=args.slack_workers,
        )
        with _Server(app) as base_url:
            print(json.dumps({"base_url": base_url, "key": key}), flush=True)
            while True:
                time.sleep(3600)


def _answered(base_url: str) -> int:
    metrics = httpx.get(base_url + "/metrics", timeout=10).text
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("creditdesk_slack_events_total{") and 'outcome="answered"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300, help="chat requests in the measured run")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent chat clients")
    parser.add_argument("--slack-events", type=int, default=300, help="Slack events in the ack measurement")
    parser.add_argument("--slack-concurrency", type=int, default=10, help="concurrent Slack deliveries")
    parser.add_argument("--customers", type=int, default=200, help="size of the self-hosted demo portfolio")
    parser.add_argument("--chat-workers", type=int, default=4, help="assistant turns the server runs at once")
    parser.add_argument("--slack-workers", type=int, default=4, help="Slack worker threads")
    parser.add_argument("--base-url", help="an already running server (chat part only)")
    parser.add_argument("--api-key", help="API key for --base-url")
    parser.add_argument("--serve-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve_only:
        serve(args)
        return
    if args.base_url:
        if not args.api_key:
            parser.error("--base-url needs --api-key")
        chat = asyncio.run(chat_load(args.base_url, args.api_key, args.requests, args.concurrency))
        print(json.dumps(chat.summary("chat"), indent=2))
        return

    command = [
        sys.executable,
        "-m",
        "benchmarks.load",
        "--serve-only",
        f"--customers={args.customers}",
        f"--chat-workers={args.chat_workers}",
        f"--slack-workers={args.slack_workers}",
    ]
    started = time.perf_counter()
    server = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603 - our own module
    try:
        assert server.stdout is not None
        ready = json.loads(server.stdout.readline())
        print(f"server ready in {time.perf_counter() - started:.1f}s ({args.customers}-customer SQLite portfolio)")
        base_url = ready["base_url"]
        chat = asyncio.run(chat_load(base_url, ready["key"], args.requests, args.concurrency))
        acks = asyncio.run(slack_ack_load(base_url, args.slack_events, args.slack_concurrency))
        deadline = time.monotonic() + 120
        while (answered := _answered(base_url)) < args.slack_events + 1 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
    report = {
        "chat": chat.summary("POST /v1/chat"),
        "slack_ack": acks.summary("POST /slack/events (ack)"),
        "slack_answered": f"{answered} of {args.slack_events + 1} events answered by the workers",
        "cpu_count": os.cpu_count(),
        "chat_concurrency": args.concurrency,
        "slack_concurrency": args.slack_concurrency,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
