"""list_pending_approvals: proposals waiting for a decision the caller may take, checked against what the approval
path itself allows (on SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session, write_session
from db.models import Role, SalesOrder
from integrations.surface import can_decide
from tests.support import clock
from tests.support import factories as f
from tests.support.read_tools import actor, ctx_for
from tests.support.read_tools import call as call_on
from tests.support.read_tools import refused as refused_on
from tools.actions.proposals import decide_proposal, get_proposal

D = Decimal


def call(url: str, name: str, who: str | None = None, **arguments: Any) -> Any:
    """A tool call on the session's business date (proposals are made and expire by the process clock)."""
    return call_on(url, name, who, today=clock.today(), **arguments)


def refused(url: str, name: str, who: str | None = None, **arguments: Any) -> CreditDeskError:
    return refused_on(url, name, who, today=clock.today(), **arguments)


# --- list_pending_approvals ------------------------------------------------------------------------------------------


@dataclass
class Approvals:
    url: str
    limit_change: int
    release: int
    newer_limit_change: int


@pytest.fixture
def approvals(db_url: str) -> Approvals:
    """A manager-sized limit increase proposed by avery, an order release proposed by sam, and a second increase
    proposed later; `capped` is a credit manager whose personal approval limit is below every increase."""
    with write_session(db_url) as s:
        casey = f.staff(s, "casey", Role.COLLECTOR)
        f.staff(s, "cleo", Role.COLLECTOR)
        for name, role in (("avery", Role.CREDIT_ANALYST), ("ash", Role.CREDIT_ANALYST)):
            f.staff(s, name, role)
        f.staff(s, "morgan", Role.CREDIT_MANAGER)
        f.staff(s, "capped", Role.CREDIT_MANAGER, approval_limit="1000")
        f.staff(s, "sam", Role.SALES)
        who = f.customer(s, "Approval Works", collector=casey, since=date(2020, 1, 1), risk_class="B")
        today = clock.today()
        f.credit_limit(s, who, "10000", since=today - timedelta(days=300), review=today + timedelta(days=200))
        f.order(s, who, "2000", on=today - timedelta(days=2), hold=True)
        held = s.scalars(select(SalesOrder.number)).one()
    first = call(db_url, "propose_credit_limit_change", "avery", customer="approval works", new_limit="60000",
                 reason="seasonal orders")  # fmt: skip
    release = call(db_url, "propose_order_release", "sam", order_number=held, reason="customer paid")
    second = call(db_url, "propose_credit_limit_change", "ash", customer="approval works", new_limit="55000",
                  reason="new contract")  # fmt: skip
    return Approvals(url=db_url, limit_change=first.id, release=release.id, newer_limit_change=second.id)


def test_pending_approvals_for_a_manager_newest_first_and_decidable(approvals: Approvals) -> None:
    r = call(approvals.url, "list_pending_approvals", "morgan")
    ids = [a.id for a in r.approvals]
    assert approvals.limit_change in ids and approvals.newer_limit_change in ids
    assert ids.index(approvals.newer_limit_change) < ids.index(approvals.limit_change)  # newest first
    assert [a.created_at for a in r.approvals] == sorted((a.created_at for a in r.approvals), reverse=True)
    item = next(a for a in r.approvals if a.id == approvals.limit_change)
    assert item.you_may_approve and item.you_may_reject and item.why_not_approve == []
    assert item.authority_amount == D("50000.00") and item.currency == "USD"
    assert item.required_role in {"credit_manager", "credit_analyst"} and item.proposed_by == "avery"
    assert "or above" in item.needs and str(item.authority_amount) in item.needs and item.hours_left > 0
    # Every one listed is one the surfaces offer to decide, and the server lets the manager decide.
    morgan = actor(approvals.url, "morgan")
    with read_session(approvals.url) as s:
        for listed in r.approvals:
            assert can_decide(get_proposal(s, ctx_for(approvals.url, "morgan", clock.today()), listed.id), morgan)
    outcome = decide_proposal(approvals.url, approvals.limit_change, morgan, "approve", via="cli")
    assert outcome.executed
    after = call(approvals.url, "list_pending_approvals", "morgan")
    assert approvals.limit_change not in [a.id for a in after.approvals] and after.total == r.total - 1


def test_pending_approvals_by_kind_and_proposer(approvals: Approvals) -> None:
    limits = call(approvals.url, "list_pending_approvals", "morgan", kind="set_credit_limit")
    assert {a.id for a in limits.approvals} == {approvals.limit_change, approvals.newer_limit_change}
    assert all(a.action == "set_credit_limit" for a in limits.approvals) and limits.total == 2
    by_ash = call(approvals.url, "list_pending_approvals", "morgan", proposed_by="ash")
    assert [a.id for a in by_ash.approvals] == [approvals.newer_limit_change]
    both = call(approvals.url, "list_pending_approvals", "morgan", kind="release_order_hold", proposed_by="ash")
    assert both.approvals == [] and both.total == 0
    assert refused(approvals.url, "list_pending_approvals", "morgan", kind="delete_everything").code == (
        ErrorCode.INVALID_INPUT
    )


def test_pending_approvals_own_proposals_personal_limit_and_collector(approvals: Approvals) -> None:
    mine = call(approvals.url, "list_pending_approvals", "avery")
    own = next(a for a in mine.approvals if a.id == approvals.limit_change)
    assert not own.you_may_approve and own.you_may_reject and own.why_not_approve
    with pytest.raises(CreditDeskError) as caught:
        decide_proposal(approvals.url, approvals.limit_change, actor(approvals.url, "avery"), "approve", via="cli")
    assert caught.value.code is ErrorCode.FORBIDDEN
    # ash's increase is manager-sized: avery (an analyst) may not approve it, so it is not listed for avery.
    assert approvals.newer_limit_change not in [a.id for a in mine.approvals]

    capped = call(approvals.url, "list_pending_approvals", "capped")
    assert approvals.limit_change not in [a.id for a in capped.approvals]
    with pytest.raises(CreditDeskError) as caught:
        decide_proposal(approvals.url, approvals.limit_change, actor(approvals.url, "capped"), "approve", via="cli")
    assert caught.value.code is ErrorCode.FORBIDDEN and "personal approval limit" in caught.value.message

    outside = call(approvals.url, "list_pending_approvals", "cleo")  # not cleo's customer
    assert outside.approvals == [] and outside.note == "nothing is waiting for your decision"
    operator = call(approvals.url, "list_pending_approvals")
    assert operator.approvals == [] and operator.note is not None and "named staff user" in operator.note


def test_pending_approvals_for_sales_are_their_own_without_figures(approvals: Approvals) -> None:
    r = call(approvals.url, "list_pending_approvals", "sam")
    assert [a.id for a in r.approvals] == [approvals.release]
    item = r.approvals[0]
    assert not item.you_may_approve and item.you_may_reject
    assert item.authority_amount is None and item.changes == []
    assert all(ch.isalpha() or ch in " -" for ch in item.why_not_approve[0])  # a role, never an amount
    # An order release on an account in good standing needs a credit analyst: others see it with its changes.
    full = next(a for a in call(approvals.url, "list_pending_approvals", "morgan").approvals if a.id == item.id)
    assert full.you_may_approve and full.required_role == "credit_analyst" and full.changes
    assert approvals.release in [a.id for a in call(approvals.url, "list_pending_approvals", "avery").approvals]
    assert approvals.release not in [a.id for a in call(approvals.url, "list_pending_approvals", "casey").approvals]
    assert call(approvals.url, "list_pending_approvals", "sam", limit=1).shown == 1
    error = refused(approvals.url, "list_pending_approvals", "sam", limit=0)
    assert error.code is ErrorCode.INVALID_INPUT
