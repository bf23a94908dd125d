"""Exposure and the order-release check: hand-worked ledgers, independent recomputation on the demo portfolio,
edge cases, visibility."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.errors import CreditDeskError, ErrorCode
from db.engine import read_session, write_session
from db.models import CreditStatus, Customer, FxRate, Invoice, PaymentAllocation, Role, StaffUser
from tests.conftest import DEMO_AS_OF
from tests.support import factories as f
from tools.context import Actor, ToolContext
from tools.registry import call_tool

D = Decimal
TODAY = date(2026, 9, 30)


def ctx_for(url: str, actor: Actor | None = None, today: date = TODAY) -> ToolContext:
    return ToolContext(actor=actor or Actor.operator(), database_url=url, today=today, reporting_currency="USD")


@pytest.fixture
def hand_ledger(db_url: str) -> str:
    """One customer whose figures are worked out by hand below."""
    with write_session(db_url) as s:
        casey = f.staff(s, "casey", Role.COLLECTOR)
        who = f.customer(s, "Hand Tools Ltd", collector=casey, since=date(2020, 1, 1))
        f.credit_limit(s, who, "10000", since=date(2026, 1, 1), review=date(2027, 1, 1))
        a = f.invoice(s, who, "2000", issued=date(2026, 5, 1))  # due 05-31
        f.pay(s, a, "2000", on=date(2026, 6, 10))
        b = f.invoice(s, who, "3000", issued=date(2026, 7, 1))  # due 07-31
        f.pay(s, b, "1000", on=date(2026, 8, 15))
        c = f.invoice(s, who, "1500", issued=date(2026, 8, 15))  # due 09-14
        f.dispute(s, c, opened=date(2026, 9, 20))
        f.invoice(s, who, "4000", issued=date(2026, 9, 20))  # due 10-20
        f.invoice(s, who, "-500", issued=date(2026, 9, 25), due=date(2026, 9, 25), credit_note=True)
        f.order(s, who, "1000", on=date(2026, 9, 28))
    return db_url


def exposure(url: str, customer: str, **kwargs):
    return call_tool("get_customer_exposure", {"customer": customer, **kwargs}, ctx_for(url))


def test_hand_worked_exposure(hand_ledger: str) -> None:
    r = exposure(hand_ledger, "hand tools")
    fig = r.figures
    assert fig.open_receivables == D("7000.00")  # 2000 (B) + 1500 (C) + 4000 (D) − 500 (CN)
    assert fig.overdue == D("3000.00")  # B 61 days, C 16 days, CN 5 days past due
    assert fig.not_yet_due == D("4000.00")
    assert {b.label: b.amount for b in fig.ageing} == {
        "current": D("4000.00"),
        "1-30": D("1000.00"),  # C 1500 + CN −500
        "31-60": D("0.00"),
        "61-90": D("2000.00"),
        "91-120": D("0.00"),
        "120+": D("0.00"),
    }
    assert fig.disputed_amount == D("1500.00") and fig.disputed_items == 1
    assert fig.undisputed_overdue == D("2000.00")
    assert fig.oldest_undisputed_days_past_due == 61
    assert fig.open_orders == D("1000.00")
    assert fig.total_exposure == D("8000.00")
    assert fig.credit_limit == D("10000.00")
    assert fig.utilisation_pct == D("80.0")
    assert fig.available_credit == D("2000.00")
    assert r.credit_status.status == "Hold" and r.credit_status.rule == "oldest_overdue_hold"
    assert {rule.code for rule in r.credit_status.rules if rule.fired} == {"oldest_overdue_hold"}
    # Sales issued 07-03..09-30: C 1500 + D 4000 − CN 500 = 5000.
    assert r.behaviour.sales_last_90_days == D("5000.00")
    assert r.behaviour.dso_days == D("126.0")  # 7000 / 5000 × 90
    assert r.behaviour.best_possible_dso_days == D("72.0")  # 4000 / 5000 × 90
    assert r.behaviour.add_days == D("54.0")
    assert r.behaviour.average_days_late_paid == D("10.0")  # A paid 10 days after due
    assert r.last_payment is not None and r.last_payment.received_date == date(2026, 8, 15)
    assert r.last_payment.amount == D("1000.00")
    assert any("due date" in d for d in r.definitions)


def test_hand_worked_history(hand_ledger: str) -> None:
    r = exposure(hand_ledger, "hand tools", as_of="2026-08-20")
    assert r.figures.open_receivables == D("3500.00")  # B 2000 (after the 08-15 payment) + C 1500
    assert r.figures.overdue == D("2000.00")
    assert r.figures.disputed_amount == D("0.00")  # the dispute was opened on 09-20
    assert r.figures.open_orders is None  # no order history for past dates
    assert r.figures.total_exposure == D("3500.00")
    assert r.credit_status.status == "OK"  # 57 % overdue, but below the 10,000 minimum
    early = exposure(hand_ledger, "hand tools", as_of="2026-06-05")
    assert early.figures.open_receivables == D("2000.00")
    assert {b.label: b.amount for b in early.figures.ageing}["1-30"] == D("2000.00")


def test_customer_with_nothing_and_fully_disputed(db_url: str) -> None:
    with write_session(db_url) as s:
        f.customer(s, "Quiet Co")
        noisy = f.customer(s, "Disputing Co")
        f.credit_limit(s, noisy, "5000", since=date(2026, 1, 1))
        item = f.invoice(s, noisy, "3000", issued=date(2026, 5, 1))
        f.dispute(s, item, opened=date(2026, 6, 1))
    quiet = exposure(db_url, "quiet co")
    assert quiet.figures.total_exposure == D("0.00") and quiet.figures.credit_limit is None
    assert quiet.figures.utilisation_pct is None and quiet.credit_status.status == "OK"
    assert quiet.behaviour.dso_days is None and quiet.last_payment is None
    disputing = exposure(db_url, "disputing co")
    assert disputing.figures.disputed_amount == disputing.figures.open_receivables == D("3000.00")
    assert disputing.figures.undisputed_overdue == D("0.00")
    assert disputing.figures.oldest_undisputed_days_past_due is None
    assert disputing.credit_status.status == "OK"  # disputed items do not trigger overdue rules


def test_no_limit_with_balance_is_hold_and_manual_stop_is_sticky(db_url: str) -> None:
    with write_session(db_url) as s:
        open_account = f.customer(s, "Unlimited Co")
        f.invoice(s, open_account, "100", issued=date(2026, 9, 1))
        stopped = f.customer(s, "Stopped Co", status=CreditStatus.STOP)
        f.credit_limit(s, stopped, "1000000", since=date(2026, 1, 1))
    assert exposure(db_url, "unlimited co").credit_status.rule == "over_limit"
    stop = exposure(db_url, "stopped co")
    assert stop.credit_status.status == "Stop" and stop.credit_status.rule == "manual_stop"


def test_other_currency_and_reporting_view(db_url: str) -> None:
    with write_session(db_url) as s:
        f.fx_rate(s, "EUR", "USD", "1.10", date(2026, 9, 1))
        f.fx_rate(s, "EUR", "USD", "1.20", date(2026, 10, 1))  # after the as-of date: never used
        who = f.customer(s, "Euro GmbH", currency="EUR")
        f.credit_limit(s, who, "10000", since=date(2026, 1, 1))
        f.invoice(s, who, "1000", issued=date(2026, 9, 10))
        f.invoice(s, who, "550", issued=date(2026, 9, 12), currency="USD")  # billed in USD: 500 EUR at 1.10
    r = exposure(db_url, "euro")
    assert r.figures.currency == "EUR"
    assert r.figures.open_receivables == D("1500.00")
    assert r.reporting.currency == "USD"
    assert r.reporting.open_receivables == D("1650.00")
    assert r.reporting.credit_limit == D("11000.00")
    assert [(x.from_currency, x.rate, x.rate_date) for x in r.reporting.fx_rates] == [
        ("EUR", D("1.1"), date(2026, 9, 1))
    ]


def test_group_rollup_matches_members(demo_db_url: str) -> None:
    ctx = ctx_for(demo_db_url, today=DEMO_AS_OF)
    group = call_tool("get_customer_exposure", {"customer": "Acme Corporation"}, ctx).group
    assert group is not None and group.parent_name == "Acme Corporation"
    assert {m.name for m in group.members} == {"Acme Corporation", "Acme Europe B.V.", "Acme Logistics LLC"}
    for member in group.members:
        alone = call_tool("get_customer_exposure", {"customer": str(member.customer_id), "include_group": False}, ctx)
        assert alone.figures.total_exposure == member.total_exposure
        assert alone.reporting.total_exposure == member.total_exposure_reporting
    assert group.total_exposure == sum(m.total_exposure_reporting for m in group.members)
    child = call_tool("get_customer_exposure", {"customer": "Acme Europe"}, ctx)
    assert child.group is not None and child.group.parent_id == group.parent_id


@pytest.mark.parametrize("as_of", [DEMO_AS_OF, date(2026, 3, 31)])
def test_demo_exposures_match_raw_rows(demo_db_url: str, as_of: date) -> None:
    """Open receivables and overdue recomputed from invoices and allocations, customer currency, for every
    customer whose items are all in its own currency."""
    from core.dates import day_number

    t = day_number(as_of)
    ctx = ctx_for(demo_db_url, today=DEMO_AS_OF)
    with read_session(demo_db_url) as s:
        paid: dict[int, Decimal] = {}
        for invoice_id, amount, applied in s.execute(
            select(PaymentAllocation.invoice_id, PaymentAllocation.amount, PaymentAllocation.applied_dn)
        ):
            if applied <= t:
                paid[invoice_id] = paid.get(invoice_id, D(0)) + amount
        expected: dict[int, list[Decimal]] = {}
        for invoice_id, customer_id, amount, issue_dn, due_dn in s.execute(
            select(Invoice.id, Invoice.customer_id, Invoice.amount, Invoice.issue_dn, Invoice.due_dn)
        ):
            if issue_dn > t:
                continue
            remaining = amount - paid.get(invoice_id, D(0))
            totals = expected.setdefault(customer_id, [D(0), D(0)])
            totals[0] += remaining
            if due_dn < t:
                totals[1] += remaining
        customer_ids = list(s.scalars(select(Customer.id).order_by(Customer.id).limit(40)))
    for customer_id in customer_ids:
        r = call_tool(
            "get_customer_exposure",
            {"customer": str(customer_id), "as_of": as_of.isoformat(), "include_group": False},
            ctx,
        )
        totals = expected.get(customer_id, [D(0), D(0)])
        assert r.figures.open_receivables == totals[0], customer_id
        assert r.figures.overdue == totals[1], customer_id
        assert sum(b.amount for b in r.figures.ageing) == r.figures.open_receivables


def test_collectors_see_only_their_book(demo_db_url: str) -> None:
    with read_session(demo_db_url) as s:
        casey = s.scalars(select(StaffUser).where(StaffUser.name == "casey")).one()
        theirs = s.scalars(select(Customer).where(Customer.collector_id == casey.id).limit(1)).one()
        other = s.scalars(select(Customer).where(Customer.collector_id != casey.id).limit(1)).one()
        sales = s.scalars(select(StaffUser).where(StaffUser.role == Role.SALES).limit(1)).one()
        actor, sales_actor = Actor.from_user(casey), Actor.from_user(sales)
    ctx = ctx_for(demo_db_url, actor, today=DEMO_AS_OF)
    assert call_tool("get_customer_exposure", {"customer": str(theirs.id)}, ctx).customer.id == theirs.id
    with pytest.raises(CreditDeskError) as denied:
        call_tool("get_customer_exposure", {"customer": str(other.id)}, ctx)
    # outside the book reads exactly like no such customer: no name, no 403
    assert denied.value.code is ErrorCode.NOT_FOUND and other.name not in denied.value.message
    sales_ctx = ctx_for(demo_db_url, sales_actor, today=DEMO_AS_OF)
    assert call_tool("check_order_release", {"customer": str(other.id), "order_amount": "10"}, sales_ctx)


@pytest.mark.parametrize(
    ("args", "code"),
    [
        ({"customer": "no such customer at all"}, ErrorCode.NOT_FOUND),
        ({"customer": ""}, ErrorCode.INVALID_INPUT),
        ({"customer": "hand tools", "as_of": "2030-01-01"}, ErrorCode.INVALID_INPUT),
        ({"customer": "hand tools", "as_of": "not a date"}, ErrorCode.INVALID_INPUT),
    ],
)
def test_bad_exposure_input(hand_ledger: str, args: dict, code: ErrorCode) -> None:
    with pytest.raises(CreditDeskError) as error:
        call_tool("get_customer_exposure", args, ctx_for(hand_ledger))
    assert error.value.code is code


def release(url: str, **args):
    return call_tool("check_order_release", {"customer": "hand tools", **args}, ctx_for(url))


def test_release_decisions_and_paths(hand_ledger: str) -> None:
    # Exposure 8,000 of a 10,000 limit, but item B (2,000) is 61 days past due: Hold until it is collected.
    held = release(hand_ledger, order_amount="500")
    assert held.decision == "hold" and held.deciding_rule == "oldest_overdue_hold"
    collect = next(p for p in held.ways_to_release if p.kind == "collect_invoices")
    assert [i.days_past_due for i in collect.invoices] == [61] and collect.amount_to_collect == D("2000.00")
    assert not any(p.kind == "raise_limit" for p in held.ways_to_release)  # a higher limit would not help

    with write_session(hand_ledger) as s:
        b = s.scalars(select(Invoice).where(Invoice.amount == D("3000"))).one()
        f.pay(s, b, "2000", on=date(2026, 9, 29))
    ok = release(hand_ledger, order_amount="1500")  # 6,000 + 1,500 = 7,500 of 10,000
    assert ok.decision == "release" and ok.ways_to_release == []
    assert ok.exposure_after == D("7500.00") and ok.utilisation_after_pct == D("75.0")

    over = release(hand_ledger, order_amount="4500")  # 10,500 of 10,000
    assert over.decision == "hold" and over.deciding_rule == "over_limit"
    limit_path = next(p for p in over.ways_to_release if p.kind == "raise_limit")
    assert limit_path.new_credit_limit == D("11000") and limit_path.limit_increase == D("1000.00")
    assert limit_path.approver_role == Role.ADMIN  # unscored customer: no risk class, so the top tier
    pay_path = next(p for p in over.ways_to_release if p.kind == "collect_invoices")
    assert pay_path.amount_to_collect >= D("500.00")


def test_release_of_an_existing_order_and_bad_input(hand_ledger: str) -> None:
    with read_session(hand_ledger) as s:
        from db.models import SalesOrder

        number = s.scalars(select(SalesOrder.number)).one()
    existing = release(hand_ledger, order_number=number)
    assert existing.order_already_in_exposure and existing.exposure_after == existing.exposure_before
    for bad in ({"order_amount": "-5"}, {"order_amount": "1e15"}, {"order_amount": "5", "order_number": number}):
        with pytest.raises(CreditDeskError) as error:
            release(hand_ledger, **bad)
        assert error.value.code is ErrorCode.INVALID_INPUT
    with pytest.raises(CreditDeskError) as missing:
        release(hand_ledger, order_number="SO-NOPE")
    assert missing.value.code is ErrorCode.NOT_FOUND
    with pytest.raises(CreditDeskError):
        release(hand_ledger, order_amount="10", currency="XXX")


def test_with_no_order_named_the_account_as_it_stands_decides(hand_ledger: str) -> None:
    # Exposure 8,000 of a 10,000 limit with item B 61 days past due: no new order ships until B is collected.
    held = release(hand_ledger)
    assert held.decision == "hold" and held.deciding_rule == "oldest_overdue_hold"
    assert held.order_amount is None and held.order_number is None and not held.order_already_in_exposure
    assert held.exposure_after == held.exposure_before == D("8000.00")
    assert [p.kind for p in held.ways_to_release] == ["collect_invoices"]
    with write_session(hand_ledger) as s:
        b = s.scalars(select(Invoice).where(Invoice.amount == D("3000"))).one()
        f.pay(s, b, "2000", on=date(2026, 9, 29))
    ok = release(hand_ledger)
    assert ok.decision == "release" and ok.exposure_after == D("6000.00") and ok.available_credit_after == D("4000.00")
    assert ok.explanation.startswith("status as the account stands is")
    seller = Actor(id=None, name="sam", role=Role.SALES)
    sales = call_tool("check_order_release", {"customer": "hand tools"}, ctx_for(hand_ledger, seller))
    assert sales.can_ship == "yes" and sales.order_amount is None and sales.next_step.startswith("New orders")


def test_fx_rate_table_is_used_not_invented(demo_db_url: str) -> None:
    ctx = ctx_for(demo_db_url, today=DEMO_AS_OF)
    r = call_tool("get_customer_exposure", {"customer": "Acme Europe"}, ctx)
    rate = r.reporting.fx_rates[0]
    with read_session(demo_db_url) as s:
        stored = s.execute(
            select(FxRate.rate, FxRate.rate_date)
            .where(FxRate.from_currency == "EUR", FxRate.to_currency == "USD", FxRate.rate_date <= DEMO_AS_OF)
            .order_by(FxRate.rate_date.desc())
            .limit(1)
        ).one()
    assert (rate.rate, rate.rate_date) == (stored.rate, stored.rate_date)
