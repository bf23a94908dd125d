"""Exchange rates used to convert exposures into the reporting currency."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import Rate


class FxRate(Base):
    """`1 from_currency = rate to_currency` on `rate_date`; lookups take the latest rate on or before a date."""

    __tablename__ = "fx_rate"
    __table_args__ = (
        CheckConstraint("from_currency <> to_currency", name="distinct_currencies"),
        Index("uq_fx_rate_pair_date", "from_currency", "to_currency", "rate_date", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    from_currency: Mapped[str] = mapped_column(String(3))
    to_currency: Mapped[str] = mapped_column(String(3))
    rate_date: Mapped[date] = mapped_column(Date)
    rate: Mapped[Decimal] = mapped_column(Rate())
    source: Mapped[str] = mapped_column(String(40), default="manual")
