"""Prometheus metrics for one app instance (its own registry, so several apps in one process never clash)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "creditdesk_http_requests_total",
            "HTTP requests by route template, method and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "creditdesk_http_request_duration_seconds",
            "HTTP request latency by route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.chat_turns = Counter(
            "creditdesk_chat_turns_total",
            "Assistant turns by surface, engine and outcome.",
            ["surface", "engine", "outcome"],
            registry=self.registry,
        )
        self.tool_calls = Counter(
            "creditdesk_tool_calls_total",
            "Tool calls by tool and outcome (ok or the error code).",
            ["tool", "outcome"],
            registry=self.registry,
        )
        self.slack_events = Counter(
            "creditdesk_slack_events_total",
            "Slack deliveries by kind and what was done with them.",
            ["kind", "outcome"],
            registry=self.registry,
        )

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)

    def record_tool(self, name: str, error_code: str | None) -> None:
        self.tool_calls.labels(tool=name, outcome=error_code or "ok").inc()


def route_label(request: Request) -> str:
    """The route template (`/v1/proposals/{proposal_id}`), never the raw path: ids stay out of label values."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def metrics_middleware(
    metrics: Metrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = route_label(request)
            metrics.requests.labels(method=request.method, route=route, status=str(status)).inc()
            metrics.latency.labels(method=request.method, route=route).observe(time.perf_counter() - started)

    return middleware
