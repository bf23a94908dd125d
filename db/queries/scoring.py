"""Scorecard and payment-behaviour data: the aggregates behind the scorecard, for one customer or the whole book.

Every statement exists in two variants built from the same code: `one=True` filters one customer through a bind
parameter (the conversational tool), `one=False` groups the whole book in one pass (the nightly refresh), so the
two paths cannot drift apart. Everything is point-in-time: only rows dated on or before the as-of date count.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Numeric,
    and_,
    bindparam,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from core.dates import day_number
from db.bulk import insert_columns
from db.models import (
    Base,
    BureauReport,
    CreditLimit,
    CreditScore,
    Customer,
    CustomerFinancials,
    Dispute,
    FxRate,
    Invoice,
    InvoiceKind,
    OrderStatus,
    SalesOrder,
)
from db.queries.ar import disputed_invoice_ids_at, open_items_select, posting_horizon
from db.types import Money, UTCDateTime

CUSTOMER_ID = "customer_id"
AnySelect = Select[*tuple[Any, ...]]


def _one_customer(column: Any, one: bool) -> list[ColumnElement[bool]]:
    return [column == bindparam(CUSTOMER_ID, type_=Integer)] if one else []


def _count_where(condition: Any) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _money_sum(expression: Any) -> Any:
    return type_coerce(func.coalesce(func.sum(expression), 0), Money())


def _params(customer_id: int | None, **values: Any) -> dict[str, Any]:
    return values | ({CUSTOMER_ID: customer_id} if customer_id is not None else {})


# --- payment behaviour and disputes in the scoring window -------------------------------------------------------


@dataclass(frozen=True)
class WindowAggregate:
    """One customer's invoices in one currency (credit notes excluded): those settled in the window
    (start, as_of] and those issued in it. Amounts in that currency."""

    customer_id: int
    currency: str
    paid: int
    paid_late: int  # settled more than `late_after_days` after due
    amount: Decimal
    weighted_days: Decimal  # Σ amount × (settled − due)
    recent_paid: int  # of which settled after `recent_start`
    recent_amount: Decimal
    recent_weighted_days: Decimal
    issued: int


@cache
def _window_statement(one: bool) -> AnySelect:
    start = bindparam("window_start_dn", type_=Integer)
    as_of = bindparam("as_of_dn", type_=Integer)
    customer: Any = Invoice.customer_id
    settled: Any = Invoice.settled_dn
    issued: Any = Invoice.issue_dn
    if not one:
        # The whole book: the window covers half the table, so one sequential pass and a hash/sort of the groups
        # beat a million index lookups; `+ 0` keeps the planners off the customer and date indexes.
        customer, settled, issued = customer + 0, settled + 0, issued + 0
    in_paid = and_(settled > start, settled <= as_of)
    in_issued = and_(issued > start, issued <= as_of)
    days_late = Invoice.settled_dn - Invoice.due_dn
    recent = and_(in_paid, settled > bindparam("recent_start_dn", type_=Integer))
    weighted = type_coerce(Invoice.amount, Numeric()) * days_late
    return (
        select(
            customer.label("customer_id"),
            Invoice.currency,
            _count_where(in_paid).label("paid"),
            _count_where(and_(in_paid, days_late > bindparam("late_after_days", type_=Integer))).label("paid_late"),
            _money_sum(case((in_paid, Invoice.amount), else_=None)).label("amount"),
            _money_sum(case((in_paid, weighted), else_=None)).label("weighted_days"),
            _count_where(recent).label("recent_paid"),
            _money_sum(case((recent, Invoice.amount), else_=None)).label("recent_amount"),
            _money_sum(case((recent, weighted), else_=None)).label("recent_weighted_days"),
            _count_where(in_issued).label("issued"),
        )
        .where(Invoice.kind == InvoiceKind.INVOICE, or_(in_paid, in_issued), *_one_customer(Invoice.customer_id, one))
        .group_by(customer, Invoice.currency)
    )


def window_aggregates(
    session: Session,
    *,
    window_start: date,
    recent_start: date,
    as_of: date,
    late_after_days: int,
    customer_id: int | None = None,
) -> list[WindowAggregate]:
    """Per customer and currency: invoices settled after `window_start` and on or before `as_of` (`recent_*`:
    settled after `recent_start`), and invoices issued in the same window."""
    rows = session.connection().execute(
        _window_statement(customer_id is not None),
        _params(
            customer_id,
            window_start_dn=day_number(window_start),
            recent_start_dn=day_number(recent_start),
            as_of_dn=day_number(as_of),
            late_after_days=late_after_days,
        ),
    )
    return [
        WindowAggregate(
            customer_id=row.customer_id,
            currency=row.currency,
            paid=int(row.paid),
            paid_late=int(row.paid_late),
            amount=row.amount,
            weighted_days=row.weighted_days,
            recent_paid=int(row.recent_paid),
            recent_amount=row.recent_amount,
            recent_weighted_days=row.recent_weighted_days,
            issued=int(row.issued),
        )
        for row in rows
    ]


@cache
def _disputed_statement(one: bool) -> AnySelect:
    return (
        select(Invoice.customer_id, func.count(func.distinct(Invoice.id)).label("disputed"))
        .join(Dispute, Dispute.invoice_id == Invoice.id)
        .where(
            Invoice.kind == InvoiceKind.INVOICE,
            Invoice.issue_dn > bindparam("window_start_dn", type_=Integer),
            Invoice.issue_dn <= bindparam("as_of_dn", type_=Integer),
            Dispute.opened_at <= bindparam("moment", type_=UTCDateTime()),
            *_one_customer(Invoice.customer_id, one),
        )
        .group_by(Invoice.customer_id)
    )


def disputed_invoices(
    session: Session, *, window_start: date, as_of: date, moment: datetime, customer_id: int | None = None
) -> dict[int, int]:
    """{customer_id: invoices issued in (window_start, as_of] with a dispute opened by `moment`}."""
    params = _params(customer_id, window_start_dn=day_number(window_start), as_of_dn=day_number(as_of), moment=moment)
    rows = session.connection().execute(_disputed_statement(customer_id is not None), params)
    return {row.customer_id: int(row.disputed) for row in rows}


# --- latest bureau report and financial statement on or before a date -------------------------------------------


@dataclass(frozen=True)
class BureauRow:
    customer_id: int
    report_date: date
    agency: str
    paydex: int | None
    failure_score: int | None
    failure_class: int | None
    max_credit_recommendation: Decimal | None
    currency: str | None


@dataclass(frozen=True)
class FinancialsRow:
    customer_id: int
    period_end: date
    currency: str
    revenue: Decimal
    net_income: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    intangible_assets: Decimal
    current_assets: Decimal
    current_liabilities: Decimal


def _latest(entity: Any, date_column: Any, columns: tuple[Any, ...], one: bool) -> AnySelect:
    rank = (
        func.row_number()
        .over(partition_by=entity.customer_id, order_by=(date_column.desc(), entity.id.desc()))
        .label("rank")
    )
    ranked = (
        select(*columns, rank)
        .where(date_column <= bindparam("as_of", type_=date_column.type), *_one_customer(entity.customer_id, one))
        .subquery("ranked")
    )
    return select(*(ranked.c[column.key] for column in columns)).where(ranked.c.rank == 1)


BUREAU_COLUMNS = (
    BureauReport.customer_id,
    BureauReport.report_date,
    BureauReport.agency,
    BureauReport.paydex,
    BureauReport.failure_score,
    BureauReport.failure_class,
    BureauReport.max_credit_recommendation,
    BureauReport.currency,
)
FINANCIALS_COLUMNS = (
    CustomerFinancials.customer_id,
    CustomerFinancials.period_end,
    CustomerFinancials.currency,
    CustomerFinancials.revenue,
    CustomerFinancials.net_income,
    CustomerFinancials.total_assets,
    CustomerFinancials.total_liabilities,
    CustomerFinancials.intangible_assets,
    CustomerFinancials.current_assets,
    CustomerFinancials.current_liabilities,
)


@cache
def _bureau_statement(one: bool) -> AnySelect:
    return _latest(BureauReport, BureauReport.report_date, BUREAU_COLUMNS, one)


@cache
def _financials_statement(one: bool) -> AnySelect:
    return _latest(CustomerFinancials, CustomerFinancials.period_end, FINANCIALS_COLUMNS, one)


def latest_bureau_reports(session: Session, as_of: date, customer_id: int | None = None) -> dict[int, BureauRow]:
    """Each customer's latest bureau report dated on or before `as_of` (ties: the later row)."""
    rows = session.connection().execute(_bureau_statement(customer_id is not None), _params(customer_id, as_of=as_of))
    return {row.customer_id: BureauRow(*tuple(row)) for row in rows}


def latest_financials(session: Session, as_of: date, customer_id: int | None = None) -> dict[int, FinancialsRow]:
    """Each customer's latest financial statement with a period end on or before `as_of` (ties: the later row)."""
    rows = session.connection().execute(
        _financials_statement(customer_id is not None), _params(customer_id, as_of=as_of)
    )
    return {row.customer_id: FinancialsRow(*tuple(row)) for row in rows}


# --- the book's customers and exposure (the set-based twin of tools.exposure for one customer) ------------------


@dataclass(frozen=True)
class CustomerRow:
    id: int
    currency: str
    payment_terms_days: int
    customer_since: date | None


def all_customers(session: Session, customer_ids: Iterable[int] | None = None) -> list[CustomerRow]:
    """Id, currency, terms and relationship start of every customer (or of the given ones), by id."""
    statement = select(Customer.id, Customer.currency, Customer.payment_terms_days, Customer.customer_since)
    if customer_ids is not None:
        statement = statement.where(Customer.id.in_(list(customer_ids)))
    rows = session.connection().execute(statement.order_by(Customer.id))
    return [CustomerRow(row.id, row.currency, row.payment_terms_days, row.customer_since) for row in rows]


@dataclass(frozen=True)
class OpenReceivable:
    """Open amount at the as-of date: summed per customer for items in the customer's currency (`invoice_id`
    None), item by item for items in another currency (converted one by one, as the exposure tool does)."""

    customer_id: int
    currency: str
    invoice_id: int | None
    open_amount: Decimal


def open_receivables(session: Session, as_of: date, *, include_disputed: bool) -> list[OpenReceivable]:
    """Every customer's receivables open at the end of `as_of` (invoices less credit notes)."""
    as_of_dn = day_number(as_of)
    current = as_of_dn >= posting_horizon(session)
    items = open_items_select(literal(as_of_dn, Integer), current=current).subquery("items")
    foreign = items.c.currency != Customer.currency
    item_key = case((foreign, items.c.id), else_=None).label("item_key")
    filters = [] if include_disputed else [items.c.id.not_in(disputed_invoice_ids_at(as_of).scalar_subquery())]
    statement = (
        select(items.c.customer_id, items.c.currency, item_key, _money_sum(items.c.open_amount).label("open_amount"))
        .join(Customer, Customer.id == items.c.customer_id)
        .where(*filters)
        .group_by(items.c.customer_id, items.c.currency, item_key)
    )
    return [
        OpenReceivable(row.customer_id, row.currency, row.item_key, row.open_amount)
        for row in session.connection().execute(statement)
    ]


def open_order_totals(session: Session) -> dict[int, Decimal]:
    """Today's open order book per customer: Σ open amount of open sales orders (as the exposure tool sums it)."""
    statement = (
        select(SalesOrder.customer_id, _money_sum(SalesOrder.open_amount).label("open_amount"))
        .where(SalesOrder.status == OrderStatus.OPEN)
        .group_by(SalesOrder.customer_id)
    )
    return {row.customer_id: row.open_amount for row in session.connection().execute(statement)}


@dataclass(frozen=True)
class LimitRow:
    customer_id: int
    amount: Decimal
    currency: str


def credit_limits_at(session: Session, moment: datetime) -> dict[int, LimitRow]:
    """The limit in force at `moment` for every customer that has one (`valid_from <= t < valid_to`)."""
    statement = (
        select(CreditLimit.customer_id, CreditLimit.amount, CreditLimit.currency)
        .where(
            CreditLimit.valid_from <= moment,
            or_(CreditLimit.valid_to.is_(None), CreditLimit.valid_to > moment),
        )
        .order_by(CreditLimit.customer_id, CreditLimit.valid_from.desc())
    )
    limits: dict[int, LimitRow] = {}
    for row in session.connection().execute(statement):
        limits.setdefault(row.customer_id, LimitRow(row.customer_id, row.amount, row.currency))
    return limits


# --- score history -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoreHistoryRow:
    as_of: date
    scored_at: datetime
    score: int
    risk_class: str
    scorecard_version: str
    late_probability: float | None
    model_version: str | None


@cache
def _history_statement() -> AnySelect:
    return (
        select(CreditScore)
        .where(
            CreditScore.customer_id == bindparam(CUSTOMER_ID, type_=Integer),
            CreditScore.as_of <= bindparam("as_of", type_=CreditScore.as_of.type),
        )
        .order_by(CreditScore.as_of.desc(), CreditScore.scored_at.desc(), CreditScore.id.desc())
        .limit(bindparam("limit", type_=Integer))
    )


def score_history(session: Session, customer_id: int, as_of: date, limit: int) -> list[ScoreHistoryRow]:
    """Stored scores dated on or before `as_of`, newest first; a re-run for the same date keeps only its latest."""
    rows = session.scalars(_history_statement(), {CUSTOMER_ID: customer_id, "as_of": as_of, "limit": limit * 4})
    seen: set[date] = set()
    history: list[ScoreHistoryRow] = []
    for row in rows:
        if row.as_of in seen:
            continue
        seen.add(row.as_of)
        history.append(
            ScoreHistoryRow(
                row.as_of,
                row.scored_at,
                row.score,
                row.risk_class,
                row.scorecard_version,
                row.late_probability,
                row.model_version,
            )
        )
        if len(history) == limit:
            break
    return history


def insert_scores(session: Session, columns: dict[str, Any]) -> int:
    """Append one score row per customer (bulk: COPY on PostgreSQL, executemany on SQLite)."""
    return insert_columns(session.connection(), Base.metadata.tables["credit_score"], columns)


def update_latest_scores(session: Session, scored_at: datetime, as_of: date) -> int:
    """Copy the run's scores onto `customer` in one UPDATE … FROM, except where a score for a later as-of date is
    already stored (a back-dated run must not overwrite a newer result)."""
    customer = Base.metadata.tables["customer"]
    scores = Base.metadata.tables["credit_score"]
    run = scores.alias("run")
    later = scores.alias("later")
    newer_exists = exists().where(later.c.customer_id == customer.c.id, later.c.as_of > as_of)
    statement = (
        update(customer)
        .values(
            risk_class=run.c.risk_class,
            risk_score=run.c.score,
            late_probability=run.c.late_probability,
            scored_at=run.c.scored_at,
        )
        .where(run.c.customer_id == customer.c.id, run.c.scored_at == scored_at, ~newer_exists)
    )
    return int(session.connection().execute(statement).rowcount or 0)


# --- raw history for the payment-behaviour model -----------------------------------------------------------------


NO_DAY = np.iinfo(np.int64).max // 4  # "never" for settled_dn of an item still open


@dataclass(frozen=True)
class InvoiceHistory:
    """Invoices (credit notes excluded) issued on or before the as-of date, as int64 numpy columns sorted by
    customer, issue day and id. `settled_dn` is `NO_DAY` for items not settled by the as-of date; `currency` is an
    index into `currencies` (-1: a currency outside that list)."""

    id: np.ndarray
    customer_id: np.ndarray
    issue_dn: np.ndarray
    due_dn: np.ndarray
    settled_dn: np.ndarray
    amount_cents: np.ndarray
    currency: np.ndarray
    currencies: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.id)


FETCH_ROWS = 200_000


def _cents(session: Session, column: Any) -> Any:
    """The stored amount as integer cents: SQLite keeps cents already; PostgreSQL's NUMERIC is scaled."""
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(column, BigInteger)
    return cast(type_coerce(column, Numeric()) * 100, BigInteger)


def _integer_matrix(session: Session, statement: AnySelect, width: int) -> np.ndarray:
    """An all-integer result as one int64 matrix, read from the DBAPI cursor in chunks: millions of rows without a
    Python object per value beyond the driver's tuples."""
    result = session.connection().execute(statement)
    chunks = [np.zeros((0, width), dtype=np.int64)]
    try:
        while rows := result.cursor.fetchmany(FETCH_ROWS):
            chunks.append(np.array(rows, dtype=np.int64).reshape(-1, width))
    finally:
        result.close()
    return np.concatenate(chunks)


def invoice_history(
    session: Session, as_of: date, currencies: Iterable[str], customer_ids: Iterable[int] | None = None
) -> InvoiceHistory:
    as_of_dn = day_number(as_of)
    known = tuple(sorted(set(currencies)))
    settled = case((Invoice.settled_dn <= as_of_dn, Invoice.settled_dn), else_=-1)
    code = case({currency: index for index, currency in enumerate(known)}, value=Invoice.currency, else_=-1)
    statement = select(
        Invoice.id,
        Invoice.customer_id,
        Invoice.issue_dn,
        Invoice.due_dn,
        settled,
        _cents(session, Invoice.amount),
        code,
    ).where(Invoice.kind == InvoiceKind.INVOICE, Invoice.issue_dn <= as_of_dn)
    if customer_ids is not None:
        statement = statement.where(Invoice.customer_id.in_(list(customer_ids)))
    matrix = _integer_matrix(session, statement, 7)
    matrix = matrix[np.lexsort((matrix[:, 0], matrix[:, 2], matrix[:, 1]))]
    settled_dn = np.where(matrix[:, 4] < 0, NO_DAY, matrix[:, 4])
    return InvoiceHistory(
        id=matrix[:, 0].copy(),
        customer_id=matrix[:, 1].copy(),
        issue_dn=matrix[:, 2].copy(),
        due_dn=matrix[:, 3].copy(),
        settled_dn=settled_dn,
        amount_cents=matrix[:, 5].copy(),
        currency=matrix[:, 6].copy(),
        currencies=known,
    )


def rate_currencies(session: Session) -> set[str]:
    """Every currency the rate table knows (either side of a pair)."""
    rows = session.connection().execute(select(FxRate.from_currency, FxRate.to_currency).distinct())
    return {currency for row in rows for currency in row}


def dispute_days(
    session: Session, as_of_moment: datetime, customer_ids: Iterable[int] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(customer_id, day opened) of every dispute opened by `as_of_moment`."""
    statement = select(Dispute.customer_id, Dispute.opened_at).where(Dispute.opened_at <= as_of_moment)
    if customer_ids is not None:
        statement = statement.where(Dispute.customer_id.in_(list(customer_ids)))
    rows = session.connection().execute(statement).all()
    customers = np.array([row[0] for row in rows], dtype=np.int64)
    days = np.array([day_number(row[1]) for row in rows], dtype=np.int64)
    return customers, days


def bureau_history(
    session: Session, as_of: date, customer_ids: Iterable[int] | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer_id, report day, paydex or -1) of every bureau report dated on or before `as_of`."""
    statement = select(BureauReport.customer_id, BureauReport.report_date, BureauReport.paydex).where(
        BureauReport.report_date <= as_of
    )
    if customer_ids is not None:
        statement = statement.where(BureauReport.customer_id.in_(list(customer_ids)))
    rows = session.connection().execute(statement).all()
    return (
        np.array([row[0] for row in rows], dtype=np.int64),
        np.array([day_number(row[1]) for row in rows], dtype=np.int64),
        np.array([-1 if row[2] is None else row[2] for row in rows], dtype=np.int64),
    )


def financials_history(session: Session, as_of: date, customer_ids: Iterable[int] | None = None) -> list[FinancialsRow]:
    """Every financial statement with a period end on or before `as_of`."""
    statement = select(*FINANCIALS_COLUMNS).where(CustomerFinancials.period_end <= as_of)
    if customer_ids is not None:
        statement = statement.where(CustomerFinancials.customer_id.in_(list(customer_ids)))
    return [FinancialsRow(*tuple(row)) for row in session.connection().execute(statement)]
