"""Receivables snapshots equal the live computation, follow changes, and are ignored when stale."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from core.dates import day_number
from db.engine import read_session, write_session
from db.models import ArSnapshot, Dispute, DisputeReason, DisputeStatus, Invoice, PaymentAllocation
from db.queries.snapshots import (
    FACT_COLUMNS,
    customer_facts_source,
    facts_select,
    refresh_customers,
    standard_snapshot_dates,
    usable_snapshot,
)
from tests.conftest import DEMO_AS_OF
from tools.maintenance import refresh_receivable_snapshots, snapshot_parameters

BOUNDS = (30, 60, 90, 120)


def _rows(session, source) -> dict[tuple[int, str], tuple]:
    rows = session.execute(select(*(source.c[name] for name in FACT_COLUMNS))).all()
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def _independent_facts(session, as_of: date) -> dict[tuple[int, str], dict[str, Decimal]]:
    """Open amount and ageing per customer from raw rows, replaying allocations in Python."""
    t = day_number(as_of)
    end = datetime(as_of.year, as_of.month, as_of.day, 23, 59, 59, 999999, tzinfo=UTC)
    paid: dict[int, Decimal] = {}
    for invoice_id, amount, applied_dn in session.execute(
        select(PaymentAllocation.invoice_id, PaymentAllocation.amount, PaymentAllocation.applied_dn)
    ):
        if applied_dn <= t:
            paid[invoice_id] = paid.get(invoice_id, Decimal(0)) + amount
    disputed = {
        invoice_id
        for invoice_id, opened, resolved in session.execute(
            select(Dispute.invoice_id, Dispute.opened_at, Dispute.resolved_at)
        )
        if invoice_id is not None and opened <= end and (resolved is None or resolved > end)
    }
    facts: dict[tuple[int, str], dict[str, Decimal]] = {}
    for invoice_id, customer_id, currency, amount, issue_dn, due_dn in session.execute(
        select(Invoice.id, Invoice.customer_id, Invoice.currency, Invoice.amount, Invoice.issue_dn, Invoice.due_dn)
    ):
        if issue_dn > t:
            continue
        open_amount = amount - paid.get(invoice_id, Decimal(0))
        if open_amount == 0:
            continue
        dpd = t - due_dn
        bucket = 0 if dpd <= 0 else next((i + 1 for i, b in enumerate(BOUNDS) if dpd <= b), len(BOUNDS) + 1)
        row = facts.setdefault((customer_id, currency), {"open_total": Decimal(0)})
        row["open_total"] += open_amount
        key = f"{'d' if invoice_id in disputed else 'u'}_b{bucket}"
        row[key] = row.get(key, Decimal(0)) + open_amount
    return facts


@pytest.mark.parametrize("as_of", [DEMO_AS_OF, date(2026, 6, 30), date(2025, 12, 15)])
def test_live_facts_match_an_independent_replay(demo_db_url: str, as_of: date) -> None:
    with read_session(demo_db_url) as session:
        live = _rows(session, facts_select(session, as_of, snapshot_parameters()).subquery())
        expected = _independent_facts(session, as_of)
    names = FACT_COLUMNS[2:]
    for key, values in expected.items():
        got = dict(zip(names, live[key], strict=True))
        assert got["open_total"] == values["open_total"], key
        for column, amount in values.items():
            assert got[column] == amount, (key, column)
    assert {k for k, v in live.items() if v[names.index("open_total")] != 0} == set(expected)


def test_snapshots_equal_live_and_track_changes(db_url: str) -> None:
    from db.demo import SeedOptions, seed_demo_portfolio

    seed_demo_portfolio(db_url, SeedOptions(customers=40, seed=3, as_of=DEMO_AS_OF))
    built = refresh_receivable_snapshots(db_url, DEMO_AS_OF)
    assert DEMO_AS_OF in built and len(built) == 13
    params = snapshot_parameters()
    with read_session(db_url) as session:
        for day, _kind in standard_snapshot_dates(session, DEMO_AS_OF):
            source, kind = customer_facts_source(session, day, params)
            assert kind == "snapshot"
            assert _rows(session, source) == _rows(session, facts_select(session, day, params).subquery())

    # A change made without refreshing makes every snapshot stale: readers fall back to live figures.
    with write_session(db_url) as session:
        invoice = session.scalars(select(Invoice).where(Invoice.settled_dn.is_(None)).limit(1)).one()
        customer_id = invoice.customer_id
        session.add(
            Dispute(
                customer_id=customer_id,
                invoice_id=invoice.id,
                reason_code=DisputeReason.PRICING,
                amount=invoice.open_amount,
                currency=invoice.currency,
                status=DisputeStatus.OPEN,
                opened_at=datetime(2026, 9, 1, tzinfo=UTC),
            )
        )
    with read_session(db_url) as session:
        assert not usable_snapshot(session, DEMO_AS_OF, params)
        source, kind = customer_facts_source(session, DEMO_AS_OF, params)
        assert kind == "live"

    # Refreshing the touched customer from the change's date makes them current again, with the new figures.
    with write_session(db_url) as session:
        refresh_customers(session, [customer_id], date(2026, 9, 1))
    with read_session(db_url) as session:
        assert usable_snapshot(session, DEMO_AS_OF, params)
        source, _ = customer_facts_source(session, DEMO_AS_OF, params)
        assert _rows(session, source) == _rows(session, facts_select(session, DEMO_AS_OF, params).subquery())
        disputed = session.scalar(
            select(func.sum(ArSnapshot.d_b0 + ArSnapshot.d_b1 + ArSnapshot.d_b2 + ArSnapshot.d_b3)).where(
                ArSnapshot.as_of_dn == day_number(DEMO_AS_OF), ArSnapshot.customer_id == customer_id
            )
        )
        assert disputed and disputed > 0


def test_changed_policy_buckets_invalidate_snapshots(db_url: str) -> None:
    from db.demo import SeedOptions, seed_demo_portfolio
    from db.queries.snapshots import SnapshotParameters

    seed_demo_portfolio(db_url, SeedOptions(customers=10, seed=5, as_of=DEMO_AS_OF))
    refresh_receivable_snapshots(db_url, DEMO_AS_OF)
    with read_session(db_url) as session:
        assert usable_snapshot(session, DEMO_AS_OF, snapshot_parameters())
        assert not usable_snapshot(session, DEMO_AS_OF, SnapshotParameters((15, 30, 60, 90), 7))
        assert not usable_snapshot(session, date(2026, 9, 29), snapshot_parameters())


def _rollup_state(db_url: str) -> tuple[bool, list[int], list]:
    from db.queries import portfolio as queries
    from db.queries.snapshots import rollups_to_refresh, source_fingerprint, usable_rollup

    params = snapshot_parameters()
    with read_session(db_url) as session:
        usable = usable_rollup(session, DEMO_AS_OF, params, source_fingerprint(session))
        scan = queries.snapshot_totals(session, day_number(DEMO_AS_OF), queries.Selection(), "region", None, 3)
        return usable, rollups_to_refresh(session, params), sorted(map(repr, scan))


def test_rollups_are_used_only_while_they_match_the_snapshot_and_the_customers(db_url: str) -> None:
    from db.demo import SeedOptions, seed_demo_portfolio
    from db.models import Customer
    from db.queries import portfolio as queries
    from tools.maintenance import ensure_today_snapshot, refresh_snapshot_rollups

    def rolled() -> list:
        with read_session(db_url) as session:
            cells = queries.rollup_totals(session, day_number(DEMO_AS_OF), queries.Selection(), "region", 3)
            return sorted(map(repr, cells))

    seed_demo_portfolio(db_url, SeedOptions(customers=20, seed=5, as_of=DEMO_AS_OF))
    refresh_receivable_snapshots(db_url, DEMO_AS_OF)
    usable, stale, scan = _rollup_state(db_url)
    assert usable and stale == [] and rolled() == scan

    # A customer moving region changes the rollup's grouping: it is no longer used until rebuilt.
    with write_session(db_url) as session:
        customer = session.scalars(select(Customer).order_by(Customer.id).limit(1)).one()
        customer.region = "Moved Region"
    usable, stale, scan = _rollup_state(db_url)
    assert not usable and len(stale) == 13
    assert ensure_today_snapshot(db_url, DEMO_AS_OF)
    usable, stale, scan = _rollup_state(db_url)
    assert usable and stale == [] and rolled() == scan and "Moved Region" in str(scan)

    # A write path recomputing some customers' snapshot rows drops the rollups of the dates it touched.
    with write_session(db_url) as session:
        refresh_customers(session, [customer.id], date(2026, 9, 1))
    usable, stale, _ = _rollup_state(db_url)
    assert not usable and stale == [day_number(DEMO_AS_OF)]
    assert refresh_snapshot_rollups(db_url) == [day_number(DEMO_AS_OF)]
    usable, stale, scan = _rollup_state(db_url)
    assert usable and stale == [] and rolled() == scan
