"""Derived per-customer receivables facts at a date, kept so portfolio-wide questions read one row per customer
instead of millions of items. Never the source of truth: `db.queries.snapshots` rebuilds rows from the ledger,
write paths refresh the customers they touch, and a snapshot whose source fingerprint no longer matches the
ledger is ignored (the same figures are then computed live).

The worklist ranking of the daily snapshot date (`worklist_rank`) follows the same pattern one level up: every
account's section and exact priority score, built by `db.queries.worklist` from that snapshot and the side facts
(promises, contacts, customers' probabilities, rates), and ignored when its fingerprint or its parameters no longer
match (the ranking statement then runs live)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.models.collections import PromiseToPay
from db.models.party import Customer
from db.types import Cents, UTCDateTime

BUCKETS = 6  # current, four policy bands, and the oldest
MONTHS = 7  # month to date and the six calendar months before it


class ArSnapshotRun(Base):
    __tablename__ = "ar_snapshot_run"

    as_of_dn: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # month_end | daily
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
    parameters: Mapped[str] = mapped_column(String(120))  # bucket bounds etc. the rows were computed with
    source_fingerprint: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)


class ArSnapshot(Base):
    __tablename__ = "ar_snapshot"

    as_of_dn: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    open_total: Mapped[Decimal] = mapped_column(Cents())
    open_count: Mapped[int] = mapped_column(Integer)
    oldest_undisputed_due_dn: Mapped[int | None] = mapped_column(Integer)
    due_soon: Mapped[Decimal] = mapped_column(Cents())  # undisputed, falling due within the worklist horizon
    u_b0: Mapped[Decimal] = mapped_column(Cents())
    u_b1: Mapped[Decimal] = mapped_column(Cents())
    u_b2: Mapped[Decimal] = mapped_column(Cents())
    u_b3: Mapped[Decimal] = mapped_column(Cents())
    u_b4: Mapped[Decimal] = mapped_column(Cents())
    u_b5: Mapped[Decimal] = mapped_column(Cents())
    d_b0: Mapped[Decimal] = mapped_column(Cents())
    d_b1: Mapped[Decimal] = mapped_column(Cents())
    d_b2: Mapped[Decimal] = mapped_column(Cents())
    d_b3: Mapped[Decimal] = mapped_column(Cents())
    d_b4: Mapped[Decimal] = mapped_column(Cents())
    d_b5: Mapped[Decimal] = mapped_column(Cents())
    sales_m0: Mapped[Decimal] = mapped_column(Cents())
    sales_m1: Mapped[Decimal] = mapped_column(Cents())
    sales_m2: Mapped[Decimal] = mapped_column(Cents())
    sales_m3: Mapped[Decimal] = mapped_column(Cents())
    sales_m4: Mapped[Decimal] = mapped_column(Cents())
    sales_m5: Mapped[Decimal] = mapped_column(Cents())
    sales_m6: Mapped[Decimal] = mapped_column(Cents())
    coll_m0: Mapped[Decimal] = mapped_column(Cents())
    coll_m1: Mapped[Decimal] = mapped_column(Cents())
    coll_m2: Mapped[Decimal] = mapped_column(Cents())
    coll_m3: Mapped[Decimal] = mapped_column(Cents())
    coll_m4: Mapped[Decimal] = mapped_column(Cents())
    coll_m5: Mapped[Decimal] = mapped_column(Cents())
    coll_m6: Mapped[Decimal] = mapped_column(Cents())


class ArSnapshotRollupRun(Base):
    """One built rollup of a snapshot date: the snapshot parameters, the ledger fingerprint and the customer-master
    fingerprint (the rollup keys on customers' region, segment, collector and risk class) it was built with. A
    rollup is read only while both still match; otherwise readers scan the snapshot rows."""

    __tablename__ = "ar_snapshot_rollup_run"

    as_of_dn: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
    parameters: Mapped[str] = mapped_column(String(120))
    source_fingerprint: Mapped[str] = mapped_column(String(200))
    customer_fingerprint: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int] = mapped_column(Integer)


class ArSnapshotRollup(Base):
    """A snapshot date's rows summed per (region, segment, collector, risk class, currency) of the customers
    (`level` "full"), and the same sums per one dimension and currency (`level` "region", "segment", "collector",
    "risk_class"; the other dimensions NULL) or per currency only (`level` "currency"), so whole-book summaries read
    a few rows. Integer cents; the counts and credit sums are of (customer, currency) rows with a non-zero
    (negative) balance, over all buckets with disputed items (`*_all`) or without them (`*_undisputed`)."""

    __tablename__ = "ar_snapshot_rollup"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    as_of_dn: Mapped[int] = mapped_column(Integer)
    level: Mapped[str] = mapped_column(String(12))
    region: Mapped[str | None] = mapped_column(String(50))
    segment: Mapped[str | None] = mapped_column(String(40))
    collector_id: Mapped[int | None] = mapped_column(Integer)
    risk_class: Mapped[str | None] = mapped_column(String(1))
    currency: Mapped[str] = mapped_column(String(3))
    open_rows: Mapped[int] = mapped_column(Integer)  # snapshot rows with open items
    u_b0: Mapped[int] = mapped_column(BigInteger)
    u_b1: Mapped[int] = mapped_column(BigInteger)
    u_b2: Mapped[int] = mapped_column(BigInteger)
    u_b3: Mapped[int] = mapped_column(BigInteger)
    u_b4: Mapped[int] = mapped_column(BigInteger)
    u_b5: Mapped[int] = mapped_column(BigInteger)
    d_b0: Mapped[int] = mapped_column(BigInteger)
    d_b1: Mapped[int] = mapped_column(BigInteger)
    d_b2: Mapped[int] = mapped_column(BigInteger)
    d_b3: Mapped[int] = mapped_column(BigInteger)
    d_b4: Mapped[int] = mapped_column(BigInteger)
    d_b5: Mapped[int] = mapped_column(BigInteger)
    sales_m0: Mapped[int] = mapped_column(BigInteger)
    sales_m1: Mapped[int] = mapped_column(BigInteger)
    sales_m2: Mapped[int] = mapped_column(BigInteger)
    sales_m3: Mapped[int] = mapped_column(BigInteger)
    sales_m4: Mapped[int] = mapped_column(BigInteger)
    sales_m5: Mapped[int] = mapped_column(BigInteger)
    sales_m6: Mapped[int] = mapped_column(BigInteger)
    coll_m0: Mapped[int] = mapped_column(BigInteger)
    coll_m1: Mapped[int] = mapped_column(BigInteger)
    coll_m2: Mapped[int] = mapped_column(BigInteger)
    coll_m3: Mapped[int] = mapped_column(BigInteger)
    coll_m4: Mapped[int] = mapped_column(BigInteger)
    coll_m5: Mapped[int] = mapped_column(BigInteger)
    coll_m6: Mapped[int] = mapped_column(BigInteger)
    credit_all: Mapped[int] = mapped_column(BigInteger)
    nonzero_all: Mapped[int] = mapped_column(Integer)
    negative_all: Mapped[int] = mapped_column(Integer)
    credit_undisputed: Mapped[int] = mapped_column(BigInteger)
    nonzero_undisputed: Mapped[int] = mapped_column(Integer)
    negative_undisputed: Mapped[int] = mapped_column(Integer)


# A level's rows of a date; a collector's (or a team's) rows of the full level.
Index("ix_ar_snapshot_rollup_level", ArSnapshotRollup.as_of_dn, ArSnapshotRollup.level, ArSnapshotRollup.collector_id)


class WorklistRankRun(Base):
    """One built ranking: the date, what it was built with (a digest of every number the ranking model uses) and
    the fingerprint of every input it read when it was built."""

    __tablename__ = "worklist_rank_run"

    as_of_dn: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    built_at: Mapped[datetime] = mapped_column(UTCDateTime())
    parameters: Mapped[str] = mapped_column(String(64))  # sha256 of the ranking model (see db.queries.worklist)
    source_fingerprint: Mapped[str] = mapped_column(String(400))
    rows: Mapped[int] = mapped_column(Integer)
    # The whole book's section sizes, so an unfiltered page needs no count over the table.
    ranked_accounts: Mapped[int] = mapped_column(Integer)
    held_back_accounts: Mapped[int] = mapped_column(Integer)
    disputes_accounts: Mapped[int] = mapped_column(Integer)
    unconverted_accounts: Mapped[int] = mapped_column(Integer)


class WorklistRank(Base):
    """Every account of the book at the date with its section and exact score, as the ranking statement computes
    them (amounts in reporting-currency cents, flags 0/1), and the customer columns the scope filters read (collector,
    region, risk class) as they were at the build: any change of a customer makes the ranking stale, so while it is
    current they equal the customer's."""

    __tablename__ = "worklist_rank"

    as_of_dn: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"), primary_key=True)
    section: Mapped[str] = mapped_column(String(10))  # ranked | held_back | disputes
    section_amount: Mapped[float] = mapped_column(Float)  # undisputed overdue, or disputed overdue for disputes
    overdue: Mapped[float] = mapped_column(Float)
    pre_due: Mapped[float] = mapped_column(Float)
    disputed: Mapped[float] = mapped_column(Float)
    oldest_due_dn: Mapped[int | None] = mapped_column(Integer)
    age_factor: Mapped[float] = mapped_column(Float)
    probability: Mapped[float] = mapped_column(Float)
    probability_source: Mapped[str] = mapped_column(String(10))  # scored | risk_class | neutral
    broken: Mapped[int] = mapped_column(Integer)
    recent: Mapped[int] = mapped_column(Integer)
    not_due: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    unconverted: Mapped[int] = mapped_column(Integer)  # 1: holds amounts in a currency without a reporting rate
    collector_id: Mapped[int | None] = mapped_column(Integer)
    region: Mapped[str | None] = mapped_column(String(50))
    risk_class: Mapped[str | None] = mapped_column(String(1))


# Pages and side-section heads in rank order (score descending, then customer id) straight off the index.
Index(
    "ix_worklist_rank_order",
    WorklistRank.as_of_dn,
    WorklistRank.section,
    WorklistRank.score.desc(),
    WorklistRank.customer_id,
)
# A collector's (or a team's) accounts without reading the customer table.
Index("ix_worklist_rank_collector", WorklistRank.as_of_dn, WorklistRank.collector_id)

# Indexes on other tables that only the ranking fingerprint needs (latest change of customers, of their scores and
# of promises to pay, each read as a max() per worklist call): declared here, with the derived data they serve.
Index("ix_customer_updated_at", Customer.updated_at)
Index("ix_customer_scored_at", Customer.scored_at)
Index("ix_promise_to_pay_updated_at", PromiseToPay.updated_at)
