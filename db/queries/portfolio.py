"""Portfolio aggregates behind `get_portfolio_summary`: receivables, sales and collections per (group, currency),
the per-customer ranking for top exposures, promises, disputes and the month-end trend.

Everything is summed in the database per (group, currency) — per customer only for the few customers of a top list
— and converted into the reporting currency by the caller. Money comes back as `Decimal`.

Receivables facts at a date come from one of two sources:

- "snapshot": the maintained `ar_snapshot` rows, when a current snapshot exists for the date (wide rows: one per
  customer and currency with the ageing buckets and the monthly sales and collections).
- "live": the same figures computed from the ledger (`db.queries.snapshots.facts_select` is the reference
  definition; tests hold the two equal). The live form here is shaped for portfolio scale:
  * The open amount of an item at the end of day t is its amount less the allocations applied by t. Items open
    now contribute today's open amount plus what was allocated to them after t; items settled after t contribute
    their amount less what was allocated to them by t (only items first paid by t have any). Each branch reads
    one covering partial index and probes the allocation index per item, instead of joining every later
    allocation to its invoice.
  * Items come back as long rows (customer, currency, bucket, disputed flag, amount) so the database sorts few
    narrow columns when it groups them.
  * Sales and collections of the complete months before t's month are read from the previous month-end snapshot
    when that one is current (a current snapshot holds exactly what the ledger gives for those months); only
    t's month to date is read from invoices and allocations. Without such a snapshot all seven months are live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    case,
    cast,
    func,
    literal,
    null,
    or_,
    select,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import CompoundSelect, FromClause, Subquery
from sqlalchemy.sql.selectable import CTE, NamedFromClause

from core.dates import add_months, day_number, from_day_number, month_end, month_start
from db.models import (
    ArSnapshot,
    ArSnapshotRollup,
    ArSnapshotRun,
    CreditLimit,
    Customer,
    Dispute,
    DisputeStatus,
    Invoice,
    InvoiceKind,
    OrderStatus,
    PaymentAllocation,
    PromiseStatus,
    PromiseToPay,
    SalesOrder,
    StaffUser,
)
from db.models.snapshots import BUCKETS, MONTHS
from db.queries.ar import disputed_invoice_ids_at, posting_horizon
from db.queries.snapshots import SnapshotParameters, month_windows, source_fingerprint
from db.types import AnySelect, Money

GroupBy = Literal["region", "country", "segment", "industry", "collector", "risk_class", "currency", "customer"]
# What a top list ranks customers by (reporting currency): the selected receivables plus today's open orders
# ("exposure"), the selected receivables alone, their past-due part, or their part under an active dispute.
RankMeasure = Literal["exposure", "open_receivables", "overdue", "disputed"]
GroupKey = str | int | None
CUSTOMER_DIMENSIONS: frozenset[str] = frozenset({"region", "country", "segment", "industry", "collector", "risk_class"})
# The customer-master dimensions the snapshot rollup keys on (the others are answered from the snapshot rows).
ROLLUP_DIMENSIONS: frozenset[str] = frozenset({"region", "segment", "collector", "risk_class", "currency"})
ALL_BUCKETS: tuple[int, ...] = tuple(range(BUCKETS))
ZERO = Decimal("0.00")
# Half a cent in cents: below it a customer's converted balance counts as zero.
HALF_CENT = 0.5


# --- selection ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolvedPromiseWindow:
    """Customers with a promise due (promised date) in [first_dn, last_dn] and recorded with `status` (broken, or
    kept in full) by `moment`."""

    first_dn: int
    last_dn: int
    moment: datetime
    status: PromiseStatus = PromiseStatus.BROKEN


@dataclass(frozen=True)
class OpenPromiseRule:
    """Customers with a promise to pay open at `moment`: taken by then and not yet resolved then (kept, broken,
    partially kept or cancelled later, or still open)."""

    moment: datetime


@dataclass(frozen=True)
class OverLimitRule:
    """Customers whose exposure at the as-of date exceeds the credit limit in force then (`over_limit_customers`).

    Exposure as `get_customer_exposure` defines it: the customer's open receivables at the end of the as-of date,
    every bucket and currency (disputed items only when `include_disputed`), plus the open sales orders not yet
    invoiced when `include_orders` (today's order book: the caller sets it only when the as-of date is today).
    """

    moment: datetime  # end of the as-of date: the limit with valid_from <= moment < valid_to
    include_orders: bool
    include_disputed: bool
    # Exposure above this share of the limit: 100 is over the limit, 90 is "utilisation over 90 %".
    utilisation_pct: Decimal = Decimal(100)


@dataclass(frozen=True)
class ReviewDueRule:
    """Customers whose credit limit in force at `moment` has its next review on or before `by` (which may lie after
    the as-of date: "reviews due by the end of the month")."""

    moment: datetime
    by: date


@dataclass(frozen=True)
class Selection:
    """Which customers and which of their receivables a summary covers. `None` means "no restriction".

    Customer-level: regions, countries, segments, industries, collectors, risk classes, explicit customer ids, a
    broken promise in a window, a minimum balance, exposure over (a share of) the credit limit. Row-level: currencies
    (of the items).
    Item-level: disputed items excluded, and `buckets` (the ageing buckets selected by a days-past-due range) for
    the "selected" receivables.
    """

    regions: tuple[str, ...] | None = None
    # Customer master `country` values as stored (the caller resolves case; an unknown code matches nothing).
    countries: tuple[str, ...] | None = None
    segments: tuple[str, ...] | None = None
    industries: tuple[str, ...] | None = None
    collector_ids: tuple[int, ...] | None = None
    risk_classes: tuple[str, ...] | None = None
    # The customer master's credit status today (no history is kept), whatever the as-of date.
    credit_statuses: tuple[str, ...] | None = None
    currencies: tuple[str, ...] | None = None
    customer_ids: tuple[int, ...] | None = None
    broken_promise: ResolvedPromiseWindow | None = None
    kept_promise: ResolvedPromiseWindow | None = None
    open_promise: OpenPromiseRule | None = None
    exclude_disputed: bool = False
    buckets: tuple[int, ...] = ALL_BUCKETS
    # Minimum balance in reporting-currency cents, compared with the customer's receivables at the as-of date (all
    # buckets, disputed ones unless excluded) converted at the as-of rates.
    min_balance_cents: Decimal | None = None
    # Only customers whose exposure exceeds their credit limit at the as-of date.
    over_limit: OverLimitRule | None = None
    # Only customers whose limit in force is due for review by a date.
    review_due: ReviewDueRule | None = None

    @property
    def needs_customer_table(self) -> bool:
        return any(
            values is not None
            for values in (
                self.regions,
                self.countries,
                self.segments,
                self.industries,
                self.collector_ids,
                self.risk_classes,
                self.credit_statuses,
            )
        )

    def restricted_to(self, customer_ids: Sequence[int]) -> Selection:
        return replace(self, customer_ids=tuple(customer_ids))


@dataclass(frozen=True)
class Rates:
    """Exact conversion factors per currency, used in SQL only to rank and to compare with a minimum balance."""

    factors: Mapping[str, Decimal] = field(default_factory=dict)

    def expression(self, currency: Any) -> ColumnElement[float]:
        if not self.factors:
            return literal(1.0, Float)
        # The simple CASE form reads the currency once per row (the searched form once per WHEN).
        whens = {code: literal(float(rate), Float) for code, rate in sorted(self.factors.items())}
        return case(whens, value=currency, else_=literal(1.0, Float))


# --- row sources ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArRows:
    """Receivables at one date. Wide: snapshot rows with u_b0..u_b5 / d_b0..d_b5, one per (customer, currency).
    Long: item contributions (or their sums) with `bucket` (0..5), `disputed` (0/1) and `amount`, several per
    (customer, currency). Both carry customer_id and currency; money is integer cents."""

    rows: NamedFromClause
    long: bool

    def amount(self, buckets: Iterable[int], *, include_disputed: bool = True) -> ColumnElement[Any]:
        """Per-row contribution of the given buckets (undisputed, plus disputed when included)."""
        chosen = sorted(set(buckets))
        c = self.rows.c
        if self.long:
            condition: ColumnElement[bool] = c.bucket.in_(chosen) if len(chosen) < BUCKETS else literal(True)
            if not include_disputed:
                condition = and_(condition, c.disputed == 0)
            return case((condition, c.amount), else_=literal(0, BigInteger))
        if len(chosen) == BUCKETS and include_disputed:
            return type_coerce(c.open_total, BigInteger)
        columns = [c[f"u_b{i}"] for i in chosen] + ([c[f"d_b{i}"] for i in chosen] if include_disputed else [])
        return type_coerce(_sum_columns(columns), BigInteger)

    def disputed_amount(self, buckets: Iterable[int]) -> ColumnElement[Any]:
        """Per-row contribution of the given buckets' items under an active dispute."""
        chosen = sorted(set(buckets))
        c = self.rows.c
        if self.long:
            condition = and_(c.bucket.in_(chosen), c.disputed == 1) if len(chosen) < BUCKETS else c.disputed == 1
            return case((condition, c.amount), else_=literal(0, BigInteger))
        return type_coerce(_sum_columns([c[f"d_b{i}"] for i in chosen]), BigInteger)


def measure_amount(ar: ArRows, selection: Selection, measure: RankMeasure) -> ColumnElement[Any]:
    """Per-row amount a ranking measure sums (receivables only: open orders are added by the caller for
    "exposure"). Every measure stays within the selected buckets; disputed items count unless excluded."""
    include_disputed = not selection.exclude_disputed
    if measure == "disputed":
        return ar.disputed_amount(selection.buckets)
    if measure == "overdue":
        return ar.amount([b for b in selection.buckets if b > 0], include_disputed=include_disputed)
    return ar.amount(selection.buckets, include_disputed=include_disputed)


def _sum_columns(columns: Sequence[Any]) -> ColumnElement[Any]:
    if not columns:
        return literal(0, BigInteger)
    total: ColumnElement[Any] = columns[0]
    for column in columns[1:]:
        total = total + column
    return total


def snapshot_rows(
    as_of_dn: int,
    *,
    customer_ids: Sequence[int] | None = None,
    id_range: tuple[int, int] | None = None,
    open_only: bool = False,
    name: str = "snap",
) -> Subquery:
    """One date's snapshot rows (all columns), optionally for some customers, a customer id range, or only the
    rows with open items."""
    conditions: list[ColumnElement[bool]] = [ArSnapshot.as_of_dn == as_of_dn]
    if customer_ids is not None:
        conditions.append(ArSnapshot.customer_id.in_(list(customer_ids)))
    if id_range is not None:
        conditions.append(ArSnapshot.customer_id.between(*id_range))
    if open_only:
        conditions.append(ArSnapshot.open_count > 0)
    return select(ArSnapshot).where(*conditions).subquery(name)


def _cents(expression: Any, dialect: str) -> ColumnElement[Any]:
    """Money → integer cents (Money is stored as cents on SQLite, NUMERIC(18,2) on PostgreSQL)."""
    if dialect == "sqlite":
        return type_coerce(expression, BigInteger)
    return cast(func.round(expression * 100), BigInteger)


def _planner_blind(column: Any, dialect: str) -> Any:
    """`column + 0` on SQLite keeps its planner from choosing a worse index for that term."""
    return column + 0 if dialect == "sqlite" else column


def _bucket_index(days_past_due: Any, bounds: Sequence[int]) -> ColumnElement[int]:
    whens = [(days_past_due <= 0, literal(0, Integer))]
    whens += [(days_past_due <= upper, literal(i, Integer)) for i, upper in enumerate(bounds, start=1)]
    return case(*whens, else_=literal(len(bounds) + 1, Integer))


_ITEM_COLUMNS = ("item_id", "customer_id", "currency", "due_dn", "amount")


def _sqlite_items(t: int, by_customer: Sequence[ColumnElement[bool]]) -> list[AnySelect]:
    """Four branches, each on a covering partial index, probing the allocation index per item."""
    item = (Invoice.id.label("item_id"), Invoice.customer_id, Invoice.currency, Invoice.due_dn)
    allocation = Invoice.__table__.join(PaymentAllocation, PaymentAllocation.invoice_id == Invoice.id)
    return [
        select(*item, Invoice.open_amount.label("amount")).where(
            Invoice.settled_dn.is_(None), Invoice.issue_dn + 0 <= t, *by_customer
        ),
        select(*item, Invoice.amount.label("amount")).where(
            Invoice.settled_dn > t, Invoice.issue_dn <= t, *by_customer
        ),
        select(*item, PaymentAllocation.amount.label("amount"))
        .select_from(allocation)
        .where(
            Invoice.settled_dn.is_(None), Invoice.issue_dn + 0 <= t, PaymentAllocation.applied_dn + 0 > t, *by_customer
        ),
        select(*item, (-PaymentAllocation.amount).label("amount"))
        .select_from(allocation)
        .where(Invoice.settled_dn > t, Invoice.issue_dn <= t, PaymentAllocation.applied_dn <= t, *by_customer),
    ]


def _allocations_around(t: int) -> tuple[Any, Any]:
    """Per invoice (correlated): the sum of its allocations applied after day t, and by day t."""

    def summed(condition: ColumnElement[bool]) -> Any:
        return (
            select(func.coalesce(func.sum(PaymentAllocation.amount), 0))
            .where(PaymentAllocation.invoice_id == Invoice.id, condition)
            .scalar_subquery()
        )

    return summed(PaymentAllocation.applied_dn > t), summed(PaymentAllocation.applied_dn <= t)


def _postgres_items(t: int, by_customer: Sequence[ColumnElement[bool]]) -> list[AnySelect]:
    """One pass over the candidate rows (both partial indexes); allocations are looked up, per item, only for items
    paid in part (first_paid_dn), which the planner cannot foresee when it estimates a join."""
    allocated_after, allocated_by = _allocations_around(t)
    open_amount = case(
        (
            Invoice.settled_dn.is_(None),
            Invoice.open_amount + case((Invoice.first_paid_dn.is_not(None), allocated_after), else_=0),
        ),
        else_=Invoice.amount - case((Invoice.first_paid_dn <= t, allocated_by), else_=0),
    )
    return [
        select(
            Invoice.id.label("item_id"),
            Invoice.customer_id,
            Invoice.currency,
            Invoice.due_dn,
            type_coerce(open_amount, Money()).label("amount"),
        ).where(Invoice.issue_dn <= t, or_(Invoice.settled_dn.is_(None), Invoice.settled_dn > t), *by_customer)
    ]


def live_item_rows(
    session: Session, as_of: date, params: SnapshotParameters, *, customer_ids: Sequence[int] | None = None
) -> ArRows:
    """Item contributions to the receivables open at the end of `as_of` (see the module docstring), long form."""
    dialect = session.get_bind().dialect.name
    t = day_number(as_of)
    by_customer = [Invoice.customer_id.in_(list(customer_ids))] if customer_ids is not None else []
    branches = _sqlite_items(t, by_customer) if dialect == "sqlite" else _postgres_items(t, by_customer)
    items = union_all(*branches).subquery("items")
    disputed_query = disputed_invoice_ids_at(as_of)
    if customer_ids is not None:
        disputed_query = disputed_query.where(Dispute.customer_id.in_(list(customer_ids)))
    disputed = disputed_query.distinct().subquery("disputed")
    rows = select(
        items.c.customer_id,
        items.c.currency,
        _bucket_index(t - items.c.due_dn, params.bucket_upper_bounds).label("bucket"),
        case((disputed.c.invoice_id.is_not(None), literal(1, Integer)), else_=literal(0, Integer)).label("disputed"),
        _cents(items.c.amount, dialect).label("amount"),
    ).select_from(items.outerjoin(disputed, disputed.c.invoice_id == items.c.item_id))
    return ArRows(rows.subquery("ar_items"), long=True)


def live_ar_sums(items: ArRows) -> ArRows:
    """The items summed per (customer, currency, bucket, disputed), materialised once per statement."""
    c = items.rows.c
    summed = (
        select(
            c.customer_id, c.currency, c.bucket, c.disputed, type_coerce(func.sum(c.amount), BigInteger).label("amount")
        )
        .group_by(c.customer_id, c.currency, c.bucket, c.disputed)
        .cte("ar_sums")
        .prefix_with("MATERIALIZED")
    )
    return ArRows(summed, long=True)


# --- snapshot availability ------------------------------------------------------------------------------------------


def usable_snapshot_dates(
    session: Session, dates: Iterable[date], params: SnapshotParameters
) -> tuple[set[date], str | None]:
    """Which of `dates` have a snapshot built with `params` and still matching the ledger, and the ledger
    fingerprint they match (one fingerprint read)."""
    wanted = {day_number(day): day for day in dates}
    if not wanted:
        return set(), None
    runs = session.execute(
        select(ArSnapshotRun.as_of_dn, ArSnapshotRun.parameters, ArSnapshotRun.source_fingerprint).where(
            ArSnapshotRun.as_of_dn.in_(sorted(wanted))
        )
    ).all()
    candidates = [run for run in runs if run.parameters == params.encode()]
    if not candidates:
        return set(), None
    fingerprint = source_fingerprint(session)
    return {wanted[run.as_of_dn] for run in candidates if run.source_fingerprint == fingerprint}, fingerprint


def customer_id_split(session: Session) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """Two customer id ranges of about equal size (ids are dense), to aggregate halves in parallel."""
    # Two scalar subqueries: each is one index probe (min and max in one SELECT make SQLite scan).
    low, high = session.execute(
        select(select(func.min(Customer.id)).scalar_subquery(), select(func.max(Customer.id)).scalar_subquery())
    ).one()
    if low is None or high is None or high - low < 2:
        return None
    middle = (int(low) + int(high)) // 2
    return (int(low), middle), (middle + 1, int(high))


# --- framing: customer join, selection, group key -------------------------------------------------------------------


def _group_key(group_by: GroupBy | None, currency: Any, customer_id: ColumnElement[int]) -> Any:
    if group_by is None:
        return None
    if group_by == "currency":
        return currency
    if group_by == "customer":
        return customer_id
    column = {
        "region": Customer.region,
        "country": Customer.country,
        "segment": Customer.segment,
        "industry": Customer.industry,
        "collector": Customer.collector_id,
        "risk_class": Customer.risk_class,
    }[group_by]
    return column


def _in(column: Any, values: Sequence[Any]) -> ColumnElement[bool]:
    return column.in_(list(values))


def customer_conditions(selection: Selection, customer_id: Any, currency: Any) -> list[ColumnElement[bool]]:
    """The selection's customer- and currency-level conditions for other row sources (paid invoices); the Customer
    table must be joined when `selection.needs_customer_table`."""
    return _selection_conditions(selection, customer_id, currency)


def _selection_conditions(
    selection: Selection, customer_id: ColumnElement[int], currency: Any
) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if selection.regions is not None:
        conditions.append(_in(Customer.region, selection.regions))
    if selection.countries is not None:
        conditions.append(_in(Customer.country, selection.countries))
    if selection.segments is not None:
        conditions.append(_in(Customer.segment, selection.segments))
    if selection.industries is not None:
        conditions.append(_in(Customer.industry, selection.industries))
    if selection.collector_ids is not None:
        conditions.append(_in(Customer.collector_id, selection.collector_ids))
    if selection.risk_classes is not None:
        conditions.append(_in(Customer.risk_class, selection.risk_classes))
    if selection.credit_statuses is not None:
        conditions.append(_in(Customer.credit_status, selection.credit_statuses))
    if selection.currencies is not None:
        conditions.append(_in(currency, selection.currencies))
    if selection.customer_ids is not None:
        conditions.append(_in(customer_id, selection.customer_ids))
    for window in (selection.broken_promise, selection.kept_promise):
        if window is not None:
            resolved = select(PromiseToPay.customer_id).where(
                PromiseToPay.status == window.status,
                PromiseToPay.promised_dn.between(window.first_dn, window.last_dn),
                PromiseToPay.resolved_at <= window.moment,
            )
            conditions.append(customer_id.in_(resolved))
    if selection.open_promise is not None:
        moment = selection.open_promise.moment
        still_open = select(PromiseToPay.customer_id).where(
            PromiseToPay.taken_at <= moment,
            or_(PromiseToPay.status == PromiseStatus.OPEN, PromiseToPay.resolved_at > moment),
        )
        conditions.append(customer_id.in_(still_open))
    return conditions


@dataclass(frozen=True)
class Frame:
    """Rows joined to what the selection and the grouping need, with the conditions to apply."""

    source: FromClause
    conditions: list[ColumnElement[bool]]
    key: Any

    @property
    def key_column(self) -> ColumnElement[Any]:
        return (self.key if self.key is not None else null()).label("g")

    @property
    def key_terms(self) -> list[Any]:
        """GROUP BY terms for the key (none without grouping: never GROUP BY a constant)."""
        return [self.key] if self.key is not None else []


def frame(
    rows: NamedFromClause, selection: Selection, group_by: GroupBy | None, *, min_balance: AnySelect | None = None
) -> Frame:
    customer_id = rows.c.customer_id
    currency: Any = rows.c.currency if "currency" in rows.c else null()
    needs_customer = selection.needs_customer_table or (group_by in CUSTOMER_DIMENSIONS)
    source: FromClause = rows.join(Customer, Customer.id == customer_id) if needs_customer else rows
    conditions = _selection_conditions(selection, customer_id, currency)
    if min_balance is not None:
        conditions.append(customer_id.in_(min_balance))
    return Frame(source, conditions, _group_key(group_by, currency, customer_id))


def customer_restriction(session: Session, ar: ArRows, selection: Selection, rates: Rates) -> AnySelect | None:
    """Customer ids passing the selection's customer-level conditions (minimum balance, exposure over the limit,
    limit review due), the first two computed from the receivables at the as-of date `ar`; None when it has none.
    Callers pass it as `min_balance` to the aggregates: every statement of a summary then covers the same
    customers."""
    minimum = min_balance_customers(ar, selection, rates)
    over = over_limit_customers(session, ar, selection, rates)
    if minimum is None or over is None:
        restriction = minimum if over is None else over
    else:
        restriction = minimum.where(ar.rows.c.customer_id.in_(over))
    return review_due_customers(selection, restriction)


def review_due_customers(selection: Selection, within: AnySelect | None = None) -> AnySelect | None:
    """Customer ids (of `within`, when given) whose limit in force at the rule's moment has a review date on or
    before the rule's date; `within` unchanged when the selection has no such rule."""
    rule = selection.review_due
    if rule is None:
        return within
    due = select(CreditLimit.customer_id).where(
        *_in_force(rule.moment), CreditLimit.review_date.is_not(None), CreditLimit.review_date <= rule.by
    )
    return due if within is None else due.where(CreditLimit.customer_id.in_(within))


def _in_force(moment: datetime) -> tuple[Any, Any]:
    """The conditions on `CreditLimit` for the one limit in force at `moment` per customer: valid_from <= moment <
    valid_to, the latest valid_from, then the highest id, should periods overlap."""
    later = CreditLimit.__table__.alias("later_limit")
    in_force = and_(
        CreditLimit.valid_from <= moment, or_(CreditLimit.valid_to.is_(None), CreditLimit.valid_to > moment)
    )
    superseded = (
        select(later.c.id)
        .where(
            later.c.customer_id == CreditLimit.customer_id,
            later.c.valid_from <= moment,
            or_(later.c.valid_to.is_(None), later.c.valid_to > moment),
            or_(
                later.c.valid_from > CreditLimit.valid_from,
                and_(later.c.valid_from == CreditLimit.valid_from, later.c.id > CreditLimit.id),
            ),
        )
        .exists()
    )
    return in_force, ~superseded


def min_balance_customers(ar: ArRows, selection: Selection, rates: Rates) -> AnySelect | None:
    """Customer ids whose receivables (all buckets; disputed unless excluded) converted at `rates` reach the
    selection's minimum balance; None when there is no minimum."""
    if selection.min_balance_cents is None:
        return None
    base = replace(selection, min_balance_cents=None, over_limit=None)
    framed = frame(ar.rows, base, None)
    balance = type_coerce(
        ar.amount(ALL_BUCKETS, include_disputed=not selection.exclude_disputed) * rates.expression(ar.rows.c.currency),
        Float,
    )
    return (
        select(ar.rows.c.customer_id)
        .select_from(framed.source)
        .where(*framed.conditions)
        .group_by(ar.rows.c.customer_id)
        .having(func.sum(balance) >= float(selection.min_balance_cents) - HALF_CENT)
    )


def limits_in_force(session: Session, moment: datetime, rates: Rates) -> Subquery:
    """One row per customer with a credit limit in force at `moment` (valid_from <= moment < valid_to; the latest
    valid_from, then the highest id, should periods overlap): the limit in reporting-currency cents at `rates`."""
    dialect = session.get_bind().dialect.name
    limit_cents = type_coerce(_cents(CreditLimit.amount, dialect) * rates.expression(CreditLimit.currency), Float)
    return (
        select(CreditLimit.customer_id, limit_cents.label("limit_cents"))
        .where(*_in_force(moment))
        .subquery("limits_in_force")
    )


def over_limit_customers(session: Session, ar: ArRows, selection: Selection, rates: Rates) -> AnySelect | None:
    """Customer ids whose exposure (see `OverLimitRule`) converted at `rates` exceeds the rule's share of their credit
    limit in force at the rule's moment, converted the same way, by at least a cent; None when the selection has no
    such rule.

    Customers without a limit in force are never over; a limit of 0 is a limit (any positive exposure exceeds it).
    The exposure is the customer's whole: every currency and bucket, whatever the selection's currency, bucket and
    disputed filters (the other customer-level filters apply)."""
    rule = selection.over_limit
    if rule is None:
        return None
    dialect = session.get_bind().dialect.name
    base = replace(selection, currencies=None, min_balance_cents=None, over_limit=None, buckets=ALL_BUCKETS)
    framed = frame(ar.rows, base, None)
    c = ar.rows.c
    amount = ar.amount(ALL_BUCKETS, include_disputed=rule.include_disputed)
    parts: list[AnySelect] = [
        select(
            c.customer_id.label("customer_id"),
            type_coerce(amount * rates.expression(c.currency), Float).label("amount"),
        )
        .select_from(framed.source)
        .where(*framed.conditions)
    ]
    if rule.include_orders:
        converted = _cents(SalesOrder.open_amount, dialect) * rates.expression(SalesOrder.currency)
        parts.append(
            select(SalesOrder.customer_id.label("customer_id"), type_coerce(converted, Float).label("amount")).where(
                SalesOrder.status == OrderStatus.OPEN
            )
        )
    exposure_rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery("exposure_rows")
    limits = limits_in_force(session, rule.moment, rates)
    e = exposure_rows.c
    return (
        select(e.customer_id)
        .select_from(exposure_rows.join(limits, limits.c.customer_id == e.customer_id))
        .group_by(e.customer_id, limits.c.limit_cents)
        .having(func.sum(e.amount) > limits.c.limit_cents * float(rule.utilisation_pct / 100) + HALF_CENT)
    )


# --- cells ----------------------------------------------------------------------------------------------------------


def _zero_list(count: int) -> list[Decimal]:
    return [ZERO] * count


@dataclass
class GroupCell:
    """One (group, currency): open receivables by ageing bucket (current, then increasingly past due), net sales
    per month m0..m6, collections over the months of the period the source has, and counts of customers."""

    group: GroupKey
    currency: str
    undisputed: list[Decimal] = field(default_factory=lambda: _zero_list(BUCKETS))
    disputed: list[Decimal] = field(default_factory=lambda: _zero_list(BUCKETS))
    sales: list[Decimal] = field(default_factory=lambda: _zero_list(MONTHS))
    collections: Decimal = ZERO
    # Hybrid flows only: receivables (all buckets, disputed included) at the previous month end, to derive the
    # collections of the month to date from the ledger identity.
    previous_receivables: Decimal | None = None
    with_balance: int = 0
    with_credit_balance: int = 0
    # Σ of the negative (customer, currency) selected balances: credit balances, ≤ 0.
    credit_balances: Decimal = ZERO
    # Invoices (not credit notes) open at the as-of date in the selected buckets (see `open_invoice_counts`).
    open_invoices: int = 0


def _decimal_cents(value: Any) -> Decimal:
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def _nonzero_counts(measured: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    return [
        func.coalesce(func.sum(case((measured != 0, 1), else_=0)), 0),
        func.coalesce(func.sum(case((measured < 0, 1), else_=0)), 0),
    ]


def _credit_sum(measured: ColumnElement[Any]) -> ColumnElement[Any]:
    return type_coerce(func.sum(case((measured < 0, measured), else_=literal(0, BigInteger))), BigInteger)


def snapshot_totals(
    session: Session,
    as_of_dn: int,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: AnySelect | None,
    period_months: int,
    *,
    id_range: tuple[int, int] | None = None,
    flows: bool = True,
) -> list[GroupCell]:
    """Everything per (group, currency) a snapshot row holds, in one scan: buckets, net sales per month,
    collections over the period, and counts of (customer, currency) rows with a non-zero (negative) selected
    balance — customers, unless one has balances in several currencies (see `count_overlaps`)."""
    rows = snapshot_rows(as_of_dn, customer_ids=selection.customer_ids, id_range=id_range, open_only=not flows)
    wide = ArRows(rows, long=False)
    measured = wide.amount(selection.buckets, include_disputed=not selection.exclude_disputed)
    f = frame(rows, selection, group_by, min_balance=min_balance)
    c = rows.c
    sums = [type_coerce(func.sum(c[f"{p}_b{i}"]), BigInteger) for p in ("u", "d") for i in range(BUCKETS)]
    if flows:
        sums += [type_coerce(func.sum(c[f"sales_m{i}"]), BigInteger) for i in range(MONTHS)]
        collected = _sum_columns([c[f"coll_m{i}"] for i in range(period_months)])
        sums.append(type_coerce(func.sum(collected), BigInteger))
    statement = (
        select(f.key_column, c.currency, *sums, _credit_sum(measured), *_nonzero_counts(measured))
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(*f.key_terms, c.currency)
    )
    cells = []
    for row in session.execute(statement):
        values = [_decimal_cents(v) for v in row[2:-3]]
        cell = GroupCell(row[0], row[1], values[:BUCKETS], values[BUCKETS : 2 * BUCKETS])
        if flows:
            cell.sales, cell.collections = values[2 * BUCKETS : 2 * BUCKETS + MONTHS], values[-1]
        cell.credit_balances = _decimal_cents(row[-3])
        cell.with_balance, cell.with_credit_balance = int(row[-2]), int(row[-1])
        cells.append(cell)
    return cells


def rollup_compatible(selection: Selection, group_by: GroupBy | None, min_balance: AnySelect | None) -> bool:
    """Whether `snapshot_totals` for this selection and grouping can be read from the date's rollup: filters and
    grouping on the rollup's dimensions (region, segment, collector, risk class, currency) only (not country,
    industry or customer), every bucket, and
    disputed items included or excluded (the rollup carries both balances' counts). Any other filter (countries,
    industries, credit status, over the limit, a review due, a minimum balance, a broken or open promise, explicit
    customers) is answered from the snapshot rows."""
    return (
        (group_by is None or group_by in ROLLUP_DIMENSIONS)
        and selection.customer_ids is None
        and selection.countries is None
        and selection.industries is None
        and selection.credit_statuses is None
        and selection.broken_promise is None
        and selection.kept_promise is None
        and selection.open_promise is None
        and selection.min_balance_cents is None
        and selection.over_limit is None
        and selection.review_due is None
        and min_balance is None
        and tuple(sorted(set(selection.buckets))) == ALL_BUCKETS
    )


def rollup_totals(
    session: Session,
    as_of_dn: int,
    selection: Selection,
    group_by: GroupBy | None,
    period_months: int,
    *,
    flows: bool = True,
) -> list[GroupCell]:
    """`snapshot_totals` read from the date's rollup (see `rollup_compatible`; the caller checks the rollup is
    current): the same cells, summed from a few rows per group instead of every customer's."""
    r = ArSnapshotRollup
    dimension = {"region": r.region, "segment": r.segment, "collector": r.collector_id, "risk_class": r.risk_class}
    filters = [
        (selection.regions, r.region),
        (selection.segments, r.segment),
        (selection.collector_ids, r.collector_id),
        (selection.risk_classes, r.risk_class),
    ]
    customer_filtered = any(values is not None for values, _ in filters)
    if customer_filtered:
        level = "full"
    elif group_by is None or group_by == "currency":
        level = "currency"
    else:
        level = group_by
    conditions: list[ColumnElement[bool]] = [r.as_of_dn == as_of_dn, r.level == level]
    conditions += [_in(column, values) for values, column in filters if values is not None]
    if selection.currencies is not None:
        conditions.append(_in(r.currency, selection.currencies))
    key: Any = None if group_by is None else r.currency if group_by == "currency" else dimension[group_by]
    variant = "undisputed" if selection.exclude_disputed else "all"

    def total(name: str) -> ColumnElement[Any]:
        return type_coerce(func.sum(getattr(r, name)), BigInteger)

    sums = [total(f"{p}_b{i}") for p in ("u", "d") for i in range(BUCKETS)]
    if flows:
        sums += [total(f"sales_m{i}") for i in range(MONTHS)]
        collected = _sum_columns([getattr(r, f"coll_m{i}") for i in range(period_months)])
        sums.append(type_coerce(func.sum(collected), BigInteger))
    counts = [
        total(f"credit_{variant}"),
        func.coalesce(func.sum(getattr(r, f"nonzero_{variant}")), 0),
        func.coalesce(func.sum(getattr(r, f"negative_{variant}")), 0),
    ]
    statement = (
        select((key if key is not None else null()).label("g"), r.currency, *sums, *counts)
        .where(*conditions)
        .group_by(*([key] if key is not None else []), r.currency)
    )
    if not flows:
        statement = statement.having(func.sum(r.open_rows) > 0)
    cells = []
    for row in session.execute(statement):
        values = [_decimal_cents(v) for v in row[2:-3]]
        cell = GroupCell(row[0], row[1], values[:BUCKETS], values[BUCKETS : 2 * BUCKETS])
        if flows:
            cell.sales, cell.collections = values[2 * BUCKETS : 2 * BUCKETS + MONTHS], values[-1]
        cell.credit_balances = _decimal_cents(row[-3])
        cell.with_balance, cell.with_credit_balance = int(row[-2]), int(row[-1])
        cells.append(cell)
    return cells


def _flows_statement(
    session: Session,
    rows: NamedFromClause,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: AnySelect | None,
    period_months: int,
    *,
    previous: bool,
) -> list[GroupCell]:
    f = frame(rows, selection, group_by, min_balance=min_balance)
    c = rows.c
    sums = [type_coerce(func.sum(c[f"sales_m{i}"]), BigInteger) for i in range(MONTHS)]
    sums.append(type_coerce(func.sum(_sum_columns([c[f"coll_m{i}"] for i in range(period_months)])), BigInteger))
    if previous:
        sums.append(type_coerce(func.sum(c.previous_receivables), BigInteger))
    statement = (
        select(f.key_column, c.currency, *sums)
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(*f.key_terms, c.currency)
    )
    cells = []
    for row in session.execute(statement):
        values = [_decimal_cents(v) for v in row[2:]]
        cell = GroupCell(row[0], row[1], sales=values[:MONTHS], collections=values[MONTHS])
        if previous:
            cell.previous_receivables = values[MONTHS + 1]
        cells.append(cell)
    return cells


def _zero_columns(names: Iterable[str]) -> list[ColumnElement[Any]]:
    return [literal(0, BigInteger).label(name) for name in names]


def live_flows(
    session: Session,
    as_of: date,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: AnySelect | None,
    period_months: int,
    *,
    previous_month_end_usable: bool,
) -> list[GroupCell]:
    """Sales (seven months) and collections (the period) per (group, currency) at a date without a snapshot.

    With a current snapshot at the previous month end: its months are shifted one back, the month to date's sales
    are read from invoices, and the month to date's collections are left to the caller to derive (receivables at
    the previous month end + sales of the month − receivables at the as-of date), so `collections` covers months
    m1..m(N-1) and `previous_receivables` is set. Otherwise every month is read from invoices and allocations.
    """
    dialect = session.get_bind().dialect.name
    windows = month_windows(as_of)
    ids = selection.customer_ids
    by_invoice_customer = [Invoice.customer_id.in_(list(ids))] if ids is not None else []
    sales_names = [f"sales_m{i}" for i in range(MONTHS)]
    coll_names = [f"coll_m{i}" for i in range(MONTHS)]
    amount = _cents(Invoice.amount, dialect)
    if previous_month_end_usable:
        sales_windows = windows[:1]
        previous_end = date.fromordinal(month_start(as_of).toordinal() - 1)
        shifted = select(
            ArSnapshot.customer_id,
            ArSnapshot.currency,
            literal(0, BigInteger).label("sales_m0"),
            *(getattr(ArSnapshot, f"sales_m{i - 1}").label(f"sales_m{i}") for i in range(1, MONTHS)),
            literal(0, BigInteger).label("coll_m0"),
            *(getattr(ArSnapshot, f"coll_m{i - 1}").label(f"coll_m{i}") for i in range(1, MONTHS)),
            ArSnapshot.open_total.label("previous_receivables"),
        ).where(
            ArSnapshot.as_of_dn == day_number(previous_end),
            *([ArSnapshot.customer_id.in_(list(ids))] if ids is not None else []),
        )
        parts: list[AnySelect] = [shifted]
    else:
        sales_windows = windows
        parts = [
            select(
                Invoice.customer_id,
                Invoice.currency,
                *_zero_columns(sales_names),
                *(
                    case(
                        (PaymentAllocation.applied_dn.between(first, last), _cents(PaymentAllocation.amount, dialect)),
                        else_=literal(0, BigInteger),
                    ).label(f"coll_m{i}")
                    for i, (first, last) in enumerate(windows[:period_months])
                ),
                *_zero_columns(coll_names[period_months:]),
                literal(0, BigInteger).label("previous_receivables"),
            )
            .select_from(PaymentAllocation)
            .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
            .where(
                PaymentAllocation.applied_dn.between(windows[period_months - 1][0], windows[0][1]),
                *by_invoice_customer,
            )
        ]
    parts.append(
        select(
            Invoice.customer_id,
            Invoice.currency,
            *(
                case((Invoice.issue_dn.between(first, last), amount), else_=literal(0, BigInteger)).label(f"sales_m{i}")
                for i, (first, last) in enumerate(sales_windows)
            ),
            *_zero_columns(sales_names[len(sales_windows) :]),
            *_zero_columns(coll_names),
            literal(0, BigInteger).label("previous_receivables"),
        ).where(Invoice.issue_dn.between(sales_windows[-1][0], windows[0][1]), *by_invoice_customer)
    )
    rows = union_all(*parts).subquery("flows")
    return _flows_statement(
        session, rows, selection, group_by, min_balance, period_months, previous=previous_month_end_usable
    )


# --- open invoices --------------------------------------------------------------------------------------------------


def _open_invoice_rows(session: Session, as_of: date, params: SnapshotParameters, selection: Selection) -> Subquery:
    """One row per invoice (kind "invoice": credit notes are not counted) open at the end of `as_of` — issued by
    then, and its amount less the allocations applied by then not zero — with its customer and currency, and its
    ageing bucket when the selection restricts the buckets; invoices under a dispute active at the end of the day
    are left out when the selection excludes disputed items.

    Read from the ledger on every path: snapshot rows count the open items of both kinds over all buckets only
    (`open_count`). On or after the posting horizon nothing was paid or settled after the date: the open items are
    today's (one partial index, plus the invoice row for its kind)."""
    dialect = session.get_bind().dialect.name
    t = day_number(as_of)
    ids = selection.customer_ids
    conditions: list[ColumnElement[bool]] = [Invoice.kind == InvoiceKind.INVOICE]
    if ids is not None:
        conditions.append(Invoice.customer_id.in_(list(ids)))
    if selection.currencies is not None:
        conditions.append(Invoice.currency.in_(list(selection.currencies)))
    columns = (Invoice.id.label("item_id"), Invoice.customer_id, Invoice.currency, Invoice.due_dn)
    source: AnySelect | CompoundSelect[*tuple[Any, ...]]
    if t >= posting_horizon(session):
        source = select(*columns).where(
            Invoice.settled_dn.is_(None),
            _planner_blind(Invoice.issue_dn, dialect) <= t,
            Invoice.open_amount != 0,
            *conditions,
        )
    else:
        allocated_after, allocated_by = _allocations_around(t)
        # Open now: today's open amount plus what was allocated after t (only items paid at all have any).
        open_now = select(*columns).where(
            Invoice.settled_dn.is_(None),
            _planner_blind(Invoice.issue_dn, dialect) <= t,
            *conditions,
            case((Invoice.first_paid_dn.is_not(None), Invoice.open_amount + allocated_after), else_=Invoice.open_amount)
            != 0,
        )
        # Settled after t: the amount less what was allocated by t (only items first paid by t have any).
        settled_later = select(*columns).where(
            Invoice.settled_dn > t,
            Invoice.issue_dn <= t,
            *conditions,
            case((Invoice.first_paid_dn <= t, Invoice.amount - allocated_by), else_=Invoice.amount) != 0,
        )
        source = union_all(open_now, settled_later)
    items = source.subquery("open_invoice_items")
    c = items.c
    measured: list[Any] = [c.customer_id, c.currency]
    if len(set(selection.buckets)) < BUCKETS:
        measured.append(_bucket_index(t - c.due_dn, params.bucket_upper_bounds).label("bucket"))
    if not selection.exclude_disputed:
        return select(*measured).subquery("open_invoices")
    disputed_query = disputed_invoice_ids_at(as_of)
    if ids is not None:
        disputed_query = disputed_query.where(Dispute.customer_id.in_(list(ids)))
    disputed = disputed_query.distinct().subquery("open_invoice_disputed")
    return (
        select(*measured)
        .select_from(items.outerjoin(disputed, disputed.c.invoice_id == c.item_id))
        .where(disputed.c.invoice_id.is_(None))
        .subquery("open_invoices")
    )


def open_invoice_counts(
    session: Session,
    as_of: date,
    params: SnapshotParameters,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: AnySelect | None,
) -> list[GroupCell]:
    """Invoices open at the end of `as_of` per (group, currency), under every filter of the selection: the
    customer-level ones, the item currencies, the selected ageing buckets (days past due by due date), disputed
    items left out when excluded, and the balance-based customers `min_balance` (minimum balance, over the limit)."""
    rows = _open_invoice_rows(session, as_of, params, selection)
    c = rows.c
    f = frame(rows, selection, group_by, min_balance=min_balance)
    conditions = list(f.conditions)
    if "bucket" in c:
        conditions.append(c.bucket.in_(sorted(set(selection.buckets))))
    statement = (
        select(f.key_column, c.currency, func.count())
        .select_from(f.source)
        .where(*conditions)
        .group_by(*f.key_terms, c.currency)
    )
    return [GroupCell(row[0], row[1], open_invoices=int(row[2])) for row in session.execute(statement)]


# --- ranking and counts ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankedCustomer:
    customer_id: int
    approximate_exposure: float  # reporting-currency cents; exact figures are computed afterwards


def _orders_per_customer(session: Session, selection: Selection, rates: Rates) -> AnySelect:
    """Open orders per customer converted at `rates` (reporting-currency cents)."""
    dialect = session.get_bind().dialect.name
    conditions = [SalesOrder.status == OrderStatus.OPEN]
    if selection.currencies is not None:
        conditions.append(SalesOrder.currency.in_(list(selection.currencies)))
    converted = _cents(SalesOrder.open_amount, dialect) * rates.expression(SalesOrder.currency)
    return (
        select(SalesOrder.customer_id, type_coerce(func.sum(converted), Float).label("orders"))
        .where(*conditions)
        .group_by(SalesOrder.customer_id)
    )


def snapshot_ranking(
    session: Session,
    as_of_dn: int,
    selection: Selection,
    rates: Rates,
    min_balance: AnySelect | None,
    *,
    with_orders: bool,
    limit: int,
    measure: RankMeasure = "exposure",
    smallest_first: bool = False,
) -> list[RankedCustomer]:
    """Rows ranked by selected receivables (+ the customer's open orders) in the reporting currency — or by another
    `measure` (open orders only with "exposure") — largest first, or smallest (positive) first. A row is a
    (customer, currency): callers add customers with several currencies as candidates themselves."""
    rows = snapshot_rows(as_of_dn, customer_ids=selection.customer_ids)
    measured = measure_amount(ArRows(rows, long=False), selection, measure)
    balance = type_coerce(measured * rates.expression(rows.c.currency), Float)
    if not with_orders or measure != "exposure":
        f = frame(rows, selection, None, min_balance=min_balance)
        ranked = select(rows.c.customer_id, balance.label("exposure")).select_from(f.source).where(*f.conditions)
    elif session.get_bind().dialect.name == "postgresql":
        ranked = _ranked_full_join(session, rows, balance, selection, rates, min_balance)
    else:
        ranked = _ranked_left_join(session, as_of_dn, rows, balance, selection, rates, min_balance)
    candidates = ranked.subquery("ranked")
    top = (
        select(candidates.c.customer_id, candidates.c.exposure)
        .where(candidates.c.exposure > HALF_CENT)
        .order_by(
            candidates.c.exposure.asc() if smallest_first else candidates.c.exposure.desc(), candidates.c.customer_id
        )
        .limit(limit)
    )
    return [RankedCustomer(int(row[0]), float(row[1])) for row in session.execute(top)]


def _ranked_full_join(
    session: Session,
    rows: Subquery,
    balance: ColumnElement[float],
    selection: Selection,
    rates: Rates,
    min_balance: AnySelect | None,
) -> Any:
    """PostgreSQL: receivable rows FULL JOIN open orders per customer, hashed once."""
    row_filter = [rows.c.currency.in_(list(selection.currencies))] if selection.currencies is not None else []
    receivables = select(rows.c.customer_id, balance.label("balance")).where(*row_filter).subquery("receivables")
    orders = _orders_per_customer(session, selection, rates).subquery("orders")
    joined = (
        select(
            func.coalesce(receivables.c.customer_id, orders.c.customer_id).label("customer_id"),
            (func.coalesce(receivables.c.balance, 0.0) + func.coalesce(orders.c.orders, 0.0)).label("exposure"),
        )
        .select_from(receivables.join(orders, orders.c.customer_id == receivables.c.customer_id, full=True))
        .subquery("exposures")
    )
    f = frame(joined, replace(selection, currencies=None), None, min_balance=min_balance)
    return select(joined.c.customer_id, joined.c.exposure).select_from(f.source).where(*f.conditions)


def _ranked_left_join(
    session: Session,
    as_of_dn: int,
    rows: Subquery,
    balance: ColumnElement[float],
    selection: Selection,
    rates: Rates,
    min_balance: AnySelect | None,
) -> Any:
    """SQLite (whose FULL JOIN plan is far slower): rows LEFT JOIN orders, plus the customers with orders only."""
    orders = _orders_per_customer(session, selection, rates).cte("orders").prefix_with("MATERIALIZED")
    f = frame(rows, selection, None, min_balance=min_balance)
    with_receivables = (
        select(rows.c.customer_id, (balance + func.coalesce(orders.c.orders, 0.0)).label("exposure"))
        .select_from(f.source.outerjoin(orders, orders.c.customer_id == rows.c.customer_id))
        .where(*f.conditions)
    )
    order_frame = frame(orders, replace(selection, currencies=None), None, min_balance=min_balance)
    has_row = select(ArSnapshot.customer_id).where(
        ArSnapshot.as_of_dn == as_of_dn, ArSnapshot.customer_id == orders.c.customer_id
    )
    orders_only = (
        select(orders.c.customer_id, orders.c.orders.label("exposure"))
        .select_from(order_frame.source)
        .where(*order_frame.conditions, ~has_row.exists())
    )
    return union_all(with_receivables, orders_only)


def multi_currency_customers(session: Session, as_of_dn: int, cap: int) -> list[int] | None:
    """Customers with rows in more than one currency at a snapshot date; None when there are more than `cap`."""
    statement = (
        select(ArSnapshot.customer_id)
        .where(ArSnapshot.as_of_dn == as_of_dn)
        .group_by(ArSnapshot.customer_id)
        .having(func.count() > 1)
        .limit(cap + 1)
    )
    ids = [int(i) for i in session.scalars(statement)]
    return None if len(ids) > cap else ids


def count_overlaps(
    session: Session,
    as_of_dn: int,
    customer_ids: Sequence[int],
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: AnySelect | None,
) -> dict[GroupKey, tuple[int, int]]:
    """For customers with several currency rows: how much per group the row counts of `snapshot_totals` exceed
    the customer counts (rows with a balance − customers with a balance; same for credit balances)."""
    if not customer_ids or group_by == "currency":
        return {}
    rows = snapshot_rows(as_of_dn, customer_ids=customer_ids, open_only=True)
    measured = ArRows(rows, long=False).amount(selection.buckets, include_disputed=not selection.exclude_disputed)
    f = frame(rows, selection, group_by, min_balance=min_balance)
    per_customer = (
        select(f.key_column, rows.c.customer_id, *(n.label(f"n{i}") for i, n in enumerate(_nonzero_counts(measured))))
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(rows.c.customer_id, *f.key_terms)
        .subquery("per_customer")
    )
    p = per_customer.c
    statement = select(
        p.g,
        func.sum(case((p.n0 > 1, p.n0 - 1), else_=0)),
        func.sum(case((p.n1 > 1, p.n1 - 1), else_=0)),
    ).group_by(p.g)
    return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in session.execute(statement)}


@dataclass
class LiveSummary:
    cells: list[GroupCell]
    ranked: list[RankedCustomer]  # by exposure
    ranked_by_measure: list[RankedCustomer] = field(default_factory=list)  # by another measure, when asked


def live_summary(
    session: Session,
    items: ArRows,
    selection: Selection,
    group_by: GroupBy | None,
    rates: Rates,
    *,
    with_orders: bool,
    limit: int,
    measure: RankMeasure = "exposure",
    smallest_first: bool = False,
) -> LiveSummary:
    """Receivables per (group, currency, bucket, disputed), customer counts per group and the top customers (by
    exposure, and by `measure` too when it is another one), in one statement over the live items summed once (a
    materialised CTE)."""
    ar = live_ar_sums(items)
    c = ar.rows.c
    min_balance = customer_restriction(session, ar, selection, rates)
    f = frame(ar.rows, selection, group_by, min_balance=min_balance)
    receivables = (
        select(
            literal("r").label("kind"),
            f.key_column,
            c.currency,
            c.bucket,
            c.disputed,
            type_coerce(func.sum(c.amount), BigInteger).label("amount"),
            cast(null(), Integer).label("customer_id"),
            cast(null(), Float).label("value"),
            cast(null(), Integer).label("n1"),
            cast(null(), Integer).label("n2"),
        )
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(*f.key_terms, c.currency, c.bucket, c.disputed)
    )
    measured = ar.amount(selection.buckets, include_disputed=not selection.exclude_disputed)
    by_pair = (
        select(f.key_column, c.currency, type_coerce(func.sum(measured), BigInteger).label("balance"))
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(c.customer_id, c.currency, *f.key_terms)
        .subquery("by_pair")
    )
    credits = (
        select(
            literal("n"),
            by_pair.c.g,
            by_pair.c.currency,
            cast(null(), Integer),
            cast(null(), Integer),
            type_coerce(func.sum(by_pair.c.balance), BigInteger),
            cast(null(), Integer),
            cast(null(), Float),
            cast(null(), Integer),
            cast(null(), Integer),
        )
        .where(by_pair.c.balance < 0)
        .group_by(by_pair.c.g, by_pair.c.currency)
    )
    per_group = _live_balances(session, ar, selection, group_by, rates, min_balance, with_orders=False)
    b = per_group.c
    counts = select(
        literal("c"),
        b.g if group_by is not None else null(),
        cast(null(), String),
        cast(null(), Integer),
        cast(null(), Integer),
        cast(null(), BigInteger),
        cast(null(), Integer),
        cast(null(), Float),
        func.coalesce(func.sum(case((func.abs(b.balance) >= HALF_CENT, 1), else_=0)), 0),
        func.coalesce(func.sum(case((b.balance <= -HALF_CENT, 1), else_=0)), 0),
    ).group_by(*([b.g] if group_by is not None else []))
    per_customer = (
        per_group
        if group_by != "currency" and not with_orders
        else _live_balances(session, ar, selection, None, rates, min_balance, with_orders=with_orders, name="pcx")
    )
    p = per_customer.c
    exposure = (p.balance + p.orders).label("exposure")
    top = (
        select(p.customer_id, exposure)
        .where(exposure > HALF_CENT)
        .order_by(exposure.desc(), p.customer_id)
        .limit(limit)
        .subquery("top")
    )
    ranked = select(
        literal("t"),
        null(),  # untyped: the group key's type differs by grouping
        cast(null(), String),
        cast(null(), Integer),
        cast(null(), Integer),
        cast(null(), BigInteger),
        top.c.customer_id,
        top.c.exposure,
        cast(null(), Integer),
        cast(null(), Integer),
    )
    parts: list[AnySelect] = [receivables, credits, counts, ranked]
    if measure != "exposure" or smallest_first:
        # another measure, or the smallest first (by exposure: the per-customer balances above, orders included)
        if measure == "exposure":
            customer_column, value = p.customer_id, (p.balance + p.orders).label("value")
        else:
            by_measure = _live_balances(
                session, ar, selection, None, rates, min_balance, with_orders=False, name="pcm", measure=measure
            ).c
            customer_column, value = by_measure.customer_id, by_measure.balance.label("value")
        top_measure = (
            select(customer_column, value)
            .where(value > HALF_CENT)
            .order_by(value.asc() if smallest_first else value.desc(), customer_column)
            .limit(limit)
            .subquery("top_measure")
        )
        parts.append(
            select(
                literal("m"),
                null(),
                cast(null(), String),
                cast(null(), Integer),
                cast(null(), Integer),
                cast(null(), BigInteger),
                top_measure.c.customer_id,
                top_measure.c.value,
                cast(null(), Integer),
                cast(null(), Integer),
            )
        )
    cells: dict[tuple[GroupKey, str], GroupCell] = {}
    counts_by_group: dict[GroupKey, tuple[int, int]] = {}
    top_rows: list[RankedCustomer] = []
    measure_rows: list[RankedCustomer] = []
    for row in session.execute(union_all(*parts)):
        kind = row[0]
        if kind == "r":
            cell = cells.setdefault((row[1], row[2]), GroupCell(row[1], row[2]))
            target = cell.disputed if row[4] else cell.undisputed
            target[int(row[3])] += _decimal_cents(row[5])
        elif kind == "n":
            cells.setdefault((row[1], row[2]), GroupCell(row[1], row[2])).credit_balances = _decimal_cents(row[5])
        elif kind == "c":
            counts_by_group[row[1]] = (int(row[8]), int(row[9]))
        else:
            (top_rows if kind == "t" else measure_rows).append(RankedCustomer(int(row[6]), float(row[7])))
    _attach_counts(cells, counts_by_group)
    top_rows.sort(key=lambda r: (-r.approximate_exposure, r.customer_id))
    measure_rows.sort(key=lambda r: (-r.approximate_exposure, r.customer_id))
    return LiveSummary(list(cells.values()), top_rows, measure_rows)


def _attach_counts(cells: dict[tuple[GroupKey, str], GroupCell], counts: dict[GroupKey, tuple[int, int]]) -> None:
    """Counts are per group; put each group's on one of its cells (creating one if the group has none)."""
    seen: set[GroupKey] = set()
    for (group, _), cell in sorted(cells.items(), key=lambda item: str(item[0])):
        if group in counts and group not in seen:
            cell.with_balance, cell.with_credit_balance = counts[group]
            seen.add(group)
    for group, (with_balance, with_credit) in counts.items():
        if group not in seen:
            cells[(group, "")] = GroupCell(group, "", with_balance=with_balance, with_credit_balance=with_credit)


def _live_balances(
    session: Session,
    ar: ArRows,
    selection: Selection,
    group_by: GroupBy | None,
    rates: Rates,
    min_balance: AnySelect | None,
    *,
    with_orders: bool,
    name: str = "pc",
    measure: RankMeasure = "exposure",
) -> CTE:
    """One row per customer (per customer and currency when grouping by currency): the selected receivables (or
    the part of them another `measure` takes) and open orders converted at `rates` (reporting-currency cents), and
    the group key."""
    c = ar.rows.c
    measured = measure_amount(ar, selection, measure)
    parts: list[AnySelect] = [
        select(
            c.customer_id,
            c.currency,
            type_coerce(measured * rates.expression(c.currency), Float).label("balance"),
            literal(0.0, Float).label("orders"),
        )
    ]
    if with_orders:
        orders = _orders_per_customer(session, selection, rates).subquery("orders")
        parts.append(
            select(
                orders.c.customer_id,
                cast(null(), String).label("currency"),
                literal(0.0, Float).label("balance"),
                orders.c.orders,
            )
        )
    rows = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery(f"{name}_rows")
    # Order rows carry no currency (the currency filter was applied to them already): filter only the others.
    currencies = selection.currencies if with_orders else None
    f = frame(
        rows, replace(selection, currencies=None) if with_orders else selection, group_by, min_balance=min_balance
    )
    if currencies is not None:
        f = Frame(
            f.source, [*f.conditions, or_(rows.c.currency.is_(None), rows.c.currency.in_(list(currencies)))], f.key
        )
    keys: list[Any] = [rows.c.customer_id] + (f.key_terms if group_by != "customer" else [])
    return (
        select(
            rows.c.customer_id,
            f.key_column,
            type_coerce(func.sum(rows.c.balance), Float).label("balance"),
            type_coerce(func.sum(rows.c.orders), Float).label("orders"),
        )
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(*keys)
        .cte(name)
        .prefix_with("MATERIALIZED")
    )


# --- per-customer detail for the top list ---------------------------------------------------------------------------


def receivables_by_group(
    session: Session, ar: ArRows, selection: Selection, group_by: GroupBy | None, min_balance: AnySelect | None
) -> list[GroupCell]:
    """Receivables by bucket per (group, currency) from any row source (used for the few customers of a top list,
    whose rows the caller restricts)."""
    f = frame(ar.rows, selection, group_by, min_balance=min_balance)
    c = ar.rows.c
    if not ar.long:
        sums = [type_coerce(func.sum(c[f"{p}_b{i}"]), BigInteger) for p in ("u", "d") for i in range(BUCKETS)]
        statement = (
            select(f.key_column, c.currency, *sums)
            .select_from(f.source)
            .where(*f.conditions)
            .group_by(*f.key_terms, c.currency)
        )
        cells = []
        for row in session.execute(statement):
            values = [_decimal_cents(v) for v in row[2:]]
            cells.append(GroupCell(row[0], row[1], values[:BUCKETS], values[BUCKETS:]))
        return cells
    statement = (
        select(f.key_column, c.currency, c.bucket, c.disputed, type_coerce(func.sum(c.amount), BigInteger))
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(*f.key_terms, c.currency, c.bucket, c.disputed)
    )
    by_key: dict[tuple[GroupKey, str], GroupCell] = {}
    for group, currency, bucket, is_disputed, cents in session.execute(statement):
        cell = by_key.setdefault((group, currency), GroupCell(group, currency))
        (cell.disputed if is_disputed else cell.undisputed)[int(bucket)] += _decimal_cents(cents)
    return list(by_key.values())


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    external_id: str
    name: str
    region: str | None
    segment: str | None
    risk_class: str | None
    collector: str | None


def customer_info(session: Session, customer_ids: Sequence[int]) -> dict[int, CustomerInfo]:
    if not customer_ids:
        return {}
    statement = (
        select(
            Customer.id,
            Customer.external_id,
            Customer.name,
            Customer.region,
            Customer.segment,
            Customer.risk_class,
            StaffUser.name,
        )
        .outerjoin(StaffUser, StaffUser.id == Customer.collector_id)
        .where(Customer.id.in_(list(customer_ids)))
    )
    return {row[0]: CustomerInfo(*row) for row in session.execute(statement)}


# --- open orders ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrdersCell:
    group: GroupKey
    currency: str
    amount: Decimal
    count: int


def open_orders_by_group(
    session: Session, selection: Selection, group_by: GroupBy | None, min_balance: AnySelect | None
) -> list[OrdersCell]:
    """Today's open sales orders not yet invoiced (the order book has no history)."""
    dialect = session.get_bind().dialect.name
    rows = (
        select(SalesOrder.customer_id, SalesOrder.currency, _cents(SalesOrder.open_amount, dialect).label("amount"))
        .where(SalesOrder.status == OrderStatus.OPEN)
        .subquery("open_orders")
    )
    f = frame(rows, selection, group_by, min_balance=min_balance)
    statement = (
        select(f.key_column, rows.c.currency, type_coerce(func.sum(rows.c.amount), BigInteger), func.count())
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(*f.key_terms, rows.c.currency)
    )
    return [OrdersCell(row[0], row[1], _decimal_cents(row[2]), int(row[3])) for row in session.execute(statement)]


# --- promises, disputes and open orders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PromisesCell:
    """Promises due (promised date) in the period, by their state at the end of the as-of date."""

    group: GroupKey
    currency: str
    kept: int
    partially_kept: int
    broken: int
    pending: int  # still open at the as-of date (not yet evaluated, e.g. within the grace days)
    promised_amount: Decimal  # of the kept, partially kept and broken ones
    paid_amount: Decimal  # paid by the promised date plus grace, as recorded when each was evaluated


@dataclass(frozen=True)
class DisputesCell:
    group: GroupKey
    resolved: int
    total_days: Decimal  # sum over those disputes of (resolved_at − opened_at) in days


@dataclass(frozen=True)
class Activity:
    promises: list[PromisesCell]
    disputes: list[DisputesCell]
    orders: list[OrdersCell]


@dataclass(frozen=True)
class ActivityWindow:
    first_dn: int  # promises due from this day …
    last_dn: int  # … to this one
    start: datetime  # disputes resolved from this moment …
    moment: datetime  # … to this one; also the moment promise states are read at


def _elapsed_days(dialect: str) -> ColumnElement[Any]:
    if dialect == "sqlite":
        return func.julianday(Dispute.resolved_at) - func.julianday(Dispute.opened_at)
    return func.extract("epoch", Dispute.resolved_at - Dispute.opened_at) / 86400


def _activity_parts(dialect: str, window: ActivityWindow, with_orders: bool) -> list[AnySelect]:
    """Promises due in the period, disputes resolved in it and (today) open orders, as row sources of one shape:
    kind, customer, currency, status, evaluated flag, count, two amounts (cents) and days."""
    outcomes = [PromiseStatus.KEPT, PromiseStatus.PARTIALLY_KEPT, PromiseStatus.BROKEN]
    zero, one = literal(0, BigInteger), literal(1, Integer)
    promises = select(
        literal("p").label("kind"),
        PromiseToPay.customer_id,
        PromiseToPay.currency,
        cast(PromiseToPay.status, String).label("status"),
        case((PromiseToPay.resolved_at <= window.moment, 1), else_=0).label("evaluated"),
        one.label("n"),
        _cents(PromiseToPay.amount, dialect).label("a"),
        _cents(PromiseToPay.amount_paid, dialect).label("b"),
        literal(0.0, Float).label("days"),
    ).where(
        # Listing the states lets the (status, promised_dn) index serve the date range.
        PromiseToPay.status.in_([PromiseStatus.OPEN, *outcomes]),
        PromiseToPay.promised_dn.between(window.first_dn, window.last_dn),
        PromiseToPay.taken_at <= window.moment,
    )
    disputes = select(
        literal("d").label("kind"),
        Dispute.customer_id,
        Dispute.currency,
        cast(null(), String).label("status"),
        literal(0, Integer).label("evaluated"),
        one.label("n"),
        zero.label("a"),
        zero.label("b"),
        type_coerce(_elapsed_days(dialect), Float).label("days"),
    ).where(
        Dispute.resolved_at >= window.start,
        Dispute.resolved_at <= window.moment,
        Dispute.status.in_([DisputeStatus.RESOLVED, DisputeStatus.REJECTED]),
    )
    parts: list[AnySelect] = [promises, disputes]
    if with_orders:
        parts.append(
            select(
                literal("o").label("kind"),
                SalesOrder.customer_id,
                SalesOrder.currency,
                cast(null(), String).label("status"),
                literal(0, Integer).label("evaluated"),
                one.label("n"),
                _cents(SalesOrder.open_amount, dialect).label("a"),
                zero.label("b"),
                literal(0.0, Float).label("days"),
            ).where(SalesOrder.status == OrderStatus.OPEN)
        )
    return parts


def activity_by_group(
    session: Session,
    selection: Selection,
    group_by: GroupBy | None,
    min_balance: AnySelect | None,
    window: ActivityWindow,
    *,
    with_orders: bool,
) -> Activity:
    """Promises (by their state at the as-of moment), disputes resolved in the period and open orders per group.

    PostgreSQL reads the three as one statement (one hash of the customer table when grouping by a customer
    dimension); SQLite sorts three small groupings faster than one large one."""
    dialect = session.get_bind().dialect.name
    parts = _activity_parts(dialect, window, with_orders)
    sources = (
        [union_all(*parts).subquery("activity")]
        if dialect == "postgresql"
        else [part.subquery(f"activity{i}") for i, part in enumerate(parts)]
    )
    results: list[Any] = []
    for rows in sources:
        f = frame(rows, selection, group_by, min_balance=min_balance)
        c = rows.c
        statement = (
            select(
                c.kind,
                f.key_column,
                c.currency,
                c.status,
                c.evaluated,
                func.sum(c.n),
                type_coerce(func.sum(c.a), BigInteger),
                type_coerce(func.sum(c.b), BigInteger),
                type_coerce(func.sum(c.days), Float),
            )
            .select_from(f.source)
            .where(*f.conditions)
            .group_by(c.kind, *f.key_terms, c.currency, c.status, c.evaluated)
        )
        results.extend(session.execute(statement))
    promises: dict[tuple[GroupKey, str], dict[str, Any]] = {}
    disputes: dict[GroupKey, list[Any]] = {}
    orders: list[OrdersCell] = []
    for kind, group, currency, status, evaluated, count, a, b, days in results:
        if kind == "o":
            orders.append(OrdersCell(group, currency, _decimal_cents(a), int(count)))
        elif kind == "d":
            totals = disputes.setdefault(group, [0, 0.0])
            totals[0] += int(count)
            totals[1] += float(days or 0.0)
        else:
            cell = promises.setdefault((group, currency), {"promised": ZERO, "paid": ZERO})
            # A promise resolved after the as-of moment was still open then: pending, like the open ones.
            state = status if evaluated and status != PromiseStatus.OPEN.value else "pending"
            cell[state] = cell.get(state, 0) + int(count)
            if state != "pending":
                cell["promised"] += _decimal_cents(a)
                cell["paid"] += _decimal_cents(b)
    return Activity(
        promises=[
            PromisesCell(
                group,
                currency,
                kept=values.get(PromiseStatus.KEPT.value, 0),
                partially_kept=values.get(PromiseStatus.PARTIALLY_KEPT.value, 0),
                broken=values.get(PromiseStatus.BROKEN.value, 0),
                pending=values.get("pending", 0),
                promised_amount=values["promised"],
                paid_amount=values["paid"],
            )
            for (group, currency), values in promises.items()
        ],
        disputes=[DisputesCell(group, n, Decimal(repr(days))) for group, (n, days) in disputes.items()],
        orders=orders,
    )


# --- month-end trend ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendCell:
    """One month end and currency: receivables on the KPI basis (all buckets, disputed unless excluded), the
    not-yet-due and more-than-90-days parts, the receivables in the selected buckets, and net sales of the N months
    up to that month end."""

    as_of: date
    currency: str
    receivables: Decimal
    current: Decimal
    over_90: Decimal
    selected: Decimal
    sales: Decimal


def trend_by_currency(
    session: Session,
    dates: Sequence[date],
    selection: Selection,
    min_balance: AnySelect | None,
    *,
    period_months: int,
    over_90_buckets: Sequence[int],
) -> list[TrendCell]:
    """Read from the snapshots of `dates` (the caller checked they are current)."""
    if not dates:
        return []
    include_disputed = not selection.exclude_disputed
    conditions: list[ColumnElement[bool]] = [ArSnapshot.as_of_dn.in_([day_number(day) for day in dates])]
    if selection.customer_ids is not None:
        conditions.append(ArSnapshot.customer_id.in_(list(selection.customer_ids)))
    rows = select(ArSnapshot).where(*conditions).subquery("trend_rows")
    wide = ArRows(rows, long=False)
    c = rows.c
    f = frame(rows, selection, None, min_balance=min_balance)
    measures = [
        wide.amount(ALL_BUCKETS, include_disputed=include_disputed),
        wide.amount([0], include_disputed=include_disputed),
        wide.amount(over_90_buckets, include_disputed=include_disputed),
        wide.amount(selection.buckets, include_disputed=include_disputed),
        _sum_columns([c[f"sales_m{i}"] for i in range(period_months)]),
    ]
    if len(selection.buckets) == BUCKETS:
        measures[3] = literal(0, BigInteger)  # the same as the first; filled in below
    statement = (
        select(c.as_of_dn, c.currency, *(type_coerce(func.sum(m), BigInteger) for m in measures))
        .select_from(f.source)
        .where(*f.conditions)
        .group_by(c.as_of_dn, c.currency)
    )
    cells = []
    for row in session.execute(statement):
        values = [_decimal_cents(v) for v in row[2:]]
        if len(selection.buckets) == BUCKETS:
            values[3] = values[0]
        cells.append(TrendCell(from_day_number(int(row[0])), row[1], *values))
    return cells


# --- lookups for resolving filters ----------------------------------------------------------------------------------


def distinct_customer_values(
    session: Session, column: Literal["region", "segment", "country", "industry"]
) -> list[str]:
    attribute = {
        "region": Customer.region,
        "segment": Customer.segment,
        "country": Customer.country,
        "industry": Customer.industry,
    }[column]
    return sorted(value for value in session.scalars(select(attribute).distinct()) if value is not None)


def staff_by_handles(session: Session, handles: Sequence[str]) -> dict[str, tuple[int, str]]:
    """Staff matched by name or full name, case-insensitively: {handle as given: (id, name)}."""
    wanted = {handle.strip().casefold(): handle for handle in handles}
    rows = session.execute(
        select(StaffUser.id, StaffUser.name, StaffUser.full_name).where(
            or_(func.lower(StaffUser.name).in_(list(wanted)), func.lower(StaffUser.full_name).in_(list(wanted)))
        )
    ).all()
    found: dict[str, tuple[int, str]] = {}
    for staff_id, name, full_name in rows:
        for key in (name.casefold(), (full_name or "").casefold()):
            if key in wanted:
                found[wanted[key]] = (staff_id, name)
    return found


def staff_names(session: Session, staff_ids: Iterable[int]) -> dict[int, str]:
    ids = sorted({i for i in staff_ids if i is not None})
    if not ids:
        return {}
    rows = session.execute(select(StaffUser.id, StaffUser.name).where(StaffUser.id.in_(ids)))
    return {int(staff_id): name for staff_id, name in rows}


def month_ends_before(as_of: date, count: int) -> list[date]:
    """The `count` month ends before the month of `as_of`, latest first."""
    ends = []
    current = month_start(as_of)
    for _ in range(count):
        current = add_months(current, -1)
        ends.append(month_end(current))
    return ends
