"""Payment behaviour over paid invoices: one customer's invoice by invoice, and the book's totals to compare with.

A paid invoice is an invoice (not a credit note) with status paid, a positive amount and a settlement day (the day
the allocation that brought its open amount to zero was applied) in the window. Days to pay = settlement day − issue
day; days late = settlement day − due day (negative when paid early); late = days late > 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, and_, case, func, select, type_coerce
from sqlalchemy.orm import Session

from db.models import Customer, Invoice, InvoiceKind, InvoiceStatus
from db.queries.portfolio import Rates, Selection, customer_conditions
from db.types import AnySelect, Money

LATE_AFTER_DAYS = 0


@dataclass(frozen=True)
class PaidInvoiceRow:
    number: str
    issue_date: date
    due_date: date
    paid_date: date
    amount: Decimal
    currency: str
    days_to_pay: int
    days_late: int


@dataclass(frozen=True)
class PaidTotals:
    """One currency's paid invoices in the window: sums the averages are built from (amounts in that currency)."""

    currency: str
    invoices: int
    amount: Decimal
    amount_x_days_late: Decimal
    days_late: int
    amount_x_days_to_pay: Decimal
    days_to_pay: int
    late_invoices: int
    late_amount: Decimal


def _paid_in(first_dn: int, last_dn: int) -> list[Any]:
    return [
        Invoice.kind == InvoiceKind.INVOICE,
        Invoice.status == InvoiceStatus.PAID,
        Invoice.amount > 0,
        Invoice.settled_dn.between(first_dn, last_dn),
    ]


def customer_paid_invoices(session: Session, customer_id: int, first_dn: int, last_dn: int) -> list[PaidInvoiceRow]:
    """One customer's invoices paid between two day numbers (inclusive), in the order they were paid."""
    rows = session.execute(
        select(
            Invoice.number,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.settled_date.label("paid_date"),
            Invoice.amount,
            Invoice.currency,
            (Invoice.settled_dn - Invoice.issue_dn).label("days_to_pay"),
            (Invoice.settled_dn - Invoice.due_dn).label("days_late"),
        )
        .where(Invoice.customer_id == customer_id, *_paid_in(first_dn, last_dn))
        .order_by(Invoice.settled_dn, Invoice.id)
    ).all()
    return [PaidInvoiceRow(**row._mapping) for row in rows]


def _paid_sums() -> list[Any]:
    """The sums a PaidTotals is read from (`_paid_totals`), over the selected paid invoices."""
    days_late = Invoice.settled_dn - Invoice.due_dn
    days_to_pay = Invoice.settled_dn - Invoice.issue_dn
    late = days_late > LATE_AFTER_DAYS
    return [
        func.count(),
        func.sum(Invoice.amount),
        type_coerce(func.sum(Invoice.amount * days_late), Money()),
        func.sum(days_late),
        type_coerce(func.sum(Invoice.amount * days_to_pay), Money()),
        func.sum(days_to_pay),
        func.sum(case((late, 1), else_=0)),
        type_coerce(func.coalesce(func.sum(case((late, Invoice.amount), else_=0)), 0), Money()),
    ]


def _paid_totals(currency: str, sums: Sequence[Any]) -> PaidTotals:
    count, amount, weighted_late, late_days, weighted_pay, pay_days, late_count, late_amount = sums
    return PaidTotals(
        currency=currency,
        invoices=int(count),
        amount=Decimal(amount),
        amount_x_days_late=Decimal(weighted_late),
        days_late=int(late_days),
        amount_x_days_to_pay=Decimal(weighted_pay),
        days_to_pay=int(pay_days),
        late_invoices=int(late_count),
        late_amount=Decimal(late_amount),
    )


def book_paid_totals(
    session: Session, first_dn: int, last_dn: int, *, collector_id: int | None = None
) -> tuple[list[PaidTotals], int]:
    """Every customer's invoices paid between two day numbers (inclusive), summed per currency, and how many
    customers paid any; `collector_id` limits both to that collector's book."""
    conditions = _paid_in(first_dn, last_dn)
    if collector_id is not None:
        in_book = select(Customer.id).where(Customer.collector_id == collector_id)
        conditions.append(Invoice.customer_id.in_(in_book))
    rows = session.execute(
        select(Invoice.currency, *_paid_sums()).where(*conditions).group_by(Invoice.currency).order_by(Invoice.currency)
    ).all()
    customers = session.scalar(select(func.count(func.distinct(Invoice.customer_id))).where(and_(*conditions)))
    return [_paid_totals(row[0], row[1:]) for row in rows], int(customers or 0)


def payers_by_lateness(
    session: Session,
    first_dn: int,
    last_dn: int,
    selection: Selection,
    restriction: AnySelect | None,
    rates: Rates,
    *,
    latest_first: bool,
    limit: int,
    min_invoices: int,
) -> list[int]:
    """Customer ids of the selection ranked by the amount-weighted average days late of the invoices they paid
    between two day numbers (inclusive), latest payers first or earliest first; only customers with at least
    `min_invoices` paid. Amounts are weighted in the reporting currency at `rates` (floating point, for the order
    only: callers compute the exact figures)."""
    days_late = Invoice.settled_dn - Invoice.due_dn
    weight = type_coerce(Invoice.amount, Float) * rates.expression(Invoice.currency)
    weighted = (func.sum(weight * days_late) / func.nullif(func.sum(weight), 0)).label("weighted")
    source: Any = Invoice.__table__
    if selection.needs_customer_table:
        source = source.join(Customer, Customer.id == Invoice.customer_id)
    conditions = [*_paid_in(first_dn, last_dn), *customer_conditions(selection, Invoice.customer_id, Invoice.currency)]
    if restriction is not None:
        conditions.append(Invoice.customer_id.in_(restriction))
    statement = (
        select(Invoice.customer_id, weighted)
        .select_from(source)
        .where(*conditions)
        .group_by(Invoice.customer_id)
        .having(func.count() >= min_invoices)
        .order_by(weighted.desc() if latest_first else weighted.asc(), Invoice.customer_id)
        .limit(limit)
    )
    return [int(row[0]) for row in session.execute(statement)]


def paid_totals_by_customer(
    session: Session, customer_ids: Sequence[int], first_dn: int, last_dn: int, currencies: Sequence[str] | None
) -> dict[int, list[PaidTotals]]:
    """The paid-invoice sums of each customer (per currency) between two day numbers, inclusive."""
    if not customer_ids:
        return {}
    conditions = [*_paid_in(first_dn, last_dn), Invoice.customer_id.in_(list(customer_ids))]
    if currencies is not None:
        conditions.append(Invoice.currency.in_(list(currencies)))
    rows = session.execute(
        select(Invoice.customer_id, Invoice.currency, *_paid_sums())
        .where(*conditions)
        .group_by(Invoice.customer_id, Invoice.currency)
        .order_by(Invoice.customer_id, Invoice.currency)
    ).all()
    out: dict[int, list[PaidTotals]] = {}
    for row in rows:
        out.setdefault(int(row[0]), []).append(_paid_totals(row[1], row[2:]))
    return out
