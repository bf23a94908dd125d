"""The collector worklist: every account's priority score computed set-based in one statement, and the side facts
of one page of accounts.

`rank_worklist` reads the per-(customer, currency) receivables facts (`db.queries.snapshots`), folds them into one
row per customer in the reporting currency and routes every account of the scope (ranked, held back by an open
promise, or entirely disputed) in SQL: nothing loops over the book in Python. The side facts that move a score (a
broken promise, a recent contact, an open promise not yet due) are IN-sets over small index ranges by date, built
once per statement.

Scoring every account exactly would need the customer row of each (its late-payment probability). Instead each
account first gets an upper bound of its score without it (the probability taken as 1), only the accounts whose
bound reaches the (depth + 1)-th bound of their section are scored exactly, and the caller checks that the last
account wanted scores at least that cutoff: no account left out can then outrank it. When the check fails the
statement runs again over every account.

For the daily snapshot date the same statement is also run once over the whole book, every account scored exactly,
into `worklist_rank` (`build_ranking`, from the maintenance jobs); while that table is current (same model, no
input changed since) a page is read from it (`ranked_page`) instead of ranked again.

The numbers the score uses (rates, probabilities, age factors, boosts) arrive in `RankingModel`; they come from
the policy in `tools.worklist`, which this floor may not import. The `page_*` functions read what the explanation
and the next-best-action need, for one page plus the capped side sections.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    text,
    true,
    type_coerce,
    union,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.selectable import CTE, CompoundSelect

from core.dates import day_number, end_of_day_utc, start_of_day_utc, utcnow
from core.logging import get_logger
from db.models import (
    ActivityKind,
    ArSnapshot,
    ArSnapshotRun,
    CollectionActivity,
    CreditLimit,
    CreditStatus,
    Customer,
    Dispute,
    FxRate,
    OrderStatus,
    PromiseStatus,
    PromiseToPay,
    SalesOrder,
    StaffUser,
    WorklistRank,
    WorklistRankRun,
)
from db.models.snapshots import BUCKETS
from db.queries.ar import dispute_active_at
from db.queries.snapshots import (
    FACT_COLUMNS,
    SnapshotParameters,
    facts_select,
    source_fingerprint,
    usable_snapshot,
)
from db.types import AnySelect, UTCDateTime

log = get_logger(__name__)

Section = Literal["ranked", "held_back", "disputes"]
OVERDUE_BUCKETS = range(1, BUCKETS)  # b1..b5: every bucket past due
BROKEN_PROMISE_WINDOW_DAYS = 90
# Kinds that are a contact with the customer; notes are internal (e.g. a portal promise logged by the system).
CONTACT_KINDS = tuple(kind for kind in ActivityKind if kind != ActivityKind.NOTE)
# Promise statuses that may still have been open at a past date (resolved after it); cancelled ones never count.
MAYBE_OPEN_PROMISE = (PromiseStatus.OPEN, PromiseStatus.KEPT, PromiseStatus.BROKEN, PromiseStatus.PARTIALLY_KEPT)


@dataclass(frozen=True)
class RankingModel:
    """Every number the ranking statement uses. Amounts are in reporting-currency cents."""

    as_of: date
    reporting_currency: str
    rates: Mapping[str, float]  # facts currency → reporting currency; a currency missing here is not converted
    amount_weight: float
    age_factors: Sequence[float]  # one per bucket: current (pre-due amounts), then b1..b5 by the oldest item
    bucket_upper_bounds: Sequence[int]
    class_probability: Mapping[str, float]  # risk class → default probability when the customer is not scored
    neutral_probability: float  # neither scored nor classed
    broken_promise_boost: float
    recent_contact_days: int
    recent_contact_factor: float
    pre_due_classes: Sequence[str]
    pre_due_min_cents: float
    hold_back_open_promise: bool

    @property
    def as_of_dn(self) -> int:
        return day_number(self.as_of)

    @property
    def moment(self) -> datetime:
        return end_of_day_utc(self.as_of)

    @property
    def recent_contact_since(self) -> datetime:
        """Contacts on the as-of date and the `recent_contact_days - 1` days before it are recent."""
        return start_of_day_utc(self.as_of - timedelta(days=self.recent_contact_days - 1))


@dataclass(frozen=True)
class WorklistFilter:
    collector_ids: Sequence[int] | None  # None: the whole book
    region: str | None = None
    risk_classes: Sequence[str] | None = None
    min_amount_cents: float | None = None  # on the section's amount (undisputed, or disputed for the disputes one)


@dataclass(frozen=True)
class RankedAccount:
    section: Section
    customer_id: int
    overdue_cents: float  # undisputed overdue, reporting currency, net of overdue credit notes (0 when not positive)
    pre_due_cents: float  # undisputed amount falling due soon that counts (high-risk accounts only), else 0
    disputed_cents: float  # disputed overdue, reporting currency
    oldest_due_dn: int | None
    age_factor: float  # by the oldest undisputed item's bucket
    probability: float
    probability_source: Literal["scored", "risk_class", "neutral"]
    broken_promise: bool
    recent_contact: bool
    open_promise_not_due: bool
    score_cents: float


@dataclass(frozen=True)
class RankedPage:
    """The requested slice of the ranked section, the head of each side section, and every section's size."""

    ranked: list[RankedAccount]  # in rank order
    held_back: list[RankedAccount]  # highest score first
    disputes: list[RankedAccount]  # largest disputed overdue first
    totals: dict[str, int]
    unconverted_accounts: int  # accounts holding amounts in a currency without a reporting rate
    cutoffs: dict[str, float | None]  # per scored section: the bound below which no exact score was computed

    def exact(self, limit: int, side_cap: int) -> bool:
        """Whether every head is the true head: its last account scores at least its section's cutoff."""
        return _head_exact(self.ranked, self.cutoffs["ranked"], limit) and _head_exact(
            self.held_back, self.cutoffs["held_back"], side_cap
        )


def _head_exact(head: list[RankedAccount], cutoff: float | None, wanted: int) -> bool:
    if cutoff is None:
        return True
    return len(head) == wanted and head[-1].score_cents >= cutoff


# --- the ranking statement ----------------------------------------------------------------------------------------
#
# Built once per shape (currencies, which filters are present, the facts source) with bind parameters for every
# number, so a call only binds values: no expression building, no compiling.


@dataclass(frozen=True)
class _Shape:
    currencies: tuple[str, ...]
    classes: tuple[str, ...]
    hold_back: bool
    by_collector: bool
    by_region: bool
    by_class: bool
    by_amount: bool


def known_currencies(session: Session) -> list[str]:
    """Every currency the rate table mentions (a handful of rows; the candidates for the rate expression)."""
    rows = session.execute(
        union(select(FxRate.from_currency), select(FxRate.to_currency.label("from_currency")))
    ).scalars()
    return sorted(set(rows))


def snapshot_is_usable(session: Session, as_of: date, params: SnapshotParameters) -> bool:
    return usable_snapshot(session, as_of, params)


def live_facts(
    session: Session,
    as_of: date,
    params: SnapshotParameters,
    *,
    collector_ids: Sequence[int] | None = None,
    customer_ids: Sequence[int] | None = None,
) -> Subquery:
    """The facts computed from the ledger, for the given customers or collectors' books only when given (a book is
    cheap to compute live, the whole book is not)."""
    if customer_ids is None and collector_ids is not None:
        customer_ids = list(session.scalars(select(Customer.id).where(Customer.collector_id.in_(collector_ids))))
    return facts_select(session, as_of, params, customer_ids=customer_ids).subquery("facts")


def _snapshot_facts() -> Subquery:
    return (
        select(*(getattr(ArSnapshot, name) for name in FACT_COLUMNS))
        .where(ArSnapshot.as_of_dn == bindparam("as_of_dn", type_=Integer))
        .subquery("facts")
    )


def _int(column: Any) -> ColumnElement[int]:
    return type_coerce(column, BigInteger)


def _param(name: str, type_: Any = Float) -> Any:
    return bindparam(name, type_=type_)


def _overdue_sum(facts: Any, prefix: str) -> ColumnElement[int]:
    total: ColumnElement[int] = _int(facts.c[f"{prefix}{OVERDUE_BUCKETS[0]}"])
    for index in OVERDUE_BUCKETS[1:]:
        total = total + _int(facts.c[f"{prefix}{index}"])
    return total


def worklist_row_predicate(facts: Any) -> ColumnElement[bool]:
    """Rows that can move a score or a route: anything overdue or falling due soon. Rows holding only not-yet-due
    amounts add nothing. Kept equal to the predicate of the partial index proposed for `ar_snapshot`."""
    return or_(
        facts.c.oldest_undisputed_due_dn.is_not(None),
        _int(facts.c.due_soon) != 0,
        _overdue_sum(facts, "u_b") != 0,
        _overdue_sum(facts, "d_b") != 0,
    )


def _rate(shape: _Shape, currency: Any) -> ColumnElement[float]:
    """The reporting rate of a facts row's currency; NULL when no rate is known. The currencies arrive with the
    reporting currency first: usually the most frequent one, and each row's CASE stops at its match."""
    whens = {code: _param(f"rate_{index}") for index, code in enumerate(shape.currencies)}
    return case(whens, value=currency, else_=literal(None, Float))


def _book_customers() -> AnySelect:
    return select(Customer.id).where(Customer.collector_id.in_(bindparam("collector_ids", expanding=True)))


def _scope_conditions(customers: Any, shape: _Shape) -> list[ColumnElement[bool]]:
    """The scope filters (collector, region, risk class) on a selectable with the customer's columns of those names:
    the customer table itself, or the copy in `worklist_rank`."""
    conditions = []
    if shape.by_collector:
        conditions.append(customers.c.collector_id.in_(bindparam("collector_ids", expanding=True)))
    if shape.by_region:
        conditions.append(func.lower(customers.c.region) == _param("region", String))
    if shape.by_class:
        conditions.append(customers.c.risk_class.in_(bindparam("risk_classes", expanding=True)))
    return conditions


def _in_scope(customer_id: Any, shape: _Shape) -> list[ColumnElement[bool]]:
    """The scope filters as one semi-join on the customer's indexed columns."""
    in_scope = _scope_conditions(Customer.__table__, shape)
    return [customer_id.in_(select(Customer.id).where(*in_scope))] if in_scope else []


def _per_customer(facts: Subquery, shape: _Shape) -> Subquery:
    """Facts folded into one row per customer of the scope, in reporting-currency cents. The scope filters are
    semi-joins on customer indexes (collector, region, risk class), applied before any per-account work."""
    rate = _rate(shape, facts.c.currency)
    conditions = [worklist_row_predicate(facts), *_in_scope(facts.c.customer_id, shape)]
    return (
        select(
            facts.c.customer_id,
            type_coerce(func.sum(_overdue_sum(facts, "u_b") * rate), Float).label("overdue"),
            type_coerce(func.sum(_overdue_sum(facts, "d_b") * rate), Float).label("disputed"),
            type_coerce(func.sum(_int(facts.c.due_soon) * rate), Float).label("due_soon"),
            type_coerce(func.min(facts.c.oldest_undisputed_due_dn), Integer).label("oldest_due_dn"),
            func.max(case((rate.is_(None), 1), else_=0)).label("unconverted"),
        )
        .where(*conditions)
        .group_by(facts.c.customer_id)
        .subquery("per_customer")
    )


def _age_factor(oldest_due_dn: Any) -> ColumnElement[float]:
    """By the oldest undisputed overdue item's bucket; the bounds arrive as due-day numbers (`age_from_<n>`)."""
    whens: list[tuple[ColumnElement[bool], Any]] = [(oldest_due_dn.is_(None), _param("age_1"))]
    whens += [(oldest_due_dn >= _param(f"age_from_{i}", Integer), _param(f"age_{i}")) for i in OVERDUE_BUCKETS[:-1]]
    return case(*whens, else_=_param(f"age_{OVERDUE_BUCKETS[-1]}"))


def _probability(shape: _Shape) -> tuple[ColumnElement[float], ColumnElement[str]]:
    by_class = case(
        {code: _param(f"class_{code}") for code in shape.classes},
        value=Customer.risk_class,
        else_=_param("neutral_probability"),
    )
    source = case(
        (Customer.late_probability.is_not(None), literal("scored", String)),
        (Customer.risk_class.in_(shape.classes), literal("risk_class", String)),
        else_=literal("neutral", String),
    )
    probability = func.coalesce(Customer.late_probability, by_class)
    # Capped at 1: the bounded scoring relies on no probability exceeding it, whatever the scoring batch wrote.
    return case((probability > 1, literal(1.0, Float)), else_=probability), source


def _within(customer_id: Any, shape: _Shape) -> list[ColumnElement[bool]]:
    """A collector's book also bounds the side-fact sets: their per-customer indexes then answer, whatever the
    date indexes."""
    return [customer_id.in_(_book_customers())] if shape.by_collector else []


def broken_promise_customers(shape: _Shape) -> AnySelect:
    """Customers with a promise broken by the as-of date whose promised date lies in the last 90 days (the same
    definition as the exposure tool's `broken_last_90_days`)."""
    return select(PromiseToPay.customer_id).where(
        PromiseToPay.status == PromiseStatus.BROKEN,
        PromiseToPay.promised_dn > _param("broken_after_dn", Integer),
        PromiseToPay.resolved_at <= _param("moment", UTCDateTime()),
        *_within(PromiseToPay.customer_id, shape),
    )


def open_promise_not_due_customers(shape: _Shape) -> AnySelect:
    """Customers with a promise open at the end of the as-of date whose promised date is on or after it."""
    moment = _param("moment", UTCDateTime())
    return select(PromiseToPay.customer_id).where(
        PromiseToPay.status.in_(MAYBE_OPEN_PROMISE),
        PromiseToPay.promised_dn >= _param("as_of_dn", Integer),
        PromiseToPay.taken_at <= moment,
        or_(PromiseToPay.resolved_at.is_(None), PromiseToPay.resolved_at > moment),
        *_within(PromiseToPay.customer_id, shape),
    )


def recently_contacted_customers(shape: _Shape) -> AnySelect:
    """Customers with a call, e-mail, letter, SMS, visit or dunning letter in the recent-contact window."""
    return select(CollectionActivity.customer_id).where(
        CollectionActivity.performed_at >= _param("contact_since", UTCDateTime()),
        CollectionActivity.performed_at <= _param("moment", UTCDateTime()),
        CollectionActivity.kind.in_(CONTACT_KINDS),
        *_within(CollectionActivity.customer_id, shape),
    )


def _flag(customer_id: Any, customers: AnySelect) -> ColumnElement[int]:
    """1 when the customer is in the set. Non-correlated: the set is built once per statement."""
    return case((customer_id.in_(customers), 1), else_=0)


def _book(facts: Subquery, shape: _Shape) -> CTE:
    """Every account of the scope with what needs no customer row: amounts, age factor, the promise flags, its
    section, and an upper bound of its score (the score with a probability of 1). Read by several parts of the
    statement, so both databases materialise it once."""
    per = _per_customer(facts, shape)
    zero = literal(0.0, Float)
    high_risk = select(Customer.id).where(Customer.risk_class.in_(bindparam("pre_due_classes", expanding=True)))
    inputs = (
        select(
            per.c.customer_id,
            case((per.c.overdue > 0, per.c.overdue), else_=zero).label("overdue"),
            case(
                (and_(per.c.due_soon >= _param("pre_due_min"), per.c.customer_id.in_(high_risk)), per.c.due_soon),
                else_=zero,
            ).label("pre_due"),
            func.coalesce(per.c.disputed, zero).label("disputed"),
            per.c.oldest_due_dn,
            _age_factor(per.c.oldest_due_dn).label("age_factor"),
            _flag(per.c.customer_id, broken_promise_customers(shape)).label("broken"),
            _flag(per.c.customer_id, open_promise_not_due_customers(shape)).label("not_due"),
            per.c.unconverted,
        )
        .where(or_(per.c.overdue > 0, per.c.disputed > 0, per.c.due_soon >= _param("pre_due_min")))
        # OFFSET 0 keeps both planners from inlining this subquery into the next one, which would copy each
        # side-fact set into every expression that uses its flag (and build it once per copy).
        .offset(0)
        .subquery("inputs")
    )
    weighted = (inputs.c.overdue * inputs.c.age_factor + inputs.c.pre_due * _param("age_0")) * _param("amount_weight")
    collectable = or_(inputs.c.overdue > 0, inputs.c.pre_due > 0)
    routes: list[tuple[ColumnElement[bool], Any]] = [(~collectable, literal("disputes", String))]
    if shape.hold_back:
        routes.append((inputs.c.not_due == 1, literal("held_back", String)))
    section_amount = case((collectable, inputs.c.overdue), else_=inputs.c.disputed)
    book = select(
        inputs,
        weighted.label("weighted"),
        (weighted * case((inputs.c.broken == 1, _param("bound_boost")), else_=1.0) * _param("bound_contact")).label(
            "bound"
        ),
        case(*routes, else_=literal("ranked", String)).label("section"),
        section_amount.label("section_amount"),
    ).where(or_(collectable, inputs.c.disputed > 0))
    if shape.by_amount:
        book = book.where(section_amount >= _param("min_amount"))
    # Explicit: SQLite would otherwise compute the CTE again for each arm of the UNION that reads it.
    return book.cte("book").prefix_with("MATERIALIZED")


def _cutoff(book: CTE, section: Section, depth: str) -> Any:
    """The bound of the section's (depth + 1)-th account by bound; NULL when the section is shorter."""
    return (
        select(book.c.bound)
        .where(book.c.section == section)
        .order_by(book.c.bound.desc())
        .limit(1)
        .offset(_param(depth, Integer))
        .scalar_subquery()
    )


def _cutoffs(book: CTE) -> CTE:
    """Both cutoffs, computed once (one row)."""
    return (
        select(
            _cutoff(book, "ranked", "ranked_depth").label("ranked"),
            _cutoff(book, "held_back", "side_depth").label("held_back"),
        )
        .cte("cutoffs")
        .prefix_with("MATERIALIZED")
    )


def _scored(book: CTE, cutoffs: CTE, shape: _Shape) -> CTE:
    """Exact scores, for the accounts whose bound reaches their section's cutoff (and every disputes account):
    an account below the cutoff cannot outscore the page's last account when that one scores at least the cutoff,
    which the caller checks."""
    probability, source = _probability(shape)
    one = literal(1.0, Float)
    recent = _flag(book.c.customer_id, recently_contacted_customers(shape))
    score = (
        book.c.weighted
        * probability
        * case((book.c.broken == 1, _param("broken_boost")), else_=one)
        * case((recent == 1, _param("contact_factor")), else_=one)
    )
    no_cutoff = literal(-1.0, Float)
    reaches = or_(
        book.c.section == "disputes",
        and_(book.c.section == "ranked", book.c.bound >= func.coalesce(cutoffs.c.ranked, no_cutoff)),
        and_(book.c.section == "held_back", book.c.bound >= func.coalesce(cutoffs.c.held_back, no_cutoff)),
    )
    return (
        select(
            book.c.customer_id,
            book.c.section,
            book.c.section_amount,
            book.c.overdue,
            book.c.pre_due,
            book.c.disputed,
            book.c.oldest_due_dn,
            book.c.age_factor,
            probability.label("probability"),
            source.label("probability_source"),
            book.c.broken,
            recent.label("recent"),
            book.c.not_due,
            score.label("score"),
            book.c.unconverted,
        )
        .select_from(book.join(cutoffs, true()).join(Customer, Customer.id == book.c.customer_id))
        .where(reaches)
        .cte("scored")
        .prefix_with("MATERIALIZED")
    )


_ROW_COLUMNS = (
    "customer_id",
    "overdue",
    "pre_due",
    "disputed",
    "oldest_due_dn",
    "age_factor",
    "probability",
    "probability_source",
    "broken",
    "recent",
    "not_due",
    "score",
)


def _section_head(scored: CTE, section: Section, order: Sequence[Any], limit: str, offset: str | None) -> AnySelect:
    head = (
        select(*(scored.c[name] for name in _ROW_COLUMNS))
        .where(scored.c.section == section)
        .order_by(*order)
        .limit(_param(limit, Integer))
        .offset(_param(offset, Integer) if offset else None)
        .subquery(f"head_{section}")
    )
    return select(
        literal(section, String).label("section"),
        cast(null(), BigInteger).label("accounts"),
        cast(null(), BigInteger).label("unconverted"),
        cast(null(), Float).label("cutoff"),
        *(head.c[name] for name in _ROW_COLUMNS),
    )


def _section_sizes(book: CTE, cutoffs: CTE, scored: CTE) -> AnySelect:
    cutoff = case(
        (book.c.section == "ranked", cutoffs.c.ranked),
        (book.c.section == "held_back", cutoffs.c.held_back),
        else_=literal(None, Float),
    )
    return (
        select(
            book.c.section,
            func.count().label("accounts"),
            func.sum(book.c.unconverted).label("unconverted"),
            func.max(cutoff).label("cutoff"),
            *(cast(null(), scored.c[name].type).label(name) for name in _ROW_COLUMNS),
        )
        .select_from(book.join(cutoffs, true()))
        .group_by(book.c.section)
    )


def _ranking_statement(facts: Subquery, shape: _Shape) -> CompoundSelect[*tuple[Any, ...]]:
    book = _book(facts, shape)
    cutoffs = _cutoffs(book)
    scored = _scored(book, cutoffs, shape)
    by_score = (scored.c.score.desc(), scored.c.customer_id)
    return union_all(
        _section_head(scored, "ranked", by_score, "page_limit", "page_offset"),
        _section_head(scored, "held_back", by_score, "side_cap", None),
        _section_head(scored, "disputes", (scored.c.section_amount.desc(), scored.c.customer_id), "side_cap", None),
        _section_sizes(book, cutoffs, scored),
    )


@cache
def _snapshot_ranking_statement(shape: _Shape) -> CompoundSelect[*tuple[Any, ...]]:
    return _ranking_statement(_snapshot_facts(), shape)


def _parameters(model: RankingModel, where: WorklistFilter, shape: _Shape) -> dict[str, Any]:
    as_of_dn = model.as_of_dn
    values: dict[str, Any] = {
        "as_of_dn": as_of_dn,
        "moment": model.moment,
        "contact_since": model.recent_contact_since,
        "broken_after_dn": as_of_dn - BROKEN_PROMISE_WINDOW_DAYS,
        "neutral_probability": model.neutral_probability,
        "pre_due_classes": list(model.pre_due_classes),
        "pre_due_min": model.pre_due_min_cents,
        "amount_weight": model.amount_weight,
        "broken_boost": model.broken_promise_boost,
        "contact_factor": model.recent_contact_factor,
        # The bound replaces the probability by 1 and each factor by at least 1: never below the score.
        "bound_boost": max(model.broken_promise_boost, 1.0),
        "bound_contact": max(model.recent_contact_factor, 1.0),
    }
    values |= {f"rate_{i}": model.rates[code] for i, code in enumerate(shape.currencies)}
    values |= {f"class_{code}": model.class_probability[code] for code in shape.classes}
    values |= {f"age_{i}": factor for i, factor in enumerate(model.age_factors)}
    values |= {f"age_from_{i}": as_of_dn - upper for i, upper in enumerate(model.bucket_upper_bounds, start=1)}
    return values | _filter_values(where)


def _filter_values(where: WorklistFilter) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if where.collector_ids is not None:
        values["collector_ids"] = list(where.collector_ids)
    if where.region is not None:
        values["region"] = where.region.lower()
    if where.risk_classes is not None:
        values["risk_classes"] = list(where.risk_classes)
    if where.min_amount_cents is not None:
        values["min_amount"] = where.min_amount_cents
    return values


def _shape(model: RankingModel, where: WorklistFilter) -> _Shape:
    return _Shape(
        currencies=tuple(sorted(model.rates, key=lambda code: (code != model.reporting_currency, code))),
        classes=tuple(sorted(model.class_probability)),
        hold_back=model.hold_back_open_promise,
        by_collector=where.collector_ids is not None,
        by_region=where.region is not None,
        by_class=where.risk_classes is not None,
        by_amount=where.min_amount_cents is not None,
    )


def rank_worklist(
    session: Session,
    model: RankingModel,
    where: WorklistFilter,
    *,
    live_facts_source: Subquery | None,
    offset: int,
    limit: int,
    side_cap: int,
    depth: int | None = None,
) -> RankedPage:
    """The requested page of ranked accounts plus the first `side_cap` of each side section and every section's
    size, in one statement over the snapshot (or over `live_facts_source` when given). Order: score descending, then
    customer id (disputes: disputed overdue descending, then customer id).

    Exact scores are computed for the `depth` accounts of each section with the highest score bound (default: a
    generous multiple of the rows wanted). When the last wanted account scores below the cutoff, an account outside
    could outrank it and the statement runs again over every account."""
    shape = _shape(model, where)
    statement = (
        _snapshot_ranking_statement(shape)
        if live_facts_source is None
        else _ranking_statement(live_facts_source, shape)
    )
    values = _parameters(model, where, shape) | {"page_limit": limit, "page_offset": offset, "side_cap": side_cap}
    ranked_depth = depth if depth is not None else max(EXACT_MIN_DEPTH, EXACT_DEPTH_FACTOR * (offset + limit))
    side_depth = depth if depth is not None else max(EXACT_MIN_DEPTH, EXACT_DEPTH_FACTOR * side_cap)
    page = _run(session, statement, values | {"ranked_depth": ranked_depth, "side_depth": side_depth})
    if page.exact(limit, side_cap):
        return page
    return _run(session, statement, values | {"ranked_depth": EVERY_ACCOUNT, "side_depth": EVERY_ACCOUNT})


EXACT_MIN_DEPTH = 2000
EXACT_DEPTH_FACTOR = 20
EVERY_ACCOUNT = 2**31 - 1


# --- the materialised ranking -------------------------------------------------------------------------------------
#
# For the daily snapshot date, `build_ranking` runs the ranking statement above once over the whole book with no
# cutoff (every account scored exactly) and stores each account's row in `worklist_rank`; `ranked_page` then answers
# a page, the side-section heads and the section sizes from that table, in the same order, applying the scope
# filters exactly as the statement does. The table is used only while it is current: built with the same ranking
# model (`ranking_parameters`) and while none of its inputs changed (`ranking_fingerprint`). Otherwise the caller
# runs `rank_worklist`.

RANKING_VERSION = 1  # part of the parameters digest: bump whenever the ranking statement changes what it computes
_RANK_COLUMNS = (*_ROW_COLUMNS, "section", "section_amount", "unconverted")  # customer_id first
_SCOPE_COLUMNS = ("collector_id", "region", "risk_class")


def ranking_parameters(model: RankingModel, params: SnapshotParameters) -> str:
    """A digest of everything the ranking depends on besides the data: every number of the model (policy values,
    constants, rates and the reporting currency), the statement's own constants and the snapshot's parameters. The
    as-of date is the table's key, not part of the digest."""
    described = {
        "version": RANKING_VERSION,
        "reporting_currency": model.reporting_currency,
        "rates": sorted(model.rates.items()),
        "amount_weight": model.amount_weight,
        "age_factors": list(model.age_factors),
        "bucket_upper_bounds": list(model.bucket_upper_bounds),
        "class_probability": sorted(model.class_probability.items()),
        "neutral_probability": model.neutral_probability,
        "broken_promise_boost": model.broken_promise_boost,
        "broken_promise_window_days": BROKEN_PROMISE_WINDOW_DAYS,
        "recent_contact_days": model.recent_contact_days,
        "recent_contact_factor": model.recent_contact_factor,
        "contact_kinds": sorted(kind.value for kind in CONTACT_KINDS),
        "pre_due_classes": sorted(model.pre_due_classes),
        "pre_due_min_cents": model.pre_due_min_cents,
        "hold_back_open_promise": model.hold_back_open_promise,
        "snapshot": params.encode(),
    }
    # json writes floats by repr: the digest changes with any change of a value, however small.
    encoded = json.dumps(described, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(encoded.encode()).hexdigest()


@cache
def _inputs_statement() -> AnySelect:
    """In one round trip: the day's snapshot run and ranking run, and the latest change of every input the ranking
    reads beyond the ledger (promises, contacts, customers and their scores, rates). Each is a max() or count() the
    planner answers from an index end."""
    as_of_dn = bindparam("as_of_dn", type_=Integer)

    def scalar(statement: Any, label: str) -> Any:
        return statement.scalar_subquery().label(label)

    return select(
        scalar(select(ArSnapshotRun.source_fingerprint).where(ArSnapshotRun.as_of_dn == as_of_dn), "snapshot_source"),
        scalar(select(ArSnapshotRun.parameters).where(ArSnapshotRun.as_of_dn == as_of_dn), "snapshot_parameters"),
        scalar(select(WorklistRankRun.parameters).where(WorklistRankRun.as_of_dn == as_of_dn), "ranking_parameters"),
        scalar(
            select(WorklistRankRun.source_fingerprint).where(WorklistRankRun.as_of_dn == as_of_dn), "ranking_source"
        ),
        scalar(select(func.max(PromiseToPay.id)), "promise_id"),
        scalar(select(func.max(PromiseToPay.updated_at)), "promise_updated"),
        scalar(select(func.max(CollectionActivity.id)).where(CollectionActivity.kind.in_(CONTACT_KINDS)), "contact_id"),
        scalar(select(func.max(Customer.updated_at)), "customer_updated"),
        scalar(select(func.max(Customer.scored_at)), "customer_scored"),
        scalar(select(func.count()).select_from(FxRate), "fx_count"),
        scalar(select(func.max(FxRate.id)), "fx_id"),
    )


@dataclass(frozen=True)
class RankingState:
    fingerprint: str | None  # of the inputs now; None when the day's snapshot is missing or stale
    built_parameters: str | None  # of the stored ranking; None when there is none for the day
    built_fingerprint: str | None

    def current(self, parameters: str) -> bool:
        return (
            self.fingerprint is not None
            and self.built_parameters == parameters
            and self.built_fingerprint == self.fingerprint
        )


def ranking_state(session: Session, as_of: date) -> RankingState:
    """The fingerprint of the ranking's inputs at `as_of` now, and what the stored ranking for that day recorded.

    The fingerprint chains the day's snapshot (its run's own fingerprint and parameters, taken only while that
    fingerprint still equals the ledger's, so a current ranking implies a current snapshot) with the latest promise
    (id and change), contact activity of the kinds the ranking counts (id), customer change (any field: collector,
    region, risk class, probability) and scoring time, and the rate table (row count and latest id)."""
    ledger = source_fingerprint(session)
    row = session.execute(_inputs_statement(), {"as_of_dn": day_number(as_of)}).one()
    fingerprint = None
    if row.snapshot_source is not None and row.snapshot_source == ledger:
        parts = [
            f"snapshot={row.snapshot_source}/{row.snapshot_parameters}",
            f"promise={row.promise_id}/{row.promise_updated}",
            f"contact={row.contact_id}",
            f"customer={row.customer_updated}/{row.customer_scored}",
            f"fx={row.fx_count}/{row.fx_id}",
        ]
        fingerprint = ";".join(parts)
    return RankingState(fingerprint, row.ranking_parameters, row.ranking_source)


def ranking_is_current(session: Session, model: RankingModel, params: SnapshotParameters) -> bool:
    """Whether `worklist_rank` holds the ranking `model` would compute now for its date."""
    state = ranking_state(session, model.as_of)
    current = state.current(ranking_parameters(model, params))
    if not current and state.built_parameters is not None:
        log.info("worklist_rank.not_current", as_of_dn=model.as_of_dn, snapshot_current=state.fingerprint is not None)
    return current


def build_ranking(session: Session, model: RankingModel, params: SnapshotParameters) -> int | None:
    """(Re)build the ranking of `model.as_of` in the caller's write transaction: the ranking statement over the day's
    snapshot with no cutoff, every account of the book scored exactly, inserted in one INSERT … SELECT. Rankings of
    other dates are dropped (only the daily snapshot date is kept). Returns the rows written, or None (nothing
    built) when the day's snapshot is missing or stale.

    The fingerprint is read before the rows: a change committed in between makes the ranking look stale (and the
    live statement answer) rather than current with the change missing."""
    state = ranking_state(session, model.as_of)
    if state.fingerprint is None or not usable_snapshot(session, model.as_of, params):
        log.warning("worklist_rank.no_current_snapshot", as_of_dn=model.as_of_dn)
        return None
    connection = session.connection()
    connection.execute(delete(WorklistRank))
    connection.execute(delete(WorklistRankRun))
    if connection.dialect.name == "postgresql":
        connection.execute(text("SET LOCAL jit = off"))  # see `_run`: compiling would cost more than running
    shape = _shape(model, WorklistFilter(collector_ids=None))
    book = _book(_snapshot_facts(), shape)
    scored = _scored(book, _cutoffs(book), shape)
    values = _parameters(model, WorklistFilter(collector_ids=None), shape)
    ranking = select(
        _param("as_of_dn", Integer),
        *(scored.c[name] for name in _RANK_COLUMNS),
        *(getattr(Customer, name) for name in _SCOPE_COLUMNS),
    ).join_from(scored, Customer, Customer.id == scored.c.customer_id)
    # Values bound into the select: execution parameters of an INSERT are taken for column values by name.
    ranking = ranking.params(values | {"ranked_depth": EVERY_ACCOUNT, "side_depth": EVERY_ACCOUNT})
    connection.execute(insert(WorklistRank).from_select(["as_of_dn", *_RANK_COLUMNS, *_SCOPE_COLUMNS], ranking))
    sizes = {
        row.section: row
        for row in session.execute(
            select(WorklistRank.section, func.count().label("accounts"), func.sum(WorklistRank.unconverted).label("un"))
            .where(WorklistRank.as_of_dn == model.as_of_dn)
            .group_by(WorklistRank.section)
        )
    }
    accounts = {section: int(row.accounts) for section, row in sizes.items()}
    run = WorklistRankRun(
        as_of_dn=model.as_of_dn,
        built_at=utcnow(),
        parameters=ranking_parameters(model, params),
        source_fingerprint=state.fingerprint,
        rows=sum(accounts.values()),
        ranked_accounts=accounts.get("ranked", 0),
        held_back_accounts=accounts.get("held_back", 0),
        disputes_accounts=accounts.get("disputes", 0),
        unconverted_accounts=sum(int(row.un or 0) for row in sizes.values()),
    )
    session.add(run)
    session.flush()
    # Fresh statistics: the table was just replaced wholesale, and the planners choose the collector index and the
    # order index by them.
    connection.execute(text("ANALYZE worklist_rank"))
    log.info("worklist_rank.built", as_of_dn=model.as_of_dn, rows=run.rows)
    return run.rows


def _rank_head(source: Any, section: Section, order: Sequence[Any], limit: str, offset: str | None) -> AnySelect:
    head = (
        select(*(source.c[name] for name in _ROW_COLUMNS))
        .where(source.c.section == section)
        .order_by(*order)
        .limit(_param(limit, Integer))
        .offset(_param(offset, Integer) if offset else None)
        .subquery(f"head_{section}")
    )
    return select(
        literal(section, String).label("section"),
        cast(null(), BigInteger).label("accounts"),
        cast(null(), BigInteger).label("unconverted"),
        cast(null(), Float).label("cutoff"),
        *(head.c[name] for name in _ROW_COLUMNS),
    )


def _no_row_columns() -> list[Any]:
    rank = WorklistRank.__table__
    return [cast(null(), rank.c[name].type).label(name) for name in _ROW_COLUMNS]


def _book_sizes() -> list[AnySelect]:
    """The whole book's section sizes as recorded by the build (the accounts with unconverted amounts counted once,
    on the first part: the page only adds them up)."""
    run = WorklistRankRun.__table__
    parts = (
        ("ranked", run.c.ranked_accounts, run.c.unconverted_accounts),
        ("held_back", run.c.held_back_accounts, literal(0, Integer)),
        ("disputes", run.c.disputes_accounts, literal(0, Integer)),
    )
    return [
        select(
            literal(section, String).label("section"),
            type_coerce(accounts, BigInteger).label("accounts"),
            type_coerce(unconverted, BigInteger).label("unconverted"),
            cast(null(), Float).label("cutoff"),
            *_no_row_columns(),
        ).where(run.c.as_of_dn == _param("as_of_dn", Integer))
        for section, accounts, unconverted in parts
    ]


@cache
def _table_statement(shape: _Shape) -> CompoundSelect[*tuple[Any, ...]]:
    """The same parts as `_ranking_statement` (page, both side heads, section sizes), read from `worklist_rank`.

    The whole book: the heads walk the (as_of_dn, section, score DESC, customer_id) index and the sizes are the
    build's. A scope or an amount filter: the accounts in it are selected once (a collector's book by the collector
    index) and the heads and sizes come from those. The scope conditions are the live statement's (`_in_scope`), on
    the customer columns copied at the build (equal to the customer's while the ranking is current)."""
    rank = WorklistRank.__table__
    by_score: tuple[Any, ...]
    by_amount: tuple[Any, ...]
    if not (shape.by_collector or shape.by_region or shape.by_class or shape.by_amount):
        whole = select(rank).where(rank.c.as_of_dn == _param("as_of_dn", Integer)).subquery("whole")
        by_score = (whole.c.score.desc(), whole.c.customer_id)
        by_amount = (whole.c.section_amount.desc(), whole.c.customer_id)
        return union_all(
            _rank_head(whole, "ranked", by_score, "page_limit", "page_offset"),
            _rank_head(whole, "held_back", by_score, "side_cap", None),
            _rank_head(whole, "disputes", by_amount, "side_cap", None),
            *_book_sizes(),
        )
    conditions = [rank.c.as_of_dn == _param("as_of_dn", Integer), *_scope_conditions(rank, shape)]
    if shape.by_amount:
        conditions.append(rank.c.section_amount >= _param("min_amount"))
    scoped = select(rank).where(*conditions).cte("scoped").prefix_with("MATERIALIZED")
    by_score = (scoped.c.score.desc(), scoped.c.customer_id)
    by_amount = (scoped.c.section_amount.desc(), scoped.c.customer_id)
    sizes = select(
        scoped.c.section,
        func.count().label("accounts"),
        func.sum(scoped.c.unconverted).label("unconverted"),
        cast(null(), Float).label("cutoff"),
        *_no_row_columns(),
    ).group_by(scoped.c.section)
    return union_all(
        _rank_head(scoped, "ranked", by_score, "page_limit", "page_offset"),
        _rank_head(scoped, "held_back", by_score, "side_cap", None),
        _rank_head(scoped, "disputes", by_amount, "side_cap", None),
        sizes,
    )


def ranked_page(
    session: Session, model: RankingModel, where: WorklistFilter, *, offset: int, limit: int, side_cap: int
) -> RankedPage:
    """What `rank_worklist` returns, read from the materialised ranking (check `ranking_is_current` first). Every
    account there is scored exactly, so no section has a cutoff."""
    values = {"as_of_dn": model.as_of_dn, "page_limit": limit, "page_offset": offset, "side_cap": side_cap}
    return _run(session, _table_statement(_shape(model, where)), values | _filter_values(where))


def _run(session: Session, statement: Any, values: dict[str, Any]) -> RankedPage:
    if session.get_bind().dialect.name == "postgresql":
        # The whole-book plan's cost estimate crosses jit_above_cost: compiling it costs far more (0.25-10 s) than
        # running it (~0.1 s). LOCAL: for this read-only transaction only.
        session.execute(text("SET LOCAL jit = off"))
    rows = session.execute(statement, values).all()
    heads: dict[str, list[RankedAccount]] = {"ranked": [], "held_back": [], "disputes": []}
    totals: dict[str, int] = dict.fromkeys(heads, 0)
    cutoffs: dict[str, float | None] = dict.fromkeys(heads)
    unconverted = 0
    for row in rows:
        if row.accounts is not None:
            totals[row.section] = int(row.accounts)
            cutoffs[row.section] = None if row.cutoff is None else float(row.cutoff)
            unconverted += int(row.unconverted or 0)
        else:
            heads[row.section].append(_ranked(row))
    # UNION ALL keeps no order: restore each head's order (the same key the statement sorted by).
    heads["ranked"].sort(key=lambda r: (-r.score_cents, r.customer_id))
    heads["held_back"].sort(key=lambda r: (-r.score_cents, r.customer_id))
    heads["disputes"].sort(key=lambda r: (-r.disputed_cents, r.customer_id))
    return RankedPage(heads["ranked"], heads["held_back"], heads["disputes"], totals, unconverted, cutoffs)


def _ranked(row: Any) -> RankedAccount:
    return RankedAccount(
        section=row.section,
        customer_id=int(row.customer_id),
        overdue_cents=float(row.overdue),
        pre_due_cents=float(row.pre_due),
        disputed_cents=float(row.disputed),
        oldest_due_dn=row.oldest_due_dn,
        age_factor=float(row.age_factor),
        probability=float(row.probability),
        probability_source=row.probability_source,
        broken_promise=bool(row.broken),
        recent_contact=bool(row.recent),
        open_promise_not_due=bool(row.not_due),
        score_cents=float(row.score),
    )


# --- side facts of one page ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageCustomer:
    id: int
    external_id: str
    name: str
    collector: str | None
    region: str | None
    currency: str
    risk_class: str | None
    late_probability: float | None
    credit_status: CreditStatus
    credit_status_reason: str | None


@dataclass(frozen=True)
class FactsRow:
    customer_id: int
    currency: str
    open_total: Decimal
    due_soon: Decimal
    undisputed: tuple[Decimal, ...]  # b0..b5
    disputed: tuple[Decimal, ...]
    oldest_undisputed_due_dn: int | None


@dataclass(frozen=True)
class ActivitySeen:
    customer_id: int
    kind: ActivityKind
    dunning_level: int | None
    performed_at: datetime


@dataclass(frozen=True)
class LastActivities:
    customer_id: int
    letter: ActivitySeen | None
    contact: ActivitySeen | None


@dataclass(frozen=True)
class PromiseRow:
    promise_id: int
    customer_id: int
    amount: Decimal
    currency: str
    promised_date: date
    open: bool  # open at the end of the as-of date
    broken_recently: bool  # broken by then, promised within the last 90 days


@dataclass(frozen=True)
class DisputeRow:
    dispute_id: int
    customer_id: int
    amount: Decimal
    currency: str
    opened_at: datetime


@dataclass(frozen=True)
class OrderTotals:
    customer_id: int
    currency: str
    open_amount: Decimal
    open_orders: int
    unheld_amount: Decimal
    unheld_orders: int


@dataclass(frozen=True)
class LimitRow:
    customer_id: int
    amount: Decimal
    currency: str
    review_date: date | None


def page_customers(session: Session, customer_ids: Sequence[int]) -> list[PageCustomer]:
    rows = session.execute(
        select(
            Customer.id,
            Customer.external_id,
            Customer.name,
            StaffUser.name.label("collector"),
            Customer.region,
            Customer.currency,
            Customer.risk_class,
            Customer.late_probability,
            Customer.credit_status,
            Customer.credit_status_reason,
        )
        .outerjoin(StaffUser, StaffUser.id == Customer.collector_id)
        .where(Customer.id.in_(customer_ids))
    ).all()
    return [PageCustomer(**row._asdict()) for row in rows]


_PAGE_FACT_COLUMNS = (
    "customer_id",
    "currency",
    "oldest_undisputed_due_dn",
    "open_total",
    "due_soon",
    *(f"u_b{i}" for i in range(BUCKETS)),
    *(f"d_b{i}" for i in range(BUCKETS)),
)


def page_facts(
    session: Session, as_of: date, customer_ids: Sequence[int], live: Subquery | None = None
) -> list[FactsRow]:
    """The page's facts rows: from the snapshot, or from `live` (facts computed for these customers)."""
    if live is None:
        columns = [getattr(ArSnapshot, name) for name in _PAGE_FACT_COLUMNS]
        rows = session.execute(
            select(*columns).where(ArSnapshot.as_of_dn == day_number(as_of), ArSnapshot.customer_id.in_(customer_ids))
        ).all()
    else:
        rows = session.execute(select(*(live.c[name] for name in _PAGE_FACT_COLUMNS))).all()
    return [
        FactsRow(
            customer_id=row.customer_id,
            currency=row.currency,
            open_total=row.open_total,
            due_soon=row.due_soon,
            undisputed=tuple(getattr(row, f"u_b{i}") for i in range(BUCKETS)),
            disputed=tuple(getattr(row, f"d_b{i}") for i in range(BUCKETS)),
            oldest_undisputed_due_dn=row.oldest_undisputed_due_dn,
        )
        for row in rows
    ]


def _latest_activity(moment: datetime, *kinds: ActivityKind) -> Any:
    """The id of the customer's latest activity of these kinds by `moment`: a short backward walk of the
    (customer, performed_at) index, however long the customer's history."""
    return (
        select(CollectionActivity.id)
        .where(
            CollectionActivity.customer_id == Customer.id,
            CollectionActivity.performed_at <= moment,
            CollectionActivity.kind.in_(kinds),
        )
        .order_by(CollectionActivity.performed_at.desc(), CollectionActivity.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def page_last_activities(session: Session, customer_ids: Sequence[int], as_of: date) -> list[LastActivities]:
    """Per customer, the last dunning letter and the last contact (letters included, notes not) by the end of
    `as_of`."""
    moment = end_of_day_utc(as_of)
    picks = session.execute(
        select(
            Customer.id,
            _latest_activity(moment, ActivityKind.DUNNING),
            _latest_activity(moment, *CONTACT_KINDS),
        ).where(Customer.id.in_(customer_ids))
    ).all()
    wanted = {activity_id for _, *ids in picks for activity_id in ids if activity_id is not None}
    seen = {
        row.id: ActivitySeen(row.customer_id, ActivityKind(row.kind), row.dunning_level, row.performed_at)
        for row in session.execute(
            select(
                CollectionActivity.id,
                CollectionActivity.customer_id,
                CollectionActivity.kind,
                CollectionActivity.dunning_level,
                CollectionActivity.performed_at,
            ).where(CollectionActivity.id.in_(wanted))
        )
    }
    return [
        LastActivities(customer_id, seen.get(letter_id), seen.get(contact_id))
        for customer_id, letter_id, contact_id in picks
    ]


def page_promises(session: Session, customer_ids: Sequence[int], as_of: date) -> list[PromiseRow]:
    """Promises open at the end of `as_of`, and those broken by then with a promised date in the last 90 days."""
    moment = end_of_day_utc(as_of)
    as_of_dn = day_number(as_of)
    is_open = and_(
        PromiseToPay.status != PromiseStatus.CANCELLED,
        PromiseToPay.taken_at <= moment,
        or_(PromiseToPay.resolved_at.is_(None), PromiseToPay.resolved_at > moment),
    )
    broken = and_(
        PromiseToPay.status == PromiseStatus.BROKEN,
        PromiseToPay.resolved_at <= moment,
        PromiseToPay.promised_dn > as_of_dn - BROKEN_PROMISE_WINDOW_DAYS,
    )
    rows = session.execute(
        select(
            PromiseToPay.id,
            PromiseToPay.customer_id,
            PromiseToPay.amount,
            PromiseToPay.currency,
            PromiseToPay.promised_date,
            is_open.label("is_open"),
            broken.label("is_broken"),
        )
        .where(PromiseToPay.customer_id.in_(customer_ids), or_(is_open, broken))
        .order_by(PromiseToPay.customer_id, PromiseToPay.promised_dn, PromiseToPay.id)
    ).all()
    return [
        PromiseRow(
            row.id, row.customer_id, row.amount, row.currency, row.promised_date, bool(row.is_open), bool(row.is_broken)
        )
        for row in rows
    ]


def page_disputes(session: Session, customer_ids: Sequence[int], as_of: date) -> list[DisputeRow]:
    """Disputes active at the end of `as_of`, oldest first."""
    rows = session.execute(
        select(Dispute.id, Dispute.customer_id, Dispute.amount, Dispute.currency, Dispute.opened_at)
        .where(Dispute.customer_id.in_(customer_ids), dispute_active_at(end_of_day_utc(as_of)))
        .order_by(Dispute.customer_id, Dispute.opened_at, Dispute.id)
    ).all()
    return [DisputeRow(row.id, row.customer_id, row.amount, row.currency, row.opened_at) for row in rows]


def page_open_orders(session: Session, customer_ids: Sequence[int]) -> list[OrderTotals]:
    """Today's open sales orders (no order history is kept), by customer and currency."""
    unheld = SalesOrder.on_hold.is_(False)
    rows = session.execute(
        select(
            SalesOrder.customer_id,
            SalesOrder.currency,
            func.sum(SalesOrder.open_amount).label("open_amount"),
            func.count().label("open_orders"),
            func.sum(case((unheld, SalesOrder.open_amount), else_=0)).label("unheld_amount"),
            func.sum(case((unheld, 1), else_=0)).label("unheld_orders"),
        )
        .where(SalesOrder.customer_id.in_(customer_ids), SalesOrder.status == OrderStatus.OPEN)
        .group_by(SalesOrder.customer_id, SalesOrder.currency)
    ).all()
    return [
        OrderTotals(
            customer_id=row.customer_id,
            currency=row.currency,
            open_amount=Decimal(row.open_amount or 0),
            open_orders=int(row.open_orders),
            unheld_amount=Decimal(row.unheld_amount or 0),
            unheld_orders=int(row.unheld_orders or 0),
        )
        for row in rows
    ]


def page_credit_limits(session: Session, customer_ids: Sequence[int], as_of: date) -> list[LimitRow]:
    """The limit in force at the end of `as_of` per customer (`valid_from <= t < valid_to`)."""
    moment = end_of_day_utc(as_of)
    rows = session.execute(
        select(CreditLimit.customer_id, CreditLimit.amount, CreditLimit.currency, CreditLimit.review_date)
        .where(
            CreditLimit.customer_id.in_(customer_ids),
            CreditLimit.valid_from <= moment,
            or_(CreditLimit.valid_to.is_(None), CreditLimit.valid_to > moment),
        )
        .order_by(CreditLimit.customer_id, CreditLimit.valid_from)
    ).all()
    latest = {row.customer_id: LimitRow(row.customer_id, row.amount, row.currency, row.review_date) for row in rows}
    return list(latest.values())
