"""Pending approvals for me: proposals awaiting a decision that the caller may take, newest first, with what each
needs. Whether a user may decide a proposal (`decision_blockers`) is also what every surface shows as its
Approve/Reject hint; the approval path itself re-checks everything on the server when someone decides.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field, field_validator
from sqlalchemy.orm import Session

from core.dates import utcnow
from core.errors import CreditDeskError
from db.models import Role
from db.models.governance import Proposal
from tools.actions.definitions import ACTIONS, action_named
from tools.actions.proposals import ProposalView, list_proposals
from tools.context import Actor, ToolContext
from tools.policy import load_policy, role_phrase
from tools.registry import ALL_ROLES, tool

# Pending proposals are few (they expire within the policy's TTL); this many newest are considered.
PENDING_SCAN = 500


def decision_blockers(view: ProposalView, actor: Actor) -> list[str]:
    """Why `actor` may not approve this proposal now (empty: they may). Mirrors the server's authority check: role,
    four-eyes, the role's ceiling for limit changes and the personal approval limit."""
    if view.status != "pending":
        return [f"it is {view.status}"]
    if actor.id is None:
        return ["decisions need a named staff user"]
    authority = load_policy().authority
    try:
        required = Role(view.required_role)
    except ValueError:
        return [f"it needs an unknown role {view.required_role!r}"]
    blockers = []
    if not authority.at_least(actor.role, required):
        blockers.append(f"it needs {role_phrase(required)} or above; you are {role_phrase(actor.role)}")
    if view.four_eyes and view.proposed_by == actor.name:
        blockers.append("you proposed it: four-eyes rule, another person must approve it")
    amount: Decimal | None = view.authority_amount
    if amount is not None:
        ceiling = authority.role_approval_ceiling.get(actor.role)
        if view.action == "set_credit_limit" and ceiling is not None and amount > ceiling:
            blockers.append(f"{amount} is above the approval ceiling of {role_phrase(actor.role)} ({ceiling})")
        if actor.approval_limit is not None and amount > actor.approval_limit:
            blockers.append(f"{amount} is above your personal approval limit of {actor.approval_limit}")
    return blockers


def can_decide(view: ProposalView, actor: Actor) -> bool:
    """Whether to offer Approve/Reject to this user. Only a hint for the UI: deciding re-checks everything."""
    return not decision_blockers(view, actor)


class PendingApprovalsInput(BaseModel):
    limit: int = Field(default=20, ge=1, le=100)  # at most this many, newest first
    kind: str | None = Field(default=None, description="e.g. set_credit_limit")  # a proposal action (ACTIONS)
    proposed_by: str | None = None  # a staff handle: only the proposals that user made

    @field_validator("kind")
    @classmethod
    def _known_action(cls, value: str | None) -> str | None:
        if value is not None and value not in ACTIONS:
            raise ValueError(f"unknown proposal kind {value!r}; one of {', '.join(sorted(ACTIONS))}")
        return value


class PendingApproval(BaseModel):
    id: int
    action: str
    summary: str
    customer_id: int | None
    customer_name: str | None
    proposed_by: str
    created_at: datetime
    expires_at: datetime
    hours_left: Decimal = Field(description="Hours until it expires unapproved")
    required_role: str = Field(description="The lowest role that may approve it, as the data stands now")
    four_eyes: bool = Field(description="The proposer may not approve it")
    authority_amount: Decimal | None = Field(description="Size of the change now, in the reporting currency")
    currency: str = Field(description="Currency of authority_amount (the reporting currency)")
    changes: list[dict[str, Any]] = Field(description="Exact before/after values of each field it changes")
    you_may_approve: bool
    you_may_reject: bool = Field(description="Approvers may reject; a proposer may always withdraw their own")
    why_not_approve: list[str] = Field(description="What keeps you from approving it (empty if nothing)")
    needs: str = Field(description="What it needs, in words")
    warning: str | None = Field(default=None, description="Set when it can no longer be approved as it stands")


class PendingApprovals(BaseModel):
    approver: str
    total: int = Field(description="Pending proposals you may decide")
    shown: int
    approvals: list[PendingApproval] = Field(description="Newest first")
    note: str | None = None
    definitions: list[str]


def _requirements_now(session: Session, view: ProposalView) -> tuple[ProposalView, int | None, str | None]:
    """The view with the approver role and authority amount re-derived from the data as it is now (the higher of
    stored and current, as the approval path does), the proposer's id, and why approving it would be refused if
    the requirements cannot be derived any more (the view then keeps the stored ones)."""
    proposal = session.get(Proposal, view.id)
    if proposal is None:
        return view, None, None
    try:
        action = action_named(proposal.action)
        role = action.required_role_now(session, proposal)
        amount = action.authority_amount_now(session, proposal)
    except CreditDeskError as error:
        return view, proposal.proposed_by_id, f"approving it would be refused: {error.message}"
    current = view.model_copy(update={"required_role": role.value, "authority_amount": amount})
    return current, proposal.proposed_by_id, None


def _needs(required_role: str, four_eyes: bool, expires_at: datetime, amount: Decimal | None = None) -> str:
    who = f"approval by {role_phrase(required_role)} or above" + (" other than the proposer" if four_eyes else "")
    size = f" for {amount}" if amount is not None else ""
    return f"{who}{size} before {expires_at:%Y-%m-%d %H:%M} UTC"


def pending_approvals(session: Session, ctx: ToolContext, args: PendingApprovalsInput) -> PendingApprovals:
    now = utcnow()
    found: list[PendingApproval] = []
    for stored in list_proposals(session, ctx, status="pending", limit=PENDING_SCAN):
        view, proposer_id, warning = _requirements_now(session, stored)
        blockers = decision_blockers(view, ctx.actor)
        if warning is not None:
            blockers = [*blockers, warning]
        if (args.kind is not None and view.action != args.kind) or (
            args.proposed_by is not None and view.proposed_by.casefold() != args.proposed_by.casefold()
        ):
            continue
        own = ctx.actor.id is not None and proposer_id == ctx.actor.id
        may_approve = not blockers
        if not (may_approve or own):
            continue
        found.append(
            PendingApproval(
                id=view.id,
                action=view.action,
                summary=view.summary,
                customer_id=view.customer_id,
                customer_name=view.customer_name,
                proposed_by=view.proposed_by,
                created_at=view.created_at,
                expires_at=view.expires_at,
                hours_left=(Decimal((view.expires_at - now).total_seconds()) / 3600).quantize(Decimal("0.1")),
                required_role=view.required_role,
                four_eyes=view.four_eyes,
                authority_amount=view.authority_amount,
                currency=ctx.reporting_currency,
                changes=view.changes,
                you_may_approve=may_approve,
                you_may_reject=may_approve or own,
                why_not_approve=blockers,
                needs=_needs(view.required_role, view.four_eyes, view.expires_at, view.authority_amount),
                warning=warning,
            )
        )
    found.sort(key=lambda item: (item.created_at, item.id), reverse=True)
    note = None
    if ctx.actor.id is None:
        note = "decisions need a named staff user: run this as one (--as USER)"
    elif not found:
        note = "nothing is waiting for your decision"
    return PendingApprovals(
        approver=ctx.actor.name,
        total=len(found),
        shown=min(len(found), args.limit),
        approvals=found[: args.limit],
        note=note,
        definitions=[
            "Pending = not yet decided and not past its expiry. Listed: those you may approve (your role reaches "
            "the approver role, the four-eyes rule, the role's ceiling and your personal approval limit allow it) "
            "and your own, which you may withdraw (reject).",
            "Approver role and authority amount are re-derived from the data as it is now, as approval does; every "
            "check runs again when you decide.",
            f"Authority amount = the size of the change in the reporting currency ({ctx.reporting_currency}).",
            *([f"Only proposals of kind {args.kind}."] if args.kind else []),
            *([f"Only proposals made by {args.proposed_by}."] if args.proposed_by else []),
        ],
    )


SALES_BLOCKER = "it needs {} or above"
SALES_WARNING = "approving it would be refused as it stands; ask the credit team"


def sales_approvals_view(result: PendingApprovals) -> PendingApprovals:
    """Sales see their own proposals only (the proposal list already ensures that), without the authority amount,
    the before/after values or any reason that could name a figure."""
    stripped = [
        item.model_copy(
            update={
                "authority_amount": None,
                "changes": [],
                "needs": _needs(item.required_role, item.four_eyes, item.expires_at),
                "why_not_approve": []
                if item.you_may_approve
                else [SALES_BLOCKER.format(role_phrase(item.required_role))],
                "warning": SALES_WARNING if item.warning else None,
            }
        )
        for item in result.approvals
    ]
    return result.model_copy(update={"approvals": stripped})


@tool(
    name="list_pending_approvals",
    kind="read",
    input_model=PendingApprovalsInput,
    output_model=PendingApprovals,
    roles=ALL_ROLES,
    views={Role.SALES: sales_approvals_view},
)
def list_pending_approvals(session: Session, ctx: ToolContext, args: PendingApprovalsInput) -> PendingApprovals:
    """Proposals waiting for a decision that you may take (approve, or withdraw your own), newest first, with the
    approver role, four-eyes rule, amount and expiry each needs."""
    return pending_approvals(session, ctx, args)


TOOLS = [list_pending_approvals]
