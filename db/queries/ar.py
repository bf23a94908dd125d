"""Receivables as of a point in time: the one definition of "open at the end of day t" that every tool shares.

An item (invoice or credit note) is open at t when it was issued on or before t and not settled by the end of t.
Its open amount at t is its amount minus the allocations applied on or before t, which equals today's open
amount plus the allocations applied after t (the form used here: it reads today's state and replays back).
Disputed at t: a dispute on the item was opened by the end of t and not resolved by then.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, literal, or_, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from core.dates import day_number, end_of_day_utc
from db.models import Dispute, Invoice, InvoiceKind, PaymentAllocation
from db.types import AnySelect, Money, UTCDateTime


@dataclass(frozen=True)
class OpenItem:
    invoice_id: int
    customer_id: int
    number: str
    kind: InvoiceKind
    currency: str
    issue_date: date
    due_date: date
    due_dn: int
    amount: Decimal
    open_amount: Decimal
    disputed: bool

    def days_past_due(self, as_of: date) -> int:
        return day_number(as_of) - self.due_dn


@cache
def _horizon_statement() -> AnySelect:
    settled = select(func.max(Invoice.settled_dn)).where(Invoice.settled_dn.is_not(None)).scalar_subquery()
    applied = select(func.max(PaymentAllocation.applied_dn)).scalar_subquery()
    return select(settled, applied)


def posting_horizon(session: Session) -> int:
    """The latest day any settlement or allocation is dated; as-of dates on or after it can read today's state."""
    settled, applied = session.connection().execute(_horizon_statement()).one()
    return max(int(settled or 0), int(applied or 0))


def dispute_active_at(moment: datetime | ColumnElement[datetime]) -> ColumnElement[bool]:
    return and_(Dispute.opened_at <= moment, or_(Dispute.resolved_at.is_(None), Dispute.resolved_at > moment))


def disputed_invoice_ids_at(as_of: date) -> Select[int | None]:
    moment = end_of_day_utc(as_of)
    return select(Dispute.invoice_id).where(Dispute.invoice_id.is_not(None), dispute_active_at(moment))


def _paid_after(as_of_dn: Any) -> Select[int, Decimal]:
    return (
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount).label("paid_after"))
        .where(PaymentAllocation.applied_dn > as_of_dn)
        .group_by(PaymentAllocation.invoice_id)
    )


def open_items_select(
    as_of_dn: Any, *, current: bool, customer_ids: Sequence[int] | None = None
) -> Select[int, int, str, int, int, Decimal]:
    """(invoice_id, customer_id, currency, issue_dn, due_dn, open_amount) of every item open at the end of day t.

    `current=True` is only valid when t is on or after `posting_horizon`: then nothing was settled or paid after t
    and today's open items (partial index) are the answer.
    """
    where_customer = [Invoice.customer_id.in_(customer_ids)] if customer_ids is not None else []
    columns = (Invoice.id, Invoice.customer_id, Invoice.currency, Invoice.issue_dn, Invoice.due_dn)
    if current:
        return select(*columns, Invoice.open_amount.label("open_amount")).where(
            Invoice.settled_dn.is_(None), Invoice.issue_dn <= as_of_dn, *where_customer
        )
    still_open = select(*columns, Invoice.open_amount.label("open_now")).where(
        Invoice.settled_dn.is_(None), Invoice.issue_dn <= as_of_dn, *where_customer
    )
    settled_later = select(*columns, literal(Decimal(0), Money()).label("open_now")).where(
        Invoice.settled_dn > as_of_dn, Invoice.issue_dn <= as_of_dn, *where_customer
    )
    items = union_all(still_open, settled_later).subquery("items")
    paid_after = _paid_after(as_of_dn).subquery("paid_after")
    open_amount = (items.c.open_now + func.coalesce(paid_after.c.paid_after, 0)).label("open_amount")
    return (
        select(items.c.id, items.c.customer_id, items.c.currency, items.c.issue_dn, items.c.due_dn, open_amount)
        .select_from(items.outerjoin(paid_after, paid_after.c.invoice_id == items.c.id))
        .where(open_amount != 0)
    )


@cache
def _customer_items_statement() -> AnySelect:
    as_of_dn = bindparam("as_of_dn", type_=Integer)
    moment = bindparam("moment", type_=UTCDateTime())
    customer_id = bindparam("customer_id", type_=Integer)
    items = _history_items_for_customer(as_of_dn, customer_id)
    item_rows = items.subquery("open_items")
    disputed = select(Dispute.id).where(Dispute.invoice_id == Invoice.id, dispute_active_at(moment)).exists()
    return (
        select(
            Invoice.id,
            Invoice.customer_id,
            Invoice.number,
            Invoice.kind,
            Invoice.currency,
            Invoice.issue_date,
            Invoice.due_date,
            Invoice.due_dn,
            Invoice.amount,
            item_rows.c.open_amount,
            disputed.label("disputed"),
        )
        .join(item_rows, item_rows.c.id == Invoice.id)
        .order_by(Invoice.due_dn, Invoice.id)
    )


def _history_items_for_customer(as_of_dn: Any, customer_id: Any) -> AnySelect:
    """One customer's items open at a date: few enough to take every candidate and the payments after the date
    (none for today), so one statement serves today and the past without first reading the posting horizon."""
    columns = (Invoice.id, Invoice.customer_id, Invoice.currency, Invoice.issue_dn, Invoice.due_dn)
    candidates = (
        select(*columns, Invoice.open_amount.label("open_now"))
        .where(
            Invoice.customer_id == customer_id,
            Invoice.issue_dn <= as_of_dn,
            or_(Invoice.settled_dn.is_(None), Invoice.settled_dn > as_of_dn),
        )
        .subquery("candidates")
    )
    paid_after = (
        select(PaymentAllocation.invoice_id, func.sum(PaymentAllocation.amount).label("paid_after"))
        .join(candidates, candidates.c.id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.applied_dn > as_of_dn)
        .group_by(PaymentAllocation.invoice_id)
        .subquery("paid_after")
    )
    open_amount = (candidates.c.open_now + func.coalesce(paid_after.c.paid_after, 0)).label("open_amount")
    return (
        select(
            candidates.c.id,
            candidates.c.customer_id,
            candidates.c.currency,
            candidates.c.issue_dn,
            candidates.c.due_dn,
            open_amount,
        )
        .select_from(candidates.outerjoin(paid_after, paid_after.c.invoice_id == candidates.c.id))
        .where(open_amount != 0)
    )


def customer_open_items(session: Session, customer_id: int, as_of: date) -> list[OpenItem]:
    """Every item of one customer open at the end of `as_of`, oldest due first, with its dispute flag."""
    as_of_dn = day_number(as_of)
    rows = session.connection().execute(
        _customer_items_statement(),
        {"as_of_dn": as_of_dn, "moment": end_of_day_utc(as_of), "customer_id": customer_id},
    )
    return [
        OpenItem(
            invoice_id=row.id,
            customer_id=row.customer_id,
            number=row.number,
            kind=InvoiceKind(row.kind),
            currency=row.currency,
            issue_date=row.issue_date,
            due_date=row.due_date,
            due_dn=row.due_dn,
            amount=row.amount,
            open_amount=row.open_amount,
            disputed=bool(row.disputed),
        )
        for row in rows
    ]
