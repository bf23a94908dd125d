"""A customer's promises to pay, as they stood at the end of a day (the history behind exposure's promise figures,
`db.queries.exposure.customer_facts`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.dates import end_of_day_utc
from db.models import Invoice, PromiseStatus, PromiseToPay, StaffUser


@dataclass(frozen=True)
class PromiseRow:
    promise_id: int
    invoice_number: str | None
    amount: Decimal
    currency: str
    amount_paid: Decimal
    promised_date: date
    promised_dn: int
    taken_at: datetime
    taken_by: str | None
    status: PromiseStatus
    resolved_at: datetime | None
    level: int


def customer_promises(session: Session, customer_id: int, as_of: date) -> list[PromiseRow]:
    """Every promise of one customer taken by the end of `as_of`, newest taken first."""
    taker = aliased(StaffUser)
    rows = session.execute(
        select(
            PromiseToPay.id.label("promise_id"),
            Invoice.number.label("invoice_number"),
            PromiseToPay.amount,
            PromiseToPay.currency,
            PromiseToPay.amount_paid,
            PromiseToPay.promised_date,
            PromiseToPay.promised_dn,
            PromiseToPay.taken_at,
            taker.name.label("taken_by"),
            PromiseToPay.status,
            PromiseToPay.resolved_at,
            PromiseToPay.level,
        )
        .outerjoin(Invoice, Invoice.id == PromiseToPay.invoice_id)
        .outerjoin(taker, taker.id == PromiseToPay.taken_by_id)
        .where(PromiseToPay.customer_id == customer_id, PromiseToPay.taken_at <= end_of_day_utc(as_of))
        .order_by(PromiseToPay.taken_at.desc(), PromiseToPay.id.desc())
    ).all()
    return [PromiseRow(**row._mapping) for row in rows]
