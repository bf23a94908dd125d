"""build_worklist: handcrafted ledgers whose order and next-best-action are worked out by hand (old and large
before small and recent, broken-promise boost, held back by an open promise, routed to disputes, recent contact,
pre-due call, letter spacing, agency referral, order hold), collector visibility, paging, and the whole demo
portfolio against an independent plain-python scoring of the raw rows (live facts, and snapshot facts with scored
customers). Every database test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

import tools.worklist as worklist_tool
from core.dates import day_number
from core.errors import CreditDeskError, ErrorCode
from core.settings import get_settings, reset_settings
from db.engine import dispose_engine, read_session, write_session
from db.models import (
    ActivityKind,
    ActivityOutcome,
    CollectionActivity,
    Customer,
    Dispute,
    FxRate,
    Invoice,
    PaymentAllocation,
    PromiseStatus,
    PromiseToPay,
    Role,
    StaffUser,
    WorklistRank,
    WorklistRankRun,
)
from db.queries import worklist as worklist_queries
from db.queries.snapshots import facts_select
from db.queries.worklist import EVERY_ACCOUNT, WorklistFilter, rank_worklist
from tests.conftest import DEMO_AS_OF
from tests.support import clock
from tests.support import factories as f
from tests.support.databases import create_pg_database, drop_pg_database, pg_url
from tools.context import Actor, ToolContext
from tools.fx import FxConverter
from tools.maintenance import (
    ensure_today_snapshot,
    refresh_receivable_snapshots,
    refresh_worklist_ranking,
    snapshot_parameters,
    worklist_ranking_is_current,
)
from tools.policy import load_policy
from tools.registry import CREDIT_ROLES, TOOL_MODULES, check_role, parse_arguments
from tools.worklist import (
    AGE_FACTORS,
    CLASS_PROBABILITY,
    NEUTRAL_PROBABILITY,
    RECENT_CONTACT_FACTOR,
    TOOLS,
    Worklist,
    WorklistRow,
    build_worklist,
    current_ranking_model,
    ranking_model,
    reporting_rates,
)

AS_OF = date(2026, 9, 30)
MONTH_END = date(2026, 8, 31)
CENT = Decimal("0.01")


def _call(url: str, actor: Actor | None = None, *, today: date = AS_OF, **arguments: Any) -> Worklist:
    """`call_tool` for this one tool (role check, argument parsing, read-only session), without importing every
    other tool module."""
    ctx = ToolContext(actor=actor or Actor.operator(), database_url=url, today=today)
    check_role(build_worklist, ctx)
    args = parse_arguments(build_worklist, arguments)
    with read_session(url) as session:
        result = build_worklist.fn(session, ctx, args)
    assert isinstance(result, Worklist)
    return result


def test_the_tool_is_registered_as_a_read_tool_for_credit_roles() -> None:
    assert "tools.worklist" in TOOL_MODULES
    assert [build_worklist] == TOOLS
    assert build_worklist.name == "build_worklist"
    assert build_worklist.kind == "read"
    assert build_worklist.roles == CREDIT_ROLES


def _by_name(worklist: Worklist) -> dict[str, WorklistRow]:
    return {row.customer.name: row for row in worklist.rows}


def _names(worklist: Worklist) -> list[str]:
    return [row.customer.name for row in worklist.rows]


def _overdue(session: Session, who: Customer, amount: str, days_past_due: int, *, as_of: date = AS_OF) -> Invoice:
    due = as_of - timedelta(days=days_past_due)
    return f.invoice(session, who, amount, issued=due - timedelta(days=30), due=due)


def _activity(
    session: Session, who: Customer, kind: ActivityKind, on: date, *, level: int | None = None
) -> CollectionActivity:
    row = CollectionActivity(
        customer_id=who.id,
        kind=kind,
        dunning_level=level,
        outcome=ActivityOutcome.SENT if kind == ActivityKind.DUNNING else ActivityOutcome.REACHED,
        performed_at=f.at(on, 10),
    )
    session.add(row)
    session.flush()
    return row


# --- handcrafted ledgers (p = 0.2, the neutral default, unless a class or a probability is set) ------------------


def test_old_large_account_outranks_small_recent_one(db_url: str) -> None:
    with write_session(db_url) as s:
        old = f.customer(s, "Old Large")
        recent = f.customer(s, "Small Recent")
        _overdue(s, recent, "1000.00", 10)
        _overdue(s, old, "50000.00", 100)

    worklist = _call(db_url)

    assert _names(worklist) == ["Old Large", "Small Recent"]
    rows = _by_name(worklist)
    # 50,000 × age 2.5 (91-120 days) × 0.2 = 25,000; 1,000 × age 1.0 (1-30 days) × 0.2 = 200.
    assert rows["Old Large"].score == Decimal("25000.00")
    assert rows["Small Recent"].score == Decimal("200.00")
    assert rows["Old Large"].oldest_days_past_due == 100
    assert rows["Old Large"].next_best_action.action == "refer_to_agency"
    assert rows["Small Recent"].next_best_action.action == "reminder"
    assert rows["Small Recent"].next_best_action.dunning_level == 1
    assert rows["Old Large"].probability_source == "neutral"
    assert worklist.total_ranked == 2
    assert worklist.facts_source == "live"

    why = rows["Old Large"].why
    factors = {factor.factor: factor for factor in why.factors}
    assert factors["age"].value == Decimal("2.5000")
    assert factors["probability"].value == Decimal("0.2000")
    assert factors["probability"].effect == "lowers"
    assert not factors["broken_promise"].applies
    assert sum(factor.share_pct for factor in why.factors) == pytest.approx(100, abs=0.3)
    reference = load_policy().worklist.imminent_due_min_amount
    product = reference
    for factor in why.factors:
        product *= factor.value
    assert product == pytest.approx(rows["Old Large"].score, rel=Decimal("0.001"))
    assert "Ranked 1 of 2" in why.summary

    assert _names(_call(db_url, min_amount=Decimal("5000"))) == ["Old Large"]


def test_same_result_from_a_snapshot(db_url: str) -> None:
    with write_session(db_url) as s:
        first = f.customer(s, "First")
        second = f.customer(s, "Second")
        _overdue(s, first, "12000.00", 45)
        _overdue(s, second, "30000.00", 5)
    live = _call(db_url)
    refresh_receivable_snapshots(db_url, AS_OF)
    snapshot = _call(db_url)

    assert live.facts_source == "live"
    assert snapshot.facts_source == "snapshot"
    assert [(r.customer.id, r.score) for r in snapshot.rows] == [(r.customer.id, r.score) for r in live.rows]
    # 12,000 × 1.5 × 0.2 = 3,600 against 30,000 × 1.0 × 0.2 = 6,000.
    assert _names(snapshot) == ["Second", "First"]


def test_broken_promise_boosts_and_repeated_broken_promises_escalate(db_url: str) -> None:
    with write_session(db_url) as s:
        plain = f.customer(s, "Plain")
        broken = f.customer(s, "Broke One")
        twice = f.customer(s, "Broke Twice")
        for who, amount in ((plain, "10000.00"), (broken, "10000.00"), (twice, "9000.00")):
            _overdue(s, who, amount, 20)
        promised = AS_OF - timedelta(days=10)
        f.promise(
            s, broken, "10000.00", taken=promised - timedelta(days=5), promised=promised,
            status=PromiseStatus.BROKEN, resolved=AS_OF - timedelta(days=7),
        )  # fmt: skip
        for back in (20, 40):
            day = AS_OF - timedelta(days=back)
            f.promise(
                s, twice, "9000.00", taken=day - timedelta(days=5), promised=day,
                status=PromiseStatus.BROKEN, resolved=day + timedelta(days=4),
            )  # fmt: skip
        # A promise broken long ago does not boost.
        old = AS_OF - timedelta(days=120)
        f.promise(
            s, plain, "10000.00", taken=old - timedelta(days=5), promised=old,
            status=PromiseStatus.BROKEN, resolved=old + timedelta(days=4),
        )  # fmt: skip

    worklist = _call(db_url)

    # 10,000 × 1.0 × 0.2 × 1.5 = 3,000; 9,000 × 0.2 × 1.5 = 2,700; 10,000 × 0.2 = 2,000.
    assert _names(worklist) == ["Broke One", "Broke Twice", "Plain"]
    rows = _by_name(worklist)
    assert [rows[n].score for n in ("Broke One", "Broke Twice", "Plain")] == [
        Decimal("3000.00"),
        Decimal("2700.00"),
        Decimal("2000.00"),
    ]
    boost = {factor.factor: factor for factor in rows["Broke One"].why.factors}["broken_promise"]
    assert boost.applies and boost.value == Decimal("1.5000") and boost.effect == "raises"
    assert rows["Broke One"].promises.broken_last_90_days == 1
    assert rows["Broke One"].next_best_action.action == "reminder"
    assert rows["Broke One"].next_best_action.dunning_level == 2
    assert rows["Broke Twice"].next_best_action.action == "escalate"
    assert rows["Broke Twice"].next_best_action.needs_role == "credit_manager"
    assert "2 promises to pay broken" in rows["Broke Twice"].next_best_action.reason


def test_open_promise_not_yet_due_is_held_back(db_url: str) -> None:
    with write_session(db_url) as s:
        waiting = f.customer(s, "Waiting")
        lapsed = f.customer(s, "Lapsed")
        _overdue(s, waiting, "20000.00", 20)
        _overdue(s, lapsed, "20000.00", 20)
        f.promise(s, waiting, "15000.00", taken=AS_OF - timedelta(days=2), promised=AS_OF + timedelta(days=1))
        f.promise(s, lapsed, "15000.00", taken=AS_OF - timedelta(days=9), promised=AS_OF - timedelta(days=5))

    worklist = _call(db_url)

    assert _names(worklist) == ["Lapsed"]
    assert worklist.total_ranked == 1
    assert worklist.held_back.total == 1
    held = worklist.held_back.rows[0]
    assert held.customer.name == "Waiting"
    assert held.promise is not None
    assert held.promise.promised_date == AS_OF + timedelta(days=1)
    assert held.promise.amount == Decimal("15000.00")
    assert held.score_if_ranked == Decimal("4000.00")
    assert held.undisputed_overdue_reporting == Decimal("20000.00")
    lapsed_row = worklist.rows[0]
    assert lapsed_row.next_best_action.action == "call"
    assert "still open past its date" in lapsed_row.next_best_action.reason
    assert [p.promised_date for p in lapsed_row.promises.open] == [AS_OF - timedelta(days=5)]


def test_entirely_disputed_overdue_goes_to_disputes(db_url: str) -> None:
    with write_session(db_url) as s:
        disputed = f.customer(s, "All Disputed")
        mixed = f.customer(s, "Partly Disputed")
        f.dispute(s, _overdue(s, disputed, "5000.00", 30), opened=AS_OF - timedelta(days=50))
        f.dispute(s, _overdue(s, mixed, "5000.00", 30), opened=AS_OF - timedelta(days=10))
        _overdue(s, mixed, "2000.00", 10)

    worklist = _call(db_url)

    assert _names(worklist) == ["Partly Disputed"]
    row = worklist.rows[0]
    assert row.amount_at_risk.undisputed_overdue == Decimal("2000.00")
    assert row.amount_at_risk.disputed_overdue == Decimal("5000.00")
    assert row.oldest_days_past_due == 10  # the oldest undisputed item decides the age
    assert row.score == Decimal("400.00")
    assert row.next_best_action.action == "reminder"
    assert worklist.routed_to_disputes.total == 1
    routed = worklist.routed_to_disputes.rows[0]
    assert routed.customer.name == "All Disputed"
    assert routed.disputed_overdue_reporting == Decimal("5000.00")
    assert routed.active_disputes == 1
    assert routed.oldest_dispute_days == 50
    assert routed.escalation_due


def test_recent_contact_is_penalised_but_a_note_is_not_a_contact(db_url: str) -> None:
    with write_session(db_url) as s:
        called = f.customer(s, "Called Yesterday")
        quiet = f.customer(s, "Quiet")
        noted = f.customer(s, "Noted")
        for who in (called, quiet, noted):
            _overdue(s, who, "10000.00", 20)
        _activity(s, called, ActivityKind.CALL, AS_OF - timedelta(days=1))
        _activity(s, noted, ActivityKind.NOTE, AS_OF - timedelta(days=1))
        # Four days ago is outside the three-day window.
        _activity(s, quiet, ActivityKind.CALL, AS_OF - timedelta(days=4))

    worklist = _call(db_url)

    assert _names(worklist) == ["Quiet", "Noted", "Called Yesterday"]
    rows = _by_name(worklist)
    assert rows["Quiet"].score == rows["Noted"].score == Decimal("2000.00")
    assert rows["Called Yesterday"].score == Decimal("1000.00")
    penalty = {factor.factor: factor for factor in rows["Called Yesterday"].why.factors}["recent_contact"]
    assert penalty.applies and penalty.value == Decimal(str(RECENT_CONTACT_FACTOR)).quantize(Decimal("0.0001"))
    assert rows["Called Yesterday"].last_contact is not None
    assert rows["Called Yesterday"].last_contact.days_ago == 1
    assert rows["Noted"].last_contact is None


def test_pre_due_call_for_a_high_risk_account_with_a_large_amount_falling_due(db_url: str) -> None:
    with write_session(db_url) as s:
        risky = f.customer(s, "Risky D", risk_class="D")
        safe = f.customer(s, "Safe B", risk_class="B")
        small = f.customer(s, "Small E", risk_class="E")
        later = f.customer(s, "Later D", risk_class="D")
        soon = AS_OF + timedelta(days=3)
        for who, amount in ((risky, "30000.00"), (safe, "30000.00"), (small, "10000.00")):
            f.invoice(s, who, amount, issued=soon - timedelta(days=30), due=soon)
        f.invoice(s, later, "30000.00", issued=AS_OF - timedelta(days=20), due=AS_OF + timedelta(days=10))

    worklist = _call(db_url)

    assert _names(worklist) == ["Risky D"]
    row = worklist.rows[0]
    # 30,000 falling due × pre-due weight 0.5 × class D default 0.35 = 5,250.
    assert row.score == Decimal("5250.00")
    assert row.probability_source == "risk_class"
    assert row.oldest_days_past_due is None
    assert row.amount_at_risk.undisputed_overdue == Decimal("0.00")
    assert row.amount_at_risk.pre_due_counted == Decimal("30000.00")
    assert row.next_best_action.action == "pre_due_call"
    assert _names(_call(db_url, risk_classes=["B", "E"])) == []
    assert _names(_call(db_url, risk_class="D")) == ["Risky D"]


def test_a_letter_sent_two_days_ago_means_a_call_not_a_reminder(db_url: str) -> None:
    with write_session(db_url) as s:
        fresh = f.customer(s, "Letter Two Days Ago")
        due = f.customer(s, "Letter Ten Days Ago")
        sent = f.customer(s, "Level Two Already Sent")
        for who in (fresh, due, sent):
            _overdue(s, who, "20000.00", 20)
        _activity(s, fresh, ActivityKind.DUNNING, AS_OF - timedelta(days=2), level=1)
        _activity(s, due, ActivityKind.DUNNING, AS_OF - timedelta(days=10), level=1)
        _activity(s, sent, ActivityKind.DUNNING, AS_OF - timedelta(days=10), level=2)

    rows = _by_name(_call(db_url))

    fresh_action = rows["Letter Two Days Ago"].next_best_action
    assert fresh_action.action == "call"
    assert "2 day(s) ago" in fresh_action.reason
    assert rows["Letter Two Days Ago"].last_letter is not None
    assert rows["Letter Two Days Ago"].last_letter.level == 1
    # The letter is also a contact: the account is penalised.
    assert rows["Letter Two Days Ago"].score == Decimal("2000.00")
    assert rows["Letter Ten Days Ago"].next_best_action.action == "reminder"
    assert rows["Letter Ten Days Ago"].next_best_action.dunning_level == 2
    assert rows["Level Two Already Sent"].next_best_action.action == "call"
    assert "already went out" in rows["Level Two Already Sent"].next_best_action.reason


def test_dunning_ladder_final_notice_and_agency_referral(db_url: str) -> None:
    with write_session(db_url) as s:
        _overdue(s, f.customer(s, "Forty Days"), "1000.00", 40)
        _overdue(s, f.customer(s, "Seventy Days"), "1000.00", 70)
        _overdue(s, f.customer(s, "Ninety Five Days"), "1000.00", 95)

    rows = _by_name(_call(db_url))

    forty = rows["Forty Days"].next_best_action
    assert (forty.action, forty.dunning_level, forty.needs_role) == ("final_notice", 3, "credit_analyst")
    seventy = rows["Seventy Days"].next_best_action
    assert (seventy.action, seventy.dunning_level) == ("final_notice", 4)
    assert rows["Ninety Five Days"].next_best_action.action == "refer_to_agency"
    assert "95 days past due" in rows["Ninety Five Days"].next_best_action.reason


def test_order_hold_when_status_is_hold_and_orders_are_not_held(db_url: str) -> None:
    with write_session(db_url) as s:
        over = f.customer(s, "Over Limit")
        held = f.customer(s, "Already Held")
        fine = f.customer(s, "Within Limit")
        since = AS_OF - timedelta(days=365)
        for who, limit in ((over, "10000"), (held, "10000"), (fine, "100000")):
            f.credit_limit(s, who, limit, since=since)
            _overdue(s, who, "8000.00", 10)
        f.order(s, over, "5000.00", on=AS_OF - timedelta(days=1))
        f.order(s, held, "5000.00", on=AS_OF - timedelta(days=1), hold=True)
        f.order(s, fine, "5000.00", on=AS_OF - timedelta(days=1))

    rows = _by_name(_call(db_url))

    over_row = rows["Over Limit"]
    assert over_row.customer.credit_status == "Hold"
    assert over_row.customer.credit_status_rule == "over_limit"
    assert over_row.next_best_action.action == "order_hold"
    assert "5,000.00" in over_row.next_best_action.reason
    assert rows["Already Held"].customer.credit_status == "Hold"
    assert rows["Already Held"].next_best_action.action == "reminder"
    assert rows["Within Limit"].customer.credit_status == "OK"
    assert rows["Within Limit"].next_best_action.action == "reminder"


# --- visibility and scope -----------------------------------------------------------------------------------------


@dataclass
class _Team:
    casey: Actor
    dana: Actor
    analyst: Actor
    sales: Actor


def _team_book(url: str) -> _Team:
    with write_session(url) as s:
        casey = f.staff(s, "casey", Role.COLLECTOR)
        dana = f.staff(s, "dana", Role.COLLECTOR)
        analyst = f.staff(s, "avery", Role.CREDIT_ANALYST)
        sales = f.staff(s, "sam", Role.SALES)
        for index, (owner, days) in enumerate(((casey, 10), (casey, 40), (dana, 20), (None, 30))):
            who = f.customer(s, f"Customer {index}", collector=owner)
            _overdue(s, who, "1000.00", days)
        return _Team(*(Actor.from_user(user) for user in (casey, dana, analyst, sales)))


def test_a_collector_sees_only_their_own_book(db_url: str) -> None:
    team = _team_book(db_url)

    own = _call(db_url, team.casey)
    assert own.scope.kind == "collector"
    assert own.scope.collectors == ["casey"]
    assert own.scope.own_book_only
    assert {row.customer.collector for row in own.rows} == {"casey"}
    assert own.total_ranked == 2
    assert _call(db_url, team.casey, collector="Casey").total_ranked == 2

    for arguments in ({"collector": "dana"}, {"collectors": ["casey", "dana"]}):
        with pytest.raises(CreditDeskError) as caught:
            _call(db_url, team.casey, **arguments)
        assert caught.value.code == ErrorCode.FORBIDDEN

    with pytest.raises(CreditDeskError) as caught:
        _call(db_url, team.sales)
    assert caught.value.code == ErrorCode.FORBIDDEN


def test_analysts_choose_a_collector_a_team_or_everyone(db_url: str) -> None:
    team = _team_book(db_url)

    assert _call(db_url, team.analyst).total_ranked == 4
    assert _call(db_url, team.analyst).scope.kind == "everyone"
    dana = _call(db_url, team.analyst, collector="dana")
    assert {row.customer.collector for row in dana.rows} == {"dana"}
    pair = _call(db_url, team.analyst, collectors=["casey", "dana"])
    assert pair.scope.kind == "team"
    assert pair.total_ranked == 3
    with pytest.raises(CreditDeskError) as caught:
        _call(db_url, team.analyst, collector="nobody")
    assert caught.value.code == ErrorCode.NOT_FOUND
    assert _call(db_url, team.analyst, region="north america").total_ranked == 4
    assert _call(db_url, team.analyst, region="EMEA").total_ranked == 0


# --- the demo portfolio against an independent scoring of the raw rows ------------------------------------------


@dataclass
class _Expected:
    section: str
    score: float  # cents
    disputed: float  # cents
    overdue: float


def _rates_to_usd(session: Session, as_of: date) -> dict[str, float]:
    latest: dict[str, tuple[date, Decimal]] = {}
    for source, target, on, rate in session.execute(
        select(FxRate.from_currency, FxRate.to_currency, FxRate.rate_date, FxRate.rate)
    ):
        if target == "USD" and on <= as_of and (source not in latest or on > latest[source][0]):
            latest[source] = (on, rate)
    return {"USD": 1.0} | {code: float(rate) for code, (_, rate) in latest.items()}


def _independent(url: str, as_of: date) -> dict[int, _Expected]:
    """Every account's section and score from the raw tables, in plain python (no tool or query helpers)."""
    t = (as_of - date(1970, 1, 1)).days
    end = datetime(as_of.year, as_of.month, as_of.day, 23, 59, 59, 999999, tzinfo=UTC)
    since = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC) - timedelta(days=2)
    policy = load_policy()
    with read_session(url) as s:
        rates = _rates_to_usd(s, as_of)
        paid: dict[int, Decimal] = defaultdict(Decimal)
        for invoice_id, amount, applied_dn in s.execute(
            select(PaymentAllocation.invoice_id, PaymentAllocation.amount, PaymentAllocation.applied_dn)
        ):
            if applied_dn <= t:
                paid[invoice_id] += amount
        disputed_ids = {
            invoice_id
            for invoice_id, opened, resolved in s.execute(
                select(Dispute.invoice_id, Dispute.opened_at, Dispute.resolved_at)
            )
            if invoice_id is not None and opened <= end and (resolved is None or resolved > end)
        }
        cents: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        oldest: dict[int, int] = {}
        for invoice_id, customer_id, currency, amount, issue_dn, due_dn in s.execute(
            select(Invoice.id, Invoice.customer_id, Invoice.currency, Invoice.amount, Invoice.issue_dn, Invoice.due_dn)
        ):
            open_amount = amount - paid[invoice_id]
            if issue_dn > t or open_amount == 0:
                continue
            value, days, in_dispute = int(open_amount * 100), t - due_dn, invoice_id in disputed_ids
            row = cents[(customer_id, currency)]
            if days > 0:
                row["disputed" if in_dispute else "overdue"] += value
                if not in_dispute and open_amount > 0:
                    oldest[customer_id] = min(oldest.get(customer_id, due_dn), due_dn)
            elif not in_dispute and -policy.worklist.imminent_due_days <= days < 0:
                row["due_soon"] += value
        customers = {c.id: c for c in s.scalars(select(Customer))}
        broken, not_due = set(), set()
        for p in s.scalars(select(PromiseToPay)):
            broken_by_then = p.resolved_at is not None and p.resolved_at <= end
            if p.status == PromiseStatus.BROKEN and broken_by_then and p.promised_dn > t - 90:
                broken.add(p.customer_id)
            still_open = p.taken_at <= end and (p.resolved_at is None or p.resolved_at > end)
            if p.status != PromiseStatus.CANCELLED and still_open and p.promised_dn >= t:
                not_due.add(p.customer_id)
        contacted = {
            a.customer_id
            for a in s.scalars(select(CollectionActivity))
            if a.kind != ActivityKind.NOTE and since <= a.performed_at <= end
        }

    per: dict[int, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for (customer_id, currency), row in cents.items():
        for key in ("overdue", "disputed", "due_soon"):
            per[customer_id][key] += row[key] * rates[currency]
    bounds = policy.ageing.bucket_upper_bounds
    expected: dict[int, _Expected] = {}
    for customer_id, sums in per.items():
        customer = customers[customer_id]
        overdue = sums["overdue"] if sums["overdue"] > 0 else 0.0
        high_risk = customer.risk_class in policy.worklist.pre_due_risk_classes
        pre_due = (
            sums["due_soon"] if high_risk and sums["due_soon"] >= policy.worklist.imminent_due_min_amount * 100 else 0.0
        )
        disputed = sums["disputed"]
        if not (overdue > 0 or pre_due > 0 or disputed > 0):
            continue
        dpd = t - oldest[customer_id] if customer_id in oldest else None
        age = AGE_FACTORS[1] if dpd is None else AGE_FACTORS[next((i for i, b in enumerate(bounds, 1) if dpd <= b), 5)]
        probability = customer.late_probability
        if probability is None:
            probability = CLASS_PROBABILITY.get(customer.risk_class or "", NEUTRAL_PROBABILITY)
        score = (overdue * age + pre_due * AGE_FACTORS[0]) * float(policy.worklist.amount_weight) * probability
        score *= float(policy.worklist.broken_promise_boost) if customer_id in broken else 1.0
        score *= RECENT_CONTACT_FACTOR if customer_id in contacted else 1.0
        collectable = overdue > 0 or pre_due > 0
        section = "disputes" if not collectable else "held_back" if customer_id in not_due else "ranked"
        expected[customer_id] = _Expected(section, score, disputed, overdue)
    return expected


def _all_pages(url: str, page_size: int, **arguments: Any) -> tuple[list[WorklistRow], list[Worklist]]:
    first = _call(url, today=DEMO_AS_OF, page_size=page_size, **arguments)
    pages = [first] + [
        _call(url, today=DEMO_AS_OF, page_size=page_size, page=n, **arguments)
        for n in range(2, first.page.total_pages + 1)
    ]
    assert all(page.total_ranked == first.total_ranked for page in pages)
    return [row for page in pages for row in page.rows], pages


def _cents(value: float) -> Decimal:
    return (Decimal(repr(value)) / 100).quantize(CENT)


def _check_against_independent(url: str, as_of: date = DEMO_AS_OF) -> Worklist:
    expected = _independent(url, as_of)
    ranked = sorted((c for c, e in expected.items() if e.section == "ranked"), key=lambda c: (-expected[c].score, c))
    rows, pages = _all_pages(url, 7, as_of=as_of)
    assert len(ranked) > 15, "the demo portfolio should rank a few pages of accounts"

    assert [row.customer.id for row in rows] == ranked
    assert [row.rank for row in rows] == list(range(1, len(ranked) + 1))
    for row in rows:
        assert row.score == pytest.approx(_cents(expected[row.customer.id].score), abs=CENT)
    for number, page in enumerate(pages, start=1):
        assert page.total_ranked == len(ranked)
        assert page.page.first_rank == (number - 1) * 7 + 1
        assert page.page.last_rank == min(number * 7, len(ranked))
        assert page.page.has_next == (number < len(pages))

    first = pages[0]
    held = sorted((c for c, e in expected.items() if e.section == "held_back"), key=lambda c: (-expected[c].score, c))
    routed = sorted(
        (c for c, e in expected.items() if e.section == "disputes"), key=lambda c: (-expected[c].disputed, c)
    )
    assert first.held_back.total == len(held)
    assert [r.customer.id for r in first.held_back.rows] == held[: first.held_back.shown]
    assert first.routed_to_disputes.total == len(routed)
    assert [r.customer.id for r in first.routed_to_disputes.rows] == routed[: first.routed_to_disputes.shown]
    for row in rows:
        assert row.amount_at_risk.undisputed_overdue_reporting == pytest.approx(
            _cents(expected[row.customer.id].overdue), abs=CENT
        )
        assert row.next_best_action.reason
    return first


def test_demo_portfolio_matches_an_independent_scoring_live(demo_db_url: str) -> None:
    first = _check_against_independent(demo_db_url)
    assert first.facts_source == "live"
    # A past date: items, disputes, promises and contacts as they stood then.
    assert _check_against_independent(demo_db_url, MONTH_END).facts_source == "live"


@pytest.fixture
def scored_demo_url(demo_db_url: str, backend: str) -> Iterator[str]:
    """A private copy of the demo portfolio with snapshots and a mix of scored, classed and unscored customers."""
    if backend == "sqlite":
        source = demo_db_url.removeprefix("sqlite:///")
        copy = source.replace("demo.db", "demo_worklist.db")
        shutil.copyfile(source, copy)
        url = f"sqlite:///{copy}"
    else:
        dispose_engine(demo_db_url)
        name = create_pg_database(template=demo_db_url.rsplit("/", 1)[1], prefix="cd_wl")
        url = pg_url(name)
    with write_session(url) as s:
        for customer_id in s.scalars(select(Customer.id)):
            kind = customer_id % 5
            values: dict[str, Any] = {"risk_class": None, "late_probability": None}
            if kind == 0:
                values = {"risk_class": "C", "late_probability": 0.05 + (customer_id % 17) / 20}
            elif kind in (1, 2, 3):
                values["risk_class"] = "DEA"[kind - 1]
            s.execute(update(Customer).where(Customer.id == customer_id).values(**values))
    refresh_receivable_snapshots(url, DEMO_AS_OF)
    yield url
    dispose_engine(url)
    if backend != "sqlite":
        drop_pg_database(url.rsplit("/", 1)[1])


def test_demo_portfolio_matches_an_independent_scoring_from_snapshots(scored_demo_url: str) -> None:
    first = _check_against_independent(scored_demo_url)
    assert first.facts_source == "snapshot"
    assert _check_against_independent(scored_demo_url, MONTH_END).facts_source == "snapshot"
    sources = {row.probability_source for row in _all_pages(scored_demo_url, 100)[0]}
    assert sources == {"scored", "risk_class", "neutral"}


def test_pages_do_not_overlap_and_concatenate_to_the_full_order(demo_db_url: str) -> None:
    everything = _call(demo_db_url, today=DEMO_AS_OF, page_size=100)
    assert everything.total_ranked <= 100
    full = [row.customer.id for row in everything.rows]
    for size in (5, 13):
        rows, pages = _all_pages(demo_db_url, size)
        ids = [row.customer.id for row in rows]
        assert ids == full
        assert len(set(ids)) == len(ids)
        assert all(len(page.rows) == size for page in pages[:-1])
    beyond = _call(demo_db_url, today=DEMO_AS_OF, page_size=50, page=99)
    assert beyond.rows == []
    assert beyond.total_ranked == everything.total_ranked
    assert any("past the last page" in warning for warning in beyond.warnings)


def test_bounded_scoring_gives_the_same_heads_as_scoring_everything(
    demo_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statement scores exactly only the accounts whose bound reaches the cutoff; whatever the depth (and the
    fallback it may trigger), the heads and totals equal those of scoring every account."""
    runs: list[int] = []
    real_run = worklist_queries._run

    def counted(*args: Any, **kwargs: Any) -> Any:
        runs.append(1)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(worklist_queries, "_run", counted)
    policy = load_policy()
    with read_session(demo_db_url) as s:
        fx = FxConverter(s, "USD", DEMO_AS_OF)
        model = ranking_model(policy, DEMO_AS_OF, "USD", reporting_rates(s, fx))
        facts = facts_select(s, DEMO_AS_OF, snapshot_parameters()).subquery("facts")
        where = WorklistFilter(collector_ids=None)

        def heads(depth: int, offset: int) -> tuple[Any, ...]:
            page = rank_worklist(
                s, model, where, live_facts_source=facts, offset=offset, limit=10, side_cap=5, depth=depth
            )
            return page.ranked, page.held_back, page.disputes, page.totals

        fallbacks = 0
        for offset in (0, 10, 30):
            full = heads(EVERY_ACCOUNT, offset)
            for depth in (1, 3, 12, 40):
                runs.clear()
                assert heads(depth, offset) == full
                fallbacks += len(runs) - 1
        assert 0 < fallbacks < 12, "both the bounded path and the fallback should have been taken"


# --- the materialised ranking (worklist_rank) ---------------------------------------------------------------------
#
# Built for the daily snapshot date, it must answer exactly what the ranking statement answers (same rows, order,
# scores, section sizes; the whole tool output equal), and only while every input is unchanged.

# Scopes and filters the materialised answer is compared on (whole book, a collector, a team, each filter, combined).
_COMPARED_ARGUMENTS: list[dict[str, Any]] = [
    {},
    {"page_size": 5},
    {"page_size": 5, "page": 3},
    {"page_size": 7, "page": 2},
    {"page_size": 50, "page": 99},
    {"collector": "casey"},
    {"collector": "casey", "page_size": 3, "page": 2},
    {"collectors": ["casey", "cameron"], "page_size": 4},
    {"region": "emea"},
    {"risk_classes": ["C", "D"], "page_size": 6, "page": 2},
    {"min_amount": Decimal("20000")},
    {"collectors": ["casey", "cameron"], "region": "north america", "min_amount": Decimal("5000")},
]


def _live(url: str, monkeypatch: pytest.MonkeyPatch, actor: Actor | None = None, **arguments: Any) -> Worklist:
    """The tool's answer with the materialised ranking ignored: the ranking statement runs for this call."""
    with monkeypatch.context() as patch:
        patch.setattr(worklist_tool, "ranking_is_current", lambda *_args, **_kwargs: False)
        answer = _call(url, actor, **arguments)
    assert answer.ranking_source == "live"
    return answer


def _assert_same_answer(
    url: str, monkeypatch: pytest.MonkeyPatch, actor: Actor | None = None, **arguments: Any
) -> None:
    stored = _call(url, actor, **arguments)
    live = _live(url, monkeypatch, actor, **arguments)
    assert stored.ranking_source == "materialised", arguments
    assert stored.model_dump(exclude={"ranking_source"}) == live.model_dump(exclude={"ranking_source"}), arguments


def _assert_same_pages(url: str, as_of: date) -> int:
    """`ranked_page` against `rank_worklist` over the same snapshot, float for float, for several scopes and pages.
    Returns how many ranked accounts the whole book has."""
    with read_session(url) as s:
        model, _ = current_ranking_model(s, as_of, "USD")
        assert worklist_queries.ranking_is_current(s, model, snapshot_parameters())
        collectors = sorted({c for c in s.scalars(select(Customer.collector_id)) if c is not None})
        scopes = [
            WorklistFilter(collector_ids=None),
            WorklistFilter(collector_ids=collectors[:1]),
            WorklistFilter(collector_ids=collectors[1:3], min_amount_cents=500_000.0),
            WorklistFilter(collector_ids=None, region="EMEA"),
            WorklistFilter(collector_ids=None, risk_classes=["D", "E"]),
            WorklistFilter(collector_ids=None, min_amount_cents=1_000_000.0),
        ]
        for where in scopes:
            for offset, limit, side_cap in ((0, 10, 10), (10, 10, 3), (25, 4, 1), (0, 500, 500)):
                stored = worklist_queries.ranked_page(s, model, where, offset=offset, limit=limit, side_cap=side_cap)
                live = rank_worklist(
                    s, model, where, live_facts_source=None, offset=offset, limit=limit, side_cap=side_cap
                )
                assert stored.ranked == live.ranked, (where, offset)
                assert stored.held_back == live.held_back, where
                assert stored.disputes == live.disputes, where
                assert stored.totals == live.totals, where
                assert stored.unconverted_accounts == live.unconverted_accounts, where
                assert stored.exact(limit, side_cap)
        everything = worklist_queries.ranked_page(s, model, scopes[0], offset=0, limit=1, side_cap=1)
        return everything.totals["ranked"]


@pytest.fixture
def ranked_demo_url(scored_demo_url: str) -> str:
    """The scored demo copy with the worklist ranking of its snapshot date built."""
    assert refresh_worklist_ranking(scored_demo_url, DEMO_AS_OF) is not None
    return scored_demo_url


def test_materialised_ranking_equals_the_ranking_statement_on_the_demo_portfolio(
    ranked_demo_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _assert_same_pages(ranked_demo_url, DEMO_AS_OF) > 15
    for arguments in _COMPARED_ARGUMENTS:
        _assert_same_answer(ranked_demo_url, monkeypatch, today=DEMO_AS_OF, **arguments)
    # Against the independent plain-python scoring too, every page read from the table.
    first = _check_against_independent(ranked_demo_url)
    assert (first.facts_source, first.ranking_source) == ("snapshot", "materialised")
    # Another date has no ranking: the statement answers.
    assert _check_against_independent(ranked_demo_url, MONTH_END).ranking_source == "live"
    with read_session(ranked_demo_url) as s:
        run = s.get(WorklistRankRun, day_number(DEMO_AS_OF))
        assert run is not None
        stored = s.scalar(select(func.count()).select_from(WorklistRank))
        assert run.rows == stored == run.ranked_accounts + run.held_back_accounts + run.disputes_accounts
        assert run.unconverted_accounts == 0


def _today() -> date:
    return clock.today()


def _seeded_team(url: str) -> tuple[Actor, Actor]:
    with read_session(url) as s:
        casey = s.scalars(select(StaffUser).where(StaffUser.name == "casey")).one()
        analyst = s.scalars(select(StaffUser).where(StaffUser.role == Role.CREDIT_ANALYST)).first()
        assert analyst is not None
        return Actor.from_user(casey), Actor.from_user(analyst)


def test_seeded_portfolio_answers_from_the_materialised_ranking(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`refresh_derived_data` (run on the seeded portfolio) builds the ranking last: the tool reads it, and its
    answers equal the ranking statement's for the whole book, a collector (as themself and as seen by an analyst),
    teams, filters and pages."""
    today = _today()
    casey, analyst = _seeded_team(seeded_db_url)
    assert worklist_ranking_is_current(seeded_db_url, today)
    assert _assert_same_pages(seeded_db_url, today) > 0
    for arguments in _COMPARED_ARGUMENTS:
        _assert_same_answer(seeded_db_url, monkeypatch, today=today, **arguments)
    own = _call(seeded_db_url, casey, today=today)
    assert own.ranking_source == "materialised"
    assert {row.customer.collector for row in own.rows} <= {"casey"}
    _assert_same_answer(seeded_db_url, monkeypatch, casey, today=today)
    _assert_same_answer(seeded_db_url, monkeypatch, analyst, today=today, collector="casey", page_size=2, page=2)
    with pytest.raises(CreditDeskError) as caught:
        _call(seeded_db_url, casey, today=today, collector="cameron")
    assert caught.value.code == ErrorCode.FORBIDDEN


def _top_account(url: str, today: date, **arguments: Any) -> WorklistRow:
    answer = _call(url, today=today, **arguments)
    assert answer.ranking_source == "materialised"
    assert answer.rows
    return answer.rows[0]


def _stale_then_rebuilt(url: str, today: date, monkeypatch: pytest.MonkeyPatch, **arguments: Any) -> Worklist:
    """After a change: the ranking is no longer current and the statement answers; rebuilding makes the table answer
    again, identically."""
    assert not worklist_ranking_is_current(url, today)
    live = _call(url, today=today, **arguments)
    assert live.ranking_source == "live"
    assert refresh_worklist_ranking(url, today) is not None
    assert worklist_ranking_is_current(url, today)
    _assert_same_answer(url, monkeypatch, today=today, **arguments)
    return live


def test_a_new_contact_makes_the_ranking_stale(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = _today()
    top = _top_account(seeded_db_url, today, page_size=100)
    with write_session(seeded_db_url) as s:
        who = s.get(Customer, top.customer.id)
        assert who is not None
        _activity(s, who, ActivityKind.NOTE, today)
    # A note is no contact: nothing the ranking reads changed.
    assert worklist_ranking_is_current(seeded_db_url, today)

    with write_session(seeded_db_url) as s:
        who = s.get(Customer, top.customer.id)
        assert who is not None
        _activity(s, who, ActivityKind.CALL, today)
    live = _stale_then_rebuilt(seeded_db_url, today, monkeypatch, page_size=100)
    after = next(row for row in live.rows if row.customer.id == top.customer.id)
    penalty = {factor.factor: factor for factor in after.why.factors}["recent_contact"]
    assert penalty.applies
    if not {factor.factor: factor for factor in top.why.factors}["recent_contact"].applies:
        assert after.score < top.score


def test_a_new_promise_makes_the_ranking_stale(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = _today()
    top = _top_account(seeded_db_url, today)
    with write_session(seeded_db_url) as s:
        who = s.get(Customer, top.customer.id)
        assert who is not None
        f.promise(s, who, "100.00", taken=today, promised=today + timedelta(days=5))
    live = _stale_then_rebuilt(seeded_db_url, today, monkeypatch)
    assert top.customer.id not in {row.customer.id for row in live.rows}
    assert live.held_back.total >= 1


def test_a_changed_promise_makes_the_ranking_stale(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = _today()
    with write_session(seeded_db_url) as s:
        promise = s.scalars(select(PromiseToPay).order_by(PromiseToPay.id)).first()
        assert promise is not None
        promise.notes = "called back"  # any change of a promise row counts (its updated_at moves)
    _stale_then_rebuilt(seeded_db_url, today, monkeypatch)


def test_a_collector_change_makes_the_ranking_stale(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = _today()
    top = _top_account(seeded_db_url, today)
    with write_session(seeded_db_url) as s:
        who = s.get(Customer, top.customer.id)
        assert who is not None
        others = s.scalars(
            select(StaffUser).where(StaffUser.role == Role.COLLECTOR, StaffUser.name != top.customer.collector)
        ).all()
        target = others[0]
        who.collector_id = target.id
        target_name = target.name
    live = _stale_then_rebuilt(seeded_db_url, today, monkeypatch, collector=target_name, page_size=100)
    assert top.customer.id in {row.customer.id for row in live.rows}
    if top.customer.collector:
        _assert_same_answer(seeded_db_url, monkeypatch, today=today, collector=top.customer.collector)


def test_a_new_score_makes_the_ranking_stale(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = _today()
    top = _top_account(seeded_db_url, today)
    with write_session(seeded_db_url) as s:
        s.execute(update(Customer).where(Customer.id == top.customer.id).values(late_probability=0.001))
    live = _stale_then_rebuilt(seeded_db_url, today, monkeypatch, page_size=100)
    after = next(row for row in live.rows if row.customer.id == top.customer.id)
    assert after.score < top.score


def test_a_rate_change_makes_the_ranking_stale(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The latest rate of a ranked account's currency replaced by a quarter of it (rates are never edited in place:
    the row is replaced): the ranking is stale, and that account scores lower."""
    today = _today()
    before = _call(seeded_db_url, today=today, page_size=100)
    foreign = next(row for row in before.rows if row.customer.currency != "USD" and row.score > 0)
    with write_session(seeded_db_url) as s:
        latest = s.scalars(
            select(FxRate)
            .where(FxRate.from_currency == foreign.customer.currency, FxRate.to_currency == "USD")
            .where(FxRate.rate_date <= today)
            .order_by(FxRate.rate_date.desc())
        ).first()
        assert latest is not None
        replacement = FxRate(
            # A new id, as PostgreSQL's sequence would give it (SQLite may reuse the id of a deleted last row).
            id=int(s.scalar(select(func.max(FxRate.id))) or 0) + 1,
            from_currency=latest.from_currency,
            to_currency="USD",
            rate=latest.rate / 4,
            rate_date=latest.rate_date,
            source="test",
        )
        s.delete(latest)
        s.flush()
        s.add(replacement)
    live = _stale_then_rebuilt(seeded_db_url, today, monkeypatch, page_size=100)
    after = next(row for row in live.rows if row.customer.id == foreign.customer.id)
    assert after.score < foreign.score


def test_a_ledger_change_makes_the_ranking_stale(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ranking reads today's snapshot: a ledger change makes the snapshot stale, and with it the ranking (the
    statement then runs on live facts); rebuilding both restores the table."""
    today = _today()
    with write_session(seeded_db_url) as s:
        who = f.customer(s, "Brand New Debtor")
        _overdue(s, who, "90000.00", 45, as_of=today)
    assert not worklist_ranking_is_current(seeded_db_url, today)
    live = _call(seeded_db_url, today=today)
    assert (live.facts_source, live.ranking_source) == ("live", "live")
    assert "Brand New Debtor" in _names(_call(seeded_db_url, today=today, page_size=100))
    assert ensure_today_snapshot(seeded_db_url, today)  # snapshots, then the ranking
    assert not ensure_today_snapshot(seeded_db_url, today)
    _assert_same_answer(seeded_db_url, monkeypatch, today=today, page_size=100)


def test_a_policy_change_makes_the_ranking_stale(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    today = _today()
    policy_file = Path(get_settings().resolved_policy_file)
    changed = policy_file.read_text(encoding="utf-8").replace("broken_promise_boost: 1.5", "broken_promise_boost: 2.5")
    assert changed != policy_file.read_text(encoding="utf-8")
    path = tmp_path / "policy.yaml"
    path.write_text(changed, encoding="utf-8")
    monkeypatch.setenv("CREDITDESK_POLICY_FILE", str(path))
    reset_settings()
    try:
        assert load_policy().worklist.broken_promise_boost == Decimal("2.5")
        _stale_then_rebuilt(seeded_db_url, today, monkeypatch)
    finally:
        monkeypatch.delenv("CREDITDESK_POLICY_FILE")
        reset_settings()
    # Back on the standard policy, the ranking built under the other one is not used.
    assert not worklist_ranking_is_current(seeded_db_url, today)
    assert _call(seeded_db_url, today=today).ranking_source == "live"


def test_a_constant_of_the_model_is_part_of_the_parameters(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    today = _today()
    monkeypatch.setattr(worklist_tool, "RECENT_CONTACT_FACTOR", 0.25)
    assert not worklist_ranking_is_current(seeded_db_url, today)
    assert _call(seeded_db_url, today=today).ranking_source == "live"


def test_no_ranking_is_built_without_a_current_snapshot(db_url: str) -> None:
    with write_session(db_url) as s:
        _overdue(s, f.customer(s, "Someone"), "1000.00", 10)
    assert refresh_worklist_ranking(db_url, AS_OF) is None
    refresh_receivable_snapshots(db_url, AS_OF)
    assert refresh_worklist_ranking(db_url, AS_OF) == 1
    answer = _call(db_url)
    assert (answer.facts_source, answer.ranking_source) == ("snapshot", "materialised")
    assert _names(answer) == ["Someone"]
    assert answer.rows[0].score == Decimal("200.00")
    # Yesterday's ranking is dropped when today's is built.
    refresh_receivable_snapshots(db_url, AS_OF + timedelta(days=1))
    assert refresh_worklist_ranking(db_url, AS_OF + timedelta(days=1)) == 1
    with read_session(db_url) as s:
        assert list(s.scalars(select(WorklistRankRun.as_of_dn))) == [day_number(AS_OF + timedelta(days=1))]
        assert set(s.scalars(select(WorklistRank.as_of_dn))) == {day_number(AS_OF + timedelta(days=1))}
