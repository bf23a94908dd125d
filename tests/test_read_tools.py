"""The read tools users asked for: invoice lookup, payment behaviour and promise history (pending approvals:
tests/test_pending_approvals.py).

Hand-built ledgers whose figures are worked out by hand below (on SQLite and PostgreSQL), visibility (a customer
outside a collector's book answers exactly as a missing one), the sales rules, as-of dates, bad input, and the
REST endpoints and CLI over the seeded demo portfolio.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from core.errors import ErrorCode
from core.settings import reset_settings
from db.engine import read_session, write_session
from db.models import (
    ActivityKind,
    ActivityOutcome,
    AuditEvent,
    CollectionActivity,
    Invoice,
    PromiseStatus,
    Role,
    StaffUser,
)
from db.models.governance import Proposal
from integrations.api.app import create_app
from integrations.cli import app as cli
from tests.support import factories as f
from tests.support.read_tools import LEDGER_TODAY, call, refused
from tests.support.surfaces import FakeService, bearer, issue_keys

D = Decimal
TODAY = LEDGER_TODAY
DAYS = Decimal("0.1")


def avg(total: int | Decimal, count: int | Decimal) -> Decimal:
    return (D(total) / D(count)).quantize(DAYS)


@dataclass
class Ledger:
    url: str
    paid_10_late: str  # A
    open_item: str  # E


@pytest.fixture
def ledger(db_url: str) -> Ledger:
    """Ledger Labs (casey's book, USD, 30 days): three invoices paid in the last 12 months (10 and 30 days late, 10
    days early), one paid before the window, one open and part-paid, with disputes, promises and dunning letters;
    Other Co (cleo's book): one invoice paid 20 days late."""
    with write_session(db_url) as s:
        casey = f.staff(s, "casey", Role.COLLECTOR)
        cleo = f.staff(s, "cleo", Role.COLLECTOR)
        f.staff(s, "avery", Role.CREDIT_ANALYST)
        f.staff(s, "sam", Role.SALES)
        labs = f.customer(s, "Ledger Labs", collector=casey, since=date(2020, 1, 1))
        other = f.customer(s, "Other Co", collector=cleo, since=date(2020, 1, 1))
        a = f.invoice(s, labs, "1000", issued=date(2026, 3, 1))  # due 03-31
        f.pay(s, a, "1000", on=date(2026, 4, 10))  # 10 late, 40 to pay
        b = f.invoice(s, labs, "3000", issued=date(2026, 5, 1))  # due 05-31
        f.pay(s, b, "1000", on=date(2026, 6, 5))
        f.pay(s, b, "2000", on=date(2026, 6, 30))  # closed by the last allocation: 30 late, 60 to pay
        c = f.invoice(s, labs, "2000", issued=date(2026, 8, 1))  # due 08-31
        f.pay(s, c, "2000", on=date(2026, 8, 21))  # 10 early, 20 to pay
        d = f.invoice(s, labs, "500", issued=date(2025, 9, 1))  # due 10-01
        f.pay(s, d, "500", on=date(2025, 10, 20))  # before the 12-month window: 19 late, 49 to pay
        e = f.invoice(s, labs, "4000", issued=date(2026, 9, 15))  # due 10-15
        f.pay(s, e, "1500", on=date(2026, 10, 20))
        f.invoice(s, labs, "-300", issued=date(2026, 7, 1), due=date(2026, 7, 1), credit_note=True)
        f.dispute(s, e, opened=date(2026, 10, 25), resolved=date(2026, 11, 5))
        o = f.invoice(s, other, "4000", issued=date(2026, 6, 1))  # due 07-01
        f.pay(s, o, "4000", on=date(2026, 7, 21))  # 20 late, 50 to pay

        f.promise(s, labs, "1000", taken=date(2025, 12, 1), promised=date(2025, 12, 10), status=PromiseStatus.KEPT,
                  resolved=date(2025, 12, 12))  # fmt: skip
        f.promise(s, labs, "4000", taken=date(2026, 10, 18), promised=date(2026, 10, 25), status=PromiseStatus.BROKEN,
                  resolved=date(2026, 10, 28), item=e)  # fmt: skip
        f.promise(s, labs, "2500", taken=date(2026, 11, 1), promised=date(2026, 11, 20))
        f.promise(s, labs, "3000", taken=date(2026, 6, 1), promised=date(2026, 6, 10),
                  status=PromiseStatus.PARTIALLY_KEPT, resolved=date(2026, 6, 13), item=b)  # fmt: skip
        f.promise(s, labs, "500", taken=date(2025, 10, 1), promised=date(2025, 10, 5), status=PromiseStatus.KEPT,
                  resolved=date(2025, 10, 6), item=d)  # fmt: skip
        f.promise(s, labs, "100", taken=date(2026, 9, 1), promised=date(2026, 9, 10), status=PromiseStatus.CANCELLED)

        for item, day, level in ((e, date(2026, 10, 20), 1), (a, date(2026, 4, 6), 1)):
            s.add(
                CollectionActivity(
                    customer_id=labs.id,
                    invoice_id=item.id,
                    kind=ActivityKind.DUNNING,
                    dunning_level=level,
                    outcome=ActivityOutcome.SENT,
                    performed_at=f.at(day, 7),
                )
            )
        s.add(
            Proposal(
                action="send_dunning",
                tool_name="propose_dunning_send",
                customer_id=labs.id,
                summary="Send second reminder",
                payload={"level": 2},
                diff=[],
                read_versions={"invoices": {str(e.id): 1}, "last_dunning_activity": None},
                required_role="collector",
                proposed_by_id=casey.id,
                proposed_by_name="casey",
                created_at=f.at(date(2026, 11, 2), 8),
                expires_at=f.at(date(2026, 11, 4), 8),
                decision="approved",
                decided_by_id=casey.id,
                decided_by_name="casey",
                decided_at=f.at(date(2026, 11, 2), 9),
                executed_at=f.at(date(2026, 11, 2), 9),
            )
        )
        return Ledger(url=db_url, paid_10_late=a.number, open_item=e.number)


# --- get_invoice -----------------------------------------------------------------------------------------------------


def test_open_invoice_today_with_everything_recorded_against_it(ledger: Ledger) -> None:
    r = call(ledger.url, "get_invoice", "avery", number=ledger.open_item.lower())  # any case
    assert r.number == ledger.open_item and r.customer.name == "Ledger Labs" and r.as_of == TODAY
    assert (r.amount, r.currency, r.status) == (D("4000.00"), "USD", "open")
    assert r.open_amount == D("2500.00") and r.paid_amount == D("1500.00")
    assert r.days_past_due == (TODAY - date(2026, 10, 15)).days == 32 and r.overdue is True
    assert r.paid_date is None and r.days_late is None
    assert [(x.applied_date, x.amount) for x in r.allocations] == [(date(2026, 10, 20), D("1500.00"))]
    assert r.disputed is False
    assert [(x.status.value, x.active, x.resolved_on) for x in r.disputes] == [("resolved", False, date(2026, 11, 5))]
    # The promise on this invoice (broken) and the open whole-balance one; the 2025 whole-balance promise was
    # resolved before the invoice existed, so it never covered it.
    assert [(p.scope, p.status, p.amount) for p in r.promises] == [
        ("whole balance", "open", D("2500.00")),
        ("this invoice", "broken", D("4000.00")),
    ]
    assert [(x.sent_on, x.level, x.proposal_id is not None) for x in r.dunning_letters] == [
        (date(2026, 10, 20), 1, False),
        (date(2026, 11, 2), 2, True),
    ]
    assert any("Paid date" in d for d in r.definitions) and any("Days past due" in d for d in r.definitions)


def test_invoice_as_of_earlier_dates(ledger: Ledger) -> None:
    before_payment = call(ledger.url, "get_invoice", "avery", number=ledger.open_item, as_of="2026-10-19")
    assert before_payment.open_amount == D("4000.00") and before_payment.paid_amount == D("0.00")
    assert before_payment.allocations == [] and before_payment.days_past_due == 4
    assert before_payment.dunning_letters == []  # the first letter went out on the 20th
    assert [(p.scope, p.status) for p in before_payment.promises] == [("this invoice", "open")]

    in_dispute = call(ledger.url, "get_invoice", "avery", number=ledger.open_item, as_of="2026-10-30")
    assert in_dispute.disputed is True and in_dispute.disputes[0].status.value == "open"
    assert in_dispute.disputes[0].resolved_on is None
    assert [p.status for p in in_dispute.promises] == ["broken"]  # judged on the 28th

    not_due = call(ledger.url, "get_invoice", "avery", number=ledger.open_item, as_of="2026-10-10")
    assert not_due.days_past_due == -5 and not_due.overdue is False

    error = refused(ledger.url, "get_invoice", "avery", number=ledger.open_item, as_of="2026-09-01")
    assert error.code is ErrorCode.INVALID_INPUT and "issued on 2026-09-15" in error.message


def test_paid_invoice_days_to_pay_and_days_late(ledger: Ledger) -> None:
    paid = call(ledger.url, "get_invoice", "avery", number=ledger.paid_10_late)
    assert (paid.status, paid.open_amount, paid.overdue, paid.days_past_due) == ("paid", D("0.00"), False, None)
    assert paid.paid_date == date(2026, 4, 10) and paid.days_to_pay == 40 and paid.days_late == 10
    assert [x.level for x in paid.dunning_letters] == [1]
    earlier = call(ledger.url, "get_invoice", "avery", number=ledger.paid_10_late, as_of="2026-04-05")
    assert (earlier.status, earlier.open_amount, earlier.days_past_due, earlier.paid_date) == (
        "open",
        D("1000.00"),
        5,
        None,
    )


def test_invoice_outside_the_book_reads_exactly_as_a_missing_one(ledger: Ledger) -> None:
    missing_number = "NO-SUCH-1"
    outside = refused(ledger.url, "get_invoice", "cleo", number=ledger.open_item)
    missing = refused(ledger.url, "get_invoice", "cleo", number=missing_number)
    assert outside.code is missing.code is ErrorCode.NOT_FOUND
    assert outside.message == missing.message.replace(missing_number, ledger.open_item)
    assert outside.message == f"no invoice {ledger.open_item!r} in your book" and not outside.details
    # Even a date the invoice did not yet exist on gives the same answer outside the book.
    assert refused(ledger.url, "get_invoice", "cleo", number=ledger.open_item, as_of="2026-09-01").message == (
        outside.message
    )
    assert call(ledger.url, "get_invoice", "casey", number=ledger.open_item).open_amount == D("2500.00")
    assert refused(ledger.url, "get_invoice", "avery", number=missing_number).message == "no invoice 'NO-SUCH-1'"
    with read_session(ledger.url) as s:
        denied = s.scalars(select(AuditEvent).where(AuditEvent.event == "access.denied")).all()
    # The two refusals outside the book are audited (by customer id); a missing number is not a refusal.
    assert [(e.subject_id, e.actor_name) for e in denied] == [("get_invoice", "cleo")] * 2
    assert all("outside the caller's book" in e.details["reason"] for e in denied)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"number": ""}, "number"),
        ({"number": "   "}, "number"),
        ({"number": "INV\u200b1"}, "control"),
        ({"number": "X" * 41}, "number"),
        ({"number": 12}, "number"),
        ({"number": "INV-1", "as_of": "2026-13-01"}, "as_of"),
        ({"number": "INV-1", "as_of": "2027-01-01"}, "future"),
    ],
)
def test_invoice_bad_input(ledger: Ledger, arguments: dict[str, Any], fragment: str) -> None:
    number = ledger.open_item if arguments.get("number") == "INV-1" else arguments["number"]
    error = refused(ledger.url, "get_invoice", "avery", **{**arguments, "number": number})
    assert error.code is ErrorCode.INVALID_INPUT and fragment in error.message


# --- get_payment_behaviour ------------------------------------------------------------------------------------------


def test_payment_behaviour_hand_worked(ledger: Ledger) -> None:
    r = call(ledger.url, "get_payment_behaviour", "avery", customer="ledger labs")
    assert (r.window_start, r.window_end) == (date(2025, 11, 17), TODAY)
    fig = r.figures
    # A 1000 (40 to pay, 10 late), B 3000 (60, 30), C 2000 (20, −10); D was paid before the window.
    assert (fig.paid_invoices, fig.paid_amount, fig.currency) == (3, D("6000.00"), "USD")
    assert fig.average_days_to_pay == avg(40 + 60 + 20, 3) == D("40.0")
    assert fig.weighted_average_days_to_pay == avg(1000 * 40 + 3000 * 60 + 2000 * 20, 6000) == D("43.3")
    assert fig.average_days_late == avg(10 + 30 - 10, 3) == D("10.0")
    assert fig.weighted_average_days_late == avg(1000 * 10 + 3000 * 30 - 2000 * 10, 6000) == D("13.3")
    assert fig.paid_late_invoices == 2 and fig.share_paid_late_pct == avg(200, 3) == D("66.7")
    assert fig.share_paid_late_amount_pct == avg(4000 * 100, 6000)
    assert [line.days_late for line in r.invoices] == [-10, 30, 10]  # newest paid first

    by_month = {p.period: p for p in r.trend}
    assert list(by_month) == ["2025-11", "2025-12"] + [f"2026-{month:02d}" for month in range(1, 12)]
    assert by_month["2025-11"].partial and by_month["2025-11"].start == date(2025, 11, 17)
    assert by_month["2026-11"].partial and by_month["2026-11"].end == TODAY and not by_month["2026-06"].partial
    assert by_month["2026-06"].figures.weighted_average_days_late == D("30.0")
    assert by_month["2026-05"].figures.paid_invoices == 0 and by_month["2026-05"].figures.average_days_late is None

    # The book: Ledger Labs and Other Co (4000, 50 to pay, 20 late).
    book = r.comparison
    assert (book.basis, book.customers, book.figures.paid_invoices) == ("whole book", 2, 4)
    assert book.figures.weighted_average_days_late == avg(80000 + 4000 * 20, 10000) == D("16.0")
    assert book.figures.average_days_late == avg(10 + 30 - 10 + 20, 4) == D("12.5")
    assert book.figures.weighted_average_days_to_pay == avg(260000 + 4000 * 50, 10000) == D("46.0")
    assert book.weighted_days_late_difference == D("13.3") - D("16.0")
    assert "2.7 days earlier than the whole book" in book.summary
    assert any("Paid date" in d for d in r.definitions) and any("weighted" in d for d in r.definitions)


def test_payment_behaviour_window_trend_and_as_of(ledger: Ledger) -> None:
    six = call(ledger.url, "get_payment_behaviour", "avery", customer="ledger labs", months=6, trend="quarter")
    assert six.window_start == date(2026, 5, 17)
    assert six.figures.paid_invoices == 2  # B and C
    assert six.figures.weighted_average_days_late == avg(3000 * 30 - 2000 * 10, 5000) == D("14.0")
    assert [p.period for p in six.trend] == ["2026-Q2", "2026-Q3", "2026-Q4"]
    assert six.trend[0].partial and six.trend[0].figures.average_days_late == D("30.0")

    quarterly = call(ledger.url, "get_payment_behaviour", "avery", customer="ledger labs", trend="quarter")
    q2 = next(p for p in quarterly.trend if p.period == "2026-Q2")
    assert q2.figures.weighted_average_days_late == avg(10000 + 90000, 4000) == D("25.0")
    assert q2.figures.average_days_late == D("20.0")

    past = call(ledger.url, "get_payment_behaviour", "avery", customer="ledger labs", as_of="2026-07-01")
    assert past.window_start == date(2025, 7, 2)
    assert past.figures.paid_invoices == 3  # D, A, B (C was paid later)
    assert past.figures.weighted_average_days_late == avg(500 * 19 + 10000 + 90000, 4500) == D("24.3")
    assert past.comparison.figures.paid_invoices == 3  # Other Co paid on 07-21, after the as-of date


def test_payment_behaviour_collector_compares_with_own_book(ledger: Ledger) -> None:
    mine = call(ledger.url, "get_payment_behaviour", "casey", customer="ledger labs")
    assert mine.comparison.basis == "your book" and mine.comparison.customers == 1
    assert mine.comparison.figures.weighted_average_days_late == mine.figures.weighted_average_days_late
    assert mine.comparison.weighted_days_late_difference == D("0.0")
    outside = refused(ledger.url, "get_payment_behaviour", "cleo", customer="Ledger Labs")
    nobody = refused(ledger.url, "get_payment_behaviour", "cleo", customer="Nobody Such")
    assert outside.code is nobody.code is ErrorCode.NOT_FOUND
    assert outside.message == nobody.message.replace("Nobody Such", "Ledger Labs")


def test_payment_behaviour_without_paid_invoices_and_bad_input(ledger: Ledger) -> None:
    none = call(ledger.url, "get_payment_behaviour", "avery", customer="ledger labs", as_of="2025-10-01")
    assert none.figures.paid_invoices == 0 and none.figures.weighted_average_days_late is None
    assert none.comparison.weighted_days_late_difference is None and "no comparison" in none.comparison.summary
    for bad in (
        {"months": 0},
        {"months": 61},
        {"trend": "week"},
        {"as_of": "2027-01-01"},
        {"period_start": "2026-11-17"},  # after the as-of date
        {"period_start": "2021-11-15"},  # more than 60 months before it
        {"period_start": "2026-13-01"},
    ):
        error = refused(ledger.url, "get_payment_behaviour", "avery", customer="ledger labs", **bad)
        assert error.code is ErrorCode.INVALID_INPUT, bad


def test_payment_behaviour_window_from_a_start_date(ledger: Ledger) -> None:
    """ "since June", "YTD", "Q3": the window's first day instead of a number of months."""
    june = call(ledger.url, "get_payment_behaviour", "avery", customer="ledger labs", period_start="2026-06-01")
    assert (june.window_start, june.window_end) == (date(2026, 6, 1), TODAY)
    assert june.figures.paid_invoices == 2  # B and C, as in the six months from 2026-05-17
    assert june.figures.weighted_average_days_late == D("14.0")
    assert june.trend[0].period == "2026-06" and not june.trend[0].partial


# --- get_promise_history ---------------------------------------------------------------------------------------------


def test_promise_history_hand_worked_and_consistent_with_exposure(ledger: Ledger) -> None:
    r = call(ledger.url, "get_promise_history", "casey", customer="ledger labs")
    assert r.total == 6 and r.shown == 6
    assert [p.taken_on for p in r.promises] == sorted((p.taken_on for p in r.promises), reverse=True)
    last = r.last_promise
    assert last is not None and last.taken_on == date(2026, 11, 1) and last.status == "open"
    assert last.invoice_number is None and last.amount == D("2500.00") and not last.past_promised_date
    assert r.counts.model_dump() == {"open": 1, "kept": 2, "partially_kept": 1, "broken": 1, "cancelled": 1}
    # Judged with a promised date in the 365 days up to today: Dec-2025 kept, Jun partially kept, Oct broken.
    assert (r.kept_12m, r.judged_12m, r.kept_rate_12m_pct) == (1, 3, avg(100, 3))
    assert r.broken_last_90_days == 1
    broken = next(p for p in r.promises if p.status == "broken")
    assert broken.resolved_on == date(2026, 10, 28) and broken.invoice_number == ledger.open_item
    exposure = call(ledger.url, "get_customer_exposure", "casey", customer="ledger labs")
    assert exposure.promises.kept_rate_12m_pct == r.kept_rate_12m_pct
    assert exposure.promises.broken_last_90_days == r.broken_last_90_days
    assert exposure.promises.open_count == r.counts.open
    assert any("Kept rate" in d for d in r.definitions)


def test_promise_history_as_of_and_limit(ledger: Ledger) -> None:
    r = call(ledger.url, "get_promise_history", "avery", customer="ledger labs", as_of="2026-10-26", limit=2)
    assert r.total == 5 and r.shown == 2 and len(r.promises) == 2  # the November promise was not yet taken
    last = r.last_promise
    assert last is not None and last.taken_on == date(2026, 10, 18)
    assert last.status == "open" and last.past_promised_date and last.resolved_on is None and last.amount_paid is None
    assert r.counts.open == 1 and r.counts.broken == 0
    assert (r.kept_12m, r.judged_12m, r.kept_rate_12m_pct) == (1, 2, D("50.0"))
    error = refused(ledger.url, "get_promise_history", "avery", customer="ledger labs", limit=0)
    assert error.code is ErrorCode.INVALID_INPUT


def test_promise_history_from_a_start_date(ledger: Ledger) -> None:
    """ "Ledger Labs promises since July": due on or after 1 July — broken 10-25, open 11-20, cancelled 09-10."""
    whole = call(ledger.url, "get_promise_history", "avery", customer="ledger labs")
    r = call(ledger.url, "get_promise_history", "avery", customer="ledger labs", period_start="2026-07-01")
    assert r.period_start == date(2026, 7, 1) and r.total == 3
    assert [p.promised_date for p in r.promises] == [date(2026, 11, 20), date(2026, 10, 25), date(2026, 9, 10)]
    assert (r.counts.broken, r.counts.open, r.counts.cancelled, r.counts.kept, r.counts.partially_kept) == (
        1,
        1,
        1,
        0,
        0,
    )
    assert r.last_promise is not None and r.last_promise.promised_date == date(2026, 11, 20)
    assert (r.kept_12m, r.judged_12m, r.broken_last_90_days) == (whole.kept_12m, whole.judged_12m, 1)
    assert any("on or after 2026-07-01" in d for d in r.definitions)
    today = call(ledger.url, "get_promise_history", "avery", customer="ledger labs", period_start="2026-11-16")
    assert [p.promised_date for p in today.promises] == [date(2026, 11, 20)]  # due ahead, taken already
    error = refused(ledger.url, "get_promise_history", "avery", customer="ledger labs", period_start="2026-11-17")
    assert error.code is ErrorCode.INVALID_INPUT


def test_promise_history_outside_the_book_and_for_sales(ledger: Ledger) -> None:
    outside = refused(ledger.url, "get_promise_history", "cleo", customer="Ledger Labs")
    nobody = refused(ledger.url, "get_promise_history", "cleo", customer="Nobody Such")
    assert outside.code is nobody.code is ErrorCode.NOT_FOUND
    assert outside.message == nobody.message.replace("Nobody Such", "Ledger Labs")
    none = call(ledger.url, "get_promise_history", "cleo", customer="other co")
    assert none.total == 0 and none.last_promise is None and none.kept_rate_12m_pct is None


def test_sales_may_not_read_invoices_behaviour_or_promises(ledger: Ledger) -> None:
    cases: tuple[tuple[str, dict[str, Any]], ...] = (
        ("get_invoice", {"number": ledger.open_item}),
        ("get_payment_behaviour", {"customer": "ledger labs"}),
        ("get_promise_history", {"customer": "ledger labs"}),
    )
    for name, arguments in cases:
        error = refused(ledger.url, name, "sam", **arguments)
        assert error.code is ErrorCode.FORBIDDEN, name


# --- REST API and CLI over the seeded demo portfolio -----------------------------------------------------------------


@dataclass
class Api:
    client: TestClient
    keys: dict[str, str]
    url: str

    def get(self, path: str, who: str, **kwargs: Any) -> Any:
        return self.client.get(path, headers=bearer(self.keys[who]), **kwargs)


@pytest.fixture
def api(seeded_db_url: str) -> Iterator[Api]:
    with TestClient(create_app(database_url=seeded_db_url, service=FakeService())) as client:
        yield Api(client=client, keys=issue_keys(seeded_db_url), url=seeded_db_url)


def _invoice_outside_book(url: str, collector: str) -> tuple[str, str]:
    """(number, customer external id) of a paid invoice of a customer outside `collector`'s book."""
    with read_session(url) as s:
        staff_id = s.scalars(select(StaffUser.id).where(StaffUser.name == collector)).one()
        from db.models import Customer

        row = s.execute(
            select(Invoice.number, Customer.external_id)
            .join(Customer, Customer.id == Invoice.customer_id)
            .where(Invoice.settled_dn.is_not(None), Customer.collector_id != staff_id)
            .order_by(Invoice.settled_dn.desc(), Invoice.id)
            .limit(1)
        ).one()
        return row[0], row[1]


def test_rest_endpoints(api: Api) -> None:
    number, external_id = _invoice_outside_book(api.url, "casey")
    body = api.get(f"/v1/invoices/{number.lower()}", "avery")
    assert body.status_code == 200, body.text
    shown = body.json()
    assert shown["number"] == number and shown["status"] == "paid" and shown["customer"]["external_id"] == external_id
    assert shown["days_late"] is not None and shown["definitions"]
    outside = api.get(f"/v1/invoices/{number}", "casey")
    missing = api.get("/v1/invoices/NO-SUCH-1", "casey")
    assert outside.status_code == missing.status_code == 404
    assert outside.json()["detail"] == missing.json()["detail"].replace("NO-SUCH-1", number)
    assert api.get(f"/v1/invoices/{number}", "sam").status_code == 403
    assert api.get(f"/v1/invoices/{number}?as_of=1980-01-01", "avery").status_code == 422

    behaviour = api.get(f"/v1/customers/{external_id}/payment-behaviour?months=24&trend=quarter", "avery")
    assert behaviour.status_code == 200, behaviour.text
    data = behaviour.json()
    assert data["figures"]["paid_invoices"] >= 1 and data["trend_by"] == "quarter"
    assert data["comparison"]["basis"] == "whole book" and data["comparison"]["customers"] >= 1
    assert api.get(f"/v1/customers/{external_id}/payment-behaviour?months=0", "avery").status_code == 422
    assert api.get(f"/v1/customers/{external_id}/payment-behaviour", "sam").status_code == 403
    assert api.get(f"/v1/customers/{external_id}/payment-behaviour", "casey").status_code == 404

    promises = api.get("/v1/customers/soylent/promises", "morgan")
    assert promises.status_code == 200, promises.text
    history = promises.json()
    assert history["total"] >= 3 and history["last_promise"]["status"] == "open"  # Soylent: broken, broken, open
    assert sum(1 for p in history["promises"] if p["status"] == "broken") >= 2
    assert api.get("/v1/customers/soylent/promises", "sam").status_code == 403

    pending = api.get("/v1/approvals/pending", "morgan")
    assert pending.status_code == 200 and pending.json()["approver"] == "morgan"
    assert api.get("/v1/approvals/pending?limit=0", "morgan").status_code == 422
    assert api.get("/v1/approvals/pending", "sam").status_code == 200


def test_cli_runs_the_new_tools(seeded_db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    number, _ = _invoice_outside_book(seeded_db_url, "casey")
    monkeypatch.setenv("CREDITDESK_DATABASE_URL", seeded_db_url)
    reset_settings()
    try:
        runner = CliRunner()
        shown = runner.invoke(cli, ["tool", "get_invoice", "--json", json.dumps({"number": number}), "--as", "avery"])
        hidden = runner.invoke(cli, ["tool", "get_invoice", "--json", json.dumps({"number": number}), "--as", "casey"])
        listed = runner.invoke(cli, ["tool", "--list"])
    finally:
        reset_settings()
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["number"] == number
    assert hidden.exit_code == 1 and f"no invoice {number!r} in your book" in hidden.output
    for name in ("get_invoice", "get_payment_behaviour", "get_promise_history", "list_pending_approvals"):
        assert name in listed.stdout
