"""The demo portfolio generator and the bulk loader, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import math
import shutil
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import Connection, func, select, text

from core.errors import CreditDeskError, ErrorCode
from db import bulk
from db.base import Base
from db.demo import SeedOptions, reset_business_data, seed_demo_portfolio
from db.demo import generator as generator_module
from db.engine import dispose_engine, get_engine, write_session
from db.models import Customer, Invoice, InvoiceKind, InvoiceStatus, Role
from tests.support.databases import create_pg_database, drop_pg_database, pg_url

TABLES = Base.metadata.tables
AS_OF = date(2026, 6, 30)
OPTIONS = SeedOptions(customers=90, seed=11, as_of=AS_OF, history_months=12, invoices_per_customer=14)

SHOWCASE_NAMES = {
    1: "Acme Corporation",
    2: "Acme Europe B.V.",
    3: "Acme Logistics LLC",
    4: "Globex Industries",
    5: "Initech Ltd",
    6: "Umbrella Health GmbH",
    7: "Stark Components Inc",
    8: "Wayne Enterprises",
    9: "Soylent Foods",
    10: "Vandelay Imports",
    11: "Hooli Cloud Inc",
}


# When the seed ran (event timestamps) and which database it ran in (the audit checkpoints' random database id).
AUDIT_TABLES = {"alembic_version", "audit_event", "audit_head", "audit_database"}


def _business_tables(conn: Connection) -> list[Any]:
    present = bulk.existing_tables(conn)
    return [t for t in Base.metadata.sorted_tables if t.name in present and t.name not in AUDIT_TABLES]


def _normalise(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    return value


def table_digests(url: str) -> dict[str, str]:
    """A digest per business table over every row in id order, read through SQLAlchemy's types."""
    digests = {}
    with get_engine(url, read_only=True).connect() as conn:
        for table in _business_tables(conn):
            digest = hashlib.sha256()
            for row in conn.execute(select(table).order_by(*table.primary_key.columns)):
                digest.update(repr(tuple(_normalise(v) for v in row)).encode())
            digests[table.name] = digest.hexdigest()
    return digests


def row_counts(url: str) -> dict[str, int]:
    with get_engine(url, read_only=True).connect() as conn:
        return {t.name: conn.execute(select(func.count()).select_from(t)).scalar_one() for t in _business_tables(conn)}


def query(url: str, sql: str, **params: Any) -> list[Any]:
    with get_engine(url, read_only=True).connect() as conn:
        return list(conn.execute(text(sql), params))


@pytest.fixture
def seeded(db_url: str) -> str:
    report = seed_demo_portfolio(db_url, OPTIONS)
    assert report.counts["customer"] == OPTIONS.customers
    return db_url


# --- determinism, reset, refusal ---------------------------------------------------------------------------------


def test_same_seed_gives_identical_data_and_reset_empties_everything(db_url: str) -> None:
    first = seed_demo_portfolio(db_url, OPTIONS)
    digests = table_digests(db_url)
    assert row_counts(db_url) == {name: first.counts.get(name, 0) for name in digests}
    assert first.as_of == AS_OF and first.seed == OPTIONS.seed

    reset_business_data(db_url)
    assert set(row_counts(db_url).values()) == {0}

    second = seed_demo_portfolio(db_url, OPTIONS)
    assert second.counts == first.counts
    assert table_digests(db_url) == digests


def test_a_different_seed_gives_different_data(db_url: str) -> None:
    seed_demo_portfolio(db_url, OPTIONS)
    digests = table_digests(db_url)
    reset_business_data(db_url)
    seed_demo_portfolio(db_url, dataclasses.replace(OPTIONS, seed=OPTIONS.seed + 1))
    changed = table_digests(db_url)
    for name in ("customer", "invoice", "payment", "payment_allocation", "credit_limit", "bureau_report"):
        assert changed[name] != digests[name], name
    assert query(db_url, "SELECT name FROM customer WHERE id <= 11 ORDER BY id") == [
        (name,) for name in SHOWCASE_NAMES.values()
    ]


@pytest.mark.postgres
def test_sqlite_and_postgresql_get_byte_identical_rows(sqlite_template: Path, pg_template: str, tmp_path: Path) -> None:
    sqlite_path = tmp_path / "cross.db"
    shutil.copyfile(sqlite_template, sqlite_path)
    sqlite_url = f"sqlite:///{sqlite_path}"
    pg_name = create_pg_database(template=pg_template)
    try:
        seed_demo_portfolio(sqlite_url, OPTIONS)
        seed_demo_portfolio(pg_url(pg_name), OPTIONS)
        assert table_digests(sqlite_url) == table_digests(pg_url(pg_name))
    finally:
        dispose_engine(sqlite_url)
        drop_pg_database(pg_name)


def schema_objects(url: str) -> list[tuple[str, ...]]:
    """Indexes and constraints as the database reports them (PostgreSQL: names; SQLite: the DDL)."""
    if url.startswith("sqlite"):
        sql = "SELECT type, name, coalesce(sql, '') FROM sqlite_master WHERE type IN ('index', 'table') ORDER BY name"
    else:
        sql = (
            "SELECT 'index', indexname, '' FROM pg_indexes WHERE schemaname = current_schema() UNION ALL "
            "SELECT contype::text, conname, CASE WHEN contype = 'f' THEN pg_get_constraintdef(oid) ELSE '' END "
            "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace ORDER BY 2, 1"
        )
    return [tuple(row) for row in query(url, sql) if row[1] != "sqlite_stat1"]


def test_indexes_and_foreign_keys_are_back_after_a_seed(db_url: str) -> None:
    before = schema_objects(db_url)
    assert any(kind == "index" for kind, *_ in before)
    seed_demo_portfolio(db_url, OPTIONS)
    assert schema_objects(db_url) == before


def test_a_failed_seed_leaves_the_database_untouched(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    before = schema_objects(db_url)
    real_build_chunk = generator_module.build_chunk

    def failing_build_chunk(ctx: Any, lo: int, hi: int, chunk_index: int) -> Any:
        if chunk_index == 1:
            raise RuntimeError("disk full")
        return real_build_chunk(ctx, lo, hi, chunk_index)

    monkeypatch.setattr(generator_module, "CHUNK_CUSTOMERS", 40)
    monkeypatch.setattr(generator_module, "build_chunk", failing_build_chunk)
    with pytest.raises(RuntimeError, match="disk full"):
        seed_demo_portfolio(db_url, OPTIONS)
    assert set(row_counts(db_url).values()) == {0}
    assert schema_objects(db_url) == before


def test_refuses_a_database_that_already_has_customers(seeded: str) -> None:
    before = row_counts(seeded)
    with pytest.raises(CreditDeskError) as caught:
        seed_demo_portfolio(seeded, OPTIONS)
    assert caught.value.code == ErrorCode.CONFLICT
    assert row_counts(seeded) == before


def test_reuses_staff_that_already_exist(db_url: str) -> None:
    with write_session(db_url) as session:
        session.execute(
            Base.metadata.tables["staff_user"]
            .insert()
            .values(id=1, name="admin", full_name="Existing Admin", role=Role.ADMIN.value, active=True)
        )
    seed_demo_portfolio(db_url, OPTIONS)
    assert query(db_url, "SELECT id, full_name FROM staff_user WHERE name = 'admin'") == [(1, "Existing Admin")]
    assert query(db_url, "SELECT count(*) FROM staff_user WHERE name = 'morgan'") == [(1,)]


@pytest.mark.parametrize(
    "options",
    [
        SeedOptions(customers=0),
        SeedOptions(seed=-1),
        SeedOptions(history_months=0),
        SeedOptions(invoices_per_customer=-1.0),
    ],
)
def test_rejects_invalid_options(options: SeedOptions) -> None:
    with pytest.raises(CreditDeskError) as caught:
        seed_demo_portfolio("sqlite://", options)
    assert caught.value.code == ErrorCode.INVALID_INPUT


def test_reports_progress_per_stage(db_url: str) -> None:
    calls: list[tuple[str, int, int]] = []
    seed_demo_portfolio(db_url, OPTIONS, progress=lambda stage, done, total: calls.append((stage, done, total)))
    stages = {stage for stage, _, _ in calls}
    assert {"staff", "fx_rates", "customers", "invoices", "credit_limits"} <= stages
    last = {stage: (done, total) for stage, done, total in calls}
    assert all(done == total for done, total in last.values())
    assert last["invoices"] == (OPTIONS.customers, OPTIONS.customers)


# --- the ledger --------------------------------------------------------------------------------------------------


def test_ledger_balances(seeded: str) -> None:
    allocated: dict[int, Decimal] = defaultdict(Decimal)
    with get_engine(seeded, read_only=True).connect() as conn:
        allocations = Base.metadata.tables["payment_allocation"]
        for invoice_id, amount, applied_dn in conn.execute(
            select(allocations.c.invoice_id, allocations.c.amount, allocations.c.applied_dn)
        ):
            allocated[invoice_id] += amount
            assert applied_dn <= (AS_OF - date(1970, 1, 1)).days
        invoices = conn.execute(select(TABLES["invoice"])).mappings().all()
        payments = conn.execute(select(Base.metadata.tables["payment"])).mappings().all()
        by_payment: dict[int, Decimal] = defaultdict(Decimal)
        for payment_id, amount in conn.execute(select(allocations.c.payment_id, allocations.c.amount)):
            by_payment[payment_id] += amount

    assert invoices
    for row in invoices:
        assert row["amount"] - allocated[row["id"]] == row["open_amount"], row["number"]
        assert (row["settled_dn"] is None) == (row["open_amount"] != 0), row["number"]
        assert (row["status"] == InvoiceStatus.OPEN) == (row["settled_dn"] is None)
        assert row["due_dn"] >= row["issue_dn"]
        if row["kind"] == InvoiceKind.CREDIT_NOTE:
            assert row["amount"] < 0
        else:
            assert row["amount"] > 0
        if row["open_amount"] not in (0, row["amount"]):
            assert row["first_paid_dn"] is not None  # partially paid
        if row["settled_dn"] is not None:
            assert row["first_paid_dn"] <= row["settled_dn"]
    for payment in payments:
        assert payment["amount"] > 0
        assert payment["amount"] - payment["unapplied_amount"] == by_payment[payment["id"]]

    share_open = sum(row["settled_dn"] is None for row in invoices) / len(invoices)
    assert 0.04 <= share_open <= 0.3
    assert any(row["kind"] == InvoiceKind.CREDIT_NOTE for row in invoices)


def test_invoice_volume_follows_the_options(seeded: str) -> None:
    (count,) = query(seeded, "SELECT count(*) FROM invoice WHERE kind = 'invoice'")[0]
    expected = OPTIONS.customers * OPTIONS.invoices_per_customer
    assert 0.75 * expected <= count <= 1.25 * expected
    assert query(seeded, "SELECT count(*) - count(DISTINCT number) FROM invoice") == [(0,)]


def test_every_customer_has_one_current_limit_and_a_collector(seeded: str) -> None:
    customers = query(seeded, "SELECT c.id, s.role FROM customer c JOIN staff_user s ON s.id = c.collector_id")
    assert len(customers) == OPTIONS.customers
    assert {role for _, role in customers} == {Role.COLLECTOR.value}
    current = query(
        seeded, "SELECT customer_id, count(*) FROM credit_limit WHERE valid_to IS NULL GROUP BY customer_id"
    )
    assert len(current) == OPTIONS.customers and {n for _, n in current} == {1}
    with get_engine(seeded, read_only=True).connect() as conn:
        limits = Base.metadata.tables["credit_limit"]
        rows = conn.execute(select(limits).order_by(limits.c.customer_id, limits.c.valid_from)).mappings().all()
    for earlier, later in itertools.pairwise(rows):
        if earlier["customer_id"] == later["customer_id"]:
            assert earlier["valid_to"] == later["valid_from"]
    assert all(row["amount"] > 0 and row["amount"] % 100 == 0 for row in rows)


def test_staff_handles(seeded: str) -> None:
    table = Base.metadata.tables["staff_user"]
    with get_engine(seeded, read_only=True).connect() as conn:
        staff = {row.name: (row.role, row.approval_limit) for row in conn.execute(select(table))}
    assert staff["admin"] == ("admin", None)
    assert staff["morgan"] == ("credit_manager", Decimal("250000.00"))
    assert staff["avery"] == staff["ash"] == ("credit_analyst", Decimal("50000.00"))
    assert staff["casey"] == ("collector", Decimal("5000.00"))
    assert staff["sam"][0] == staff["sasha"][0] == "sales"
    collectors = sorted(name for name, (role, _) in staff.items() if role == "collector")
    assert len(collectors) == max(4, math.ceil(OPTIONS.customers / 500))
    assert collectors == sorted(["casey", "cameron", "charlie", "cleo"])
    slack_ids = [s for (s,) in query(seeded, "SELECT slack_user_id FROM staff_user")]
    assert len(set(slack_ids)) == len(slack_ids) and all(s.isalnum() and s.isupper() for s in slack_ids)


def test_showcase_customers(seeded: str) -> None:
    rows = {
        r[0]: r[1:]
        for r in query(seeded, "SELECT id, name, parent_id, country, currency, region FROM customer WHERE id <= 11")
    }
    assert {i: rows[i][0] for i in rows} == SHOWCASE_NAMES
    assert rows[2][1:] == (1, "NL", "EUR", "EMEA")
    assert rows[3][1:] == (1, "US", "USD", "North America")
    assert rows[5][2:4] == ("GB", "GBP")
    assert rows[6][2:4] == ("DE", "EUR")
    assert query(seeded, "SELECT count(*) FROM customer WHERE parent_id = 1") == [(2,)]

    injected = query(
        seeded,
        "SELECT m.direction, d.customer_id FROM dispute_message m JOIN dispute d ON d.id = m.dispute_id "
        "WHERE m.body LIKE '%Ignore all previous instructions%'",
    )
    assert injected == [("inbound", 5)]

    soylent = dict(query(seeded, "SELECT status, count(*) FROM promise_to_pay WHERE customer_id = 9 GROUP BY status"))
    assert soylent.get("broken", 0) >= 2 and soylent.get("open", 0) >= 1

    utilisation = dict(
        query(
            seeded,
            "SELECT c.id, (coalesce((SELECT sum(open_amount) FROM invoice i WHERE i.customer_id = c.id "
            "AND i.settled_dn IS NULL), 0) + coalesce((SELECT sum(open_amount) FROM sales_order s "
            "WHERE s.customer_id = c.id AND s.status = 'open'), 0)) * 1.0 / l.amount "
            "FROM customer c JOIN credit_limit l ON l.customer_id = c.id AND l.valid_to IS NULL WHERE c.id <= 11",
        )
    )
    assert 0.9 <= float(utilisation[7]) <= 1.0  # Stark: Watch territory
    assert float(utilisation[4]) > 1.0  # Globex: over its limit
    assert float(utilisation[8]) < 0.9  # Wayne: plenty of headroom
    assert query(seeded, "SELECT count(*) FROM sales_order WHERE customer_id = 4 AND on_hold") != [(0,)]
    assert query(seeded, "SELECT count(*) FROM sales_order WHERE customer_id = 10 AND status = 'open'") == [(3,)]
    assert query(seeded, "SELECT count(*) FROM customer_financials WHERE customer_id = 11") == [(0,)]
    (hooli_invoices,) = query(seeded, "SELECT count(*) FROM invoice WHERE customer_id = 11")[0]
    (acme_invoices,) = query(seeded, "SELECT count(*) FROM invoice WHERE customer_id = 1")[0]
    assert hooli_invoices < 10 < acme_invoices


def test_collections_data_is_consistent(seeded: str) -> None:
    as_of_end = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 23, 59, 59, tzinfo=UTC)
    with get_engine(seeded, read_only=True).connect() as conn:
        tables = Base.metadata.tables
        disputes = conn.execute(select(tables["dispute"])).mappings().all()
        messages = conn.execute(select(tables["dispute_message"])).mappings().all()
        promises = conn.execute(select(tables["promise_to_pay"])).mappings().all()
        activities = conn.execute(select(tables["collection_activity"])).mappings().all()
        open_invoices = {i for (i,) in conn.execute(select(Invoice.id).where(Invoice.settled_dn.is_(None)))}
    assert disputes and promises and activities
    threads: dict[int, list[Any]] = defaultdict(list)
    for message in messages:
        threads[message["dispute_id"]].append(message)
    for dispute in disputes:
        assert dispute["reason_code"] != "unspecified"
        thread = threads[dispute["id"]]
        assert 2 <= len(thread) <= 5
        assert all(dispute["opened_at"] <= m["sent_at"] <= as_of_end for m in thread)
        if dispute["status"] in ("open", "in_review"):
            assert dispute["resolved_at"] is None and dispute["invoice_id"] in open_invoices
        else:
            assert dispute["opened_at"] <= dispute["resolved_at"] <= as_of_end and dispute["resolution"]
    for promise in promises:
        assert promise["amount"] > 0 and 1 <= promise["level"] <= 3
        assert (promise["status"] == "open") == (promise["resolved_at"] is None)
        if promise["status"] == "open":
            assert promise["invoice_id"] in open_invoices
            assert (AS_OF - promise["promised_date"]).days <= 3
        if promise["status"] == "kept":
            assert promise["amount_paid"] == promise["amount"]
        if promise["status"] == "broken":
            assert promise["amount_paid"] == 0
    assert {a["kind"] for a in activities} >= {"dunning", "call", "email"}
    assert all(a["performed_at"] <= as_of_end for a in activities)
    assert {a["dunning_level"] for a in activities if a["kind"] == "dunning"} <= {1, 2, 3, 4}
    assert len(activities) <= row_counts(seeded)["invoice"]


def test_bureau_scores_follow_payment_behaviour(seeded: str) -> None:
    rows = query(
        seeded,
        "SELECT b.paydex, b.failure_score, b.failure_class, "
        "(SELECT avg(i.settled_dn - i.due_dn) FROM invoice i "
        " WHERE i.customer_id = b.customer_id AND i.settled_dn IS NOT NULL) "
        "FROM bureau_report b",
    )
    assert all(1 <= paydex <= 100 and 1001 <= score <= 1875 and 1 <= cls <= 5 for paydex, score, cls, _ in rows)
    with_history = [(paydex, float(late)) for paydex, _, _, late in rows if late is not None]
    paydex, lateness = np.array(with_history).T
    assert np.corrcoef(paydex, lateness)[0, 1] < -0.4


def test_fx_rates_cover_every_currency_in_the_book(seeded: str) -> None:
    currencies = {c for (c,) in query(seeded, "SELECT DISTINCT currency FROM customer")} - {"USD"}
    rates = query(seeded, "SELECT from_currency, to_currency, rate_date, rate FROM fx_rate")
    assert {r[0] for r in rates} == currencies and {r[1] for r in rates} == {"USD"}
    assert any(str(r[2]) == AS_OF.isoformat() for r in rates)
    eur = [float(r[3]) for r in rates if r[0] == "EUR"]
    assert eur and all(0.9 < rate < 1.3 for rate in eur)


def test_chunks_join_up(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(generator_module, "CHUNK_CUSTOMERS", 20)
    report = seed_demo_portfolio(db_url, OPTIONS)
    for table in ("invoice", "payment", "payment_allocation", "promise_to_pay"):
        (low, high, count) = query(db_url, f"SELECT min(id), max(id), count(*) FROM {table}")[0]
        assert (low, high) == (1, count) == (1, report.counts[table])
    (unbalanced,) = query(
        db_url,
        "SELECT count(*) FROM invoice i LEFT JOIN (SELECT invoice_id, sum(amount) s FROM payment_allocation "
        "GROUP BY invoice_id) a ON a.invoice_id = i.id WHERE i.amount - coalesce(a.s, 0) <> i.open_amount",
    )[0]
    assert unbalanced == 0


# --- the bulk loader ---------------------------------------------------------------------------------------------


def test_bulk_rows_are_stored_exactly_as_the_orm_stores_them(db_url: str) -> None:
    """One invoice through the ORM, its twin through the bulk loader: the raw stored values must match."""
    stamp = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
    with write_session(db_url) as session:
        session.add(
            Customer(
                id=1,
                external_id="C1",
                name="Raw Ltd",
                name_key="raw",
                currency="EUR",
                payment_terms_days=30,
                created_at=stamp,
                updated_at=stamp,
            )
        )
        session.flush()
        session.add(
            Invoice(
                id=1,
                customer_id=1,
                number="CN-1",
                kind=InvoiceKind.CREDIT_NOTE,
                issue_date=date(2026, 3, 1),
                due_date=date(2026, 3, 1),
                issue_dn=20513,
                due_dn=20513,
                amount=Decimal("-5.00"),
                open_amount=Decimal("-0.07"),
                currency="EUR",
                status=InvoiceStatus.OPEN,
                settled_date=None,
                settled_dn=None,
                first_paid_dn=None,
                po_number="PO\t1\nx\\y",
                paperless=True,
                source="erp",
                version=1,
                created_at=stamp,
                updated_at=stamp,
            )
        )
    engine = get_engine(db_url)
    with engine.begin() as conn:
        written = bulk.insert_columns(
            conn,
            TABLES["invoice"],
            {
                "id": np.array([2]),
                "customer_id": np.array([1]),
                "number": ["CN-2"],
                "kind": ["credit_note"],
                "issue_date": np.array(["2026-03-01"], dtype="datetime64[D]"),
                "due_date": [date(2026, 3, 1)],
                "issue_dn": np.array([20513]),
                "due_dn": [20513],
                "amount": np.array([-500]),
                "open_amount": np.ma.masked_array([-7], mask=[False]),
                "currency": np.array(["EUR"]),
                "status": ["open"],
                "settled_date": np.array(["NaT"], dtype="datetime64[D]"),
                "settled_dn": np.ma.masked_array([0], mask=[True]),
                "first_paid_dn": [None],
                "po_number": ["PO\t1\nx\\y"],
                "paperless": np.array([True]),
                "source": ["erp"],
                "version": [1],
                "created_at": np.array(["2026-03-04T05:06:07.890123"], dtype="datetime64[us]"),
                "updated_at": [stamp],
            },
        )
    assert written == 1
    columns = [c.name for c in TABLES["invoice"].columns if c.name not in ("id", "number")]
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(f"SELECT {', '.join(columns)} FROM invoice ORDER BY id").all()
    assert raw[0] == raw[1]
    with write_session(db_url) as session:
        twin = session.get(Invoice, 2)
        assert twin is not None
        assert twin.amount == Decimal("-5.00") and twin.open_amount == Decimal("-0.07")
        assert twin.created_at == stamp and twin.settled_date is None and twin.paperless is True
        assert twin.po_number == "PO\t1\nx\\y"


def test_bulk_refuses_ragged_or_unknown_columns(db_url: str) -> None:
    with get_engine(db_url).begin() as conn:
        with pytest.raises(ValueError, match="differ in length"):
            bulk.insert_columns(conn, TABLES["customer"], {"id": [1, 2], "name": ["x"]})
        with pytest.raises(ValueError, match="no column"):
            bulk.insert_columns(conn, TABLES["customer"], {"nope": [1]})
        assert bulk.insert_columns(conn, TABLES["customer"], {"id": []}) == 0
