"""The one tool registry: every tool the model, the API and scripts may call, marked read or write.

A tool is a plain typed function `fn(session, ctx, args) -> result` with pydantic input and output models. Read
tools run on a read-only database session; write tools (all of them `propose_*`-style: they only ever create
proposals) get a writable one. Role checks happen here, before the function runs, and so does what each role may
see of the result: a role in `RESTRICTED_ROLES` (sales) gets the view the tool declares for it (credit status and
release decisions, never balances, ageing, exposure, scores or limits). A read tool open to such a role without a
declared view does not load, so no surface (API, CLI, assistant) can forget the rule.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session

from core.errors import CreditDeskError, ErrorCode, forbidden, not_found
from core.logging import get_logger
from db.engine import read_session, write_session
from db.models import Role
from db.queries.audit import record_access_denied
from tools.context import NotVisibleError, ToolContext

ToolKind = Literal["read", "write"]
ALL_ROLES = frozenset(Role)
CREDIT_ROLES = frozenset({Role.COLLECTOR, Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN})
ANALYST_ROLES = frozenset({Role.CREDIT_ANALYST, Role.CREDIT_MANAGER, Role.ADMIN})
# Roles that may call some read tools but never see account figures: each such tool declares what they get.
RESTRICTED_ROLES = frozenset({Role.SALES})

OutputView = Callable[[Any], BaseModel]


def unfiltered(result: BaseModel) -> BaseModel:
    """The view for a tool whose output holds no account figures (balances, ageing, exposure, scores, limits)."""
    return result


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
    views: Mapping[Role, OutputView] = field(default_factory=dict, hash=False)

    def json_schema(self) -> dict[str, Any]:
        return self.input_model.model_json_schema()

    def view_for(self, role: Role, result: BaseModel) -> BaseModel:
        """What `role` may see of a result: its declared view, else the whole result, except that a restricted
        role gets nothing from a read tool without a declared view (fail closed)."""
        view = self.views.get(role)
        if view is not None:
            return view(result)
        if role in RESTRICTED_ROLES and self.kind == "read":
            raise forbidden(f"{self.name} is not available to the {role.value} role")
        return result


def tool(
    *,
    name: str,
    kind: ToolKind,
    input_model: type[BaseModel],
    output_model: type[BaseModel],
    roles: Iterable[Role] = CREDIT_ROLES,
    views: Mapping[Role, OutputView] | None = None,
) -> Callable[[Callable[..., Any]], ToolSpec]:
    """Declare a tool; the docstring's first paragraph becomes its description. `views` maps a role to the
    function that turns the tool's result into what that role may see (required for every restricted role the
    tool is open to)."""

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
            views=dict(views or {}),
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
    "tools.invoices",
    "tools.behaviour",
    "tools.promises",
    "tools.approvals",
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
                    check_views(spec)
                    registry[spec.name] = spec
            _registry = registry
        return _registry


def check_views(spec: ToolSpec) -> None:
    """A read tool open to a restricted role must say what that role sees. (Write tools return the caller's own
    proposal; what proposals show is governed by the actions.)"""
    for role in sorted(spec.roles & RESTRICTED_ROLES):
        if spec.kind == "read" and role not in spec.views:
            raise RuntimeError(
                f"tool {spec.name} is open to the {role.value} role but declares no view for it: pass "
                f"views={{Role.{role.name}: ...}} (`unfiltered` only if its output holds no balances, ageing, "
                "exposure, scores or limits)"
            )


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
    """Validate, authorise and run one tool, and return what the caller's role may see of the result. Errors are
    `CreditDeskError`s with a message safe to show; refusals for role or visibility are written to the audit
    trail (a customer outside the caller's book is refused as "not found", and audited by id)."""
    spec = get_tool(name)
    try:
        check_role(spec, ctx)
        args = parse_arguments(spec, arguments)
        session_scope = read_session if spec.kind == "read" else write_session
        with session_scope(ctx.database_url) as session:
            result = spec.view_for(ctx.actor.role, spec.fn(session, ctx, args))
    except CreditDeskError as error:
        if error.code is ErrorCode.FORBIDDEN or isinstance(error, NotVisibleError):
            record_access_denied(
                ctx.database_url,
                actor_id=ctx.actor.id,
                actor_name=ctx.actor.name,
                actor_role=ctx.actor.role.value,
                what=name,
                reason=error.audit_reason if isinstance(error, NotVisibleError) else error.message,
            )
        log.info("tool.refused", tool=name, code=error.code.value, role=ctx.actor.role.value)
        raise
    log.info("tool.called", tool=name, kind=spec.kind, role=ctx.actor.role.value)
    return result
