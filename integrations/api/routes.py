"""The `/v1` REST API: chat, read endpoints over the tools, proposals, knowledge search and imports.

Every endpoint acts as the caller's staff user, through the same tool registry, role and book rules as Slack and
the CLI. Blocking work (database, the assistant) runs in worker threads; the event loop only routes.
"""

from __future__ import annotations

import re
import tempfile
import uuid
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from assistant.types import AskRequest, AssistantReply, Choice, Citation, ProposalRef
from core.errors import CreditDeskError, ErrorCode, forbidden, invalid_input, not_found
from core.logging import get_logger
from db.models import Role
from integrations.api.deps import CurrentActor, State, run_tool, tool_context
from integrations.api.problems import PROBLEM_RESPONSES
from integrations.surface import can_decide, chart_file, chart_name
from tools.actions.proposals import ProposalStatus, ProposalView, SimulationResult
from tools.context import Actor

log = get_logger(__name__)

router = APIRouter(prefix="/v1", responses=PROBLEM_RESPONSES)

CONVERSATION_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
IMPORT_ROLES = frozenset({Role.ADMIN, Role.CREDIT_MANAGER})
UPLOAD_SUFFIXES = frozenset({".csv", ".txt", ".xlsx", ".xlsm"})
# Dates far outside the book are refused here rather than deep in date arithmetic.
EARLIEST_DATE = date(1990, 1, 1)

CustomerRef = Annotated[
    str,
    PathParam(
        min_length=1,
        max_length=200,
        description="Customer id (e.g. 17), external id (e.g. C000017) or name (fuzzy, e.g. 'acme').",
    ),
]
InvoiceNumber = Annotated[
    str, PathParam(min_length=1, max_length=40, description="Invoice number, any case (e.g. INV-000123).")
]
ProposalId = Annotated[int, PathParam(ge=1, le=2_147_483_647)]
AsOf = Annotated[date | None, Query(description="Point in time (end of that day); default today.")]


def _check_date(value: date | None, name: str = "as_of") -> date | None:
    if value is not None and value < EARLIEST_DATE:
        raise invalid_input(f"{name} {value} is before {EARLIEST_DATE}; there are no figures that early")
    return value


# --- chat ------------------------------------------------------------------------------------------------------


class ChatRequest(BaseModel):
    message: str = Field(min_length=1, max_length=8000, description="Your question or request, in plain words.")
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID,
        description="Continue a conversation (returned by the previous answer); omit to start a new one.",
    )


class ChartRef(BaseModel):
    name: str
    url: str = Field(description="GET with the same credentials to fetch the PNG")


class ToolUse(BaseModel):
    name: str
    kind: Literal["read", "write"]
    error_code: str | None = None


class ChatResponse(BaseModel):
    conversation_id: str
    text: str = Field(description="The answer in Markdown (tables as pipe tables).")
    engine: str
    intent: str | None = None
    error: str | None = Field(default=None, description="A short user-safe message when the turn failed")
    proposals: list[ProposalRef] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    charts: list[ChartRef] = Field(default_factory=list)
    tools: list[ToolUse] = Field(default_factory=list)
    choices: list[Choice] = Field(
        default_factory=list,
        description="When the answer is a clarifying question: the readings it offers. Answer with a reading's "
        "`number` as the next message of the same conversation.",
    )


def api_thread_id(actor: Actor, conversation_id: str) -> str:
    """Conversations are per user: another caller's id cannot continue (or read) this thread."""
    return f"api:{actor.id if actor.id is not None else 'operator'}:{conversation_id}"


@router.post("/chat", response_model=ChatResponse, tags=["chat"], summary="Ask the credit desk")
async def chat(body: ChatRequest, actor: CurrentActor, state: State) -> ChatResponse:
    conversation_id = body.conversation_id or uuid.uuid4().hex[:16]
    request = AskRequest(
        text=body.message,
        actor=actor,
        thread_id=api_thread_id(actor, conversation_id),
        database_url=state.database_url,
    )
    reply: AssistantReply = await anyio.to_thread.run_sync(state.service.ask, request, limiter=state.chat_limiter)
    record_turn(state, "api", reply)
    charts = []
    for path in reply.charts:
        name = chart_name(state.settings, path)
        if name:
            charts.append(ChartRef(name=name, url=f"/v1/charts/{name}"))
    return ChatResponse(
        conversation_id=conversation_id,
        text=reply.text,
        engine=reply.engine,
        intent=reply.intent,
        error=reply.error,
        proposals=reply.proposals,
        citations=reply.citations,
        charts=charts,
        tools=[ToolUse(name=c.name, kind=c.kind, error_code=c.error_code) for c in reply.tool_calls],
        choices=reply.choices,
    )


def record_turn(state: Any, surface: str, reply: AssistantReply) -> None:
    state.metrics.chat_turns.labels(
        surface=surface, engine=reply.engine, outcome="error" if reply.error else "ok"
    ).inc()
    for call in reply.tool_calls:
        state.metrics.record_tool(call.name, call.error_code)


@router.get("/charts/{name}", tags=["chat"], response_class=FileResponse, summary="A chart image from an answer")
def chart(name: Annotated[str, PathParam(max_length=160)], _actor: CurrentActor, state: State) -> FileResponse:
    path = chart_file(state.settings, name)
    if path is None:
        raise not_found("no such chart")
    return FileResponse(path, media_type="image/png")


# --- who am I (web chat) -----------------------------------------------------------------------------------------


class Me(BaseModel):
    id: int | None
    name: str
    role: str


@router.get("/me", response_model=Me, tags=["auth"], summary="The staff user behind the credentials")
def me(actor: CurrentActor) -> Me:
    return Me(id=actor.id, name=actor.name, role=actor.role.value)


class DemoUser(BaseModel):
    name: str
    role: str


@router.get("/demo/users", response_model=list[DemoUser], tags=["auth"], summary="Demo mode only: staff to pick")
def demo_users(state: State) -> list[DemoUser]:
    from db.engine import read_session
    from db.queries.staff import list_staff_users

    if not state.settings.web_demo_users:
        raise not_found("demo mode is off")
    with read_session(state.database_url) as session:
        users = [DemoUser(name=u.name, role=u.role.value) for u in list_staff_users(session) if u.active]
    return users[:100]


# --- read endpoints over the tools -----------------------------------------------------------------------------


@router.get("/customers/{customer_id}/exposure", tags=["customers"], summary="A customer's exposure")
def customer_exposure(
    customer_id: CustomerRef,
    actor: CurrentActor,
    state: State,
    as_of: AsOf = None,
    include_group: bool = True,
) -> dict[str, Any]:
    arguments = {"customer": customer_id, "as_of": _check_date(as_of), "include_group": include_group}
    return run_tool(state, actor, "get_customer_exposure", arguments).model_dump(mode="json")


@router.get("/customers/{customer_id}/score", tags=["customers"], summary="A customer's risk score")
def customer_score(
    customer_id: CustomerRef,
    actor: CurrentActor,
    state: State,
    as_of: AsOf = None,
    history_points: Annotated[int, Query(ge=0, le=60)] = 12,
) -> dict[str, Any]:
    arguments = {"customer": customer_id, "as_of": _check_date(as_of), "history_points": history_points}
    return run_tool(state, actor, "score_customer", arguments).model_dump(mode="json")


@router.get("/worklist", tags=["collections"], summary="The ranked collections worklist")
def worklist(
    actor: CurrentActor,
    state: State,
    collector: Annotated[str | None, Query(max_length=80, description="A collector's book (staff name)")] = None,
    region: Annotated[str | None, Query(max_length=50)] = None,
    risk_class: Literal["A", "B", "C", "D", "E"] | None = None,
    min_amount: Annotated[
        str | None, Query(max_length=40, description="e.g. 25000 or 25k (reporting currency)")
    ] = None,
    as_of: AsOf = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    arguments = {
        "collector": collector,
        "region": region,
        "risk_class": risk_class,
        "min_amount": min_amount,
        "as_of": _check_date(as_of),
        "page": page,
        "page_size": page_size,
    }
    return run_tool(state, actor, "build_worklist", arguments).model_dump(mode="json")


@router.get("/portfolio/summary", tags=["portfolio"], summary="Portfolio KPIs")
def portfolio_summary(
    actor: CurrentActor,
    state: State,
    as_of: AsOf = None,
    group_by: Literal["region", "segment", "collector", "risk_class", "currency", "customer"] | None = None,
    period_months: Annotated[int | None, Query(ge=1, le=6)] = None,
    top_n: Annotated[int, Query(ge=1, le=50)] = 10,
    region: Annotated[list[str] | None, Query(max_length=20)] = None,
    exclude_disputed: bool = False,
) -> dict[str, Any]:
    arguments = {
        "as_of": _check_date(as_of),
        "group_by": group_by,
        "period_months": period_months,
        "top_n": top_n,
        "regions": region,
        "exclude_disputed": exclude_disputed,
    }
    return run_tool(state, actor, "get_portfolio_summary", arguments).model_dump(mode="json")


@router.get("/invoices/{number}", tags=["invoices"], summary="One invoice by number (any case)")
def invoice_get(number: InvoiceNumber, actor: CurrentActor, state: State, as_of: AsOf = None) -> dict[str, Any]:
    arguments = {"number": number, "as_of": _check_date(as_of)}
    return run_tool(state, actor, "get_invoice", arguments).model_dump(mode="json")


@router.get("/customers/{customer_id}/payment-behaviour", tags=["customers"], summary="A customer's payment behaviour")
def customer_payment_behaviour(
    customer_id: CustomerRef,
    actor: CurrentActor,
    state: State,
    as_of: AsOf = None,
    months: Annotated[int, Query(ge=1, le=60, description="Window: invoices paid in the last N months")] = 12,
    trend: Literal["month", "quarter"] = "month",
) -> dict[str, Any]:
    arguments = {"customer": customer_id, "as_of": _check_date(as_of), "months": months, "trend": trend}
    return run_tool(state, actor, "get_payment_behaviour", arguments).model_dump(mode="json")


@router.get("/customers/{customer_id}/promises", tags=["customers"], summary="A customer's promises to pay")
def customer_promises(
    customer_id: CustomerRef,
    actor: CurrentActor,
    state: State,
    as_of: AsOf = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> dict[str, Any]:
    arguments = {"customer": customer_id, "as_of": _check_date(as_of), "limit": limit}
    return run_tool(state, actor, "get_promise_history", arguments).model_dump(mode="json")


@router.get("/approvals/pending", tags=["proposals"], summary="Proposals waiting for your decision")
def approvals_pending(
    actor: CurrentActor, state: State, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> dict[str, Any]:
    return run_tool(state, actor, "list_pending_approvals", {"limit": limit}).model_dump(mode="json")


# --- proposals -------------------------------------------------------------------------------------------------


class ProposalOut(ProposalView):
    can_decide: bool = Field(description="Whether the caller may approve or reject it now (re-checked on decide)")


class DecisionRequest(BaseModel):
    note: str | None = Field(default=None, max_length=500, description="Why; kept with the decision")


class DecisionOut(BaseModel):
    executed: bool
    already_decided: bool
    message: str
    proposal: ProposalOut


def proposal_out(view: ProposalView, actor: Actor) -> ProposalOut:
    return ProposalOut(**view.model_dump(), can_decide=can_decide(view, actor))


@router.get("/proposals", response_model=list[ProposalOut], tags=["proposals"], summary="Proposals you may see")
def proposals_list(
    actor: CurrentActor,
    state: State,
    status: ProposalStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[ProposalOut]:
    from db.engine import read_session
    from tools.actions.proposals import list_proposals

    with read_session(state.database_url) as session:
        views = list_proposals(session, tool_context(state, actor), status=status, limit=limit)
    return [proposal_out(view, actor) for view in views]


@router.get("/proposals/{proposal_id}", response_model=ProposalOut, tags=["proposals"], summary="One proposal")
def proposal_get(proposal_id: ProposalId, actor: CurrentActor, state: State) -> ProposalOut:
    from db.engine import read_session
    from tools.actions.proposals import get_proposal

    with read_session(state.database_url) as session:
        view = get_proposal(session, tool_context(state, actor), proposal_id)
    return proposal_out(view, actor)


def _decide(
    state: Any, actor: Actor, proposal_id: int, decision: Literal["approve", "reject"], note: str | None
) -> DecisionOut:
    from tools.actions.proposals import decide_proposal

    outcome = decide_proposal(state.database_url, proposal_id, actor, decision, via="api", note=note)
    if outcome.already_decided:
        raise CreditDeskError(ErrorCode.CONFLICT, outcome.message, details={"status": outcome.proposal.status})
    return DecisionOut(
        executed=outcome.executed,
        already_decided=outcome.already_decided,
        message=outcome.message,
        proposal=proposal_out(outcome.proposal, actor),
    )


@router.post(
    "/proposals/{proposal_id}/approve",
    response_model=DecisionOut,
    tags=["proposals"],
    summary="Approve and execute (exactly once; every check re-run on the server)",
)
def proposal_approve(
    proposal_id: ProposalId, actor: CurrentActor, state: State, body: DecisionRequest | None = None
) -> DecisionOut:
    return _decide(state, actor, proposal_id, "approve", body.note if body else None)


@router.post("/proposals/{proposal_id}/reject", response_model=DecisionOut, tags=["proposals"], summary="Reject")
def proposal_reject(
    proposal_id: ProposalId, actor: CurrentActor, state: State, body: DecisionRequest | None = None
) -> DecisionOut:
    return _decide(state, actor, proposal_id, "reject", body.note if body else None)


@router.post(
    "/proposals/{proposal_id}/simulate",
    response_model=SimulationResult,
    tags=["proposals"],
    summary="What it would change; writes nothing",
)
def proposal_simulate(proposal_id: ProposalId, actor: CurrentActor, state: State) -> SimulationResult:
    from tools.actions.proposals import simulate_proposal

    return simulate_proposal(state.database_url, proposal_id, tool_context(state, actor))


# --- knowledge ---------------------------------------------------------------------------------------------------


@router.get("/knowledge/search", tags=["knowledge"], summary="Search the credit policy (passages with citations)")
def knowledge_search(
    actor: CurrentActor,
    state: State,
    q: Annotated[str, Query(min_length=1, max_length=1000, description="The question")],
    k: Annotated[int, Query(ge=1, le=10, description="How many passages")] = 5,
) -> dict[str, Any]:
    from tools.registry import get_registry

    spec = get_registry().get("search_policy")
    if spec is None:
        raise CreditDeskError(ErrorCode.NOT_CONFIGURED, "the policy knowledge base is not available on this server")
    fields = spec.input_model.model_fields
    arguments: dict[str, Any] = {"query": q}
    for name in ("k", "limit", "top_k"):
        if name in fields:
            arguments[name] = k
            break
    return run_tool(state, actor, "search_policy", arguments).model_dump(mode="json")


# --- import ------------------------------------------------------------------------------------------------------


@router.post("/import", tags=["import"], summary="Import an ERP export (CSV or Excel) through a shipped mapping")
async def import_upload(
    actor: CurrentActor,
    state: State,
    file: Annotated[UploadFile, File(description="CSV or .xlsx file")],
    mapping: Annotated[str, Form(min_length=1, max_length=64, description="Shipped mapping name, e.g. invoices")],
    skip_bad_rows: Annotated[bool, Form()] = False,
    dry_run: Annotated[bool, Form()] = False,
) -> dict[str, Any]:
    from integrations.importers import import_file, list_mappings

    if actor.role not in IMPORT_ROLES:
        raise forbidden(f"imports change the book: the {actor.role.value} role may not import")
    if mapping not in list_mappings():  # names only: a path would read files on the server
        raise invalid_input(f"unknown mapping {mapping!r}; use one of: {', '.join(list_mappings())}")
    suffix = Path(file.filename or "").suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise invalid_input("upload a .csv or .xlsx file")
    safe_name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(file.filename or "upload").name)[:100]
    with tempfile.TemporaryDirectory(prefix="creditdesk-import-") as folder:
        target = Path(folder) / safe_name
        size = 0
        with target.open("wb") as out:
            while chunk := await file.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise invalid_input(f"the file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB")
                out.write(chunk)
        if size == 0:
            raise invalid_input("the file is empty")

        def run() -> dict[str, Any]:
            report = import_file(
                target,
                mapping,
                url=state.database_url,
                skip_bad_rows=skip_bad_rows,
                dry_run=dry_run,
                actor=actor.name,
            )
            return report.model_dump(mode="json")

        try:
            result: dict[str, Any] = await anyio.to_thread.run_sync(run)
        except CreditDeskError:
            raise
        except (ValueError, UnicodeDecodeError, OSError) as error:  # unreadable files are bad input, not a 500
            raise invalid_input(f"the file could not be read ({type(error).__name__})") from None
    log.info("api.import", mapping=mapping, rows=result.get("rows_imported"), dry_run=dry_run)
    return result
