"""Customers ranked by how late they pay: the portfolio's answer to "our 5 worst payers in EMEA", "who pays us the
slowest", "our best payers".

A customer's lateness is the amount-weighted average days late (paid date − due date, early payments negative) of
the invoices it paid in the portfolio period, as `get_payment_behaviour` defines it for one customer. Only customers
with at least MIN_PAID_INVOICES paid there are ranked, so one stray invoice does not make a customer the worst payer.
The order comes from SQL (floating-point weights); the figures shown are then computed exactly in the reporting
currency.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from core.dates import day_number
from db.queries import portfolio as q
from db.queries.behaviour import PaidTotals, paid_totals_by_customer, payers_by_lateness
from tools.fx import FxConverter

PayerOrder = Literal["latest_first", "earliest_first"]
MIN_PAID_INVOICES = 2
DAYS = Decimal("0.1")
PCT = Decimal("0.1")
# Candidates fetched beyond top_n: the SQL order uses floating-point weights, the final one exact figures.
MARGIN = 5


class PayerRow(BaseModel):
    rank: int
    customer_id: int
    external_id: str
    name: str
    risk_class: str | None
    paid_invoices: int
    paid_amount: Decimal = Field(description="Paid in the period, reporting currency")
    weighted_average_days_late: Decimal | None = Field(description="Amount-weighted mean of (paid − due) days")
    average_days_late: Decimal | None = Field(description="Simple mean of (paid − due) days")
    share_paid_late_pct: Decimal | None = Field(description="Invoices paid after their due date / paid × 100")


class PayerRanking(BaseModel):
    order: PayerOrder
    window_start: date
    window_end: date
    min_paid_invoices: int
    rows: list[PayerRow]
    definition: str


def rank_payers(
    session: Session,
    selection: q.Selection,
    restriction: Any,
    rates: q.Rates,
    fx: FxConverter,
    *,
    window: tuple[date, date],
    order: PayerOrder,
    top_n: int,
) -> PayerRanking:
    first, last = window
    latest_first = order == "latest_first"
    candidates = payers_by_lateness(
        session,
        day_number(first),
        day_number(last),
        selection,
        restriction,
        rates,
        latest_first=latest_first,
        limit=top_n + MARGIN,
        min_invoices=MIN_PAID_INVOICES,
    )
    totals = paid_totals_by_customer(session, candidates, day_number(first), day_number(last), selection.currencies)
    info = q.customer_info(session, candidates)
    measured = [(customer_id, _figures(totals.get(customer_id, []), fx)) for customer_id in candidates]
    measured.sort(key=lambda pair: (_order_key(pair[1]["weighted"], latest_first), pair[0]))
    rows = [
        PayerRow(
            rank=rank,
            customer_id=customer_id,
            external_id=info[customer_id].external_id,
            name=info[customer_id].name,
            risk_class=info[customer_id].risk_class,
            paid_invoices=figures["invoices"],
            paid_amount=figures["amount"],
            weighted_average_days_late=figures["weighted"],
            average_days_late=figures["simple"],
            share_paid_late_pct=figures["late_share"],
        )
        for rank, (customer_id, figures) in enumerate(measured[:top_n], start=1)
    ]
    return PayerRanking(
        order=order,
        window_start=first,
        window_end=last,
        min_paid_invoices=MIN_PAID_INVOICES,
        rows=rows,
        definition=definition(first, last, order, fx.to_currency),
    )


def _order_key(weighted: Decimal | None, latest_first: bool) -> Decimal:
    value = weighted if weighted is not None else Decimal(0)
    return -value if latest_first else value


def _figures(totals: list[PaidTotals], fx: FxConverter) -> dict[str, Any]:
    invoices = sum(t.invoices for t in totals)
    amount = sum((fx.convert(t.amount, t.currency) for t in totals), Decimal(0))
    weighted_days = sum((fx.convert(t.amount_x_days_late, t.currency) for t in totals), Decimal(0))
    late = sum(t.late_invoices for t in totals)
    return {
        "invoices": invoices,
        "amount": amount.quantize(Decimal("0.01")),
        "weighted": (weighted_days / amount).quantize(DAYS) if amount > 0 else None,
        "simple": (Decimal(sum(t.days_late for t in totals)) / invoices).quantize(DAYS) if invoices else None,
        "late_share": (Decimal(late) * 100 / invoices).quantize(PCT) if invoices else None,
    }


def definition(first: date, last: date, order: PayerOrder, currency: str) -> str:
    direction = "latest payers first" if order == "latest_first" else "earliest payers first"
    return (
        f"Payers ranked by the amount-weighted average days late of the invoices they paid from {first} to {last} "
        f"({direction}): days late = paid date − due date, early payments count negative, weights in {currency}. "
        f"Only customers of the selection with at least {MIN_PAID_INVOICES} invoices paid in that window are ranked; "
        "a customer that paid nothing there is not (its overdue balance shows in the overdue ranking). Customer "
        "filters and the currency filter apply; days-past-due ranges and disputes concern open items and do not."
    )
