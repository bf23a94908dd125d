"""The deterministic demo portfolio.

`seed_demo_portfolio` fills an empty, migrated database with staff, customers (a fixed showcase cast first), their
credit limits, bureau reports and financial statements, FX rates, and a `history_months` window of receivables:
invoices and credit notes, payments and allocations, disputes with message threads, promises to pay, collection
activities and open sales orders.

The same options give the same rows, byte for byte, on SQLite and PostgreSQL: every random draw comes from a numpy
PCG64 stream keyed by (seed, part of the portfolio, chunk), and every date and timestamp derives from `as_of`.
Customers are processed in chunks of `CHUNK_CUSTOMERS` (the chunk size is part of the recipe: changing it changes
the data), so memory stays bounded at any portfolio size. The whole run is one transaction: it succeeds completely or
leaves the database as it was. Secondary indexes and PostgreSQL foreign keys are rebuilt once at the end
(`db.bulk.deferred_indexes`), and other sessions wait on the business tables while a seed runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Table, select
from sqlalchemy.orm import Session

import db.models  # noqa: F401  (registers every table on Base.metadata)
from core.dates import business_today, day_number
from core.errors import CreditDeskError, ErrorCode, invalid_input
from core.logging import get_logger
from core.settings import get_settings
from db import bulk
from db.base import Base
from db.demo import credit
from db.demo.ledger import LedgerContext, build_chunk
from db.demo.portfolio import (
    Portfolio,
    StaffIds,
    Timeline,
    build_portfolio,
    build_timeline,
    customer_columns,
    slack_user_id,
    staff_plan,
    timestamps,
)
from db.engine import get_engine
from db.models import Role
from db.queries.audit import append_event

CHUNK_CUSTOMERS = 5_000
# Tables loaded in bulk, whose secondary indexes (and PostgreSQL foreign keys) are rebuilt after the load.
BULK_TABLES = (
    "customer",
    "bureau_report",
    "customer_financials",
    "invoice",
    "payment",
    "payment_allocation",
    "dispute",
    "dispute_message",
    "promise_to_pay",
    "collection_activity",
    "sales_order",
    "credit_limit",
)
MAX_CUSTOMERS = 1_000_000
MAX_HISTORY_MONTHS = 120
MAX_INVOICES_PER_CUSTOMER = 1_000.0

ProgressCallback = Callable[[str, int, int], None]

log = get_logger(__name__)


@dataclass(frozen=True)
class SeedOptions:
    customers: int = 300
    seed: int = 42
    as_of: date | None = None  # anchor "today" of the portfolio; None -> core.dates.business_today()
    history_months: int = 24
    invoices_per_customer: float = 20.0  # average over the history window (100k customers -> ~2M invoices)


@dataclass
class SeedReport:
    counts: dict[str, int]  # table name -> rows inserted
    seconds: float
    as_of: date
    seed: int


@dataclass
class _Run:
    """Writes column batches and keeps the row counts and progress reports of one seeding run."""

    progress: ProgressCallback | None
    counts: dict[str, int] = field(default_factory=dict)

    def insert(self, conn: Connection, table_name: str, columns: Mapping[str, Any]) -> None:
        rows = bulk.insert_columns(conn, _table(table_name), columns)
        self.counts[table_name] = self.counts.get(table_name, 0) + rows

    def report(self, stage: str, done: int, total: int) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)


def seed_demo_portfolio(
    url: str | None, options: SeedOptions, *, progress: ProgressCallback | None = None, actor: str = "operator"
) -> SeedReport:
    """Fill an empty database with the demo portfolio, in one transaction, with an audit entry (who, seed, row
    counts). Refuses (CONFLICT) when customers exist."""
    _validate(options)
    started = time.perf_counter()
    as_of = options.as_of or business_today(get_settings().timezone)
    timeline = build_timeline(as_of, options.history_months)
    engine = get_engine(url)
    run = _Run(progress)
    seed = options.seed

    with engine.begin() as conn:
        _refuse_if_seeded(conn)
        staff = _load_staff(conn, run, options, as_of)
        next_ids = {name: bulk.max_id(conn, _table(name)) + 1 for name in ("fx_rate", *BULK_TABLES)}
        portfolio = build_portfolio(seed, options.customers, timeline, staff, options.invoices_per_customer)
        _load_fx_rates(conn, run, seed, timeline, portfolio, next_ids["fx_rate"])
        with bulk.deferred_indexes(conn, [_table(name) for name in BULK_TABLES]):
            _load_customers(conn, run, seed, portfolio)
            bureau = credit.bureau_columns(seed, portfolio, timeline, next_ids["bureau_report"])
            run.insert(conn, "bureau_report", bureau)
            run.report("bureau_reports", 1, 1)
            financials = credit.financial_columns(seed, portfolio, timeline, next_ids["customer_financials"])
            run.insert(conn, "customer_financials", financials)
            run.report("financials", 1, 1)
            current_limits = _load_ledger(conn, run, seed, portfolio, timeline, staff, next_ids)
            limits = credit.limit_columns(seed, portfolio, timeline, staff, current_limits, next_ids["credit_limit"])
            run.insert(conn, "credit_limit", limits)
            run.report("credit_limits", 1, 1)
            run.report("indexes", 0, 1)
        run.report("indexes", 1, 1)
        bulk.reset_id_sequences(conn, [_table(name) for name in run.counts])
        _audit_seed(conn, actor, options, as_of, dict(run.counts))
        bulk.analyze(conn)
        run.report("analyze", 1, 1)
    bulk.checkpoint(engine)

    seconds = time.perf_counter() - started
    log.info("demo.seeded", seed=seed, customers=options.customers, seconds=round(seconds, 2), **run.counts)
    return SeedReport(counts=dict(run.counts), seconds=seconds, as_of=as_of, seed=seed)


def reset_business_data(url: str | None) -> None:
    """Delete every row of every business table (children first) and restart PostgreSQL's id sequences."""
    engine = get_engine(url)
    with engine.connect() as conn:
        tables = list(reversed(_business_tables(conn)))
    bulk.delete_all(engine, tables)


# --- stages ------------------------------------------------------------------------------------------------------


def _validate(options: SeedOptions) -> None:
    if not 1 <= options.customers <= MAX_CUSTOMERS:
        raise invalid_input(f"customers must be between 1 and {MAX_CUSTOMERS:,}", customers=options.customers)
    if not 0 <= options.seed < 2**63:
        raise invalid_input("seed must be a non-negative integer", seed=options.seed)
    if not 1 <= options.history_months <= MAX_HISTORY_MONTHS:
        raise invalid_input(f"history_months must be between 1 and {MAX_HISTORY_MONTHS}")
    if not 0 <= options.invoices_per_customer <= MAX_INVOICES_PER_CUSTOMER:
        raise invalid_input(f"invoices_per_customer must be between 0 and {MAX_INVOICES_PER_CUSTOMER:,.0f}")
    if options.as_of is not None and options.as_of.year < 1990:
        raise invalid_input("as_of must be 1990 or later", as_of=options.as_of.isoformat())


def _refuse_if_seeded(conn: Connection) -> None:
    customer = _table("customer")
    if conn.execute(select(customer.c.id).limit(1)).first() is not None:
        raise CreditDeskError(
            ErrorCode.CONFLICT,
            "the database already holds customers; reset the business data before seeding the demo portfolio",
        )


def _audit_seed(conn: Connection, actor: str, options: SeedOptions, as_of: date, counts: dict[str, int]) -> None:
    with Session(bind=conn) as session:
        append_event(
            session,
            "data.seeded",
            actor_id=None,
            actor_name=actor,
            actor_role=None,
            subject_type="database",
            subject_id="demo-portfolio",
            details={"seed": options.seed, "customers": options.customers, "as_of": as_of.isoformat(), "rows": counts},
        )


def _business_tables(conn: Connection) -> list[Table]:
    present = bulk.existing_tables(conn)
    return [t for t in Base.metadata.sorted_tables if t.name in present and t.name != "alembic_version"]


def _table(name: str) -> Table:
    return Base.metadata.tables[name]


def _load_staff(conn: Connection, run: _Run, options: SeedOptions, as_of: date) -> StaffIds:
    """The fixed handles (admin, morgan, avery, ash, sam, sasha, collectors); users that already exist are reused."""
    table = _table("staff_user")
    existing = {
        row.name: (row.id, row.full_name) for row in conn.execute(select(table.c.id, table.c.name, table.c.full_name))
    }
    plan = staff_plan(options.customers)
    missing = [member for member in plan if member.name not in existing]
    first_id = bulk.max_id(conn, table) + 1
    ids = np.arange(first_id, first_id + len(missing), dtype=np.int64)
    joined = day_number(as_of - timedelta(days=3 * 365))
    created = timestamps(np.full(len(missing), joined), 9 * 3600 + 60 * np.arange(len(missing)))
    run.insert(
        conn,
        "staff_user",
        {
            "id": ids,
            "name": [m.name for m in missing],
            "full_name": [m.full_name for m in missing],
            "email": [f"{m.name}@creditdesk.example" for m in missing],
            "slack_user_id": [slack_user_id(m.name) for m in missing],
            "role": [m.role.value for m in missing],
            "approval_limit": np.ma.masked_array(
                [m.approval_limit_cents or 0 for m in missing],
                mask=[m.approval_limit_cents is None for m in missing],
                dtype=np.int64,
            ),
            "active": np.ones(len(missing), dtype=bool),
            "created_at": created,
            "updated_at": created,
        },
    )
    by_name = {name: staff_id for name, (staff_id, _) in existing.items()}
    full_names = {staff_id: full_name or name for name, (staff_id, full_name) in existing.items()}
    for member, staff_id in zip(missing, ids.tolist(), strict=True):
        by_name[member.name] = staff_id
        full_names[staff_id] = member.full_name
    run.report("staff", 1, 1)
    return StaffIds(
        by_name=by_name,
        full_names=full_names,
        collectors=np.array([by_name[m.name] for m in plan if m.role == Role.COLLECTOR], dtype=np.int64),
        analysts=np.array([by_name[m.name] for m in plan if m.role == Role.CREDIT_ANALYST], dtype=np.int64),
    )


def _load_fx_rates(
    conn: Connection, run: _Run, seed: int, timeline: Timeline, portfolio: Portfolio, first_id: int
) -> None:
    """Rates into USD for every other currency in the book; dates that already have a rate keep it."""
    table = _table("fx_rate")
    existing = {
        (row.from_currency, row.rate_date)
        for row in conn.execute(select(table.c.from_currency, table.c.rate_date).where(table.c.to_currency == "USD"))
    }
    currencies = sorted(set(portfolio.currency.tolist()))
    run.insert(conn, "fx_rate", credit.fx_columns(seed, timeline, currencies, first_id, skip=existing))
    run.report("fx_rates", 1, 1)


def _load_customers(conn: Connection, run: _Run, seed: int, portfolio: Portfolio) -> None:
    columns = customer_columns(seed, portfolio)
    for start in range(0, portfolio.size, CHUNK_CUSTOMERS):
        stop = min(start + CHUNK_CUSTOMERS, portfolio.size)
        run.insert(conn, "customer", {name: values[start:stop] for name, values in columns.items()})
        run.report("customers", stop, portfolio.size)


def _load_ledger(
    conn: Connection,
    run: _Run,
    seed: int,
    portfolio: Portfolio,
    timeline: Timeline,
    staff: StaffIds,
    next_ids: dict[str, int],
) -> np.ndarray:
    """Invoices and everything hanging off them, chunk by chunk; returns each customer's current credit limit
    (sized from the purchases the ledger gave it)."""
    ctx = LedgerContext(seed, portfolio, timeline, staff, dict(next_ids))
    limits = np.zeros(portfolio.size, dtype=np.int64)
    run.report("invoices", 0, portfolio.size)
    for chunk_index, lo in enumerate(range(0, portfolio.size, CHUNK_CUSTOMERS)):
        hi = min(lo + CHUNK_CUSTOMERS, portfolio.size)
        chunk = build_chunk(ctx, lo, hi, chunk_index)
        for table_name, columns in chunk.tables.items():
            run.insert(conn, table_name, columns)
        limits[lo:hi] = chunk.limits
        run.report("invoices", hi, portfolio.size)
    return limits
