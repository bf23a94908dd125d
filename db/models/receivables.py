"""Invoices, payments and their allocation, and open sales orders.

Dates are stored twice on purpose: as `Date` for people and as integer day numbers (`*_dn`, days since
1970-01-01) for ageing arithmetic, which keeps per-row date functions out of portfolio-scale queries.
`settled_dn` is NULL while an item is open; `first_paid_dn` lets as-of queries skip the allocation join for
items that had no payment by the as-of date.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, Timestamped
from db.models.enums import InvoiceKind, InvoiceStatus, OrderStatus, enum_column
from db.types import Money, UTCDateTime

OPEN_ITEM = text("settled_dn IS NULL")
SETTLED_ITEM = text("settled_dn IS NOT NULL")


class Invoice(Timestamped, Base):
    __tablename__ = "invoice"
    __table_args__ = (
        CheckConstraint("due_date >= issue_date", name="due_after_issue"),
        CheckConstraint("(kind = 'credit_note') OR amount >= 0", name="invoice_amount_sign"),
        # Covering, partial: today's open items grouped by customer (exposure, ageing, worklist) read from the index
        # alone. No plain index on settled_dn exists on purpose: SQLite would use it for `IS NULL` and then fetch
        # every open row from the table.
        Index(
            "ix_invoice_open_items",
            "customer_id",
            "due_dn",
            "open_amount",
            "currency",
            "issue_dn",
            sqlite_where=OPEN_ITEM,
            postgresql_where=OPEN_ITEM,
        ),
        # Items settled after a past as-of date: replayed backwards from today's state for history.
        Index(
            "ix_invoice_settled_items",
            "settled_dn",
            "customer_id",
            "due_dn",
            "amount",
            "currency",
            "issue_dn",
            sqlite_where=SETTLED_ITEM,
            postgresql_where=SETTLED_ITEM,
        ),
        # Credit sales in a period (DSO, CEI) and per-customer history (scoring, payment behaviour).
        Index("ix_invoice_issue", "issue_dn", "customer_id", "amount", "currency"),
        Index("ix_invoice_customer_issue", "customer_id", "issue_dn"),
        # Lets the snapshot fingerprint read the latest change cheaply.
        Index("ix_invoice_updated_at", "updated_at"),
        # Invoice numbers are unique regardless of case ("inv-1" is "INV-1"); migration 0009.
        Index("ux_invoice_number_upper", func.upper(text("number")), unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[InvoiceKind] = mapped_column(enum_column(InvoiceKind), default=InvoiceKind.INVOICE)
    issue_date: Mapped[date] = mapped_column(Date)
    due_date: Mapped[date] = mapped_column(Date)
    issue_dn: Mapped[int] = mapped_column(Integer)
    due_dn: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money())
    open_amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[InvoiceStatus] = mapped_column(enum_column(InvoiceStatus), default=InvoiceStatus.OPEN)
    settled_date: Mapped[date | None] = mapped_column(Date)
    settled_dn: Mapped[int | None] = mapped_column(Integer)
    first_paid_dn: Mapped[int | None] = mapped_column(Integer)
    po_number: Mapped[str | None] = mapped_column(String(60))
    paperless: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(40), default="erp")
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    allocations: Mapped[list[PaymentAllocation]] = relationship(back_populates="invoice")


class Payment(Timestamped, Base):
    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint("amount > 0", name="payment_amount_positive"),
        Index("ix_payment_customer_received", "customer_id", "received_dn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"))
    reference: Mapped[str] = mapped_column(String(60), unique=True)
    received_date: Mapped[date] = mapped_column(Date)
    received_dn: Mapped[int] = mapped_column(Integer)
    amount: Mapped[Decimal] = mapped_column(Money())
    unapplied_amount: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    currency: Mapped[str] = mapped_column(String(3))
    method: Mapped[str | None] = mapped_column(String(30))

    allocations: Mapped[list[PaymentAllocation]] = relationship(back_populates="payment")


class PaymentAllocation(Base):
    __tablename__ = "payment_allocation"
    __table_args__ = (
        CheckConstraint("amount <> 0", name="allocation_amount_nonzero"),
        Index("ix_payment_allocation_invoice", "invoice_id", "applied_dn"),
        Index("ix_payment_allocation_payment", "payment_id"),
        Index("ix_payment_allocation_applied", "applied_dn", "invoice_id", "amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id", ondelete="CASCADE"))
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoice.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money())
    applied_date: Mapped[date] = mapped_column(Date)
    applied_dn: Mapped[int] = mapped_column(Integer)

    payment: Mapped[Payment] = relationship(back_populates="allocations")
    invoice: Mapped[Invoice] = relationship(back_populates="allocations")


OPEN_ORDER = text("status = 'open'")


class SalesOrder(Timestamped, Base):
    __tablename__ = "sales_order"
    __table_args__ = (
        CheckConstraint("open_amount >= 0 AND open_amount <= amount", name="order_open_within_total"),
        Index("ix_sales_order_customer_open", "customer_id", sqlite_where=OPEN_ORDER, postgresql_where=OPEN_ORDER),
        Index("ix_sales_order_on_hold", "on_hold", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="RESTRICT"))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    order_date: Mapped[date] = mapped_column(Date)
    requested_ship_date: Mapped[date | None] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Money())
    # Value not yet invoiced: what counts towards exposure on top of open receivables.
    open_amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus), default=OrderStatus.OPEN)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    hold_reason: Mapped[str | None] = mapped_column(Text)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    held_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012
