"""Proposals: the only way anything changes the credit database.

propose → a stored proposal (diff, rows read, approver role, expiry) → a human approves or rejects → the server
re-loads it, locks the rows the change reads and writes (the customer first), re-derives from the data as it is now
the approver role, the authority amount and the policy caps, re-checks authority, four-eyes, visibility, expiry and
staleness, claims it with `UPDATE … WHERE decision IS NULL` and executes it in the same transaction with its audit
records. Two decisions on one customer therefore run one after the other, and the second sees the first's result
(it is refused as stale, never applied over it). Everything fails closed: any check that cannot pass refuses, and
nothing is written except the refusal's record. A lock wait that times out, a deadlock, a serialization failure or a
lost connection leaves the proposal pending (retried a few times, then "try again"): only a permanent error while
applying the change marks it failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, cast

from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError
from tenacity import Retrying, retry_if_exception, stop_after_attempt, stop_after_delay, wait_random_exponential

from core.dates import utcnow
from core.errors import CreditDeskError, ErrorCode, forbidden, not_found
from core.logging import get_logger
from db.engine import read_session, write_session
from db.models import Customer, Role, StaffUser
from db.models.governance import Proposal
from db.queries.audit import append_event
from db.queries.audit import record_access_denied as audit_access_denied
from db.queries.proposals import claim_proposal, is_transient_error, load_proposal_for_decision, set_lock_timeout
from tools.actions.base import Action, Decider, Prepared
from tools.actions.definitions import action_named
from tools.context import Actor, ToolContext
from tools.policy import load_policy, role_phrase

log = get_logger(__name__)

ProposalStatus = Literal["pending", "approved", "rejected", "expired", "stale", "failed"]

# How long one decision waits for a row lock held by another (PostgreSQL), how often a decision that met a transient
# database failure is tried again, and within what time. Past that the proposal stays pending: "try again".
DECISION_LOCK_TIMEOUT = timedelta(seconds=5)
DECISION_ATTEMPTS = 3
DECISION_RETRY_BUDGET = timedelta(seconds=20)


class ProposalView(BaseModel):
    id: int
    action: str
    status: ProposalStatus
    summary: str
    customer_id: int | None
    customer_name: str | None
    changes: list[dict[str, Any]] = Field(description="Exact before/after values of each field the change touches")
    required_role: str = Field(description="The lowest role that may approve it")
    four_eyes: bool = Field(description="The proposer may not approve it")
    authority_amount: Decimal | None = Field(description="Size of the change in the reporting currency")
    proposed_by: str
    conversation_id: str | None
    created_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_via: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    result: dict[str, Any] | None = None
    next_step: str = Field(description="What happens next, in words")


class DecisionOutcome(BaseModel):
    proposal: ProposalView
    executed: bool = Field(description="True only for the request that executed it")
    already_decided: bool = Field(description="The proposal had been decided before this request")
    message: str


def _status(proposal: Proposal, now: datetime | None = None) -> ProposalStatus:
    if proposal.decision is None:
        return "expired" if (now or utcnow()) > proposal.expires_at else "pending"
    return proposal.decision  # type: ignore[return-value]


def view(session: Session, proposal: Proposal) -> ProposalView:
    customer = session.get(Customer, proposal.customer_id) if proposal.customer_id else None
    status = _status(proposal)
    next_step = {
        "pending": f"awaits approval by {role_phrase(proposal.required_role)} or above"
        + (" other than the proposer" if proposal.four_eyes else "")
        + f" before {proposal.expires_at:%Y-%m-%d %H:%M} UTC: approve with `creditdesk proposals approve "
        f"{proposal.id} --as USER` or the Approve button",
        "approved": "approved and executed",
        "rejected": "rejected; nothing changed",
        "expired": "expired unapproved; nothing changed",
        "stale": "refused because the data it was based on changed; propose again",
        "failed": "approved but the change could not be applied; nothing changed",
    }[status]
    return ProposalView(
        id=proposal.id,
        action=proposal.action,
        status=status,
        summary=proposal.summary,
        customer_id=proposal.customer_id,
        customer_name=customer.name if customer else None,
        changes=proposal.diff,
        required_role=proposal.required_role,
        four_eyes=proposal.four_eyes,
        authority_amount=proposal.authority_amount,
        proposed_by=proposal.proposed_by_name,
        conversation_id=proposal.conversation_id,
        created_at=proposal.created_at,
        expires_at=proposal.expires_at,
        decided_by=proposal.decided_by_name,
        decided_via=proposal.decided_via,
        decided_at=proposal.decided_at,
        decision_note=proposal.decision_note,
        result=proposal.result,
        next_step=next_step,
    )


def _audit(session: Session, event: str, actor: Actor | Decider, proposal: Proposal | None, **details: Any) -> None:
    role = actor.role.value if actor.role else None
    append_event(
        session,
        event,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=role,
        subject_type="proposal" if proposal is not None else None,
        subject_id=proposal.id if proposal is not None else None,
        details=({"action": proposal.action, "customer_id": proposal.customer_id} if proposal else {}) | details,
    )


def record_access_denied(database_url: str | None, actor: Actor, what: str, reason: str) -> None:
    audit_access_denied(
        database_url, actor_id=actor.id, actor_name=actor.name, actor_role=actor.role.value, what=what, reason=reason
    )


def _idempotency_key(ctx: ToolContext, action: Action, payload: dict[str, Any]) -> str | None:
    if not ctx.conversation_id:
        return None
    body = json.dumps([ctx.conversation_id, ctx.actor.id, action.name, payload], sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()


def create_proposal(session: Session, ctx: ToolContext, action: Action, args: BaseModel) -> ProposalView:
    """Store a pending proposal (never the change). Auto-approvable ones are decided by policy at once."""
    if ctx.actor.id is None:
        raise forbidden("proposals need a named staff user")
    if ctx.actor.role not in action.proposer_roles:
        raise forbidden(f"the {ctx.actor.role.value} role may not propose {action.name.replace('_', ' ')}")
    prepared = action.prepare(session, ctx, args)
    key = _idempotency_key(ctx, action, prepared.payload)
    if key is not None:
        existing = session.scalars(select(Proposal).where(Proposal.idempotency_key == key)).first()
        if existing is not None:
            return view(session, existing)
    auto = bool(prepared.auto_approve_reason) and _may_approve(ctx.actor.role, prepared)
    if auto and prepared.customer is not None:
        # Approved by policy in this transaction: take the customer's decision lock like any approval, then prepare
        # again so the caps and the auto-approval rule are judged on the data as it is under the lock.
        first = prepared.customer.id
        action.lock(
            session, Proposal(customer_id=first, payload=prepared.payload, read_versions=prepared.read_versions)
        )
        session.expire_all()
        prepared = action.prepare(session, ctx, args)
        if prepared.customer is None or prepared.customer.id != first:
            raise CreditDeskError(ErrorCode.CONFLICT, "the customer changed while this was being logged; try again")
        auto = bool(prepared.auto_approve_reason) and _may_approve(ctx.actor.role, prepared)
    now = utcnow()
    proposal = Proposal(
        action=action.name,
        tool_name=action.tool_name,
        customer_id=prepared.customer.id if prepared.customer else None,
        summary=prepared.summary,
        payload=prepared.payload,
        diff=[change.as_dict() for change in prepared.changes],
        read_versions=prepared.read_versions,
        required_role=prepared.required_role.value,
        authority_amount=prepared.authority_amount,
        four_eyes=prepared.four_eyes,
        proposed_by_id=ctx.actor.id,
        proposed_by_name=ctx.actor.name,
        conversation_id=ctx.conversation_id,
        idempotency_key=key,
        created_at=now,
        expires_at=now + timedelta(hours=load_policy().authority.proposal_ttl_hours),
    )
    session.add(proposal)
    session.flush()
    _audit(
        session,
        "proposal.created",
        ctx.actor,
        proposal,
        required_role=proposal.required_role,
        authority_amount=prepared.authority_amount,
    )
    log.info("proposal.created", proposal_id=proposal.id, action=action.name)
    decider = _auto_decider(session, proposal, action, ctx.actor) if auto else None
    if decider is not None:
        try:
            action.revalidate(session, proposal)
            _execute(session, proposal, action, decider, via="policy", note=prepared.auto_approve_reason)
        except _Refusal as refused:
            raise refused.error from None
    return view(session, proposal)


def _auto_decider(session: Session, proposal: Proposal, action: Action, actor: Actor) -> Decider | None:
    """The proposer as the decider of a policy approval, if they could approve it by hand: the same checks as a
    manual approval (active user, role, four-eyes, role ceiling, personal approval limit). Otherwise None, and the
    proposal waits for a human."""
    try:
        decider = _decider(session, actor)
        _check_authority(session, proposal, action, decider)
    except CreditDeskError as refused:
        if refused.code not in (ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND):
            raise
        log.info("proposal.auto_approval_withheld", proposal_id=proposal.id, reason=refused.code.value)
        return None
    return decider


def _may_approve(role: Role, prepared: Prepared) -> bool:
    return load_policy().authority.at_least(role, prepared.required_role)


def _execute(
    session: Session, proposal: Proposal, action: Action, decider: Decider, *, via: str, note: str | None
) -> None:
    """Claim and apply, in a savepoint: a write that finds its row changed after all (compare-and-set, ORM version
    check) undoes the claim and the partial change, and the proposal is refused as stale instead."""
    try:
        with session.begin_nested():
            claimed = claim_proposal(
                session,
                proposal.id,
                decision="approved",
                decided_by_id=decider.id,
                decided_by_name=decider.name if via != "policy" else f"policy (logged by {decider.name})",
                decided_via=via,
                decided_at=utcnow(),
                decision_note=note,
            )
            if not claimed:
                raise _AlreadyDecided()
            session.refresh(proposal)
            result = action.execute(session, proposal, decider)
            proposal.executed_at = utcnow()
            proposal.result = json.loads(json.dumps(result, default=str))
            session.flush()
    except StaleDataError:
        message = f"the data behind proposal #{proposal.id} changed while it was being applied; propose it again"
        raise _Refusal(CreditDeskError(ErrorCode.STALE, message), "stale") from None
    except CreditDeskError as error:
        if error.code is ErrorCode.STALE:
            raise _Refusal(error, "stale") from None
        raise
    _audit(session, "proposal.approved", decider, proposal, via=via)
    _audit(session, "proposal.executed", decider, proposal, result=proposal.result)
    log.info("proposal.executed", proposal_id=proposal.id, action=proposal.action, via=via)


class _AlreadyDecided(Exception):
    pass


class _Refusal(Exception):
    """A refusal that is recorded (decision and audit) before the error reaches the caller."""

    def __init__(self, error: CreditDeskError, decision: str | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.decision = decision


def _load_for_decision(session: Session, proposal_id: int) -> Proposal:
    proposal = load_proposal_for_decision(session, proposal_id)
    if proposal is None:
        raise not_found(f"no proposal #{proposal_id}")
    return proposal


def _decider(session: Session, actor: Actor) -> Decider:
    if actor.id is None:
        raise forbidden("decisions need a named staff user")
    user = session.get(StaffUser, actor.id)
    if user is None or not user.active:
        raise forbidden("unknown or inactive user: you may not decide proposals")
    return Decider(id=user.id, name=user.name, role=user.role, approval_limit=user.approval_limit)


def _check_authority(session: Session, proposal: Proposal, action: Action, decider: Decider) -> None:
    policy = load_policy()
    customer = session.get(Customer, proposal.customer_id) if proposal.customer_id else None
    if customer is not None:
        # Outside the decider's book the proposal answers as a missing one would: its customer is not theirs to learn.
        ToolContext(actor=Actor(id=decider.id, name=decider.name, role=decider.role)).require_visible(
            customer, missing=f"no proposal #{proposal.id}"
        )
    required = action.required_role_now(session, proposal)
    if not policy.authority.at_least(decider.role, required):
        raise forbidden(
            f"proposal #{proposal.id} needs {role_phrase(required)} or above; you are {role_phrase(decider.role)}"
        )
    if proposal.four_eyes and decider.id == proposal.proposed_by_id:
        raise forbidden(f"you proposed #{proposal.id}: four-eyes rule, another person must approve it")
    amount = action.authority_amount_now(session, proposal)
    if amount is not None:
        ceiling = policy.authority.role_approval_ceiling.get(decider.role)
        if proposal.action == "set_credit_limit" and ceiling is not None and amount > ceiling:
            raise forbidden(
                f"an increase of {amount} is above the approval ceiling of {role_phrase(decider.role)} ({ceiling})"
            )
        if decider.approval_limit is not None and amount > decider.approval_limit:
            raise forbidden(f"{amount} is above your personal approval limit of {decider.approval_limit}")


def _stale_reason(proposal: Proposal, current: dict[str, Any]) -> str | None:
    if current == proposal.read_versions:
        return None
    changed = [key for key in proposal.read_versions if proposal.read_versions.get(key) != current.get(key)]
    details = "; ".join(f"{key}: was {proposal.read_versions.get(key)}, now {current.get(key)}" for key in changed)
    return f"the data behind proposal #{proposal.id} changed since it was made ({details}); propose it again"


def decide_proposal(
    database_url: str | None,
    proposal_id: int,
    actor: Actor,
    decision: Literal["approve", "reject"],
    *,
    via: str,
    note: str | None = None,
) -> DecisionOutcome:
    """Approve (and execute) or reject one proposal, exactly once, with every check on the server.

    A transient database failure (lock wait timed out, deadlock, serialization failure, lost connection, SQLite
    busy) rolls the attempt back whole; the decision is tried again a few times (the claim makes that safe) and then
    left pending with a "try again" CONFLICT error. Only a permanent error while applying the change marks the
    proposal failed."""
    try:
        for attempt in Retrying(
            stop=stop_after_attempt(DECISION_ATTEMPTS) | stop_after_delay(DECISION_RETRY_BUDGET.total_seconds()),
            wait=wait_random_exponential(multiplier=0.1, max=1),
            retry=retry_if_exception(is_transient_error),
            reraise=True,
        ):
            with attempt:
                return _decide_once(database_url, proposal_id, actor, decision, via=via, note=note)
    except CreditDeskError as error:
        if error.code is ErrorCode.FORBIDDEN:
            record_access_denied(database_url, actor, f"proposal:{proposal_id}", error.message)
        raise
    except Exception as error:
        if is_transient_error(error):
            return _after_transient_failure(database_url, proposal_id, error)
        _mark_failed(database_url, proposal_id, actor, error)
        raise CreditDeskError(
            ErrorCode.CONFLICT, f"proposal #{proposal_id} was approved but could not be applied; nothing changed"
        ) from error
    raise AssertionError("unreachable: every attempt returns or raises")


def _decide_once(
    database_url: str | None,
    proposal_id: int,
    actor: Actor,
    decision: Literal["approve", "reject"],
    *,
    via: str,
    note: str | None,
) -> DecisionOutcome:
    """One attempt, in one transaction."""
    refusal: _Refusal | None = None
    try:
        with write_session(database_url) as session:
            set_lock_timeout(session, DECISION_LOCK_TIMEOUT)
            proposal = _load_for_decision(session, proposal_id)
            if proposal.decision is not None:
                return _already(session, proposal)
            decider = _decider(session, actor)
            action = action_named(proposal.action)
            try:
                outcome = _decide(session, proposal, action, decider, decision, via=via, note=note)
            except _Refusal as refused:
                if refused.decision is not None:
                    proposal.decision, proposal.decided_at = refused.decision, utcnow()
                    proposal.decided_by_id, proposal.decided_by_name = decider.id, decider.name
                    proposal.decided_via, proposal.decision_note = via, refused.error.message
                _audit(
                    session,
                    f"proposal.refused.{refused.decision or 'forbidden'}",
                    decider,
                    proposal,
                    reason=refused.error.message,
                )
                refusal = refused
                outcome = None
            if outcome is not None:
                return outcome
    except _AlreadyDecided:
        with read_session(database_url) as session:
            return _already(session, _load(session, proposal_id))
    assert refusal is not None
    raise refusal.error


def _after_transient_failure(database_url: str | None, proposal_id: int, error: Exception) -> DecisionOutcome:
    """The attempts were rolled back. If a commit went through before the connection dropped, say what was
    decided; otherwise the proposal is still pending and the caller should try again."""
    log.warning("proposal.decision_deferred", proposal_id=proposal_id, error=type(error).__name__)
    try:
        with read_session(database_url) as session:
            proposal = _load(session, proposal_id)
            if proposal.decision is not None:
                return _already(session, proposal)
    except (CreditDeskError, SQLAlchemyError):
        pass
    raise CreditDeskError(
        ErrorCode.CONFLICT,
        f"proposal #{proposal_id} could not be decided just now: the database was busy (another change to the same "
        "data held a lock, or a conflicting transaction won) or the connection dropped. Nothing changed and the "
        "proposal is still pending: try again in a moment.",
        details={"status": "pending", "retry": True},
    ) from error


def _decide(
    session: Session,
    proposal: Proposal,
    action: Action,
    decider: Decider,
    decision: Literal["approve", "reject"],
    *,
    via: str,
    note: str | None,
) -> DecisionOutcome:
    if decision == "reject":
        try:
            if decider.id != proposal.proposed_by_id:
                _check_authority(session, proposal, action, decider)
        except CreditDeskError as error:
            raise _Refusal(error, None) from None
        claimed = claim_proposal(
            session,
            proposal.id,
            decision="rejected",
            decided_by_id=decider.id,
            decided_by_name=decider.name,
            decided_via=via,
            decided_at=utcnow(),
            decision_note=note,
        )
        if not claimed:
            raise _AlreadyDecided()
        session.refresh(proposal)
        _audit(session, "proposal.rejected", decider, proposal, via=via)
        return DecisionOutcome(
            proposal=view(session, proposal),
            executed=False,
            already_decided=False,
            message=f"proposal #{proposal.id} rejected by {decider.name}; nothing changed",
        )
    if utcnow() > proposal.expires_at:
        raise _Refusal(
            CreditDeskError(
                ErrorCode.EXPIRED,
                f"proposal #{proposal.id} expired at {proposal.expires_at:%Y-%m-%d %H:%M} UTC; propose it again",
            ),
            "expired",
        )
    try:
        # From here on the rows are locked: the role, the amounts, the versions and the caps below are read as
        # they are now, and no other decision can change them before this one commits.
        action.lock(session, proposal)
    except CreditDeskError as error:
        raise _Refusal(error, "stale") from None
    try:
        _check_authority(session, proposal, action, decider)
    except CreditDeskError as error:
        raise _Refusal(error, None) from None
    stale = _stale_reason(proposal, action.current_versions(session, proposal))
    if stale is not None:
        raise _Refusal(CreditDeskError(ErrorCode.STALE, stale), "stale")
    try:
        action.revalidate(session, proposal)
    except CreditDeskError as error:
        reason = f"proposal #{proposal.id} no longer fits the policy: {error.message}"
        raise _Refusal(CreditDeskError(ErrorCode.STALE, reason, details=error.details), "stale") from None
    _execute(session, proposal, action, decider, via=via, note=note)
    return DecisionOutcome(
        proposal=view(session, proposal),
        executed=True,
        already_decided=False,
        message=f"proposal #{proposal.id} approved by {decider.name} and executed",
    )


def _load(session: Session, proposal_id: int) -> Proposal:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise not_found(f"no proposal #{proposal_id}")
    return proposal


def _already(session: Session, proposal: Proposal) -> DecisionOutcome:
    shown = view(session, proposal)
    who = f" by {proposal.decided_by_name}" if proposal.decided_by_name else ""
    return DecisionOutcome(
        proposal=shown,
        executed=False,
        already_decided=True,
        message=f"proposal #{proposal.id} was already {shown.status}{who}; nothing more was done",
    )


def _mark_failed(database_url: str | None, proposal_id: int, actor: Actor, error: Exception) -> None:
    try:
        _record_failure(database_url, proposal_id, actor, error)
    except (CreditDeskError, SQLAlchemyError) as recording:
        # The change was rolled back either way; the proposal stays pending until it can be recorded.
        log.error("proposal.failure_not_recorded", proposal_id=proposal_id, error=type(recording).__name__)


def _record_failure(database_url: str | None, proposal_id: int, actor: Actor, error: Exception) -> None:
    with write_session(database_url) as session:
        proposal = session.get(Proposal, proposal_id)
        if proposal is None or proposal.decision is not None:
            return
        proposal.decision, proposal.decided_at, proposal.decided_via = "failed", utcnow(), "system"
        proposal.decision_note = f"{type(error).__name__} while applying the change"
        _audit(session, "proposal.failed", actor, proposal, error=type(error).__name__)
    log.error("proposal.failed", proposal_id=proposal_id, error=type(error).__name__)


def expire_overdue_proposals(database_url: str | None = None) -> int:
    """Mark every pending proposal past its expiry as expired (with an audit record). Deciding one refuses anyway;
    this keeps lists honest."""
    expired = 0
    with write_session(database_url) as session:
        overdue = session.scalars(
            select(Proposal).where(Proposal.decision.is_(None), Proposal.expires_at < utcnow()).with_for_update()
        ).all()
        for proposal in overdue:
            proposal.decision, proposal.decided_at, proposal.decided_via = "expired", utcnow(), "system"
            append_event(
                session,
                "proposal.expired",
                actor_id=None,
                actor_name="system",
                actor_role=None,
                subject_type="proposal",
                subject_id=proposal.id,
                details={"action": proposal.action, "customer_id": proposal.customer_id},
            )
            expired += 1
    return expired


# --- reading and simulating -----------------------------------------------------------------------------


def _visible(ctx: ToolContext, session: Session, proposal: Proposal) -> bool:
    """Own proposals always; sales no others (their before/after amounts are balances and limits); collectors those
    of their book."""
    if proposal.proposed_by_id == ctx.actor.id:
        return True
    if ctx.actor.role is Role.SALES:
        return False
    customer = session.get(Customer, proposal.customer_id) if proposal.customer_id else None
    return customer is None or ctx.can_see(customer)


def get_proposal(session: Session, ctx: ToolContext, proposal_id: int) -> ProposalView:
    proposal = _load(session, proposal_id)
    if not _visible(ctx, session, proposal):
        raise not_found(f"no proposal #{proposal_id}")  # the same answer as for one that does not exist
    return view(session, proposal)


def list_proposals(
    session: Session, ctx: ToolContext, *, status: ProposalStatus | None = None, limit: int = 50
) -> list[ProposalView]:
    query = select(Proposal).order_by(Proposal.id.desc()).limit(max(1, min(limit, 500)) * 4)
    if status == "pending":
        query = query.where(Proposal.decision.is_(None), Proposal.expires_at >= utcnow())
    elif status == "expired":
        query = query.where(
            (Proposal.decision == "expired") | (Proposal.decision.is_(None) & (Proposal.expires_at < utcnow()))
        )
    elif status is not None:
        query = query.where(Proposal.decision == status)
    shown = [view(session, p) for p in session.scalars(query) if _visible(ctx, session, p)]
    return shown[:limit]


class SimulationResult(BaseModel):
    proposal_id: int
    summary: str
    changes: list[dict[str, Any]]
    before: dict[str, Any]
    after: dict[str, Any]
    orders_releasable_after: list[str] = Field(description="Orders on hold that the credit check would release")
    notes: list[str]


@contextmanager
def _rolled_back(database_url: str | None) -> Iterator[Session]:
    """A write session whose work is always rolled back: simulations see their changes, nothing persists."""
    from sqlalchemy.orm import sessionmaker

    from db.engine import get_engine

    factory = sessionmaker(bind=get_engine(database_url), expire_on_commit=False)
    with factory() as session:
        session.begin()
        try:
            yield session
        finally:
            session.rollback()


def simulate_proposal(database_url: str | None, proposal_id: int, ctx: ToolContext) -> SimulationResult:
    """Apply the proposal inside a transaction that is rolled back, and report what would change."""
    from tools.exposure import compute_customer_exposure
    from tools.release import OrderReleaseInput, OrderReleaseResult, check_order_release

    with _rolled_back(database_url) as session:
        proposal = _load(session, proposal_id)
        if not _visible(ctx, session, proposal):
            raise not_found(f"no proposal #{proposal_id}")
        customer = session.get(Customer, proposal.customer_id) if proposal.customer_id else None
        sim_ctx = ctx.model_copy(update={"database_url": database_url})

        def snapshot() -> dict[str, Any]:
            if customer is None:
                return {}
            exposure = compute_customer_exposure(session, sim_ctx, customer, sim_ctx.today, include_group=False)
            return {
                "credit_limit": exposure.figures.credit_limit,
                "total_exposure": exposure.figures.total_exposure,
                "utilisation_pct": exposure.figures.utilisation_pct,
                "available_credit": exposure.figures.available_credit,
                "credit_status": exposure.credit_status.status,
                "status_rule": exposure.credit_status.rule,
            }

        def releasable() -> list[str]:
            from db.queries.exposure import open_orders

            if customer is None:
                return []
            result = []
            for order in open_orders(session, customer.id):
                if not order.on_hold:
                    continue
                request = OrderReleaseInput(customer=str(customer.id), order_number=order.number)
                check = cast(OrderReleaseResult, check_order_release.fn(session, sim_ctx, request))
                if check.decision == "release":
                    result.append(order.number)
            return result

        before = snapshot()
        released_before = set(releasable())
        action = action_named(proposal.action)
        notes = []
        if proposal.decision is not None:
            notes.append(f"proposal #{proposal.id} is already {proposal.decision}; simulated as if it were pending")
        user = session.get(StaffUser, ctx.actor.id) if ctx.actor.id else None
        decider = Decider(id=user.id if user else 0, name=ctx.actor.name, role=ctx.actor.role, approval_limit=None)
        action.execute(session, proposal, decider)
        session.flush()
        after = snapshot()
        releasable_after = [number for number in releasable() if number not in released_before]
        return SimulationResult(
            proposal_id=proposal.id,
            summary=proposal.summary,
            changes=proposal.diff,
            before=before,
            after=after,
            orders_releasable_after=releasable_after,
            notes=[*notes, "nothing was written: the change was applied in a transaction that was rolled back"],
        )
