"""The words the offline planner recognises from the data: regions, segments, currencies and staff names, plus the
customer behind an order or invoice number. Small, read-only lookups; callers cache them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import Customer, Invoice, SalesOrder, StaffUser


@dataclass(frozen=True)
class StaffName:
    name: str
    full_name: str | None
    role: str


@dataclass(frozen=True)
class Vocabulary:
    regions: tuple[str, ...]
    segments: tuple[str, ...]
    currencies: tuple[str, ...]
    staff: tuple[StaffName, ...]


def _distinct(session: Session, column: Any) -> tuple[str, ...]:
    values = session.scalars(select(column).distinct())
    return tuple(sorted(str(value) for value in values if value))


def load_vocabulary(session: Session) -> Vocabulary:
    """Distinct customer regions, segments and currencies, and every active staff user's names and role."""
    staff = session.execute(
        select(StaffUser.name, StaffUser.full_name, StaffUser.role)
        .where(StaffUser.active.is_(True))
        .order_by(StaffUser.name)
    ).all()
    return Vocabulary(
        regions=_distinct(session, Customer.region),
        segments=_distinct(session, Customer.segment),
        currencies=_distinct(session, Customer.currency),
        staff=tuple(StaffName(name=row[0], full_name=row[1], role=str(row[2].value)) for row in staff),
    )


def customer_id_for_order(session: Session, number: str) -> int | None:
    """The customer of a sales order, by its number (case-insensitive)."""
    statement = select(SalesOrder.customer_id).where(func.upper(SalesOrder.number) == number.strip().upper())
    return session.scalars(statement.limit(1)).first()


def customer_ids_for_invoice(session: Session, number: str) -> list[int]:
    """The customers holding an invoice or credit note with this number (normally one)."""
    statement = (
        select(Invoice.customer_id).where(func.upper(Invoice.number) == number.strip().upper()).distinct().limit(5)
    )
    return list(session.scalars(statement))
