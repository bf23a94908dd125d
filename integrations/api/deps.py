"""Request-scoped dependencies: the app's state, the authenticated caller, and tool calls on their behalf."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from core.errors import CreditDeskError, ErrorCode
from core.logging import get_logger
from core.settings import Settings
from integrations.api.metrics import Metrics
from integrations.surface import ChatService, actor_for_handle
from tools.context import Actor, ToolContext

log = get_logger(__name__)

DEMO_USER_HEADER = "X-Creditdesk-Demo-User"

bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer cdk_…`.")


@dataclass
class ApiState:
    settings: Settings
    database_url: str
    service: ChatService
    metrics: Metrics
    chat_limiter: anyio.CapacityLimiter
    slack: Any | None = None  # integrations.slack.app.SlackSurface when Slack is configured
    extras: dict[str, Any] = field(default_factory=dict)


def get_state(request: Request) -> ApiState:
    state: ApiState = request.app.state.creditdesk
    return state


State = Annotated[ApiState, Depends(get_state)]


def _unauthenticated(message: str) -> CreditDeskError:
    return CreditDeskError(ErrorCode.UNAUTHENTICATED, message)


def current_actor(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The staff user behind the API key. In demo mode only, the web chat may name a user instead."""
    from db.engine import read_session
    from db.queries.access import authenticate_api_key

    if credentials is None:
        handle = request.headers.get(DEMO_USER_HEADER)
        if handle and state.settings.web_demo_users:
            actor = actor_for_handle(state.database_url, handle[:80])
            if actor is None:
                raise _unauthenticated("unknown demo user")
            return actor
        raise _unauthenticated("an API key is required: send `Authorization: Bearer cdk_…`")
    with read_session(state.database_url) as session:
        user = authenticate_api_key(session, credentials.credentials)
        actor = Actor.from_user(user) if user is not None else None
    if actor is None:
        log.info("api.auth_refused", reason="bad_or_revoked_key")
        raise _unauthenticated("the API key is not valid or has been revoked")
    return actor


CurrentActor = Annotated[Actor, Depends(current_actor)]


def tool_context(state: ApiState, actor: Actor) -> ToolContext:
    return ToolContext(actor=actor, database_url=state.database_url)


def run_tool(state: ApiState, actor: Actor, name: str, arguments: dict[str, Any]) -> BaseModel:
    """One registry call as the caller (same role and book rules as every other surface), counted in metrics."""
    from tools.registry import call_tool

    try:
        result = call_tool(name, {k: v for k, v in arguments.items() if v is not None}, tool_context(state, actor))
    except CreditDeskError as error:
        state.metrics.record_tool(name, error.code.value)
        raise
    state.metrics.record_tool(name, None)
    return result
