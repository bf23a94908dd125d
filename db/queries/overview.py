"""Row counts and open balances by currency: the quick 'what is in this database' view."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from db.models import (
    Customer,
    Dispute,
    DisputeStatus,
    Invoice,
    PromiseStatus,
    PromiseToPay,
    SalesOrder,
    StaffUser,
)


@dataclass(frozen=True)
class CurrencyBalance:
    currency: str
    open_items: int
    open_amount: Decimal
    overdue_amount: Decimal


@dataclass(frozen=True)
class DatabaseOverview:
    customers: int
    staff_users: int
    invoices: int
    open_orders_on_hold: int
    active_disputes: int
    open_promises: int
    balances: list[CurrencyBalance]


def get_database_overview(session: Session, *, as_of_day: int) -> DatabaseOverview:
    def count(model: type, *where: object) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]

    overdue = case((Invoice.due_dn < as_of_day, Invoice.open_amount), else_=0)
    rows = session.execute(
        select(Invoice.currency, func.count(), func.sum(Invoice.open_amount), func.sum(overdue))
        .where(Invoice.settled_dn.is_(None))
        .group_by(Invoice.currency)
        .order_by(Invoice.currency)
    ).all()
    return DatabaseOverview(
        customers=count(Customer),
        staff_users=count(StaffUser),
        invoices=count(Invoice),
        open_orders_on_hold=count(SalesOrder, SalesOrder.on_hold.is_(True), SalesOrder.status == "open"),
        active_disputes=count(Dispute, Dispute.status.in_([DisputeStatus.OPEN, DisputeStatus.IN_REVIEW])),
        open_promises=count(PromiseToPay, PromiseToPay.status == PromiseStatus.OPEN),
        balances=[
            CurrencyBalance(
                currency=currency,
                open_items=int(items),
                open_amount=Decimal(open_amount or 0),
                overdue_amount=Decimal(overdue_amount or 0),
            )
            for currency, items, open_amount, overdue_amount in rows
        ],
    )
