"""Operator jobs that keep derived data current: receivables snapshots, (with scoring) risk scores, and the
worklist ranking of today's snapshot.

Not tools in the registry: they write derived tables, and run from the CLI, after seeding or importing, or from the
server's background maintenance, never from a conversation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy.orm import Session

from core.dates import business_today
from core.settings import get_settings
from db.engine import read_session, write_session
from db.queries.snapshots import (
    SnapshotParameters,
    refresh_customers,
    refresh_rollups,
    refresh_snapshots,
    rollups_to_refresh,
    usable_snapshot,
)
from db.queries.worklist import build_ranking, ranking_is_current
from tools.policy import load_policy

Progress = Callable[[str, int, int], None]


def snapshot_parameters() -> SnapshotParameters:
    policy = load_policy()
    return SnapshotParameters(tuple(policy.ageing.bucket_upper_bounds), policy.worklist.imminent_due_days)


def refresh_receivable_snapshots(
    url: str | None = None, today: date | None = None, *, progress: Progress | None = None
) -> dict[date, int]:
    today = today or business_today(get_settings().timezone)
    with write_session(url) as session:
        return refresh_snapshots(session, today, snapshot_parameters(), progress=progress)


def refresh_snapshot_rollups(url: str | None = None) -> list[int]:
    """Rebuild the rollups of current snapshots that no longer match (customers changed or were scored, or a write
    path recomputed some customers' rows); the dates rebuilt."""
    with write_session(url) as session:
        return refresh_rollups(session, snapshot_parameters())


def snapshot_rollups_current(url: str | None = None) -> bool:
    with read_session(url) as session:
        return not rollups_to_refresh(session, snapshot_parameters())


def refresh_worklist_ranking(
    url: str | None = None, today: date | None = None, *, progress: Progress | None = None
) -> int | None:
    """Rank every account of the book at today's snapshot into `worklist_rank` (one statement), with the policy,
    today's rates and the customers' current probabilities. Needs a current snapshot of today: returns the accounts
    ranked, or None when there is none (the worklist then ranks live)."""
    from tools.worklist import current_ranking_model

    today = today or business_today(get_settings().timezone)
    with write_session(url) as session:
        model, _ = current_ranking_model(session, today, get_settings().reporting_currency)
        rows = build_ranking(session, model, snapshot_parameters())
    if progress is not None:
        progress("worklist ranking", 1, 1)
    return rows


def worklist_ranking_is_current(url: str | None = None, today: date | None = None) -> bool:
    from tools.worklist import current_ranking_model

    today = today or business_today(get_settings().timezone)
    with read_session(url) as session:
        model, _ = current_ranking_model(session, today, get_settings().reporting_currency)
        return ranking_is_current(session, model, snapshot_parameters())


def refresh_derived_data(
    url: str | None = None, today: date | None = None, *, progress: Progress | None = None
) -> None:
    """Everything derived from the ledger, after a seed or an import, in dependency order: receivables snapshots,
    the payment-behaviour model (when there is enough history), every customer's risk score (its late-payment
    probability comes from the model), and the worklist ranking (it reads the snapshot and the probabilities)."""
    from tools.payment_model import train_payment_model
    from tools.scoring import refresh_scores

    today = today or business_today(get_settings().timezone)
    refresh_receivable_snapshots(url, today, progress=progress)
    with read_session(url) as session:
        train_payment_model(session, today, progress=progress)
    refresh_scores(url, today, today=today, progress=progress)
    refresh_snapshot_rollups(url)  # scoring changed customers' risk classes
    refresh_worklist_ranking(url, today, progress=progress)


def ensure_today_snapshot(url: str | None = None, today: date | None = None) -> bool:
    """Build the standard snapshots if today's is missing or stale, the snapshots' rollups that no longer match,
    and today's worklist ranking if it is missing or stale (always after rebuilding the snapshots); True when
    something was rebuilt."""
    today = today or business_today(get_settings().timezone)
    with read_session(url) as session:
        snapshot_current = usable_snapshot(session, today, snapshot_parameters())
    if snapshot_current and snapshot_rollups_current(url) and worklist_ranking_is_current(url, today):
        return False
    if not snapshot_current:
        refresh_receivable_snapshots(url, today)
    refresh_snapshot_rollups(url)
    refresh_worklist_ranking(url, today)
    return True


def refresh_after_change(session: Session, customer_ids: list[int], earliest_day: date) -> None:
    """For write paths: keep snapshots current for the customers a change touched (same transaction)."""
    refresh_customers(session, customer_ids, earliest_day)
