"""Per-customer receivables facts at a date (`ar_snapshot`): ageing split undisputed/disputed, the oldest
undisputed due date, what falls due soon, and net sales and collections for the month to date and the six
calendar months before it.

`facts_select` is the single definition of those figures. Built into `ar_snapshot` for the standard dates (today and
the last twelve month ends), it lets portfolio questions read one row per customer; for any other date, or when a
snapshot is stale, the same select runs live. A snapshot is stale when the ledger's fingerprint (latest change of
invoices, allocations and disputes) differs from the one recorded when it was built or last refreshed; every
write path in this package refreshes the customers it touched and re-stamps the fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    select,
    type_coerce,
    union_all,
    update,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from core.dates import add_months, day_number, from_day_number, month_end, month_start, utcnow
from core.logging import get_logger
from db.models import (
    ArSnapshot,
    ArSnapshotRollup,
    ArSnapshotRollupRun,
    ArSnapshotRun,
    Customer,
    Dispute,
    Invoice,
    PaymentAllocation,
)
from db.models.snapshots import BUCKETS, MONTHS
from db.queries.ar import disputed_invoice_ids_at, open_items_select, posting_horizon
from db.types import AnySelect, Cents

log = get_logger(__name__)

MONTH_ENDS_KEPT = 12
MONEY_COLUMNS = (
    ["open_total", "due_soon"]
    + [f"u_b{i}" for i in range(BUCKETS)]
    + [f"d_b{i}" for i in range(BUCKETS)]
    + [f"sales_m{i}" for i in range(MONTHS)]
    + [f"coll_m{i}" for i in range(MONTHS)]
)
FACT_COLUMNS = ["customer_id", "currency", "open_count", "oldest_undisputed_due_dn", *MONEY_COLUMNS]


@dataclass(frozen=True)
class SnapshotParameters:
    bucket_upper_bounds: tuple[int, ...]
    due_soon_days: int

    def encode(self) -> str:
        return f"bounds={','.join(map(str, self.bucket_upper_bounds))};soon={self.due_soon_days}"


def month_windows(as_of: date) -> list[tuple[int, int]]:
    """(first day, last day) numbers of month 0 (month to date) and the six calendar months before it."""
    windows = [(day_number(month_start(as_of)), day_number(as_of))]
    for back in range(1, MONTHS):
        first = add_months(month_start(as_of), -back)
        windows.append((day_number(first), day_number(month_end(first))))
    return windows


def _cents(expression: Any, dialect: str) -> ColumnElement[Any]:
    """Money expression → integer cents (Money is already cents on SQLite, NUMERIC(18,2) on PostgreSQL)."""
    if dialect == "sqlite":
        return type_coerce(expression, BigInteger)
    return cast(func.round(expression * 100), BigInteger)


def _bucket_conditions(days_past_due: Any, bounds: Sequence[int]) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [days_past_due <= 0]
    lower = 1
    for upper in bounds:
        conditions.append(and_(days_past_due >= lower, days_past_due <= upper))
        lower = upper + 1
    conditions.append(days_past_due >= lower)
    return conditions


def _zero() -> ColumnElement[Any]:
    return literal(0, BigInteger)


def facts_select(
    session: Session,
    as_of: date,
    params: SnapshotParameters,
    *,
    customer_ids: Sequence[int] | None = None,
    current: bool | None = None,
) -> AnySelect:
    """One row per (customer, currency) with every fact; money columns are integer cents typed `Cents`."""
    dialect = session.get_bind().dialect.name
    as_of_dn = day_number(as_of)
    if current is None:
        current = as_of_dn >= posting_horizon(session)
    windows = month_windows(as_of)
    first_dn = windows[-1][0]

    items = open_items_select(as_of_dn, current=current, customer_ids=customer_ids).subquery("items")
    disputed = disputed_invoice_ids_at(as_of)
    if customer_ids is not None:
        disputed = disputed.where(Dispute.customer_id.in_(customer_ids))
    disputed_ids = disputed.distinct().subquery("disputed")
    is_disputed = disputed_ids.c.invoice_id.is_not(None)
    amount = _cents(items.c.open_amount, dialect)
    dpd = as_of_dn - items.c.due_dn
    buckets = _bucket_conditions(dpd, params.bucket_upper_bounds)
    open_part = (
        select(
            items.c.customer_id,
            items.c.currency,
            func.count().label("open_count"),
            func.min(case((and_(~is_disputed, items.c.open_amount > 0, dpd > 0), items.c.due_dn))).label(
                "oldest_undisputed_due_dn"
            ),
            func.sum(amount).label("open_total"),
            func.sum(
                case(
                    (and_(~is_disputed, dpd < 0, dpd >= -params.due_soon_days), amount),
                    else_=_zero(),
                )
            ).label("due_soon"),
            *(
                func.sum(case((and_(~is_disputed, condition), amount), else_=_zero())).label(f"u_b{i}")
                for i, condition in enumerate(buckets)
            ),
            *(
                func.sum(case((and_(is_disputed, condition), amount), else_=_zero())).label(f"d_b{i}")
                for i, condition in enumerate(buckets)
            ),
            *(_zero().label(f"sales_m{i}") for i in range(MONTHS)),
            *(_zero().label(f"coll_m{i}") for i in range(MONTHS)),
        )
        .select_from(items.outerjoin(disputed_ids, disputed_ids.c.invoice_id == items.c.id))
        .group_by(items.c.customer_id, items.c.currency)
    )

    invoice_filter = [Invoice.customer_id.in_(customer_ids)] if customer_ids is not None else []
    sales_amount = _cents(Invoice.amount, dialect)
    sales_part = (
        select(
            Invoice.customer_id,
            Invoice.currency,
            literal(0, Integer).label("open_count"),
            literal(None, Integer).label("oldest_undisputed_due_dn"),
            _zero().label("open_total"),
            _zero().label("due_soon"),
            *(_zero().label(f"u_b{i}") for i in range(BUCKETS)),
            *(_zero().label(f"d_b{i}") for i in range(BUCKETS)),
            *(
                func.sum(case((Invoice.issue_dn.between(start, end), sales_amount), else_=_zero())).label(f"sales_m{i}")
                for i, (start, end) in enumerate(windows)
            ),
            *(_zero().label(f"coll_m{i}") for i in range(MONTHS)),
        )
        .where(Invoice.issue_dn.between(first_dn, as_of_dn), *invoice_filter)
        .group_by(Invoice.customer_id, Invoice.currency)
    )

    collected = _cents(PaymentAllocation.amount, dialect)
    collections_part = (
        select(
            Invoice.customer_id,
            Invoice.currency,
            literal(0, Integer).label("open_count"),
            literal(None, Integer).label("oldest_undisputed_due_dn"),
            _zero().label("open_total"),
            _zero().label("due_soon"),
            *(_zero().label(f"u_b{i}") for i in range(BUCKETS)),
            *(_zero().label(f"d_b{i}") for i in range(BUCKETS)),
            *(_zero().label(f"sales_m{i}") for i in range(MONTHS)),
            *(
                func.sum(case((PaymentAllocation.applied_dn.between(start, end), collected), else_=_zero())).label(
                    f"coll_m{i}"
                )
                for i, (start, end) in enumerate(windows)
            ),
        )
        .join(Invoice, Invoice.id == PaymentAllocation.invoice_id)
        .where(PaymentAllocation.applied_dn.between(first_dn, as_of_dn), *invoice_filter)
        .group_by(Invoice.customer_id, Invoice.currency)
    )

    parts = union_all(open_part, sales_part, collections_part).subquery("parts")
    return select(
        parts.c.customer_id,
        parts.c.currency,
        type_coerce(func.sum(parts.c.open_count), Integer).label("open_count"),
        type_coerce(func.min(parts.c.oldest_undisputed_due_dn), Integer).label("oldest_undisputed_due_dn"),
        *(type_coerce(func.sum(parts.c[name]), Cents()).label(name) for name in MONEY_COLUMNS),
    ).group_by(parts.c.customer_id, parts.c.currency)


def source_fingerprint(session: Session) -> str:
    """Changes with any new or changed invoice, new allocation, or new or changed dispute."""
    row = session.execute(
        select(
            select(func.max(Invoice.updated_at)).scalar_subquery(),
            select(func.max(Invoice.id)).scalar_subquery(),
            select(func.max(PaymentAllocation.id)).scalar_subquery(),
            select(func.max(Dispute.updated_at)).scalar_subquery(),
            select(func.max(Dispute.id)).scalar_subquery(),
        )
    ).one()
    return "|".join("" if value is None else str(value) for value in row)


def parameters_from_policy(bucket_upper_bounds: Sequence[int], due_soon_days: int) -> SnapshotParameters:
    return SnapshotParameters(tuple(bucket_upper_bounds), due_soon_days)


def build_snapshot(session: Session, as_of: date, params: SnapshotParameters, *, kind: str) -> int:
    """(Re)build every customer's row for one date, in the caller's transaction."""
    as_of_dn = day_number(as_of)
    session.execute(delete(ArSnapshot).where(ArSnapshot.as_of_dn == as_of_dn))
    session.execute(delete(ArSnapshotRun).where(ArSnapshotRun.as_of_dn == as_of_dn))
    facts = facts_select(session, as_of, params).subquery("facts")
    session.execute(
        insert(ArSnapshot).from_select(
            ["as_of_dn", *FACT_COLUMNS],
            select(literal(as_of_dn, Integer), *(facts.c[name] for name in FACT_COLUMNS)),
        )
    )
    rows = int(session.scalar(select(func.count()).where(ArSnapshot.as_of_dn == as_of_dn)) or 0)
    session.add(
        ArSnapshotRun(
            as_of_dn=as_of_dn,
            kind=kind,
            built_at=utcnow(),
            parameters=params.encode(),
            source_fingerprint=source_fingerprint(session),
            rows=rows,
        )
    )
    session.flush()
    build_rollup(session, as_of_dn, params)
    return rows


def standard_snapshot_dates(session: Session, today: date) -> list[tuple[date, str]]:
    """Today, and the last twelve month ends that hold activity (for a historical ledger, its last year)."""
    horizon_dn = posting_horizon(session)
    last_issue = session.scalar(select(func.max(Invoice.issue_dn)))
    first_issue = session.scalar(select(func.min(Invoice.issue_dn)))
    dates: list[tuple[date, str]] = [(today, "daily")]
    if last_issue is None or first_issue is None:
        return dates
    activity_end = from_day_number(max(horizon_dn, int(last_issue)))
    last_month_end = month_end(activity_end) if activity_end < month_start(today) else month_start(today) - timedelta(1)
    earliest = month_end(from_day_number(int(first_issue)))
    current = last_month_end
    for _ in range(MONTH_ENDS_KEPT):
        if current < earliest:
            break
        dates.append((current, "month_end"))
        current = month_start(current) - timedelta(days=1)
    return dates


def refresh_snapshots(
    session: Session,
    today: date,
    params: SnapshotParameters,
    *,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[date, int]:
    """Rebuild the standard set and drop any other snapshot (e.g. yesterday's daily one)."""
    wanted = standard_snapshot_dates(session, today)
    wanted_dns = [day_number(day) for day, _ in wanted]
    session.execute(delete(ArSnapshot).where(ArSnapshot.as_of_dn.not_in(wanted_dns)))
    session.execute(delete(ArSnapshotRun).where(ArSnapshotRun.as_of_dn.not_in(wanted_dns)))
    session.execute(delete(ArSnapshotRollup).where(ArSnapshotRollup.as_of_dn.not_in(wanted_dns)))
    session.execute(delete(ArSnapshotRollupRun).where(ArSnapshotRollupRun.as_of_dn.not_in(wanted_dns)))
    built: dict[date, int] = {}
    for position, (day, kind) in enumerate(wanted, start=1):
        built[day] = build_snapshot(session, day, params, kind=kind)
        if progress is not None:
            progress("snapshots", position, len(wanted))
    log.info("snapshots.refreshed", dates=len(built), rows=sum(built.values()))
    return built


def refresh_customers(session: Session, customer_ids: Sequence[int], from_day: date) -> None:
    """Recompute the given customers' rows in every snapshot on or after `from_day` (the earliest date the change
    affects) and re-stamp all snapshots as current. Call in the same transaction as the change."""
    runs = session.execute(select(ArSnapshotRun.as_of_dn, ArSnapshotRun.parameters)).all()
    if not runs:
        return
    ids = sorted(set(customer_ids))
    if ids:
        # The rollups of the dates recomputed no longer match their rows: without their runs readers scan the
        # snapshot until `refresh_rollups` (the maintenance job) rebuilds them (the rows are replaced then).
        session.execute(delete(ArSnapshotRollupRun).where(ArSnapshotRollupRun.as_of_dn >= day_number(from_day)))
    for as_of_dn, encoded in runs:
        if as_of_dn < day_number(from_day) or not ids:
            continue
        params = _decode(encoded)
        session.execute(delete(ArSnapshot).where(ArSnapshot.as_of_dn == as_of_dn, ArSnapshot.customer_id.in_(ids)))
        facts = facts_select(session, from_day_number(as_of_dn), params, customer_ids=ids).subquery("facts")
        session.execute(
            insert(ArSnapshot).from_select(
                ["as_of_dn", *FACT_COLUMNS],
                select(literal(as_of_dn, Integer), *(facts.c[name] for name in FACT_COLUMNS)),
            )
        )
    session.execute(update(ArSnapshotRun).values(source_fingerprint=source_fingerprint(session)))


def _decode(encoded: str) -> SnapshotParameters:
    fields = dict(part.split("=", 1) for part in encoded.split(";"))
    return SnapshotParameters(tuple(int(b) for b in fields["bounds"].split(",")), int(fields["soon"]))


def usable_snapshot(session: Session, as_of: date, params: SnapshotParameters) -> bool:
    run = session.get(ArSnapshotRun, day_number(as_of))
    if run is None or run.parameters != params.encode():
        return False
    if run.source_fingerprint != source_fingerprint(session):
        log.warning("snapshot.stale", as_of_dn=run.as_of_dn)
        return False
    return True


def customer_facts_source(session: Session, as_of: date, params: SnapshotParameters) -> tuple[Subquery, str]:
    """Per-(customer, currency) facts at `as_of` as a subquery with the columns in `FACT_COLUMNS`, read from the
    snapshot when a current one exists ("snapshot"), otherwise computed from the ledger ("live")."""
    if usable_snapshot(session, as_of, params):
        snapshot = select(*(getattr(ArSnapshot, name) for name in FACT_COLUMNS)).where(
            ArSnapshot.as_of_dn == day_number(as_of)
        )
        return snapshot.subquery("facts"), "snapshot"
    return facts_select(session, as_of, params).subquery("facts"), "live"


# --- rollups: a snapshot date's rows summed per customer dimensions and currency -------------------------------------

ROLLUP_DIMENSIONS = ("region", "segment", "collector_id", "risk_class")
# The one-dimension levels (and "currency": no dimension), each summed from the "full" level.
ROLLUP_LEVELS = {"region": "region", "segment": "segment", "collector": "collector_id", "risk_class": "risk_class"}
BUCKET_COLUMNS = [f"{p}_b{i}" for p in ("u", "d") for i in range(BUCKETS)]
FLOW_COLUMNS = [f"sales_m{i}" for i in range(MONTHS)] + [f"coll_m{i}" for i in range(MONTHS)]
COUNT_COLUMNS = [
    "credit_all",
    "nonzero_all",
    "negative_all",
    "credit_undisputed",
    "nonzero_undisputed",
    "negative_undisputed",
]
ROLLUP_MEASURES = ["open_rows", *BUCKET_COLUMNS, *FLOW_COLUMNS, *COUNT_COLUMNS]


def customer_fingerprint(session: Session) -> str:
    """Changes whenever a customer is added, removed or changed (region, segment, collector, risk class: a change
    bumps `updated_at`; a scoring run sets `scored_at`)."""
    row = session.execute(
        select(
            select(func.count()).select_from(Customer).scalar_subquery(),
            select(func.max(Customer.id)).scalar_subquery(),
            select(func.max(Customer.updated_at)).scalar_subquery(),
            select(func.max(Customer.scored_at)).scalar_subquery(),
        )
    ).one()
    return "|".join("" if value is None else str(value) for value in row)


def _row_measures(rows: Any) -> list[ColumnElement[Any]]:
    """Per snapshot row: open-row flag, buckets, flows, and the credit and non-zero / negative flags of its balance
    over all buckets (disputed included: `open_total`) and of its undisputed balance."""
    c = rows.c

    def cents(name: str) -> ColumnElement[Any]:
        return type_coerce(c[name], BigInteger)

    undisputed = cents("u_b0")
    for i in range(1, BUCKETS):
        undisputed = undisputed + cents(f"u_b{i}")
    whole = cents("open_total")

    def flags(measured: Any) -> list[ColumnElement[Any]]:
        return [
            case((measured < 0, measured), else_=_zero()),
            case((measured != 0, 1), else_=0),
            case((measured < 0, 1), else_=0),
        ]

    return [
        case((c.open_count > 0, 1), else_=0),
        *(cents(name) for name in BUCKET_COLUMNS + FLOW_COLUMNS),
        *flags(whole),
        *flags(undisputed),
    ]


def _insert_rollup(session: Session, statement: AnySelect) -> None:
    columns = ["as_of_dn", "level", *ROLLUP_DIMENSIONS, "currency", *ROLLUP_MEASURES]
    session.execute(insert(ArSnapshotRollup).from_select(columns, statement))


def build_rollup(session: Session, as_of_dn: int, params: SnapshotParameters) -> int:
    """(Re)build one date's rollup from its snapshot rows, in the caller's transaction (after the rows)."""
    session.execute(delete(ArSnapshotRollup).where(ArSnapshotRollup.as_of_dn == as_of_dn))
    session.execute(delete(ArSnapshotRollupRun).where(ArSnapshotRollupRun.as_of_dn == as_of_dn))
    rows = select(ArSnapshot).where(ArSnapshot.as_of_dn == as_of_dn).subquery("rows")
    measures = _row_measures(rows)
    nulls = [null() for _ in ROLLUP_DIMENSIONS]
    dimensions = [Customer.region, Customer.segment, Customer.collector_id, Customer.risk_class]
    _insert_rollup(
        session,
        select(
            literal(as_of_dn, Integer),
            literal("full"),
            *dimensions,
            rows.c.currency,
            *(type_coerce(func.sum(m), BigInteger) for m in measures),
        )
        .select_from(rows.join(Customer, Customer.id == rows.c.customer_id))
        .group_by(*dimensions, rows.c.currency),
    )
    # Per currency straight from the rows (like an unfiltered scan, which reads no customer).
    _insert_rollup(
        session,
        select(
            literal(as_of_dn, Integer),
            literal("currency"),
            *nulls,
            rows.c.currency,
            *(type_coerce(func.sum(m), BigInteger) for m in measures),
        ).group_by(rows.c.currency),
    )
    full = select(ArSnapshotRollup).where(ArSnapshotRollup.as_of_dn == as_of_dn, ArSnapshotRollup.level == "full")
    full_rows = full.subquery("full_rows")
    for level, dimension in ROLLUP_LEVELS.items():
        key = full_rows.c[dimension]
        _insert_rollup(
            session,
            select(
                literal(as_of_dn, Integer),
                literal(level),
                *(key if name == dimension else null() for name in ROLLUP_DIMENSIONS),
                full_rows.c.currency,
                *(type_coerce(func.sum(full_rows.c[name]), BigInteger) for name in ROLLUP_MEASURES),
            ).group_by(key, full_rows.c.currency),
        )
    count = int(session.scalar(select(func.count()).where(ArSnapshotRollup.as_of_dn == as_of_dn)) or 0)
    session.add(
        ArSnapshotRollupRun(
            as_of_dn=as_of_dn,
            built_at=utcnow(),
            parameters=params.encode(),
            source_fingerprint=source_fingerprint(session),
            customer_fingerprint=customer_fingerprint(session),
            rows=count,
        )
    )
    session.flush()
    return count


def rollups_to_refresh(session: Session, params: SnapshotParameters) -> list[int]:
    """Dates whose snapshot is current but whose rollup is missing or no longer matches it."""
    ledger = source_fingerprint(session)
    customers = customer_fingerprint(session)
    runs = session.execute(
        select(ArSnapshotRun.as_of_dn, ArSnapshotRollupRun)
        .outerjoin(ArSnapshotRollupRun, ArSnapshotRollupRun.as_of_dn == ArSnapshotRun.as_of_dn)
        .where(ArSnapshotRun.parameters == params.encode(), ArSnapshotRun.source_fingerprint == ledger)
    ).all()
    return [
        int(as_of_dn)
        for as_of_dn, rollup in runs
        if rollup is None or not rollup_matches(rollup, params, ledger, customers)
    ]


def refresh_rollups(session: Session, params: SnapshotParameters) -> list[int]:
    """Rebuild the rollups of current snapshots that are missing or stale (after customer changes or scoring)."""
    dates = rollups_to_refresh(session, params)
    for as_of_dn in dates:
        build_rollup(session, as_of_dn, params)
    if dates:
        log.info("snapshot_rollups.refreshed", dates=len(dates))
    return dates


def rollup_matches(run: ArSnapshotRollupRun, params: SnapshotParameters, ledger: str, customers: str) -> bool:
    return (
        run.parameters == params.encode() and run.source_fingerprint == ledger and run.customer_fingerprint == customers
    )


def rollup_built_for(session: Session, as_of: date, params: SnapshotParameters, ledger: str | None) -> str | None:
    """The customer fingerprint the date's rollup was built with, when it was built with `params` at the ledger
    fingerprint `ledger` (the one its snapshot was found current with); None otherwise. The rollup is current when
    that also equals `customer_fingerprint` now."""
    if ledger is None:
        return None
    run = session.get(ArSnapshotRollupRun, day_number(as_of))
    if run is None or run.parameters != params.encode() or run.source_fingerprint != ledger:
        return None
    return run.customer_fingerprint


def usable_rollup(session: Session, as_of: date, params: SnapshotParameters, ledger: str | None) -> bool:
    """Whether the date's rollup matches its (current) snapshot and the customers as they are now."""
    built_for = rollup_built_for(session, as_of, params, ledger)
    return built_for is not None and built_for == customer_fingerprint(session)
