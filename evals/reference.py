"""Reference queries: the facts an answer must contain, computed at eval time straight from the database.

Deliberately independent of the tools: plain SQLAlchemy over `db.models`, the textbook definitions (open receivables =
open amounts of unsettled items; overdue = those due before today; exposure = open receivables + open orders; the
limit in force = the one without an end date; risk class = the latest stored credit score). If a tool and its
reference disagree, one of them is wrong — that is the point.

A case names a function and its arguments, e.g. `{"ref": "open_ar", "args": ["Acme Corporation"], "format":
"money"}`. Every function takes a `Ref` (session + today + reporting currency) first. `BINDERS` pick a customer for a
case at eval time (e.g. "the first customer in casey's book with money owed"), so the sets work on any seed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from db.models import (
    CreditLimit,
    CreditScore,
    Customer,
    Dispute,
    DisputeStatus,
    FxRate,
    Invoice,
    SalesOrder,
    StaffUser,
)

CENT = Decimal("0.01")
OPEN_DISPUTE = (DisputeStatus.OPEN, DisputeStatus.IN_REVIEW)


@dataclass(frozen=True)
class Ref:
    session: Session
    today: date
    reporting_currency: str = "USD"


def _cents(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


# --- customers and staff ------------------------------------------------------------------------------------------


def customer(ref: Ref, name: str) -> Customer:
    """A customer by exact name, id, external id, or (unique) case-insensitive prefix of the name."""
    s = ref.session
    text = str(name).strip()
    found = s.scalars(select(Customer).where(Customer.name == text)).first()
    if found is None and text.isdigit():
        found = s.get(Customer, int(text))
    if found is None:
        found = s.scalars(select(Customer).where(Customer.external_id == text)).first()
    if found is None:
        rows = s.scalars(select(Customer).where(func.lower(Customer.name).like(text.lower() + "%"))).all()
        if len(rows) == 1:
            found = rows[0]
    if found is None:
        raise LookupError(f"reference: no customer {name!r}")
    return found


def customer_name(ref: Ref, name: str) -> str:
    return customer(ref, name).name


def external_id(ref: Ref, name: str) -> str:
    return customer(ref, name).external_id


def currency(ref: Ref, name: str) -> str:
    return customer(ref, name).currency


def staff_id(ref: Ref, handle: str) -> int:
    user = ref.session.scalars(select(StaffUser).where(StaffUser.name == handle)).one()
    return int(user.id)


def collector_of(ref: Ref, name: str) -> str:
    found = customer(ref, name)
    if found.collector_id is None:
        return ""
    return str(ref.session.get(StaffUser, found.collector_id).name)  # type: ignore[union-attr]


def book(ref: Ref, handle: str) -> list[Customer]:
    """The customers assigned to a collector, by id."""
    return list(
        ref.session.scalars(
            select(Customer).where(Customer.collector_id == staff_id(ref, handle)).order_by(Customer.id)
        ).all()
    )


def _owing(ref: Ref, customers: list[Customer]) -> list[Customer]:
    """Standalone customers (no parent, no subsidiaries) that owe something: unambiguous to name in a question."""
    parents = set(ref.session.scalars(select(Customer.parent_id).where(Customer.parent_id.is_not(None))).all())
    return [c for c in customers if c.parent_id is None and c.id not in parents and open_ar(ref, c.name) > 0]


def book_customer(ref: Ref, handle: str, index: int = 0) -> str:
    """The `index`-th standalone customer with money owed in `handle`'s book."""
    return _owing(ref, book(ref, handle))[index].name


def book_customer_owing(ref: Ref, handle: str, at_least: str, index: int = 0) -> str:
    """The `index`-th standalone customer in `handle`'s book owing at least `at_least` (its own currency): one a
    promise of that amount can be logged for on any business date."""
    floor = Decimal(at_least)
    return [c for c in _owing(ref, book(ref, handle)) if open_ar(ref, c.name) >= floor][index].name


def book_customer_overdue(ref: Ref, handle: str, index: int = 0) -> str:
    """The `index`-th standalone customer in `handle`'s book with something overdue."""
    return [c for c in _owing(ref, book(ref, handle)) if overdue(ref, c.name) > 0][index].name


def book_customer_to_remind(ref: Ref, handle: str, index: int = 0) -> str:
    """The `index`-th standalone customer in `handle`'s book with an overdue invoice that is not under an open
    dispute (disputed items are never dunned, so only these can be sent a reminder)."""
    disputed = select(Dispute.invoice_id).where(Dispute.status.in_(OPEN_DISPUTE), Dispute.invoice_id.is_not(None))
    remindable = set(
        ref.session.scalars(
            select(Invoice.customer_id).where(
                Invoice.settled_date.is_(None),
                Invoice.open_amount > 0,
                Invoice.due_date < ref.today,
                Invoice.id.not_in(disputed),
            )
        ).all()
    )
    return [c for c in _owing(ref, book(ref, handle)) if c.id in remindable][index].name


def outside_book_customer(ref: Ref, handle: str, index: int = 0) -> str:
    """The `index`-th standalone customer with money owed that is NOT in `handle`'s book."""
    mine = {c.id for c in book(ref, handle)}
    others = ref.session.scalars(select(Customer).order_by(Customer.id)).all()
    return _owing(ref, [c for c in others if c.id not in mine])[index].name


def customer_with_open_dispute(ref: Ref, index: int = 0) -> str:
    ids = ref.session.scalars(
        select(Dispute.customer_id).where(Dispute.status.in_(OPEN_DISPUTE)).group_by(Dispute.customer_id)
    ).all()
    rows = ref.session.scalars(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)).all()
    return rows[index].name


def customer_with_open_order(ref: Ref, index: int = 0) -> str:
    ids = ref.session.scalars(
        select(SalesOrder.customer_id).where(SalesOrder.status == "open").group_by(SalesOrder.customer_id)
    ).all()
    rows = ref.session.scalars(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)).all()
    return rows[index].name


# --- receivables --------------------------------------------------------------------------------------------------


def _open_items(ref: Ref, name: str) -> Any:
    found = customer(ref, name)
    return select(func.coalesce(func.sum(Invoice.open_amount), 0)).where(
        Invoice.customer_id == found.id, Invoice.settled_date.is_(None)
    )


def open_ar(ref: Ref, name: str) -> Decimal:
    """Open receivables in the customer's currency: the open amounts of every unsettled item (credit notes negative)."""
    return _cents(ref.session.scalar(_open_items(ref, name)))


def overdue(ref: Ref, name: str) -> Decimal:
    """Open receivables due before today."""
    return _cents(ref.session.scalar(_open_items(ref, name).where(Invoice.due_date < ref.today)))


def not_yet_due(ref: Ref, name: str) -> Decimal:
    return _cents(ref.session.scalar(_open_items(ref, name).where(Invoice.due_date >= ref.today)))


def open_orders(ref: Ref, name: str) -> Decimal:
    found = customer(ref, name)
    total = ref.session.scalar(
        select(func.coalesce(func.sum(SalesOrder.open_amount), 0)).where(
            SalesOrder.customer_id == found.id, SalesOrder.status == "open"
        )
    )
    return _cents(total)


def total_exposure(ref: Ref, name: str) -> Decimal:
    return open_ar(ref, name) + open_orders(ref, name)


def credit_limit(ref: Ref, name: str) -> Decimal:
    """The limit in force: the customer's limit row without an end date (latest start wins)."""
    found = customer(ref, name)
    row = ref.session.scalars(
        select(CreditLimit)
        .where(CreditLimit.customer_id == found.id, CreditLimit.valid_to.is_(None))
        .order_by(CreditLimit.valid_from.desc())
    ).first()
    if row is None:
        raise LookupError(f"reference: {found.name} has no credit limit")
    return _cents(row.amount)


def available_credit(ref: Ref, name: str) -> Decimal:
    return credit_limit(ref, name) - total_exposure(ref, name)


def oldest_overdue_invoice(ref: Ref, name: str) -> str:
    found = customer(ref, name)
    number = ref.session.scalar(
        select(Invoice.number)
        .where(
            Invoice.customer_id == found.id,
            Invoice.settled_date.is_(None),
            Invoice.due_date < ref.today,
            Invoice.open_amount > 0,
        )
        .order_by(Invoice.due_date, Invoice.number)
        .limit(1)
    )
    if number is None:
        raise LookupError(f"reference: {found.name} has nothing overdue")
    return str(number)


# --- scores -------------------------------------------------------------------------------------------------------


def _latest_score(ref: Ref, name: str) -> CreditScore:
    found = customer(ref, name)
    row = ref.session.scalars(
        select(CreditScore)
        .where(CreditScore.customer_id == found.id)
        .order_by(CreditScore.as_of.desc(), CreditScore.scored_at.desc(), CreditScore.id.desc())
    ).first()
    if row is None:
        raise LookupError(f"reference: {found.name} has no stored score")
    return row


def risk_class(ref: Ref, name: str) -> str:
    return str(_latest_score(ref, name).risk_class)


def score(ref: Ref, name: str) -> int:
    return int(_latest_score(ref, name).score)


# --- disputes and orders ------------------------------------------------------------------------------------------


def open_dispute_count(ref: Ref, name: str) -> int:
    found = customer(ref, name)
    return int(
        ref.session.scalar(
            select(func.count()).where(Dispute.customer_id == found.id, Dispute.status.in_(OPEN_DISPUTE))
        )
        or 0
    )


def open_disputed_amount(ref: Ref, name: str) -> Decimal:
    found = customer(ref, name)
    return _cents(
        ref.session.scalar(
            select(func.coalesce(func.sum(Dispute.amount), 0)).where(
                Dispute.customer_id == found.id, Dispute.status.in_(OPEN_DISPUTE)
            )
        )
    )


def first_open_dispute_id(ref: Ref, name: str) -> int:
    found = customer(ref, name)
    value = ref.session.scalar(
        select(func.min(Dispute.id)).where(Dispute.customer_id == found.id, Dispute.status.in_(OPEN_DISPUTE))
    )
    if value is None:
        raise LookupError(f"reference: {found.name} has no open dispute")
    return int(value)


def open_order_number(ref: Ref, name: str, index: int = 0) -> str:
    found = customer(ref, name)
    numbers = ref.session.scalars(
        select(SalesOrder.number)
        .where(SalesOrder.customer_id == found.id, SalesOrder.status == "open")
        .order_by(SalesOrder.number)
    ).all()
    return str(numbers[index])


def on_hold_order_number(ref: Ref, index: int = 0) -> str:
    numbers = ref.session.scalars(
        select(SalesOrder.number)
        .where(SalesOrder.status == "open", SalesOrder.on_hold.is_(True))
        .order_by(SalesOrder.number)
    ).all()
    return str(numbers[index])


def order_open_amount(ref: Ref, number: str) -> Decimal:
    return _cents(ref.session.scalar(select(SalesOrder.open_amount).where(SalesOrder.number == number)))


# --- the portfolio (reporting currency) ---------------------------------------------------------------------------


def fx_rate(ref: Ref, currency_code: str) -> Decimal:
    """1 unit of `currency_code` in the reporting currency: the latest rate on or before today."""
    if currency_code == ref.reporting_currency:
        return Decimal(1)
    rate = ref.session.scalar(
        select(FxRate.rate)
        .where(
            FxRate.from_currency == currency_code,
            FxRate.to_currency == ref.reporting_currency,
            FxRate.rate_date <= ref.today,
        )
        .order_by(FxRate.rate_date.desc())
        .limit(1)
    )
    if rate is None:
        raise LookupError(f"reference: no {currency_code}->{ref.reporting_currency} rate")
    return Decimal(str(rate))


def _portfolio(ref: Ref, *, overdue_only: bool) -> Decimal:
    query = select(Invoice.currency, func.sum(Invoice.open_amount)).where(Invoice.settled_date.is_(None))
    if overdue_only:
        query = query.where(Invoice.due_date < ref.today)
    total = Decimal(0)
    for code, amount in ref.session.execute(query.group_by(Invoice.currency)).all():
        total += Decimal(str(amount or 0)) * fx_rate(ref, code)
    return _cents(total)


def portfolio_open_ar(ref: Ref) -> Decimal:
    return _portfolio(ref, overdue_only=False)


def portfolio_overdue(ref: Ref) -> Decimal:
    return _portfolio(ref, overdue_only=True)


def largest_debtor(ref: Ref) -> str:
    """The customer with the largest open receivables in the reporting currency."""
    rows = ref.session.execute(
        select(Invoice.customer_id, Invoice.currency, func.sum(Invoice.open_amount))
        .where(Invoice.settled_date.is_(None))
        .group_by(Invoice.customer_id, Invoice.currency)
    ).all()
    totals: dict[int, Decimal] = {}
    for customer_id, code, amount in rows:
        totals[customer_id] = totals.get(customer_id, Decimal(0)) + Decimal(str(amount or 0)) * fx_rate(ref, code)
    best = max(totals, key=lambda key: totals[key])
    return str(ref.session.get(Customer, best).name)  # type: ignore[union-attr]


# --- dates and filler (no database) -------------------------------------------------------------------------------


def today(ref: Ref) -> str:
    return ref.today.isoformat()


def end_of_last_month(ref: Ref) -> str:
    return (ref.today.replace(day=1) - timedelta(days=1)).isoformat()


def padding(ref: Ref, characters: int) -> str:  # noqa: ARG001
    """Filler text of a given length (oversized-input cases)."""
    unit = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. "
    return (unit * (characters // len(unit) + 1))[:characters]


REFERENCES: dict[str, Callable[..., Any]] = {
    fn.__name__: fn
    for fn in (
        customer_name,
        external_id,
        currency,
        collector_of,
        book_customer,
        book_customer_owing,
        outside_book_customer,
        book_customer_overdue,
        book_customer_to_remind,
        on_hold_order_number,
        customer_with_open_dispute,
        customer_with_open_order,
        open_ar,
        overdue,
        not_yet_due,
        open_orders,
        total_exposure,
        credit_limit,
        available_credit,
        oldest_overdue_invoice,
        risk_class,
        score,
        open_dispute_count,
        open_disputed_amount,
        first_open_dispute_id,
        open_order_number,
        order_open_amount,
        portfolio_open_ar,
        portfolio_overdue,
        largest_debtor,
        today,
        end_of_last_month,
        padding,
    )
}


def evaluate(ref: Ref, name: str, args: list[Any]) -> Any:
    fn = REFERENCES.get(name)
    if fn is None:
        raise LookupError(f"reference: unknown function {name!r}")
    return fn(ref, *args)
