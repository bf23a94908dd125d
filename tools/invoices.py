"""One invoice by number: its customer, dates, amount, open amount and status at the as-of date, with the payments
applied to it, its disputes, the promises covering it and the dunning letters sent for it.

Numbers match case-insensitively (they are unique that way since migration 0009). An invoice of a customer outside
the caller's book answers exactly as a number that does not exist.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints
from sqlalchemy.orm import Session

from core.dates import day_number, end_of_day_utc, start_of_day_utc
from core.errors import CreditDeskError, ErrorCode, invalid_input
from core.money import quantize
from db.models import Customer, DisputeReason, DisputeStatus, InvoiceKind, InvoiceStatus, PromiseStatus
from db.queries.customers import customer_by_id
from db.queries.invoices import (
    applied_after,
    applied_allocations,
    covering_promises,
    dunning_letters_for,
    invoice_by_number,
    invoice_disputes,
)
from tools.context import NotVisibleError, ToolContext
from tools.promises import PromiseState, promise_state
from tools.reference_words import has_control_characters
from tools.registry import CREDIT_ROLES, tool
from tools.schemas import AsOfDate, CustomerSummary


def _plain_number(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("an invoice number cannot contain control or invisible characters")
    return value


InvoiceNumber = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=40),
    AfterValidator(_plain_number),
    Field(description="Invoice number, any case (e.g. INV-000123)."),
]

InvoiceState = Literal["open", "paid", "written_off", "cancelled"]
CLOSED_STATES: dict[InvoiceStatus, InvoiceState] = {
    InvoiceStatus.WRITTEN_OFF: "written_off",
    InvoiceStatus.CANCELLED: "cancelled",
}


class InvoiceInput(BaseModel):
    number: InvoiceNumber
    as_of: AsOfDate = None


class AllocationLine(BaseModel):
    payment_reference: str
    received_date: date
    applied_date: date
    amount: Decimal
    currency: str


class InvoiceDisputeLine(BaseModel):
    id: int
    reason_code: DisputeReason
    amount: Decimal
    currency: str
    status: DisputeStatus = Field(description="Status at the as-of date")
    active: bool = Field(description="Opened by the as-of date and not resolved by then")
    opened_on: date
    resolved_on: date | None


class CoveringPromise(BaseModel):
    id: int
    scope: Literal["this invoice", "whole balance"]
    taken_on: date
    promised_date: date
    amount: Decimal
    currency: str
    level: int
    status: PromiseState = Field(description="State at the as-of date")


class DunningLetter(BaseModel):
    sent_on: date
    level: int | None
    proposal_id: int | None = Field(description="The approved proposal that sent it, when sent through creditdesk")


class InvoiceDetail(BaseModel):
    number: str
    kind: InvoiceKind
    customer: CustomerSummary
    as_of: date
    issue_date: date
    due_date: date
    amount: Decimal
    currency: str
    po_number: str | None
    status: InvoiceState = Field(description="At the as-of date")
    open_amount: Decimal = Field(description="Amount less allocations applied by the end of the as-of date")
    paid_amount: Decimal = Field(description="Allocations applied by the end of the as-of date")
    overdue: bool
    days_past_due: int | None = Field(description="as_of − due date while open (negative: days until due)")
    paid_date: date | None = Field(description="Day the last allocation closed it, if by the as-of date")
    days_to_pay: int | None = Field(description="paid date − issue date")
    days_late: int | None = Field(description="paid date − due date (negative: paid early)")
    disputed: bool = Field(description="A dispute on it is active at the as-of date")
    disputes: list[InvoiceDisputeLine]
    allocations: list[AllocationLine]
    promises: list[CoveringPromise]
    dunning_letters: list[DunningLetter]
    definitions: list[str]


def _not_found(ctx: ToolContext, number: str) -> CreditDeskError:
    scope = " in your book" if ctx.book_collector_id is not None else ""
    return CreditDeskError(ErrorCode.NOT_FOUND, f"no invoice {number!r}{scope}")


def _dispute_status(status: DisputeStatus, active: bool) -> DisputeStatus:
    if active:
        return status if status in (DisputeStatus.OPEN, DisputeStatus.IN_REVIEW) else DisputeStatus.OPEN
    return status


def _customer(session: Session, ctx: ToolContext, customer_id: int, number: str) -> Customer:
    customer = customer_by_id(session, customer_id)
    if customer is None:
        raise _not_found(ctx, number)
    if not ctx.can_see(customer):
        raise NotVisibleError(_not_found(ctx, number).message, customer_id=customer.id)
    return customer


@tool(name="get_invoice", kind="read", input_model=InvoiceInput, output_model=InvoiceDetail, roles=CREDIT_ROLES)
def get_invoice(session: Session, ctx: ToolContext, args: InvoiceInput) -> InvoiceDetail:
    """One invoice by number (any case): customer, dates, amount, open amount and status at a date, days past due,
    disputes, payments applied, promises covering it and dunning letters sent for it."""
    invoice = invoice_by_number(session, args.number)
    if invoice is None:
        raise _not_found(ctx, args.number)
    customer = _customer(session, ctx, invoice.customer_id, args.number)
    as_of = ctx.resolve_as_of(args.as_of)
    if invoice.issue_date > as_of:
        raise invalid_input(f"invoice {invoice.number} was issued on {invoice.issue_date}, after {as_of}")
    as_of_dn, moment = day_number(as_of), end_of_day_utc(as_of)

    settled = invoice.settled_dn is not None and invoice.settled_dn <= as_of_dn
    later = Decimal(0) if settled else applied_after(session, invoice.id, as_of)
    open_amount = Decimal("0.00") if settled else quantize(invoice.open_amount + later)
    status: InvoiceState = CLOSED_STATES.get(invoice.status, "paid") if settled else "open"
    days_past_due = None if settled else as_of_dn - invoice.due_dn
    paid_date = invoice.settled_date if settled and status == "paid" else None

    allocations = applied_allocations(session, invoice.id, as_of)
    disputes = []
    for row in invoice_disputes(session, invoice.id, as_of):
        active = row.resolved_at is None or row.resolved_at > moment
        disputes.append(
            InvoiceDisputeLine(
                id=row.dispute_id,
                reason_code=row.reason_code,
                amount=row.amount,
                currency=row.currency,
                status=_dispute_status(row.status, active),
                active=active,
                opened_on=row.opened_at.date(),
                resolved_on=None if active or row.resolved_at is None else row.resolved_at.date(),
            )
        )
    # A whole-balance promise covers this invoice only if it was in force (not cancelled) while the invoice was open.
    open_from = start_of_day_utc(invoice.issue_date)
    open_until = end_of_day_utc(invoice.settled_date) if settled and invoice.settled_date else moment
    promises = [
        CoveringPromise(
            id=row.promise_id,
            scope="this invoice" if row.invoice_id is not None else "whole balance",
            taken_on=row.taken_at.date(),
            promised_date=row.promised_date,
            amount=row.amount,
            currency=row.currency,
            level=row.level,
            status=promise_state(row.status, row.resolved_at, moment),
        )
        for row in covering_promises(session, invoice, as_of)
        if row.invoice_id is not None
        or (
            row.status is not PromiseStatus.CANCELLED
            and row.taken_at <= open_until
            and (row.resolved_at is None or row.resolved_at >= open_from)
        )
    ]
    letters = [
        DunningLetter(sent_on=row.sent_at.date(), level=row.level, proposal_id=row.proposal_id)
        for row in dunning_letters_for(session, invoice, as_of)
    ]
    return InvoiceDetail(
        number=invoice.number,
        kind=invoice.kind,
        customer=CustomerSummary.of(customer),
        as_of=as_of,
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        amount=invoice.amount,
        currency=invoice.currency,
        po_number=invoice.po_number,
        status=status,
        open_amount=open_amount,
        paid_amount=quantize(sum((a.amount for a in allocations), Decimal(0))),
        overdue=days_past_due is not None and days_past_due > 0 and open_amount != 0,
        days_past_due=days_past_due,
        paid_date=paid_date,
        days_to_pay=(paid_date - invoice.issue_date).days if paid_date else None,
        days_late=(paid_date - invoice.due_date).days if paid_date else None,
        disputed=any(d.active for d in disputes),
        disputes=disputes,
        allocations=[AllocationLine(**vars(a)) for a in allocations],
        promises=promises,
        dunning_letters=letters,
        definitions=_definitions(invoice.currency),
    )


def _definitions(currency: str) -> list[str]:
    return [
        f"Amounts in the invoice currency ({currency}). Open amount at the as-of date = amount less the "
        "allocations applied by the end of that day (0 once settled by then).",
        "Days past due = as-of date − due date, while open (negative: days until due); overdue = open with days "
        "past due > 0.",
        "Paid date = the day of the allocation that brought the open amount to zero. Days to pay = paid date − "
        "issue date; days late = paid date − due date (negative: paid early).",
        "Disputed = a dispute on the invoice opened by the end of the as-of date and not resolved by then.",
        "Promises covering it: those naming this invoice, and whole-balance promises (naming no invoice) in force "
        "while it was open; state as of the as-of date.",
        "Dunning letters: dunning activities recorded against the invoice, and letters sent through an approved "
        "creditdesk proposal that listed it, by the end of the as-of date.",
    ]


TOOLS = [get_invoice]
