"""Credit-limit inputs: a customer's net purchases, when the relationship began, and the book's credit sales."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import Integer, bindparam, func, select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from core.dates import day_number, from_day_number
from db.models import Invoice
from db.types import Money

AnySelect = Select[*tuple[Any, ...]]


def _window_params(first: date, last: date) -> dict[str, int]:
    """Issued after `first` and on or before `last`."""
    return {"after_dn": day_number(first), "last_dn": day_number(last)}


def _in_window() -> list[Any]:
    return [
        Invoice.issue_dn > bindparam("after_dn", type_=Integer),
        Invoice.issue_dn <= bindparam("last_dn", type_=Integer),
    ]


@cache
def _customer_sales_statement() -> AnySelect:
    return (
        select(Invoice.currency, type_coerce(func.sum(Invoice.amount), Money()).label("net"), func.count())
        .where(Invoice.customer_id == bindparam("customer_id", type_=Integer), *_in_window())
        .group_by(Invoice.currency)
    )


def customer_net_sales(session: Session, customer_id: int, after: date, last: date) -> dict[str, tuple[Decimal, int]]:
    """{currency: (invoices less credit notes, documents)} issued to one customer after `after` up to `last`."""
    rows = session.connection().execute(
        _customer_sales_statement(), {"customer_id": customer_id, **_window_params(after, last)}
    )
    return {row.currency: (row.net, int(row[2])) for row in rows}


@cache
def _first_invoice_statement() -> AnySelect:
    return select(func.min(Invoice.issue_dn)).where(
        Invoice.customer_id == bindparam("customer_id", type_=Integer),
        Invoice.issue_dn <= bindparam("last_dn", type_=Integer),
    )


def first_invoice_date(session: Session, customer_id: int, as_of: date) -> date | None:
    first = (
        session.connection()
        .execute(_first_invoice_statement(), {"customer_id": customer_id, "last_dn": day_number(as_of)})
        .scalar()
    )
    return from_day_number(int(first)) if first is not None else None


@cache
def _book_sales_statement() -> AnySelect:
    return (
        select(Invoice.currency, type_coerce(func.sum(Invoice.amount), Money()).label("net"))
        .where(*_in_window())
        .group_by(Invoice.currency)
    )


def book_net_sales(session: Session, after: date, last: date) -> dict[str, Decimal]:
    """{currency: credit sales (invoices less credit notes)} of the whole book issued after `after` up to `last`:
    one aggregate over the covering issue-date index."""
    rows = session.connection().execute(_book_sales_statement(), _window_params(after, last))
    return {row.currency: row.net for row in rows}


@cache
def _invoice_high_water_statement() -> AnySelect:
    return select(func.max(Invoice.id))


def invoice_high_water(session: Session) -> int:
    """The highest invoice id: grows with every import or new invoice (a cheap cache key for book totals)."""
    return int(session.connection().execute(_invoice_high_water_statement()).scalar() or 0)
