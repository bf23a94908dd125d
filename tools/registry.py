"""The one tool registry: every tool the model, the API and scripts may call, marked read or write.

A tool is a plain typed function `fn(session, ctx, args) -> result` with pydantic input and output models. Read
tools run on a read-only database session; write tools (all of them `propose_*`-style: they only ever create
proposals) get a writable one. Role checks happen here, before the function runs.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode, forbidden, not_found
from core.logging import get_logger
from db.engine import read_session, write_session
from db.models import Role
from db.queries.audit import record_access_denied
from tools.context import ToolContext

ToolKind = Literal["read", "write"]
ALL_ROLES = frozenset(Role)
CREDIT_ROLES = frozenset({Role.COLLECTOR, Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN})
ANALYST_ROLES = frozenset({Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN})

log = get_logger(__name__)


@dataclass(frozen=True)
class ToolSpec:
    name: str
    description: str
    kind: ToolKind
    input_model: type[BaseModel]
    output_model: type[BaseModel]
    fn: Callable[[Session, ToolContext, Any], BaseModel]
    roles: frozenset[Role] = field(default=CREDIT_ROLES)

    def json_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()


def tool(
    *,
    name: str,
    kind: ToolKind,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    roles: Iterable[Role] = CREDIT_ROLES,
) -> Callable[[Callable[..., Any]], ToolSpec]:
    """Declare a tool; the docstring's first paragraph becomes its description."""

    def wrap(fn: Callable[..., Any]) -> ToolSpec:
        doc = (fn.__doc__ or "").strip().split("\n\n")[0]
        return ToolSpec(
            name=name,
            description=" ".join(doc.split()),
            kind=kind,
            input_model=input_model,
            output_model=output_model,
            fn=fn,
            roles=frozenset(roles),
        )

    return wrap


# Each module exposes `TOOLS: list[ToolSpec]`. Listed explicitly so the registry is readable in one place.
TOOL_MODULES = (
    "tools.customers",
    "tools.exposure",
    "tools.release",
    "tools.scoring",
    "tools.limits",
    "tools.worklist",
    "tools.dunning",
    "tools.disputes",
    "tools.portfolio",
    "tools.policy_search",
    "tools.actions.tools",
)

_registry: dict[str, ToolSpec] | None = None
_lock = threading.Lock()


def get_registry() -> dict[str, ToolSpec]:
    global _registry
    with _lock:
        if _registry is None:
            registry: dict[str, ToolSpec] = {}
            for module_name in TOOL_MODULES:
                module = importlib.import_module(module_name)
                for spec in module.TOOLS:
                    if spec.name in registry:
                        raise RuntimeError(f"tool {spec.name} is registered twice")
                    registry[spec.name] = spec
            _registry = registry
        return _registry


def get_tool(name: str) -> ToolSpec:
    spec = get_registry().get(name)
    if spec is None:
        raise not_found(f"no tool named {name!r}", available=sorted(get_registry()))
    return spec


def validation_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "input"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def parse_arguments(spec: ToolSpec, arguments: dict[str, Any] | BaseModel) -> BaseModel:
    if isinstance(arguments, spec.input_model):
        return arguments
    if isinstance(arguments, BaseModel):
        arguments = arguments.model_dump()
    try:
        return spec.input_model.model_validate(arguments)
    except ValidationError as error:
        raise CreditDeskError(
            ErrorCode.INVALID_INPUT, f"{spec.name}: {validation_message(error)}", details={"tool": spec.name}
        ) from None


def check_role(spec: ToolSpec, ctx: ToolContext) -> None:
    if ctx.actor.role not in spec.roles:
        allowed = ", ".join(sorted(role.value for role in spec.roles))
        raise forbidden(f"{spec.name} is not available to the {ctx.actor.role.value} role (allowed: {allowed})")


def call_tool(name: str, arguments: dict[str, Any] | BaseModel, ctx: ToolContext) -> BaseModel:
    """Validate, authorise and run one tool. Errors are `CreditDeskError`s with a message safe to show; refusals
    for role or visibility are written to the audit trail."""
    spec = get_tool(name)
    try:
        check_role(spec, ctx)
        args = parse_arguments(spec, arguments)
        session_scope = read_session if spec.kind == "read" else write_session
        with session_scope(ctx.database_url) as session:
            result = spec.fn(session, ctx, args)
    except CreditDeskError as error:
        if error.code is ErrorCode.FORBIDDEN:
            record_access_denied(
                ctx.database_url,
                actor_id=ctx.actor.id,
                actor_name=ctx.actor.name,
                actor_role=ctx.actor.role.value,
                what=name,
                reason=error.message,
            )
        log.info("tool.refused", tool=name, code=error.code.value, role=ctx.actor.role.value)
        raise
    log.info("tool.called", tool=name, kind=spec.kind, role=ctx.actor.role.value)
    return result
