"""The words the offline planner recognises from the data: regions, segments, currencies, countries and staff names,
the first day the book has figures for, plus the customer behind an order or invoice number. Small, read-only
lookups; callers cache them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import func, or_, select
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
    countries: tuple[str, ...] = ()  # ISO 3166 codes of the customers
    industries: tuple[str, ...] = ()
    country_regions: tuple[tuple[str, str], ...] = ()  # (country, region) pairs present in the book
    first_day: date | None = None  # the earliest invoice date: no figures exist before it
    # the first two words (lower case) of customer names that start with a staff member's name ("ash haven")
    staff_led_names: frozenset[str] = frozenset()


def _distinct(session: Session, column: Any) -> tuple[str, ...]:
    values = session.scalars(select(column).distinct())
    return tuple(sorted(str(value) for value in values if value))


def load_vocabulary(session: Session) -> Vocabulary:
    """Distinct customer regions, segments, industries, currencies and countries, every active staff user's names
    and role, and the book's first invoice date."""
    staff = session.execute(
        select(StaffUser.name, StaffUser.full_name, StaffUser.role)
        .where(StaffUser.active.is_(True))
        .order_by(StaffUser.name)
    ).all()
    staff_words = {word.lower() for row in staff for word in (row[0], *(row[1] or "").split()[:1]) if word}
    return Vocabulary(
        regions=_distinct(session, Customer.region),
        segments=_distinct(session, Customer.segment),
        currencies=_distinct(session, Customer.currency),
        staff=tuple(StaffName(name=row[0], full_name=row[1], role=str(row[2].value)) for row in staff),
        countries=_distinct(session, Customer.country),
        industries=_distinct(session, Customer.industry),
        country_regions=tuple(
            sorted(
                (str(country), str(region))
                for country, region in session.execute(select(Customer.country, Customer.region).distinct())
                if country and region
            )
        ),
        first_day=session.scalar(select(func.min(Invoice.issue_date))),
        staff_led_names=_names_led_by(session, staff_words),
    )


def _escape_like(word: str) -> str:
    return word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _names_led_by(session: Session, words: set[str]) -> frozenset[str]:
    if not words:
        return frozenset()
    led = select(Customer.name).where(
        or_(*(func.lower(Customer.name).like(f"{word} %", escape="\\") for word in sorted(map(_escape_like, words))))
    )
    return frozenset(" ".join(name.lower().split()[:2]) for name in session.scalars(led) if len(name.split()) > 1)


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
