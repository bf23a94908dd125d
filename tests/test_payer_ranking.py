"""Customers ranked by how late they pay (get_portfolio_summary `payers`): a hand-built ledger whose figures are
worked out by hand below, on SQLite and PostgreSQL — order both ways, the minimum of paid invoices, the window,
filters, the reporting-currency weights of a customer paying in two currencies, a collector's own book, bad input."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.errors import ErrorCode
from db.engine import write_session
from db.models import Role
from tests.support import factories as f
from tests.support.read_tools import call, refused

D = Decimal


@pytest.fixture
def book(db_url: str) -> str:
    """Today 2026-11-16; the default period runs from 2026-09-01. Paid in it:
    Slow Co (USD, casey): 1000 paid 30 days late, 3000 paid 10 late → weighted 15.0, simple 20.0.
    Euro GmbH (EMEA, cleo): EUR 2000 paid 40 late, EUR 2000 on its due date, USD 1000 paid 10 early; at 1.10 USD per
    EUR → (2200×40 + 2200×0 − 1000×10) / 5400 = 14.4 weighted, simple 10.0, 1 of 3 late.
    Prompt Inc (USD, casey): 500 and 1500, each paid 5 days early → −5.0.
    One Off Ltd: a single invoice paid 90 late (below the minimum of two). Old Co: two paid before the period."""
    with write_session(db_url) as s:
        casey = f.staff(s, "casey", Role.COLLECTOR)
        cleo = f.staff(s, "cleo", Role.COLLECTOR)
        f.staff(s, "avery", Role.CREDIT_ANALYST)
        f.fx_rate(s, "EUR", "USD", "1.10", on=date(2026, 1, 1))
        slow = f.customer(s, "Slow Co", collector=casey, risk_class="D")
        euro = f.customer(s, "Euro GmbH", currency="EUR", collector=cleo)
        euro.region = "EMEA"
        prompt = f.customer(s, "Prompt Inc", collector=casey, risk_class="A")
        one_off = f.customer(s, "One Off Ltd", collector=cleo)
        old = f.customer(s, "Old Co", collector=cleo)

        def paid(who: object, amount: str, due: date, late: int, currency: str | None = None) -> None:
            item = f.invoice(s, who, amount, issued=due - timedelta(days=30), due=due, currency=currency)  # type: ignore[arg-type]
            f.pay(s, item, amount, on=due + timedelta(days=late))

        paid(slow, "1000", date(2026, 8, 31), 30)
        paid(slow, "3000", date(2026, 10, 1), 10)
        paid(euro, "2000", date(2026, 9, 1), 40)
        paid(euro, "2000", date(2026, 10, 15), 0)
        paid(euro, "1000", date(2026, 10, 20), -10, currency="USD")
        paid(prompt, "500", date(2026, 9, 20), -5)
        paid(prompt, "1500", date(2026, 10, 20), -5)
        paid(one_off, "800", date(2026, 8, 20), 90)
        paid(old, "900", date(2026, 6, 1), 60)
        paid(old, "900", date(2026, 7, 1), 50)
    return db_url


def _ranked(url: str, who: str = "avery", **arguments: object) -> list[tuple[str, Decimal | None]]:
    summary = call(url, "get_portfolio_summary", who, **arguments)
    assert summary.payers is not None
    return [(row.name, row.weighted_average_days_late) for row in summary.payers.rows]


def test_latest_payers_first_hand_worked(book: str) -> None:
    summary = call(book, "get_portfolio_summary", "avery", payers="latest_first")
    payers = summary.payers
    assert payers is not None and (payers.window_start, payers.window_end) == (date(2026, 9, 1), date(2026, 11, 16))
    assert [(r.rank, r.name, r.weighted_average_days_late) for r in payers.rows] == [
        (1, "Slow Co", D("15.0")),
        (2, "Euro GmbH", D("14.4")),
        (3, "Prompt Inc", D("-5.0")),
    ]
    slow, euro, prompt = payers.rows
    assert (slow.paid_invoices, slow.paid_amount, slow.average_days_late, slow.share_paid_late_pct) == (
        2, D("4000.00"), D("20.0"), D("100.0"),
    )  # fmt: skip
    assert (euro.paid_invoices, euro.paid_amount, euro.average_days_late, euro.share_paid_late_pct) == (
        3, D("5400.00"), D("10.0"), D("33.3"),
    )  # fmt: skip
    assert (prompt.risk_class, prompt.share_paid_late_pct) == ("A", D("0.0"))
    assert "at least 2 invoices paid" in summary.definitions["payers"]


def test_earliest_first_top_n_and_filters(book: str) -> None:
    assert [name for name, _ in _ranked(book, payers="earliest_first")] == ["Prompt Inc", "Euro GmbH", "Slow Co"]
    assert _ranked(book, payers="latest_first", top_n=1) == [("Slow Co", D("15.0"))]
    assert _ranked(book, payers="latest_first", regions=["EMEA"]) == [("Euro GmbH", D("14.4"))]
    # the item-currency filter: only the two EUR invoices count, (2000×40 + 2000×0) / 4000
    assert _ranked(book, payers="latest_first", currencies=["EUR"]) == [("Euro GmbH", D("20.0"))]
    # a period of one month (November): nothing was paid in it
    assert _ranked(book, payers="latest_first", period_months=1) == []


def test_a_collector_ranks_their_own_book(book: str) -> None:
    assert [name for name, _ in _ranked(book, "casey", payers="latest_first")] == ["Slow Co", "Prompt Inc"]


def test_an_unknown_order_is_refused(book: str) -> None:
    error = refused(book, "get_portfolio_summary", "avery", payers="sideways")
    assert error.code is ErrorCode.INVALID_INPUT


def test_no_ranking_unless_asked(book: str) -> None:
    assert call(book, "get_portfolio_summary", "avery").payers is None
