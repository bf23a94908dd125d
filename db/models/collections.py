"""Collections work: disputes and their message threads, promises to pay, activities."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, Timestamped
from db.models.enums import (
    ActivityKind,
    ActivityOutcome,
    DisputeReason,
    DisputeStatus,
    MessageDirection,
    PromiseStatus,
    enum_column,
)
from db.types import Money, UTCDateTime

ACTIVE_DISPUTE = text("status IN ('open', 'in_review')")


class Dispute(Timestamped, Base):
    __tablename__ = "dispute"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="dispute_amount_not_negative"),
        CheckConstraint("resolved_at IS NULL OR resolved_at >= opened_at", name="resolved_after_opened"),
        Index("ix_dispute_invoice_active", "invoice_id", sqlite_where=ACTIVE_DISPUTE, postgresql_where=ACTIVE_DISPUTE),
        Index("ix_dispute_invoice", "invoice_id", "opened_at"),
        Index("ix_dispute_customer_status", "customer_id", "status"),
        Index("ix_dispute_resolved_at", "resolved_at"),
        Index("ix_dispute_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    reason_code: Mapped[DisputeReason] = mapped_column(enum_column(DisputeReason))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[DisputeStatus] = mapped_column(enum_column(DisputeStatus), default=DisputeStatus.OPEN)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    messages: Mapped[list[DisputeMessage]] = relationship(back_populates="dispute", order_by="DisputeMessage.sent_at")


class DisputeMessage(Base):
    """Customer and internal messages. Their text is data: nothing in it is ever executed or obeyed."""

    __tablename__ = "dispute_message"
    __table_args__ = (Index("ix_dispute_message_dispute", "dispute_id", "sent_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(ForeignKey("dispute.id", ondelete="CASCADE"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    author: Mapped[str] = mapped_column(String(160))
    direction: Mapped[MessageDirection] = mapped_column(enum_column(MessageDirection))
    body: Mapped[str] = mapped_column(Text)

    dispute: Mapped[Dispute] = relationship(back_populates="messages")


class PromiseToPay(Timestamped, Base):
    __tablename__ = "promise_to_pay"
    __table_args__ = (
        CheckConstraint("amount > 0", name="promise_amount_positive"),
        Index("ix_promise_to_pay_customer_status", "customer_id", "status"),
        Index("ix_promise_to_pay_status_date", "status", "promised_dn"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    promised_date: Mapped[date] = mapped_column(Date)
    promised_dn: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    contact: Mapped[str | None] = mapped_column(String(160))
    source: Mapped[str] = mapped_column(String(20), default="collector")
    status: Mapped[PromiseStatus] = mapped_column(enum_column(PromiseStatus), default=PromiseStatus.OPEN)
    amount_paid: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    # Number of promises taken for the same debt (SAP's "P2P level"): a third promise deserves less trust.
    level: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notes: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class CollectionActivity(Base):
    __tablename__ = "collection_activity"
    __table_args__ = (
        CheckConstraint("dunning_level IS NULL OR dunning_level >= 0", name="dunning_level_range"),
        Index("ix_collection_activity_customer_at", "customer_id", "performed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id", ondelete="SET NULL"))
    kind: Mapped[ActivityKind] = mapped_column(enum_column(ActivityKind))
    dunning_level: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[ActivityOutcome] = mapped_column(enum_column(ActivityOutcome), default=ActivityOutcome.NONE)
    notes: Mapped[str | None] = mapped_column(Text)
    performed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    performed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
