"""What a dunning letter needs beyond the open items (`db.queries.ar.customer_open_items`): the disputes and
promises in force at the as-of date, the last letter sent, and cash received but not yet applied.

Everything is read as of the end of a day, by dates, never by "current" status flags alone: a promise resolved after
the as-of date was still open then, and a dispute counts when `dispute_active_at` says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.dates import day_number, end_of_day_utc
from db.models import ActivityKind, CollectionActivity, Dispute, DisputeReason, Payment, PromiseStatus, PromiseToPay
from db.queries.ar import dispute_active_at


@dataclass(frozen=True)
class ActiveDispute:
    dispute_id: int
    invoice_id: int | None
    reason_code: DisputeReason
    amount: Decimal
    currency: str
    opened_at: datetime


@dataclass(frozen=True)
class OpenPromise:
    promise_id: int
    invoice_id: int | None  # None: the promise covers the customer's whole balance
    amount: Decimal
    currency: str
    promised_date: date
    taken_at: datetime
    level: int


@dataclass(frozen=True)
class LetterSent:
    performed_at: datetime
    dunning_level: int | None


def active_disputes(session: Session, customer_id: int, as_of: date) -> list[ActiveDispute]:
    """Disputes of one customer opened by the end of `as_of` and not resolved by then, oldest first."""
    rows = session.execute(
        select(Dispute.id, Dispute.invoice_id, Dispute.reason_code, Dispute.amount, Dispute.currency, Dispute.opened_at)
        .where(Dispute.customer_id == customer_id, dispute_active_at(end_of_day_utc(as_of)))
        .order_by(Dispute.opened_at, Dispute.id)
    ).all()
    return [
        ActiveDispute(
            dispute_id=row.id,
            invoice_id=row.invoice_id,
            reason_code=row.reason_code,
            amount=row.amount,
            currency=row.currency,
            opened_at=row.opened_at,
        )
        for row in rows
    ]


def open_promises(session: Session, customer_id: int, as_of: date) -> list[OpenPromise]:
    """Promises of one customer open at the end of `as_of`: taken by then, not resolved by then, not cancelled
    (the same definition as `db.queries.exposure.promise_facts`)."""
    moment = end_of_day_utc(as_of)
    rows = session.execute(
        select(
            PromiseToPay.id,
            PromiseToPay.invoice_id,
            PromiseToPay.amount,
            PromiseToPay.currency,
            PromiseToPay.promised_date,
            PromiseToPay.taken_at,
            PromiseToPay.level,
        )
        .where(
            PromiseToPay.customer_id == customer_id,
            PromiseToPay.taken_at <= moment,
            or_(PromiseToPay.resolved_at.is_(None), PromiseToPay.resolved_at > moment),
            PromiseToPay.status != PromiseStatus.CANCELLED,
        )
        .order_by(PromiseToPay.promised_dn, PromiseToPay.id)
    ).all()
    return [
        OpenPromise(
            promise_id=row.id,
            invoice_id=row.invoice_id,
            amount=row.amount,
            currency=row.currency,
            promised_date=row.promised_date,
            taken_at=row.taken_at,
            level=row.level,
        )
        for row in rows
    ]


def last_dunning_letter(session: Session, customer_id: int, as_of: date) -> LetterSent | None:
    """The most recent dunning letter (collection activity of kind 'dunning') sent by the end of `as_of`."""
    row = session.execute(
        select(CollectionActivity.performed_at, CollectionActivity.dunning_level)
        .where(
            CollectionActivity.customer_id == customer_id,
            CollectionActivity.kind == ActivityKind.DUNNING,
            CollectionActivity.performed_at <= end_of_day_utc(as_of),
        )
        .order_by(CollectionActivity.performed_at.desc(), CollectionActivity.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return LetterSent(performed_at=row.performed_at, dunning_level=row.dunning_level)


def unapplied_cash(session: Session, customer_id: int, as_of: date) -> dict[str, Decimal]:
    """Cash received by `as_of` that is still unapplied today, by currency (a payer may be reminded of paid items
    until it is applied). Unapplied balances are only known as of today, hence "still unapplied today"."""
    rows = session.execute(
        select(Payment.currency, func.sum(Payment.unapplied_amount))
        .where(
            Payment.customer_id == customer_id,
            Payment.received_dn <= day_number(as_of),
            Payment.unapplied_amount > 0,
        )
        .group_by(Payment.currency)
        .order_by(Payment.currency)
    ).all()
    return {currency: total for currency, total in rows if total}
