"""Disputes, their message threads and a customer's dispute history, read as of the end of a day.

A dispute exists at t when it was opened by the end of t; it is active at t when it was not resolved by then
(`db.queries.ar.dispute_active_at`). Messages count when they were sent by the end of t.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.dates import end_of_day_utc
from db.models import Dispute, DisputeMessage, DisputeReason, DisputeStatus, Invoice, StaffUser
from db.queries.ar import dispute_active_at


@dataclass(frozen=True)
class DisputeHistoryRow:
    dispute_id: int
    reason_code: DisputeReason
    status: DisputeStatus
    opened_at: datetime
    resolved_at: datetime | None


def dispute_by_id(session: Session, dispute_id: int) -> Dispute | None:
    return session.get(Dispute, dispute_id)


def customer_disputes(
    session: Session,
    customer_id: int,
    as_of: date,
    *,
    active_only: bool,
    invoice_id: int | None = None,
    limit: int,
) -> tuple[list[Dispute], int]:
    """A customer's disputes opened by the end of `as_of` (only those still active then, if asked), at most `limit`,
    and how many matched in all. Active ones come oldest first (the most urgent); otherwise newest first."""
    moment = end_of_day_utc(as_of)
    conditions = [Dispute.customer_id == customer_id, Dispute.opened_at <= moment]
    if active_only:
        conditions.append(dispute_active_at(moment))
    if invoice_id is not None:
        conditions.append(Dispute.invoice_id == invoice_id)
    total = session.scalar(select(func.count()).select_from(Dispute).where(*conditions)) or 0
    order = (Dispute.opened_at, Dispute.id) if active_only else (Dispute.opened_at.desc(), Dispute.id.desc())
    disputes = list(session.scalars(select(Dispute).where(*conditions).order_by(*order).limit(limit)))
    return disputes, int(total)


def messages_until(session: Session, dispute_ids: Sequence[int], as_of: date) -> dict[int, list[DisputeMessage]]:
    """Each dispute's messages sent by the end of `as_of`, in the order they were sent."""
    threads: dict[int, list[DisputeMessage]] = {dispute_id: [] for dispute_id in dispute_ids}
    if not dispute_ids:
        return threads
    messages = session.scalars(
        select(DisputeMessage)
        .where(DisputeMessage.dispute_id.in_(dispute_ids), DisputeMessage.sent_at <= end_of_day_utc(as_of))
        .order_by(DisputeMessage.dispute_id, DisputeMessage.sent_at, DisputeMessage.id)
    )
    for message in messages:
        threads[message.dispute_id].append(message)
    return threads


def invoices_by_ids(session: Session, ids: Sequence[int]) -> dict[int, Invoice]:
    if not ids:
        return {}
    return {invoice.id: invoice for invoice in session.scalars(select(Invoice).where(Invoice.id.in_(ids)))}


def invoice_by_number(session: Session, customer_id: int, number: str) -> Invoice | None:
    return session.scalars(
        select(Invoice).where(Invoice.customer_id == customer_id, func.upper(Invoice.number) == number.strip().upper())
    ).first()


def staff_names(session: Session, ids: Sequence[int]) -> dict[int, str]:
    """Display names (full name when known) of staff users."""
    if not ids:
        return {}
    rows = session.execute(select(StaffUser.id, StaffUser.name, StaffUser.full_name).where(StaffUser.id.in_(ids))).all()
    return {row.id: row.full_name or row.name for row in rows}


def dispute_history(session: Session, customer_id: int, opened_after: date, as_of: date) -> list[DisputeHistoryRow]:
    """A customer's disputes opened after the end of `opened_after` and by the end of `as_of`, oldest first."""
    rows = session.execute(
        select(Dispute.id, Dispute.reason_code, Dispute.status, Dispute.opened_at, Dispute.resolved_at)
        .where(
            Dispute.customer_id == customer_id,
            Dispute.opened_at > end_of_day_utc(opened_after),
            Dispute.opened_at <= end_of_day_utc(as_of),
        )
        .order_by(Dispute.opened_at, Dispute.id)
    ).all()
    return [
        DisputeHistoryRow(
            dispute_id=row.id,
            reason_code=row.reason_code,
            status=row.status,
            opened_at=row.opened_at,
            resolved_at=row.resolved_at,
        )
        for row in rows
    ]
