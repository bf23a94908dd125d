"""Helpers shared by the API, Slack and web chat tests."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select

from assistant.types import AskRequest, AssistantReply, ProposalRef
from db.engine import read_session, write_session
from db.models import AuditEvent, Customer
from db.models.governance import Proposal
from db.queries.access import create_api_key
from db.queries.staff import get_staff_user

DEMO_STAFF = ("admin", "morgan", "avery", "casey", "sam")


def issue_keys(database_url: str, names: tuple[str, ...] = DEMO_STAFF) -> dict[str, str]:
    with write_session(database_url) as session:
        return {name: create_api_key(session, staff_user=get_staff_user(session, name)).key for name in names}


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def executed_events(database_url: str, proposal_id: int) -> int:
    with read_session(database_url) as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.event == "proposal.executed", AuditEvent.subject_id == str(proposal_id))
            )
            or 0
        )


def proposal_decision(database_url: str, proposal_id: int) -> str | None:
    with read_session(database_url) as session:
        proposal = session.get(Proposal, proposal_id)
        assert proposal is not None
        return proposal.decision


def customer_named(database_url: str, fragment: str) -> Customer:
    with read_session(database_url) as session:
        customer = session.scalars(select(Customer).where(Customer.name.ilike(f"%{fragment}%"))).first()
        assert customer is not None
        return customer


def current_limit(database_url: str, customer_fragment: str) -> Decimal | None:
    from tools.context import Actor, ToolContext
    from tools.registry import call_tool

    with read_session(database_url) as session:
        actor = Actor.from_user(get_staff_user(session, "admin"))
    result = call_tool(
        "get_customer_exposure",
        {"customer": customer_fragment, "include_group": False},
        ToolContext(actor=actor, database_url=database_url),
    ).model_dump()
    limit = result["figures"]["credit_limit"]
    return Decimal(str(limit)) if limit is not None else None


# An increase a credit manager may approve on any business date (above an analyst's 25k, within the 100k ceiling),
# whatever limit the demo generator gave the customer on the session's date.
MANAGER_SIZED_INCREASE = Decimal(50000)


def manager_sized_limit(database_url: str, customer_fragment: str) -> str:
    """A new limit for the customer that is a credit-manager-sized increase over its current one, as chat text."""
    current = current_limit(database_url, customer_fragment) or Decimal(0)
    return f"{current + MANAGER_SIZED_INCREASE:.0f}"


def worklist_names(database_url: str, handle: str) -> list[str]:
    """The customers on a staff user's worklist today, ranked first, as the worklist tool gives them."""
    from tools.context import Actor, ToolContext
    from tools.registry import call_tool

    with read_session(database_url) as session:
        actor = Actor.from_user(get_staff_user(session, handle))
    worklist = call_tool("build_worklist", {}, ToolContext(actor=actor, database_url=database_url)).model_dump()
    return [row["customer"]["name"] for row in worklist["rows"]]


class FakeService:
    """Stands in for `AssistantService` where a test is about the surface, not the answer."""

    def __init__(self, text: str = "**Acme** exposure is fine.", proposals: list[ProposalRef] | None = None) -> None:
        self.text = text
        self.proposals = proposals or []
        self.requests: list[AskRequest] = []

    def ask(self, request: AskRequest) -> AssistantReply:
        self.requests.append(request)
        return AssistantReply(
            text=self.text, thread_id=request.thread_id, engine="planner", proposals=list(self.proposals)
        )
