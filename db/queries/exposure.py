"""Per-customer facts for exposure and the order-release check: orders, promises, payments, behaviour.

These run on every exposure lookup, so the statements are built once with bind parameters (SQLAlchemy then
reuses their compiled form) and the scalar facts come back in one round trip.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Integer, String, and_, bindparam, case, func, or_, select, true
from sqlalchemy.orm import Session

from core.dates import day_number, end_of_day_utc
from db.models import Invoice, InvoiceKind, OrderStatus, Payment, PromiseStatus, PromiseToPay, SalesOrder
from db.types import AnySelect, UTCDateTime

PAID_LATE_AFTER_DAYS = 0


@dataclass(frozen=True)
class OrderBook:
    open_amount: Decimal
    open_orders: int
    on_hold_amount: Decimal
    on_hold_orders: int


@dataclass(frozen=True)
class OpenOrder:
    id: int
    number: str
    order_date: date
    open_amount: Decimal
    currency: str
    on_hold: bool
    hold_reason: str | None


@dataclass(frozen=True)
class PromiseFacts:
    open_count: int
    open_amount: Decimal
    next_promised_date: date | None
    broken_last_90_days: int
    kept_last_365_days: int
    due_last_365_days: int


@dataclass(frozen=True)
class LastPayment:
    received_date: date
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class PaidBehaviour:
    paid_invoices: int
    paid_amount: Decimal
    weighted_days_late: Decimal | None  # amount-weighted mean of (settled - due) over paid invoices
    share_paid_late_pct: Decimal | None  # share of paid invoices settled after their due date


@dataclass(frozen=True)
class CustomerFacts:
    orders: OrderBook
    promises: PromiseFacts
    last_payment: LastPayment | None
    paid: PaidBehaviour
    sales_by_currency: dict[str, Decimal]


def _count_where(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


@cache
def _facts_statement() -> AnySelect:
    cid = bindparam("customer_id", type_=Integer)
    as_of_dn = bindparam("as_of_dn", type_=Integer)
    moment = bindparam("moment", type_=UTCDateTime())
    open_order = and_(SalesOrder.customer_id == cid, SalesOrder.status == OrderStatus.OPEN)
    orders = select(
        func.coalesce(func.sum(SalesOrder.open_amount), 0).label("orders_open"),
        func.count().label("orders_count"),
        func.coalesce(func.sum(case((SalesOrder.on_hold.is_(True), SalesOrder.open_amount), else_=0)), 0).label(
            "orders_hold_amount"
        ),
        _count_where(SalesOrder.on_hold.is_(True)).label("orders_hold_count"),
    ).where(open_order)

    open_at = and_(
        PromiseToPay.taken_at <= moment,
        or_(PromiseToPay.resolved_at.is_(None), PromiseToPay.resolved_at > moment),
        PromiseToPay.status != PromiseStatus.CANCELLED,
    )
    resolved_by = and_(PromiseToPay.resolved_at.is_not(None), PromiseToPay.resolved_at <= moment)
    recent_year = PromiseToPay.promised_dn > as_of_dn - 365
    promises = select(
        _count_where(open_at).label("promises_open"),
        func.coalesce(func.sum(case((open_at, PromiseToPay.amount), else_=0)), 0).label("promises_open_amount"),
        func.min(case((open_at, PromiseToPay.promised_date), else_=None)).label("promises_next"),
        _count_where(
            and_(resolved_by, PromiseToPay.status == PromiseStatus.BROKEN, PromiseToPay.promised_dn > as_of_dn - 90)
        ).label("promises_broken_90"),
        _count_where(and_(resolved_by, PromiseToPay.status == PromiseStatus.KEPT, recent_year)).label(
            "promises_kept_365"
        ),
        _count_where(
            and_(
                resolved_by,
                PromiseToPay.status.in_([PromiseStatus.KEPT, PromiseStatus.BROKEN, PromiseStatus.PARTIALLY_KEPT]),
                recent_year,
            )
        ).label("promises_due_365"),
    ).where(PromiseToPay.customer_id == cid)

    days_late = Invoice.settled_dn - Invoice.due_dn
    paid = select(
        func.count().label("paid_count"),
        func.coalesce(func.sum(Invoice.amount), 0).label("paid_amount"),
        func.sum(Invoice.amount * days_late).label("paid_weighted_late"),
        _count_where(days_late > PAID_LATE_AFTER_DAYS).label("paid_late_count"),
    ).where(
        Invoice.customer_id == cid,
        Invoice.kind == InvoiceKind.INVOICE,
        Invoice.settled_dn.between(bindparam("paid_from_dn", type_=Integer), as_of_dn),
    )

    sales_window = and_(
        Invoice.customer_id == cid,
        Invoice.issue_dn.between(bindparam("sales_from_dn", type_=Integer), as_of_dn),
    )
    own_currency = Invoice.currency == bindparam("currency", type_=String)
    sales = select(
        func.coalesce(func.sum(case((own_currency, Invoice.amount), else_=0)), 0).label("sales_own_currency"),
        _count_where(~own_currency).label("sales_other_currency_items"),
    ).where(sales_window)

    last = (
        select(Payment.received_date, Payment.amount, Payment.currency)
        .where(Payment.customer_id == cid, Payment.received_dn <= as_of_dn)
        .order_by(Payment.received_dn.desc(), Payment.id.desc())
        .limit(1)
        .subquery("last_payment")
    )
    o = orders.subquery("o")
    p = promises.subquery("p")
    b = paid.subquery("b")
    s = sales.subquery("s")
    return select(o, p, b, s, last.c.received_date, last.c.amount.label("last_amount"), last.c.currency).select_from(
        o.join(p, true()).join(b, true()).join(s, true()).outerjoin(last, true())
    )


@cache
def _sales_statement() -> AnySelect:
    return (
        select(Invoice.currency, func.sum(Invoice.amount))
        .where(
            Invoice.customer_id == bindparam("customer_id", type_=Integer),
            Invoice.issue_dn.between(bindparam("first_dn", type_=Integer), bindparam("last_dn", type_=Integer)),
        )
        .group_by(Invoice.currency)
    )


def customer_facts(
    session: Session, customer_id: int, currency: str, as_of: date, *, sales_days: int, paid_days: int
) -> CustomerFacts:
    """Orders (today's book), promises as they stood at the end of `as_of`, the last payment by then, invoices
    settled in the `paid_days` before it, and net sales issued in the `sales_days` before it, by currency."""
    as_of_dn = day_number(as_of)
    connection = session.connection()
    sales_from_dn = as_of_dn - sales_days + 1
    row = connection.execute(
        _facts_statement(),
        {
            "customer_id": customer_id,
            "as_of_dn": as_of_dn,
            "moment": end_of_day_utc(as_of),
            "paid_from_dn": as_of_dn - paid_days + 1,
            "sales_from_dn": sales_from_dn,
            "currency": currency,
        },
    ).one()
    sales: list[Any] = [(currency, row.sales_own_currency)]
    if row.sales_other_currency_items:
        sales = list(
            connection.execute(
                _sales_statement(), {"customer_id": customer_id, "first_dn": sales_from_dn, "last_dn": as_of_dn}
            ).all()
        )
    paid_count, paid_amount = int(row.paid_count), Decimal(row.paid_amount)
    paid_behaviour = (
        PaidBehaviour(
            paid_invoices=paid_count,
            paid_amount=paid_amount,
            weighted_days_late=(Decimal(row.paid_weighted_late) / paid_amount).quantize(Decimal("0.1")),
            share_paid_late_pct=(Decimal(row.paid_late_count) * 100 / paid_count).quantize(Decimal("0.1")),
        )
        if paid_count and paid_amount
        else PaidBehaviour(paid_count, paid_amount, None, None)
    )
    return CustomerFacts(
        orders=OrderBook(
            Decimal(row.orders_open), int(row.orders_count), Decimal(row.orders_hold_amount), int(row.orders_hold_count)
        ),
        promises=PromiseFacts(
            open_count=int(row.promises_open),
            open_amount=Decimal(row.promises_open_amount),
            next_promised_date=_as_date(row.promises_next),
            broken_last_90_days=int(row.promises_broken_90),
            kept_last_365_days=int(row.promises_kept_365),
            due_last_365_days=int(row.promises_due_365),
        ),
        last_payment=LastPayment(row.received_date, row.last_amount, row.currency) if row.received_date else None,
        paid=paid_behaviour,
        sales_by_currency={currency: Decimal(total) for currency, total in sales},
    )


def _as_date(value: Any) -> date | None:
    """MIN() over a CASE loses the column type on SQLite, which then hands back ISO text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def open_orders(session: Session, customer_id: int) -> list[OpenOrder]:
    rows = session.scalars(
        select(SalesOrder)
        .where(SalesOrder.customer_id == customer_id, SalesOrder.status == OrderStatus.OPEN)
        .order_by(SalesOrder.order_date, SalesOrder.id)
    ).all()
    return [OpenOrder(o.id, o.number, o.order_date, o.open_amount, o.currency, o.on_hold, o.hold_reason) for o in rows]


def order_by_number(session: Session, number: str) -> SalesOrder | None:
    return session.scalars(select(SalesOrder).where(func.upper(SalesOrder.number) == number.strip().upper())).first()
