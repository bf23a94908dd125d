"""Small builders for handcrafted ledgers in tests (ORM, one write session per call site)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from core.dates import day_number
from db.models import (
    CreditLimit,
    CreditStatus,
    Customer,
    Dispute,
    DisputeReason,
    DisputeStatus,
    FxRate,
    Invoice,
    InvoiceKind,
    InvoiceStatus,
    OrderStatus,
    Payment,
    PaymentAllocation,
    PromiseStatus,
    PromiseToPay,
    Role,
    SalesOrder,
    StaffUser,
)
from db.models.party import customer_name_key

D = Decimal


def at(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def staff(session: Session, name: str, role: Role, approval_limit: str | None = None) -> StaffUser:
    user = StaffUser(
        name=name,
        role=role,
        email=f"{name}@example.test",
        approval_limit=D(approval_limit) if approval_limit else None,
        active=True,
    )
    session.add(user)
    session.flush()
    return user


def customer(
    session: Session,
    name: str,
    *,
    currency: str = "USD",
    terms: int = 30,
    collector: StaffUser | None = None,
    parent: Customer | None = None,
    status: CreditStatus = CreditStatus.OK,
    risk_class: str | None = None,
    since: date | None = None,
) -> Customer:
    row = Customer(
        external_id=f"T-{customer_name_key(name).replace(' ', '-')}",
        name=name,
        name_key=customer_name_key(name),
        currency=currency,
        payment_terms_days=terms,
        collector_id=collector.id if collector else None,
        parent_id=parent.id if parent else None,
        credit_status=status,
        risk_class=risk_class,
        region="North America",
        segment="Mid-Market",
        customer_since=since,
    )
    session.add(row)
    session.flush()
    return row


def credit_limit(
    session: Session, who: Customer, amount: str, *, since: date, review: date | None = None, until: date | None = None
) -> CreditLimit:
    row = CreditLimit(
        customer_id=who.id,
        amount=D(amount),
        currency=who.currency,
        valid_from=at(since, 0),
        valid_to=at(until, 0) if until else None,
        set_by_name="test",
        reason="test",
        review_date=review,
        source="test",
    )
    session.add(row)
    session.flush()
    return row


_numbers = {"invoice": 0, "payment": 0, "order": 0}


def invoice(
    session: Session,
    who: Customer,
    amount: str,
    *,
    issued: date,
    due: date | None = None,
    currency: str | None = None,
    credit_note: bool = False,
) -> Invoice:
    _numbers["invoice"] += 1
    due = due or issued + timedelta(days=who.payment_terms_days)
    value = D(amount)
    row = Invoice(
        customer_id=who.id,
        number=f"T-INV-{_numbers['invoice']:06d}-{who.id}",
        kind=InvoiceKind.CREDIT_NOTE if credit_note else InvoiceKind.INVOICE,
        issue_date=issued,
        due_date=due,
        issue_dn=day_number(issued),
        due_dn=day_number(due),
        amount=value,
        open_amount=value,
        currency=currency or who.currency,
        status=InvoiceStatus.OPEN,
        source="test",
    )
    session.add(row)
    session.flush()
    return row


def pay(session: Session, item: Invoice, amount: str, *, on: date) -> Payment:
    """Receive a payment and allocate it to one invoice, keeping open amount and settlement fields consistent."""
    _numbers["payment"] += 1
    value = D(amount)
    payment = Payment(
        customer_id=item.customer_id,
        reference=f"T-PAY-{_numbers['payment']:06d}",
        received_date=on,
        received_dn=day_number(on),
        amount=abs(value),
        unapplied_amount=D(0),
        currency=item.currency,
        method="test",
    )
    session.add(payment)
    session.flush()
    session.add(
        PaymentAllocation(
            payment_id=payment.id, invoice_id=item.id, amount=value, applied_date=on, applied_dn=day_number(on)
        )
    )
    item.open_amount = item.open_amount - value
    if item.first_paid_dn is None:
        item.first_paid_dn = day_number(on)
    if item.open_amount == 0:
        item.settled_date, item.settled_dn, item.status = on, day_number(on), InvoiceStatus.PAID
    session.flush()
    return payment


def dispute(
    session: Session,
    item: Invoice,
    *,
    opened: date,
    resolved: date | None = None,
    amount: str | None = None,
    reason: DisputeReason = DisputeReason.PRICING,
) -> Dispute:
    row = Dispute(
        customer_id=item.customer_id,
        invoice_id=item.id,
        reason_code=reason,
        amount=D(amount) if amount else item.amount,
        currency=item.currency,
        status=DisputeStatus.RESOLVED if resolved else DisputeStatus.OPEN,
        opened_at=at(opened),
        resolved_at=at(resolved) if resolved else None,
    )
    session.add(row)
    session.flush()
    return row


def order(session: Session, who: Customer, amount: str, *, on: date, hold: bool = False) -> SalesOrder:
    _numbers["order"] += 1
    row = SalesOrder(
        customer_id=who.id,
        number=f"T-SO-{_numbers['order']:06d}",
        order_date=on,
        amount=D(amount),
        open_amount=D(amount),
        currency=who.currency,
        status=OrderStatus.OPEN,
        on_hold=hold,
        hold_reason="test hold" if hold else None,
    )
    session.add(row)
    session.flush()
    return row


def promise(
    session: Session,
    who: Customer,
    amount: str,
    *,
    taken: date,
    promised: date,
    status: PromiseStatus = PromiseStatus.OPEN,
    resolved: date | None = None,
    item: Invoice | None = None,
) -> PromiseToPay:
    row = PromiseToPay(
        customer_id=who.id,
        invoice_id=item.id if item else None,
        amount=D(amount),
        currency=who.currency,
        promised_date=promised,
        promised_dn=day_number(promised),
        taken_at=at(taken),
        status=status,
        resolved_at=at(resolved) if resolved else None,
    )
    session.add(row)
    session.flush()
    return row


def fx_rate(session: Session, source: str, target: str, rate: str, on: date) -> None:
    session.add(FxRate(from_currency=source, to_currency=target, rate=D(rate), rate_date=on, source="test"))
    session.flush()
