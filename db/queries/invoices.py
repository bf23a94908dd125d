"""One invoice and everything recorded against it, read as of the end of a day: payments applied, disputes,
promises covering it and dunning letters sent for it.

Open amount at t follows `db.queries.ar`: nothing once settled by t, else today's open amount plus what was
applied after t. A promise covers an invoice when it names it, or when it names no invoice (the customer's whole
balance). A dunning letter was sent for an invoice when a dunning activity is recorded against it, or when a letter
sent through an approved `send_dunning` proposal listed it (its proposal records the invoices it was drafted from).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.dates import day_number, end_of_day_utc
from db.models import (
    ActivityKind,
    CollectionActivity,
    Dispute,
    DisputeReason,
    DisputeStatus,
    Invoice,
    Payment,
    PaymentAllocation,
    PromiseStatus,
    PromiseToPay,
    Proposal,
)

DUNNING_ACTION = "send_dunning"


@dataclass(frozen=True)
class AllocationRow:
    payment_reference: str
    received_date: date
    applied_date: date
    amount: Decimal
    currency: str


@dataclass(frozen=True)
class InvoiceDisputeRow:
    dispute_id: int
    reason_code: DisputeReason
    amount: Decimal
    currency: str
    status: DisputeStatus
    opened_at: datetime
    resolved_at: datetime | None


@dataclass(frozen=True)
class CoveringPromiseRow:
    promise_id: int
    invoice_id: int | None
    amount: Decimal
    currency: str
    promised_date: date
    taken_at: datetime
    status: PromiseStatus
    resolved_at: datetime | None
    level: int


@dataclass(frozen=True)
class LetterRow:
    sent_at: datetime
    level: int | None
    proposal_id: int | None


def invoice_by_number(session: Session, number: str) -> Invoice | None:
    """The invoice numbered `number`, compared the way the unique index `ux_invoice_number_upper` does (SQL
    `upper()` on both sides, so the database's case folding decides, never Python's). A number typed short — its
    leading zeros or its `INV-` prefix left off ("inv 2026-5797", "2026-0001620") — finds the one invoice it can
    only be; when its spellings fit several, none."""
    typed = number.strip()
    found = session.scalars(select(Invoice).where(func.upper(Invoice.number) == func.upper(typed))).first()
    if found is not None:
        return found
    spellings = typed_short_spellings(typed)
    if not spellings:
        return None
    matches = session.scalars(select(Invoice).where(func.upper(Invoice.number).in_(spellings)).limit(2)).all()
    return matches[0] if len(matches) == 1 else None


_LONGEST_NUMBER = 12


def typed_short_spellings(number: str) -> list[str]:
    """The numbers `number` may stand for: its last run of digits with leading zeros put back (up to twelve digits),
    each with and without an `INV-` prefix when it was typed without letters."""
    match = re.fullmatch(r"(.*?)(\d+)", number.upper())
    if match is None or len(number) > 40:
        return []
    head, digits = match.groups()
    padded = [head + digits.zfill(width) for width in range(len(digits) + 1, _LONGEST_NUMBER + 1)]
    if not re.search(r"[A-Z]", head):
        padded += [f"INV-{spelling}" for spelling in [number.upper(), *padded]]
    return padded


def applied_allocations(session: Session, invoice_id: int, as_of: date) -> list[AllocationRow]:
    """Allocations applied to the invoice on or before `as_of`, in the order they were applied."""
    rows = session.execute(
        select(
            Payment.reference,
            Payment.received_date,
            PaymentAllocation.applied_date,
            PaymentAllocation.amount,
            Payment.currency,
        )
        .join(Payment, Payment.id == PaymentAllocation.payment_id)
        .where(PaymentAllocation.invoice_id == invoice_id, PaymentAllocation.applied_dn <= day_number(as_of))
        .order_by(PaymentAllocation.applied_dn, PaymentAllocation.id)
    ).all()
    return [AllocationRow(*row) for row in rows]


def applied_after(session: Session, invoice_id: int, as_of: date) -> Decimal:
    """Total allocated to the invoice after `as_of` (what is replayed back onto today's open amount)."""
    total = session.scalar(
        select(func.sum(PaymentAllocation.amount)).where(
            PaymentAllocation.invoice_id == invoice_id, PaymentAllocation.applied_dn > day_number(as_of)
        )
    )
    return Decimal(total or 0)


def invoice_disputes(session: Session, invoice_id: int, as_of: date) -> list[InvoiceDisputeRow]:
    """Disputes on the invoice opened by the end of `as_of`, oldest first."""
    rows = session.execute(
        select(
            Dispute.id,
            Dispute.reason_code,
            Dispute.amount,
            Dispute.currency,
            Dispute.status,
            Dispute.opened_at,
            Dispute.resolved_at,
        )
        .where(Dispute.invoice_id == invoice_id, Dispute.opened_at <= end_of_day_utc(as_of))
        .order_by(Dispute.opened_at, Dispute.id)
    ).all()
    return [InvoiceDisputeRow(*row) for row in rows]


def covering_promises(session: Session, invoice: Invoice, as_of: date) -> list[CoveringPromiseRow]:
    """Promises taken by the end of `as_of` that name this invoice, or name none (the customer's whole balance),
    newest first."""
    rows = session.execute(
        select(
            PromiseToPay.id,
            PromiseToPay.invoice_id,
            PromiseToPay.amount,
            PromiseToPay.currency,
            PromiseToPay.promised_date,
            PromiseToPay.taken_at,
            PromiseToPay.status,
            PromiseToPay.resolved_at,
            PromiseToPay.level,
        )
        .where(
            PromiseToPay.customer_id == invoice.customer_id,
            or_(PromiseToPay.invoice_id == invoice.id, PromiseToPay.invoice_id.is_(None)),
            PromiseToPay.taken_at <= end_of_day_utc(as_of),
        )
        .order_by(PromiseToPay.taken_at.desc(), PromiseToPay.id.desc())
    ).all()
    return [CoveringPromiseRow(*row) for row in rows]


def dunning_letters_for(session: Session, invoice: Invoice, as_of: date) -> list[LetterRow]:
    """Dunning letters sent for the invoice by the end of `as_of`, oldest first (see the module docstring)."""
    moment = end_of_day_utc(as_of)
    recorded = session.execute(
        select(CollectionActivity.performed_at, CollectionActivity.dunning_level).where(
            CollectionActivity.invoice_id == invoice.id,
            CollectionActivity.kind == ActivityKind.DUNNING,
            CollectionActivity.performed_at <= moment,
        )
    ).all()
    letters = [LetterRow(sent_at=at, level=level, proposal_id=None) for at, level in recorded]
    sent = session.execute(
        select(Proposal.id, Proposal.executed_at, Proposal.payload, Proposal.read_versions).where(
            Proposal.customer_id == invoice.customer_id,
            Proposal.action == DUNNING_ACTION,
            Proposal.decision == "approved",
            Proposal.executed_at.is_not(None),
            Proposal.executed_at <= moment,
        )
    ).all()
    for proposal_id, executed_at, payload, read_versions in sent:
        listed = (read_versions or {}).get("invoices") or {}
        if str(invoice.id) in listed:
            level = (payload or {}).get("level")
            letters.append(
                LetterRow(sent_at=executed_at, level=int(level) if level is not None else None, proposal_id=proposal_id)
            )
    return sorted(letters, key=lambda letter: letter.sent_at)
