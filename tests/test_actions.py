"""Guarded actions: every write is a proposal; a human decides; the server re-checks and executes exactly once."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from sqlalchemy import func, select, text, update

from core.dates import utcnow
from core.errors import CreditDeskError, ErrorCode
from db.base import Base
from db.engine import read_session, write_session
from db.models import (
    AuditEvent,
    CollectionActivity,
    CreditLimit,
    Customer,
    Dispute,
    DisputeStatus,
    DunningOutbox,
    Invoice,
    PromiseStatus,
    PromiseToPay,
    Proposal,
    Role,
    SalesOrder,
    StaffUser,
)
from db.queries.audit import verify_chain
from tests.support import clock
from tests.support.paths import IBM_SAMPLE
from tools.actions.definitions import ACTIONS
from tools.actions.proposals import decide_proposal, simulate_proposal
from tools.context import Actor, ToolContext
from tools.registry import call_tool, get_registry

GOVERNANCE = {"proposal", "audit_event", "audit_head", "ar_snapshot", "ar_snapshot_run", "credit_score"}


def business_digest(url: str) -> str:
    """A hash over every business table's rows: equal digests mean nothing changed."""
    digest = hashlib.sha256()
    with read_session(url) as session:
        for table in Base.metadata.sorted_tables:
            if table.name in GOVERNANCE:
                continue
            for row in session.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def actor(url: str, name: str) -> Actor:
    with read_session(url) as session:
        return Actor.from_user(session.scalars(select(StaffUser).where(StaffUser.name == name)).one())


def ctx(url: str, name: str, conversation: str | None = None) -> ToolContext:
    return ToolContext(actor=actor(url, name), database_url=url, conversation_id=conversation)


def scored_customer(url: str, classes: tuple[str, ...] = ("A", "B", "C")) -> Customer:
    """A low-risk customer in USD whose limit leaves room under the credit manager's tier (new limit ≤ 500,000)."""
    with read_session(url) as session:
        return session.scalars(
            select(Customer)
            .join(CreditLimit, (CreditLimit.customer_id == Customer.id) & CreditLimit.valid_to.is_(None))
            .where(Customer.risk_class.in_(classes), Customer.currency == "USD", CreditLimit.amount <= 300000)
            .order_by(Customer.id)
            .limit(1)
        ).one()


def current_limit(url: str, customer_id: int) -> Decimal:
    with read_session(url) as session:
        return session.scalars(
            select(CreditLimit.amount).where(CreditLimit.customer_id == customer_id, CreditLimit.valid_to.is_(None))
        ).one()


def executed_events(url: str, proposal_id: int) -> int:
    with read_session(url) as session:
        return int(
            session.scalar(
                select(func.count()).where(
                    AuditEvent.event == "proposal.executed", AuditEvent.subject_id == str(proposal_id)
                )
            )
            or 0
        )


def propose_limit(url: str, who: str, customer: Customer, increase: str, conversation: str | None = None) -> Any:
    new = current_limit(url, customer.id) + Decimal(increase)
    return call_tool(
        "propose_credit_limit_change",
        {"customer": str(customer.id), "new_limit": str(new), "reason": "bigger orders expected"},
        ctx(url, who, conversation),
    )


# --- every write tool only proposes ---------------------------------------------------------------------


def test_every_write_tool_is_a_proposal_tool() -> None:
    writes = {name: spec for name, spec in get_registry().items() if spec.kind == "write"}
    assert set(writes) == {action.tool_name for action in ACTIONS.values()}
    assert set(writes) >= {
        "propose_credit_limit_change",
        "propose_order_hold",
        "propose_order_release",
        "log_promise_to_pay",
        "propose_dispute_update",
        "propose_dunning_send",
        "propose_collector_assignment",
        "add_note",
    }
    for spec in writes.values():
        assert spec.fn.__qualname__ == "_proposal_tool.<locals>.propose", spec.name
        assert "changes nothing by itself" in spec.description


def _write_tool_arguments(url: str) -> dict[str, dict[str, Any]]:
    today = clock.today()
    with read_session(url) as session:
        customer = session.scalars(
            select(Customer).where(Customer.risk_class.is_not(None)).order_by(Customer.id)
        ).first()
        open_order = session.scalars(
            select(SalesOrder).where(SalesOrder.status == "open", SalesOrder.on_hold.is_(False)).order_by(SalesOrder.id)
        ).first()
        held = session.scalars(
            select(SalesOrder).where(SalesOrder.status == "open", SalesOrder.on_hold.is_(True)).order_by(SalesOrder.id)
        ).first()
        dispute = session.scalars(
            select(Dispute).where(Dispute.status == DisputeStatus.OPEN).order_by(Dispute.id)
        ).first()
        debtor = session.scalars(
            select(Customer)
            .join(Invoice, Invoice.customer_id == Customer.id)
            .where(Invoice.settled_dn.is_(None), Invoice.amount > 100)
            .order_by(Customer.id)
        ).first()
        other = session.scalars(select(StaffUser.name).where(StaffUser.name == "cleo")).one()
    assert customer and open_order and held and dispute and debtor
    limit = current_limit(url, customer.id)
    return {
        "propose_credit_limit_change": {"customer": str(customer.id), "new_limit": str(limit + 1000), "reason": "test"},
        "propose_order_hold": {"order_number": open_order.number, "reason": "overdue balance"},
        "propose_order_release": {"order_number": held.number, "reason": "paid"},
        "log_promise_to_pay": {
            "customer": str(debtor.id),
            "amount": "50",
            "promised_date": (today + timedelta(days=40)).isoformat(),
        },
        "propose_dispute_update": {"dispute_id": dispute.id, "status": "in_review"},
        "propose_collector_assignment": {"customer": str(customer.id), "collector": other},
        "add_note": {"customer": str(customer.id), "text": "spoke to AP"},
    }


def test_write_tools_change_no_business_table(seeded_db_url: str) -> None:
    url = seeded_db_url
    arguments = _write_tool_arguments(url)
    for tool_name, args in arguments.items():
        before = business_digest(url)
        result = call_tool(tool_name, args, ctx(url, "morgan"))
        if tool_name == "add_note":  # auto-approved by policy, still a proposal with an audit trail
            assert result.status == "approved" and result.decided_via == "policy"
            continue
        assert result.status == "pending", tool_name
        assert business_digest(url) == before, f"{tool_name} changed business data"
    with read_session(url) as session:
        assert session.scalar(select(func.count()).select_from(Proposal)) == len(arguments)


# --- the decision flow ----------------------------------------------------------------------------------


def test_limit_change_is_approved_once_with_audit(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    before = current_limit(url, customer.id)
    proposal = propose_limit(url, "avery", customer, "20000")
    assert proposal.required_role in ("credit_analyst", "credit_manager") and proposal.four_eyes
    assert current_limit(url, customer.id) == before  # proposing changed nothing

    first = decide_proposal(url, proposal.id, actor(url, "morgan"), "approve", via="test")
    assert first.executed and first.proposal.status == "approved"
    assert current_limit(url, customer.id) == before + Decimal("20000")
    again = decide_proposal(url, proposal.id, actor(url, "admin"), "approve", via="test")
    assert again.already_decided and not again.executed and "already approved by morgan" in again.message
    assert executed_events(url, proposal.id) == 1
    with read_session(url) as session:
        assert verify_chain(session).intact
        limits = session.scalars(select(CreditLimit).where(CreditLimit.customer_id == customer.id)).all()
        assert sum(1 for limit in limits if limit.valid_to is None) == 1


def test_same_conversation_retry_returns_the_same_proposal(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    first = propose_limit(url, "avery", customer, "1000", conversation="slack:T1:C1:123.45")
    second = propose_limit(url, "avery", customer, "1000", conversation="slack:T1:C1:123.45")
    assert first.id == second.id


@pytest.mark.parametrize(
    ("proposer", "decider", "message"),
    [
        ("morgan", "morgan", "four-eyes"),  # may not approve one's own limit change
        ("avery", "casey", "needs"),  # a collector may not approve a limit change
        ("avery", "sam", "needs"),  # nor may sales
    ],
)
def test_refused_decisions_change_nothing(seeded_db_url: str, proposer: str, decider: str, message: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    proposal = propose_limit(url, proposer, customer, "5000")
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, proposal.id, actor(url, decider), "approve", via="test")
    assert refused.value.code is ErrorCode.FORBIDDEN and message in refused.value.message
    assert business_digest(url) == before
    with read_session(url) as session:
        assert session.get(Proposal, proposal.id).decision is None  # still pending for a proper approver
        events = {e.event for e in session.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(proposal.id)))}
        assert "proposal.refused.forbidden" in events


def test_personal_approval_limit_and_role_ceiling(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    with write_session(url) as session:
        session.execute(update(StaffUser).where(StaffUser.name == "ash").values(approval_limit=Decimal("1000")))
    proposal = propose_limit(url, "avery", customer, "5000")
    if proposal.required_role == "credit_analyst":
        with pytest.raises(CreditDeskError, match="personal approval limit"):
            decide_proposal(url, proposal.id, actor(url, "ash"), "approve", via="test")
    big = propose_limit(url, "avery", customer, "60000")  # above the analyst ceiling of 25,000
    assert big.required_role != "credit_analyst"
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, big.id, actor(url, "ash"), "approve", via="test")
    assert refused.value.code is ErrorCode.FORBIDDEN


def test_expired_proposal_cannot_be_approved(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    proposal = propose_limit(url, "avery", customer, "5000")
    with write_session(url) as session:
        session.execute(
            update(Proposal).where(Proposal.id == proposal.id).values(expires_at=utcnow() - timedelta(minutes=1))
        )
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, proposal.id, actor(url, "admin"), "approve", via="test")
    assert refused.value.code is ErrorCode.EXPIRED and "expired" in refused.value.message
    assert business_digest(url) == before
    with read_session(url) as session:
        assert session.get(Proposal, proposal.id).decision == "expired"


def test_stale_proposal_is_refused_with_the_reason(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    older = propose_limit(url, "avery", customer, "5000")
    newer = propose_limit(url, "ash", customer, "7000")
    decide_proposal(url, newer.id, actor(url, "admin"), "approve", via="test")
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as refused:
        decide_proposal(url, older.id, actor(url, "admin"), "approve", via="test")
    assert refused.value.code is ErrorCode.STALE and "changed since it was made" in refused.value.message
    assert business_digest(url) == before
    with read_session(url) as session:
        assert session.get(Proposal, older.id).decision == "stale"


@pytest.mark.parametrize(
    ("tool", "args", "code"),
    [
        (
            "propose_credit_limit_change",
            {"customer": "1", "new_limit": "-5", "reason": "x" * 5},
            ErrorCode.INVALID_INPUT,
        ),
        (
            "propose_credit_limit_change",
            {"customer": "1", "new_limit": "1e13", "reason": "big"},
            ErrorCode.INVALID_INPUT,
        ),
        (
            "propose_credit_limit_change",
            {"customer": "1", "new_limit": "5000000000", "reason": "big"},
            ErrorCode.INVALID_INPUT,
        ),
        (
            "propose_credit_limit_change",
            {"customer": "1", "new_limit": "5000", "currency": "JPY", "reason": "fx"},
            ErrorCode.INVALID_INPUT,
        ),
        (
            "propose_credit_limit_change",
            {"customer": "1", "new_limit": "5000", "currency": "ZZZ", "reason": "fx"},
            ErrorCode.INVALID_INPUT,
        ),
        (
            "propose_credit_limit_change",
            {"customer": "nobody at all", "new_limit": "5000", "reason": "why"},
            ErrorCode.NOT_FOUND,
        ),
        ("propose_credit_limit_change", {"customer": "1", "new_limit": "5000"}, ErrorCode.INVALID_INPUT),
        ("propose_dispute_update", {"dispute_id": "abc", "status": "resolved"}, ErrorCode.INVALID_INPUT),
        ("propose_dispute_update", {"dispute_id": -1, "status": "in_review"}, ErrorCode.INVALID_INPUT),
        ("propose_dispute_update", {"dispute_id": 999999, "status": "in_review"}, ErrorCode.NOT_FOUND),
        ("propose_order_hold", {"order_number": "SO-NOPE", "reason": "why not"}, ErrorCode.NOT_FOUND),
        (
            "log_promise_to_pay",
            {"customer": "1", "amount": "0", "promised_date": "2030-01-01"},
            ErrorCode.INVALID_INPUT,
        ),
        (
            "log_promise_to_pay",
            {"customer": "1", "amount": "100", "promised_date": "2001-01-01"},
            ErrorCode.INVALID_INPUT,
        ),
        (
            "log_promise_to_pay",
            {"customer": "1", "amount": "999999999", "promised_date": "2030-01-01"},
            ErrorCode.INVALID_INPUT,
        ),
        ("propose_collector_assignment", {"customer": "1", "collector": "morgan"}, ErrorCode.INVALID_INPUT),
        ("add_note", {"customer": "1", "text": ""}, ErrorCode.INVALID_INPUT),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(seeded_db_url: str, tool: str, args: dict, code: ErrorCode) -> None:
    url = seeded_db_url
    before = business_digest(url)
    with pytest.raises(CreditDeskError) as refused:
        call_tool(tool, args, ctx(url, "morgan"))
    assert refused.value.code is code, refused.value.message
    assert business_digest(url) == before
    with read_session(url) as session:
        assert session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_two_approvers_at_once_execute_once(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    proposal = propose_limit(url, "avery", customer, "3000")
    approvers = [actor(url, "morgan"), actor(url, "admin")]
    start = threading.Barrier(len(approvers))
    outcomes: list[Any] = []

    def approve(who: Actor) -> None:
        start.wait()
        outcomes.append(decide_proposal(url, proposal.id, who, "approve", via="test"))

    threads = [threading.Thread(target=approve, args=(who,)) for who in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(o.executed for o in outcomes) == [False, True]
    assert executed_events(url, proposal.id) == 1
    with read_session(url) as session:
        new_limits = session.scalar(
            select(func.count()).where(
                CreditLimit.customer_id == customer.id, CreditLimit.source == f"proposal:{proposal.id}"
            )
        )
        assert new_limits == 1
        assert verify_chain(session).intact


def test_order_hold_release_promise_dispute_dunning_assignment(seeded_db_url: str) -> None:
    url = seeded_db_url
    args = _write_tool_arguments(url)
    hold = call_tool("propose_order_hold", args["propose_order_hold"], ctx(url, "ash"))
    decide_proposal(url, hold.id, actor(url, "avery"), "approve", via="test")
    with read_session(url) as session:
        order = session.scalars(
            select(SalesOrder).where(SalesOrder.number == args["propose_order_hold"]["order_number"])
        ).one()
        assert order.on_hold and order.hold_reason == "overdue balance"

    dispute = call_tool(
        "propose_dispute_update",
        {**args["propose_dispute_update"], "status": "resolved", "resolution": "credit note issued"},
        ctx(url, "ash"),
    )
    decide_proposal(url, dispute.id, actor(url, "ash"), "approve", via="test")
    with read_session(url) as session:
        row = session.get(Dispute, args["propose_dispute_update"]["dispute_id"])
        assert row.status == DisputeStatus.RESOLVED and row.resolved_at is not None

    assign = call_tool("propose_collector_assignment", args["propose_collector_assignment"], ctx(url, "avery"))
    with pytest.raises(CreditDeskError):  # collector assignment needs a credit manager
        decide_proposal(url, assign.id, actor(url, "ash"), "approve", via="test")
    decide_proposal(url, assign.id, actor(url, "morgan"), "approve", via="test")

    promise = call_tool("log_promise_to_pay", args["log_promise_to_pay"], ctx(url, "avery"))
    assert promise.status == "pending"  # 40 days out is beyond the auto-approval window
    decide_proposal(url, promise.id, actor(url, "avery"), "approve", via="test")
    with read_session(url) as session:
        assert (
            session.scalar(
                select(func.count()).where(
                    PromiseToPay.status == PromiseStatus.OPEN, PromiseToPay.amount == Decimal("50")
                )
            )
            >= 1
        )
        assert verify_chain(session).intact


def test_small_promise_by_the_owning_collector_is_auto_approved(seeded_db_url: str) -> None:
    url = seeded_db_url
    with read_session(url) as session:
        casey = session.scalars(select(StaffUser).where(StaffUser.name == "casey")).one()
        customer = session.scalars(
            select(Customer)
            .join(Invoice, Invoice.customer_id == Customer.id)
            .where(Customer.collector_id == casey.id, Invoice.settled_dn.is_(None), Invoice.open_amount > 200)
            .order_by(Customer.id)
        ).first()
    assert customer is not None
    result = call_tool(
        "log_promise_to_pay",
        {
            "customer": str(customer.id),
            "amount": "100",
            "promised_date": (clock.today() + timedelta(days=7)).isoformat(),
        },
        ctx(url, "casey"),
    )
    assert result.status == "approved" and result.decided_via == "policy"
    assert executed_events(url, result.id) == 1


def test_dunning_send_queues_exactly_the_drafted_letter(seeded_db_url: str) -> None:
    url = seeded_db_url
    sent = None
    with read_session(url) as session:
        candidates = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    for customer_id in candidates:
        draft = call_tool("draft_dunning_message", {"customer": str(customer_id)}, ctx(url, "avery"))
        if draft.should_send and draft.to_email:
            sent = call_tool("propose_dunning_send", {"customer": str(customer_id)}, ctx(url, "avery"))
            break
    assert sent is not None
    decide_proposal(url, sent.id, actor(url, "avery"), "approve", via="test")
    with read_session(url) as session:
        outbox = session.scalars(select(DunningOutbox).where(DunningOutbox.proposal_id == sent.id)).one()
        assert outbox.status == "queued" and outbox.subject == draft.subject and outbox.body == draft.body
        assert (
            session.scalar(
                select(func.count()).where(
                    CollectionActivity.customer_id == customer_id,
                    CollectionActivity.kind == "dunning",
                    CollectionActivity.notes.contains(f"proposal #{sent.id}"),
                )
            )
            == 1
        )


def test_simulation_writes_nothing(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    proposal = propose_limit(url, "avery", customer, "50000")
    before = business_digest(url)
    result = simulate_proposal(url, proposal.id, ctx(url, "morgan"))
    assert business_digest(url) == before
    assert result.after["credit_limit"] == result.before["credit_limit"] + Decimal("50000")
    if result.before["utilisation_pct"] is not None:
        assert result.after["utilisation_pct"] < result.before["utilisation_pct"]
    with read_session(url) as session:
        assert session.get(Proposal, proposal.id).decision is None


def test_collectors_cannot_act_outside_their_book_and_denials_are_audited(seeded_db_url: str) -> None:
    url = seeded_db_url
    with read_session(url) as session:
        casey = session.scalars(select(StaffUser).where(StaffUser.name == "casey")).one()
        foreign = session.scalars(
            select(Customer).where(Customer.collector_id != casey.id).order_by(Customer.id)
        ).first()
    with pytest.raises(CreditDeskError) as refused:
        call_tool("add_note", {"customer": str(foreign.id), "text": "hello"}, ctx(url, "casey"))
    assert refused.value.code is ErrorCode.NOT_FOUND and foreign.name not in refused.value.message
    with pytest.raises(CreditDeskError):
        call_tool(
            "propose_credit_limit_change", {"customer": "1", "new_limit": "1", "reason": "raise"}, ctx(url, "sam")
        )
    with read_session(url) as session:
        denied = session.scalars(select(AuditEvent).where(AuditEvent.event == "access.denied")).all()
        assert {e.actor_name for e in denied} == {"casey", "sam"}
        assert session.scalar(select(func.count()).select_from(Proposal)) == 0


def test_audit_verify_detects_edits_and_deletions(seeded_db_url: str) -> None:
    url = seeded_db_url
    customer = scored_customer(url)
    for step in range(3):
        propose_limit(url, "avery", customer, str(1000 + step))
    with read_session(url) as session:
        assert verify_chain(session).intact and verify_chain(session).events >= 3
    with write_session(url) as session:
        session.execute(text("UPDATE audit_event SET actor_name = 'mallory' WHERE sequence = 2"))
    with read_session(url) as session:
        report = verify_chain(session)
        assert not report.intact and any("edited" in p.problem for p in report.problems)
    with write_session(url) as session:
        session.execute(text("UPDATE audit_event SET actor_name = 'avery' WHERE sequence = 2"))
        session.execute(text("DELETE FROM audit_event WHERE sequence = 2"))
    with read_session(url) as session:
        report = verify_chain(session)
        assert not report.intact and any("missing" in p.problem for p in report.problems)


def test_deleting_the_newest_event_is_detected(seeded_db_url: str) -> None:
    url = seeded_db_url
    propose_limit(url, "avery", scored_customer(url), "1000")
    with write_session(url) as session:
        last = session.scalar(select(func.max(AuditEvent.sequence)))
        session.execute(text(f"DELETE FROM audit_event WHERE sequence = {int(last)}"))
    with read_session(url) as session:
        assert not verify_chain(session).intact


def test_roles_are_reranked_only_by_policy() -> None:
    from tools.policy import load_policy

    authority = load_policy().authority
    assert authority.at_least(Role.ADMIN, Role.CREDIT_MANAGER)
    assert not authority.at_least(Role.COLLECTOR, Role.CREDIT_ANALYST)
    assert not authority.at_least(Role.SALES, Role.COLLECTOR)


def test_seed_and_import_are_audited(db_url: str) -> None:

    from db.demo import SeedOptions, seed_demo_portfolio
    from integrations.importers.importer import import_file

    seed_demo_portfolio(db_url, SeedOptions(customers=5, seed=1), actor="cli:tester")
    import_file(IBM_SAMPLE, "ibm-ar", url=db_url, actor="cli:tester")
    with read_session(db_url) as session:
        events = {e.event: e for e in session.scalars(select(AuditEvent))}
        assert verify_chain(session).intact
    seeded, imported = events["data.seeded"], events["data.imported"]
    assert seeded.actor_name == imported.actor_name == "cli:tester"
    assert seeded.details["customers"] == 5 and seeded.details["rows"]["customer"] == 5
    assert (
        imported.subject_id == "ibm_ar_late_payments.csv" and imported.details["counts"]["invoices"]["created"] == 2466
    )
    assert len(imported.details["sha256"]) == 64


class _FakeSmtp:
    sent: ClassVar[list[Any]] = []

    def __init__(self, host: str, port: int, timeout: int) -> None:
        self.host, self.port = host, port

    def starttls(self) -> None:
        pass

    def login(self, user: str, password: str) -> None:
        pass

    def send_message(self, message: Any) -> None:
        self.sent.append(message)

    def quit(self) -> None:
        pass


def test_outbox_delivery_over_smtp(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import reset_settings
    from tools.actions import outbox

    url = seeded_db_url
    with pytest.raises(CreditDeskError) as unconfigured:
        outbox.deliver_queued_dunning(url)
    assert unconfigured.value.code is ErrorCode.NOT_CONFIGURED
    with read_session(url) as session:
        ids = list(session.scalars(select(Customer.id).order_by(Customer.id)))
    proposal = None
    for customer_id in ids:
        draft = call_tool("draft_dunning_message", {"customer": str(customer_id)}, ctx(url, "avery"))
        if draft.should_send and draft.to_email and draft.channel == "email":
            proposal = call_tool("propose_dunning_send", {"customer": str(customer_id)}, ctx(url, "avery"))
            break
    assert proposal is not None
    decide_proposal(url, proposal.id, actor(url, "avery"), "approve", via="test")
    monkeypatch.setenv("CREDITDESK_SMTP_HOST", "smtp.example.test")
    monkeypatch.setenv("CREDITDESK_SMTP_SENDER", "credit@example.test")
    reset_settings()
    _FakeSmtp.sent = []
    monkeypatch.setattr(outbox.smtplib, "SMTP", _FakeSmtp)
    try:
        run = outbox.deliver_queued_dunning(url)
    finally:
        monkeypatch.delenv("CREDITDESK_SMTP_HOST")
        monkeypatch.delenv("CREDITDESK_SMTP_SENDER")
        reset_settings()
    assert run.sent == 1 and run.failed == 0
    message = _FakeSmtp.sent[0]
    assert message["To"] == draft.to_email and message["Subject"] == draft.subject
    assert message.get_content().strip() == draft.body.strip()
    with read_session(url) as session:
        row = session.scalars(select(DunningOutbox).where(DunningOutbox.proposal_id == proposal.id)).one()
        assert row.status == "sent" and row.sent_at is not None
        assert verify_chain(session).intact


def test_expiry_sweep(seeded_db_url: str) -> None:
    from tools.actions.proposals import expire_overdue_proposals

    url = seeded_db_url
    proposal = propose_limit(url, "avery", scored_customer(url), "1000")
    assert expire_overdue_proposals(url) == 0
    with write_session(url) as session:
        session.execute(
            update(Proposal).where(Proposal.id == proposal.id).values(expires_at=utcnow() - timedelta(hours=1))
        )
    assert expire_overdue_proposals(url) == 1
    with read_session(url) as session:
        assert session.get(Proposal, proposal.id).decision == "expired"
