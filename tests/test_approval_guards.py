"""Approval guards: conflicting decisions never lose an update, the approver role and the policy caps are re-derived
from the data as it is at approval time, and a transient database failure leaves the proposal pending."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError

from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings
from db.engine import get_engine, read_session, write_session
from db.models import (
    AuditEvent,
    CreditLimit,
    Customer,
    Dispute,
    DisputeStatus,
    Invoice,
    PromiseStatus,
    PromiseToPay,
    Proposal,
    StaffUser,
)
from db.queries.proposals import is_transient_error
from tests.support import clock
from tests.test_actions import actor, business_digest, ctx, current_limit, executed_events, scored_customer
from tools.actions import proposals
from tools.actions.definitions import ACTIONS, SetCreditLimit
from tools.actions.proposals import decide_proposal
from tools.registry import call_tool

RACE_PAIRS = 50


def propose_new_limit(url: str, who: str, customer_id: int, new_limit: Decimal) -> Any:
    return call_tool(
        "propose_credit_limit_change",
        {"customer": str(customer_id), "new_limit": str(new_limit), "reason": "bigger orders expected"},
        ctx(url, who),
    )


def events(url: str, proposal_id: int) -> list[str]:
    with read_session(url) as session:
        return list(
            session.scalars(
                select(AuditEvent.event).where(AuditEvent.subject_id == str(proposal_id)).order_by(AuditEvent.sequence)
            )
        )


def status(url: str, proposal_id: int) -> str | None:
    with read_session(url) as session:
        return session.get(Proposal, proposal_id).decision


def current_limit_rows(url: str, customer_id: int) -> list[CreditLimit]:
    with read_session(url) as session:
        return list(
            session.scalars(
                select(CreditLimit).where(CreditLimit.customer_id == customer_id, CreditLimit.valid_to.is_(None))
            )
        )


# --- 1. conflicting approvals: one executes, the other is stale, nothing is lost --------------------------------


@dataclass
class RaceFigures:
    pairs: int = 0
    executed: int = 0
    stale: int = 0
    other: int = 0
    lost_updates: int = 0


def _approve_concurrently(url: str, decisions: list[tuple[int, str]]) -> dict[int, Any]:
    """Approve each (proposal, approver) from its own thread, lined up on a barrier: outcome or error per id."""
    approvers = {who: actor(url, who) for _, who in decisions}
    start = threading.Barrier(len(decisions))
    results: dict[int, Any] = {}

    def approve(proposal_id: int, who: str) -> None:
        start.wait()
        try:
            results[proposal_id] = decide_proposal(url, proposal_id, approvers[who], "approve", via="test")
        except CreditDeskError as error:
            results[proposal_id] = error

    threads = [threading.Thread(target=approve, args=decision) for decision in decisions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_conflicting_limit_approvals_never_lose_an_update(seeded_db_url: str, backend: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    figures = RaceFigures()
    for pair in range(RACE_PAIRS):
        base = current_limit(url, customer.id)
        first = propose_new_limit(url, "avery", customer.id, base + 1000 + pair)
        second = propose_new_limit(url, "ash", customer.id, base + 2000 + pair)
        asked = {first.id: base + 1000 + pair, second.id: base + 2000 + pair}
        results = _approve_concurrently(url, [(first.id, "morgan"), (second.id, "admin")])
        figures.pairs += 1
        winners = [pid for pid, r in results.items() if not isinstance(r, Exception) and r.executed]
        stale = [pid for pid, r in results.items() if isinstance(r, CreditDeskError) and r.code is ErrorCode.STALE]
        figures.executed += len(winners)
        figures.stale += len(stale)
        figures.other += len(results) - len(winners) - len(stale)
        rows = current_limit_rows(url, customer.id)
        executions = {pid: executed_events(url, pid) for pid in asked}
        if (
            len(winners) != 1
            or len(rows) != 1
            or rows[0].amount != asked[winners[0]]
            or rows[0].source != f"proposal:{winners[0]}"
            or sum(executions.values()) != 1
        ):
            figures.lost_updates += 1
            continue
        for loser in stale:
            assert status(url, loser) == "stale" and status(url, winners[0]) == "approved"
            assert "proposal.refused.stale" in events(url, loser) and executions[loser] == 0
    print(f"\n[{backend}] conflicting approvals: {figures}")
    assert figures == RaceFigures(pairs=RACE_PAIRS, executed=RACE_PAIRS, stale=RACE_PAIRS, other=0, lost_updates=0)
    with read_session(url) as session:
        from db.queries.audit import verify_chain

        assert verify_chain(session).intact


def test_the_write_itself_compares_and_sets(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even if the lock and the staleness check were bypassed, the limit write refuses to replace a limit other than
    the one the proposal was computed from, and nothing of the attempt is kept."""
    url = seeded_db_url
    customer = scored_customer(url)
    base = current_limit(url, customer.id)
    older = propose_new_limit(url, "avery", customer.id, base + 1000)
    newer = propose_new_limit(url, "ash", customer.id, base + 3000)
    decide_proposal(url, newer.id, actor(url, "admin"), "approve", via="test")
    with read_session(url) as session:
        recorded = session.get(Proposal, older.id).read_versions
    monkeypatch.setattr(SetCreditLimit, "lock", lambda self, session, proposal: None)
    monkeypatch.setattr(SetCreditLimit, "current_versions", lambda self, session, proposal: recorded)
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, older.id, actor(url, "admin"), "approve", via="test")
    assert refused.value.code is ErrorCode.STALE and "changed since" in refused.value.message
    assert business_digest(url) == before
    assert status(url, older.id) == "stale" and executed_events(url, older.id) == 0
    assert [row.amount for row in current_limit_rows(url, customer.id)] == [base + 3000]


# --- 2. role and caps re-derived at approval time ---------------------------------------------------------------


def test_a_customer_that_became_class_e_needs_the_role_the_matrix_requires_now(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    proposal = propose_new_limit(url, "avery", customer.id, current_limit(url, customer.id) + 5000)
    assert proposal.required_role in ("credit_analyst", "credit_manager")
    with write_session(url) as session:
        session.execute(update(Customer).where(Customer.id == customer.id).values(risk_class="E"))
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert refused.value.code is ErrorCode.FORBIDDEN and "needs an admin" in refused.value.message
    assert business_digest(url) == before
    assert status(url, proposal.id) is None  # still pending for an admin
    assert "proposal.refused.forbidden" in events(url, proposal.id)
    outcome = decide_proposal(url, proposal.id, actor(url, "admin"), "approve", via="test")
    assert outcome.executed


def _customer_without_open_promises(url: str, skip: int = 0) -> Customer:
    with read_session(url) as session:
        open_promise = select(PromiseToPay.customer_id).where(PromiseToPay.status == PromiseStatus.OPEN)
        query = (
            select(Customer)
            .join(Invoice, Invoice.customer_id == Customer.id)
            .where(Invoice.settled_dn.is_(None), Customer.id.not_in(open_promise))
            .group_by(Customer.id)
            .having(func.sum(Invoice.open_amount) > 1000)
            .order_by(Customer.id)
        )
        found = list(session.scalars(query.offset(skip).limit(1)))
    assert found, "the seeded portfolio has such a customer"
    return found[0]


def _promise(url: str, who: str, customer: Customer, days: int, amount: str = "50") -> Any:
    return call_tool(
        "log_promise_to_pay",
        {
            "customer": str(customer.id),
            "amount": amount,
            "promised_date": (clock.today() + timedelta(days=days)).isoformat(),
        },
        ctx(url, who),
    )


def open_promises(url: str, customer_id: int) -> int:
    with read_session(url) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    PromiseToPay.customer_id == customer_id, PromiseToPay.status == PromiseStatus.OPEN
                )
            )
            or 0
        )


def test_four_pending_promises_approved_one_by_one_stop_at_the_cap(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = _customer_without_open_promises(url)
    pending = [_promise(url, "avery", customer, days=40) for _ in range(4)]
    assert [p.status for p in pending] == ["pending"] * 4  # each was within the cap when it was made
    for proposal in pending[:3]:
        assert decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test").executed
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, pending[3].id, actor(url, "morgan"), "approve", via="test")
    assert refused.value.code is ErrorCode.STALE
    assert "already has 3 open promises (policy maximum 3)" in refused.value.message
    assert business_digest(url) == before
    assert open_promises(url, customer.id) == 3
    assert status(url, pending[3].id) == "stale" and "proposal.refused.stale" in events(url, pending[3].id)


def test_a_promise_larger_than_what_is_still_open_is_refused_at_approval(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = _customer_without_open_promises(url)
    proposal = _promise(url, "avery", customer, days=40, amount="900")
    with write_session(url) as session:  # most of the balance was paid meanwhile
        session.execute(
            update(Invoice)
            .where(Invoice.customer_id == customer.id, Invoice.settled_dn.is_(None))
            .values(open_amount=Decimal("1.00"))
        )
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert refused.value.code is ErrorCode.STALE and "now exceeds" in refused.value.message
    assert status(url, proposal.id) == "stale" and open_promises(url, customer.id) == 0


def test_concurrent_auto_approved_promises_respect_the_cap(seeded_db_url: str) -> None:
    """Two promises auto-approved by policy at the same moment for a customer one short of the cap: one only."""
    url = seeded_db_url
    for round_ in range(3):
        customer = _customer_without_open_promises(url, skip=round_)
        with write_session(url) as session:  # casey's account, so her small near-term promises are auto-approved
            casey = session.scalars(select(StaffUser.id).where(StaffUser.name == "casey")).one()
            session.execute(update(Customer).where(Customer.id == customer.id).values(collector_id=casey))
        for _ in range(2):
            assert _promise(url, "casey", customer, days=7).status == "approved"
        start = threading.Barrier(2)
        results: list[Any] = []

        def log_one(customer: Customer = customer, start: threading.Barrier = start, results: list = results) -> None:
            start.wait()
            try:
                results.append(_promise(url, "casey", customer, days=7))
            except CreditDeskError as error:
                results.append(error)

        threads = [threading.Thread(target=log_one) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        approved = [r for r in results if not isinstance(r, Exception) and r.status == "approved"]
        refused = [r for r in results if isinstance(r, CreditDeskError)]
        assert len(approved) == 1 and len(refused) == 1, results
        assert "open promises (policy maximum 3)" in refused[0].message
        assert open_promises(url, customer.id) == 3


def test_write_off_role_follows_the_amount_at_approval_time(seeded_db_url: str) -> None:
    url = seeded_db_url
    with read_session(url) as session:
        dispute = session.scalars(
            select(Dispute).where(Dispute.status == DisputeStatus.OPEN).order_by(Dispute.id)
        ).first()
    assert dispute is not None
    reporting = get_settings().reporting_currency
    with write_session(url) as session:
        session.execute(
            update(Dispute).where(Dispute.id == dispute.id).values(amount=Decimal("2000"), currency=reporting)
        )
    args = {"dispute_id": dispute.id, "status": "resolved", "resolution": "credit note issued", "write_off": True}
    small = call_tool("propose_dispute_update", args, ctx(url, "ash"))
    assert small.required_role == "credit_manager" and small.authority_amount == Decimal("2000.00")
    with write_session(url) as session:  # the disputed amount grew past the manager's write-off authority
        session.execute(update(Dispute).where(Dispute.id == dispute.id).values(amount=Decimal("50000")))
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, small.id, actor(url, "morgan"), "approve", via="test")
    assert refused.value.code is ErrorCode.FORBIDDEN and "needs an admin" in refused.value.message
    assert status(url, small.id) is None
    assert decide_proposal(url, small.id, actor(url, "admin"), "approve", via="test").executed


def test_every_action_rederives_its_role_and_caps() -> None:
    for action in ACTIONS.values():
        assert "current_role" in type(action).__dict__, action.name
        assert "revalidate" in type(action).__dict__, action.name


# --- 3. transient database failures leave the proposal pending ----------------------------------------------------


def _operational(orig: BaseException, *, invalidated: bool = False) -> OperationalError:
    return OperationalError("UPDATE credit_limit …", {}, orig, connection_invalidated=invalidated)


TRANSIENT: dict[str, Callable[[], BaseException]] = {
    "pg-lock-timeout": lambda: _operational(psycopg.errors.LockNotAvailable("canceling statement due to lock timeout")),
    "pg-serialization": lambda: _operational(psycopg.errors.SerializationFailure("could not serialize access")),
    "pg-deadlock": lambda: _operational(psycopg.errors.DeadlockDetected("deadlock detected")),
    "connection-dropped": lambda: _operational(Exception("server closed the connection"), invalidated=True),
    "sqlite-locked": lambda: _operational(sqlite3.OperationalError("database is locked")),
}


def test_transient_errors_are_told_from_permanent_ones() -> None:
    for name, make in TRANSIENT.items():
        assert is_transient_error(make()), name
    assert not is_transient_error(IntegrityError("INSERT …", {}, Exception("duplicate key")))
    assert not is_transient_error(_operational(sqlite3.OperationalError("no such table: credit_limit")))
    assert not is_transient_error(RuntimeError("bug"))


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(proposals, "DECISION_LOCK_TIMEOUT", timedelta(milliseconds=300))
    monkeypatch.setattr(proposals, "DECISION_RETRY_BUDGET", timedelta(seconds=5))


@pytest.mark.parametrize("failure", sorted(TRANSIENT))
def test_a_transient_failure_leaves_the_proposal_pending(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch, quick_retries: None, failure: str
) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    base = current_limit(url, customer.id)
    proposal = propose_new_limit(url, "avery", customer.id, base + 4000)
    attempts: list[int] = []
    real_execute = SetCreditLimit.execute

    def failing(self: SetCreditLimit, session: Any, proposal: Any, decider: Any) -> dict[str, Any]:
        attempts.append(1)
        raise TRANSIENT[failure]()

    monkeypatch.setattr(SetCreditLimit, "execute", failing)
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as deferred:
        decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert deferred.value.code is ErrorCode.CONFLICT and "try again" in deferred.value.message
    assert "still pending" in deferred.value.message and deferred.value.details["retry"] is True
    assert "could not be applied" not in deferred.value.message
    assert len(attempts) == proposals.DECISION_ATTEMPTS  # retried, each attempt rolled back whole
    assert business_digest(url) == before
    assert status(url, proposal.id) is None
    assert not {"proposal.failed", "proposal.executed", "proposal.approved"} & set(events(url, proposal.id))

    monkeypatch.setattr(SetCreditLimit, "execute", real_execute)  # the database is back
    outcome = decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert outcome.executed and current_limit(url, customer.id) == base + 4000
    assert executed_events(url, proposal.id) == 1


def test_a_transient_failure_that_clears_is_retried_to_success(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch, quick_retries: None
) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    base = current_limit(url, customer.id)
    proposal = propose_new_limit(url, "avery", customer.id, base + 4000)
    real_execute = SetCreditLimit.execute
    failures = [TRANSIENT["pg-deadlock"]()]

    def flaky(self: SetCreditLimit, session: Any, proposal: Any, decider: Any) -> dict[str, Any]:
        if failures:
            raise failures.pop()
        return real_execute(self, session, proposal, decider)

    monkeypatch.setattr(SetCreditLimit, "execute", flaky)
    outcome = decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert outcome.executed and current_limit(url, customer.id) == base + 4000
    assert executed_events(url, proposal.id) == 1 and len(current_limit_rows(url, customer.id)) == 1


def test_a_permanent_failure_still_marks_the_proposal_failed(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    proposal = propose_new_limit(url, "avery", customer.id, current_limit(url, customer.id) + 4000)

    def broken(self: SetCreditLimit, session: Any, proposal: Any, decider: Any) -> dict[str, Any]:
        raise IntegrityError("INSERT INTO credit_limit …", {}, Exception("check constraint violated"))

    monkeypatch.setattr(SetCreditLimit, "execute", broken)
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as failed:
        decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert failed.value.code is ErrorCode.CONFLICT and "could not be applied" in failed.value.message
    assert business_digest(url) == before
    assert status(url, proposal.id) == "failed" and "proposal.failed" in events(url, proposal.id)


# Row locks and lock_timeout are PostgreSQL's; SQLite's "database is locked" is covered by injection above.
@pytest.mark.parametrize("backend", [pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_lock_held_elsewhere_times_out_into_try_again(seeded_db_url: str, quick_retries: None) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    base = current_limit(url, customer.id)
    proposal = propose_new_limit(url, "avery", customer.id, base + 4000)
    before = business_digest(url)
    with get_engine(url).connect() as holder:  # another session holds the customer's row lock
        holder.execute(text("SELECT id FROM customer WHERE id = :id FOR UPDATE"), {"id": customer.id})
        with pytest.raises(CreditDeskError) as deferred:
            decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
        holder.rollback()
    assert deferred.value.code is ErrorCode.CONFLICT and "try again" in deferred.value.message
    assert business_digest(url) == before and status(url, proposal.id) is None
    assert "proposal.failed" not in events(url, proposal.id)
    outcome = decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert outcome.executed and current_limit(url, customer.id) == base + 4000


# --- the policy's automatic approval applies the proposer's own authority --------------------------------------


def _set_limit(url: str, name: str, limit: Decimal | None) -> None:
    with write_session(url) as session:
        session.execute(update(StaffUser).where(StaffUser.name == name).values(approval_limit=limit))


def test_an_own_promise_above_the_collectors_personal_limit_waits_for_a_human(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = _customer_without_open_promises(url)
    with write_session(url) as session:
        casey = session.scalars(select(StaffUser.id).where(StaffUser.name == "casey")).one()
        session.execute(update(Customer).where(Customer.id == customer.id).values(collector_id=casey))

    _set_limit(url, "casey", Decimal("100000"))
    within = _promise(url, "casey", customer, days=7, amount="500")
    assert within.status == "approved"  # the policy's auto-approval still works within her limit

    _set_limit(url, "casey", Decimal("10"))
    above = _promise(url, "casey", customer, days=7, amount="500")
    assert above.status == "pending" and status(url, above.id) is None
    assert "proposal.executed" not in events(url, above.id)
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, above.id, actor(url, "casey"), "approve", via="test")
    assert "personal approval limit" in refused.value.message
    assert decide_proposal(url, above.id, actor(url, "admin"), "approve", via="test").executed
    assert open_promises(url, customer.id) == 2
