"""Who we deal with: staff, customers (with hierarchy), credit limits, bureau reports, financial statements."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Date, Float, ForeignKey, Index, Integer, String, Text, func, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, Timestamped
from db.models.enums import CreditStatus, Role, enum_column
from db.types import JSONType, Money, UTCDateTime


class StaffUser(Timestamped, Base):
    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(160))
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    role: Mapped[Role] = mapped_column(enum_column(Role))
    # In the reporting currency; NULL means no personal cap beyond what the authority matrix allows the role.
    approval_limit: Mapped[Decimal | None] = mapped_column(Money())
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="1")


class Customer(Timestamped, Base):
    __tablename__ = "customer"
    __table_args__ = (
        CheckConstraint("payment_terms_days >= 0 AND payment_terms_days <= 365", name="payment_terms_range"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        Index("ix_customer_region_segment", "region", "segment"),
        # Customer references are matched case-insensitively (`upper(external_id) = ?`) on every name lookup.
        Index("ix_customer_external_id_upper", func.upper(text("external_id"))),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # Case- and punctuation-folded name for exact lookups; fuzzy matching happens in the tools layer.
    name_key: Mapped[str] = mapped_column(String(200), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"), index=True)
    country: Mapped[str | None] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(50))
    industry: Mapped[str | None] = mapped_column(String(80))
    segment: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    payment_terms_days: Mapped[int] = mapped_column(Integer, default=30)
    collector_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"), index=True)
    credit_status: Mapped[CreditStatus] = mapped_column(enum_column(CreditStatus), default=CreditStatus.OK)
    credit_status_reason: Mapped[str | None] = mapped_column(String(200))
    # Latest scorecard result, denormalised from credit_score for portfolio filters and worklist ranking.
    risk_class: Mapped[str | None] = mapped_column(String(1), index=True)
    risk_score: Mapped[int | None] = mapped_column(Integer)
    late_probability: Mapped[float | None] = mapped_column(Float)
    scored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    customer_since: Mapped[date | None] = mapped_column(Date)
    contact_name: Mapped[str | None] = mapped_column(String(160))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    parent: Mapped[Customer | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Customer]] = relationship(back_populates="parent")
    collector: Mapped[StaffUser | None] = relationship()


class CreditLimit(Base):
    """One row per limit period; the current limit has `valid_to IS NULL`. Rows are never edited in place."""

    __tablename__ = "credit_limit"
    __table_args__ = (
        CheckConstraint("amount >= 0", name="amount_not_negative"),
        Index(
            "uq_credit_limit_current",
            "customer_id",
            unique=True,
            sqlite_where=text("valid_to IS NULL"),
            postgresql_where=text("valid_to IS NULL"),
        ),
        Index("ix_credit_limit_customer_valid_from", "customer_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    amount: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_to: Mapped[datetime | None] = mapped_column(UTCDateTime())
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="SET NULL"))
    set_by_name: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str | None] = mapped_column(Text)
    review_date: Mapped[date | None] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(40), default="manual")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=func.now())


class CreditScore(Base):
    """Scorecard history: one row per scoring run and customer. Written by `creditdesk scores refresh`, never by
    a conversation; the read tool `score_customer` computes on the fly and shows this history as the trend."""

    __tablename__ = "credit_score"
    __table_args__ = (
        CheckConstraint("score >= 0 AND score <= 100", name="score_range"),
        Index("ix_credit_score_customer_scored", "customer_id", "scored_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    as_of: Mapped[date] = mapped_column(Date)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime())
    score: Mapped[int] = mapped_column(Integer)
    risk_class: Mapped[str] = mapped_column(String(1))
    scorecard_version: Mapped[str] = mapped_column(String(40))
    late_probability: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(60))
    factors: Mapped[dict[str, Any]] = mapped_column(JSONType)


class BureauReport(Base):
    __tablename__ = "bureau_report"
    __table_args__ = (
        CheckConstraint("paydex IS NULL OR (paydex >= 0 AND paydex <= 100)", name="paydex_range"),
        CheckConstraint(
            "failure_score IS NULL OR (failure_score >= 1001 AND failure_score <= 1875)", name="failure_range"
        ),
        Index("ix_bureau_report_customer_date", "customer_id", "report_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    agency: Mapped[str] = mapped_column(String(40))
    report_date: Mapped[date] = mapped_column(Date)
    paydex: Mapped[int | None] = mapped_column(Integer)
    failure_score: Mapped[int | None] = mapped_column(Integer)
    failure_class: Mapped[int | None] = mapped_column(Integer)
    max_credit_recommendation: Mapped[Decimal | None] = mapped_column(Money())
    currency: Mapped[str | None] = mapped_column(String(3))


class CustomerFinancials(Base):
    __tablename__ = "customer_financials"
    __table_args__ = (Index("ix_customer_financials_customer_period", "customer_id", "period_end"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    period_end: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3))
    revenue: Mapped[Decimal] = mapped_column(Money())
    net_income: Mapped[Decimal] = mapped_column(Money())
    total_assets: Mapped[Decimal] = mapped_column(Money())
    total_liabilities: Mapped[Decimal] = mapped_column(Money())
    intangible_assets: Mapped[Decimal] = mapped_column(Money(), default=Decimal(0))
    current_assets: Mapped[Decimal] = mapped_column(Money())
    current_liabilities: Mapped[Decimal] = mapped_column(Money())
    source: Mapped[str] = mapped_column(String(40), default="statement")


_LEGAL_FORMS = frozenset(
    [
        "inc",
        "incorporated",
        "corp",
        "corporation",
        "co",
        "company",
        "ltd",
        "limited",
        "llc",
        "llp",
        "lp",
        "plc",
        "gmbh",
        "ag",
        "kg",
        "sa",
        "sas",
        "sarl",
        "srl",
        "spa",
        "bv",
        "nv",
        "pty",
        "pte",
        "oy",
        "ab",
        "as",
        "aps",
        "kk",
        "sl",
    ]
)


def customer_name_key(name: str) -> str:
    """Fold case, punctuation and legal form: 'ACME Corp.' and 'Acme Corporation' share the key 'acme'."""
    cleaned = "".join(ch if ch.isalnum() else " " for ch in name.casefold().replace("&", " and ").replace(".", ""))
    words = cleaned.split()
    while len(words) > 1 and words[-1] in _LEGAL_FORMS:
        words.pop()
    return " ".join(words)
