"""The audit log: append (hash-chained, serialised through `audit_head`), verify, export.

Each row's hash covers the previous row's hash and a canonical JSON of its own fields, so the chain proves that no
row was edited, deleted, inserted or reordered after the fact. Details never hold message text or customer names:
ids, amounts, codes.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dates import utcnow
from db.models.governance import AuditEvent, AuditHead

GENESIS = "0" * 64


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical(details: dict[str, Any]) -> dict[str, Any]:
    """Details as they round-trip through JSON storage (what the hash is computed over)."""
    return json.loads(json.dumps(details, default=_json_default, sort_keys=True))


def event_hash(
    previous: str,
    sequence: int,
    occurred_at: datetime,
    event: str,
    actor_id: int | None,
    actor_name: str,
    actor_role: str | None,
    subject_type: str | None,
    subject_id: str | None,
    details: dict[str, Any],
) -> str:
    body = json.dumps(
        [
            sequence,
            occurred_at.isoformat(timespec="microseconds"),
            event,
            actor_id,
            actor_name,
            actor_role,
            subject_type,
            subject_id,
            details,
        ],
        sort_keys=True,
        separators=(",", ":"),
        default=_json_default,
    )
    return hashlib.sha256((previous + body).encode("utf-8")).hexdigest()


def append_event(
    session: Session,
    event: str,
    *,
    actor_id: int | None,
    actor_name: str,
    actor_role: str | None,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event in the caller's transaction. The head row is locked (FOR UPDATE on PostgreSQL; SQLite's
    write transaction is already exclusive), so concurrent appenders queue instead of forking the chain."""
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).first()
    if head is None:
        head = AuditHead(id=1, sequence=0, hash=GENESIS)
        session.add(head)
        session.flush()
    occurred_at = utcnow()
    clean = canonical(details or {})
    sequence = head.sequence + 1
    subject = None if subject_id is None else str(subject_id)
    digest = event_hash(
        head.hash, sequence, occurred_at, event, actor_id, actor_name, actor_role, subject_type, subject, clean
    )
    row = AuditEvent(
        sequence=sequence,
        occurred_at=occurred_at,
        event=event,
        actor_id=actor_id,
        actor_name=actor_name,
        actor_role=actor_role,
        subject_type=subject_type,
        subject_id=subject,
        details=clean,
        previous_hash=head.hash,
        hash=digest,
    )
    session.add(row)
    head.sequence, head.hash = sequence, digest
    session.flush()
    return row


def record_access_denied(
    database_url: str | None, *, actor_id: int | None, actor_name: str, actor_role: str, what: str, reason: str
) -> None:
    """Audit a refused read or action in its own transaction (the refused work itself wrote nothing)."""
    from db.engine import write_session

    with write_session(database_url) as session:
        append_event(
            session,
            "access.denied",
            actor_id=actor_id,
            actor_name=actor_name,
            actor_role=actor_role,
            subject_type="tool",
            subject_id=what,
            details={"reason": reason[:300]},
        )


@dataclass(frozen=True)
class ChainProblem:
    sequence: int
    problem: str


@dataclass(frozen=True)
class ChainReport:
    events: int
    problems: list[ChainProblem]

    @property
    def intact(self) -> bool:
        return not self.problems


def _events(session: Session) -> Iterator[AuditEvent]:
    yield from session.scalars(select(AuditEvent).order_by(AuditEvent.sequence).execution_options(yield_per=5000))


def verify_chain(session: Session) -> ChainReport:
    """Recompute every hash in sequence order; report gaps, broken links, edited rows and a head mismatch."""
    problems: list[ChainProblem] = []
    previous, expected_sequence, count = GENESIS, 1, 0
    for row in _events(session):
        count += 1
        if row.sequence != expected_sequence:
            problems.append(ChainProblem(expected_sequence, f"missing events {expected_sequence}..{row.sequence - 1}"))
        if row.previous_hash != previous:
            problems.append(ChainProblem(row.sequence, "link to the previous event is broken"))
        recomputed = event_hash(
            row.previous_hash,
            row.sequence,
            row.occurred_at,
            row.event,
            row.actor_id,
            row.actor_name,
            row.actor_role,
            row.subject_type,
            row.subject_id,
            canonical(row.details),
        )
        if recomputed != row.hash:
            problems.append(ChainProblem(row.sequence, "contents do not match the recorded hash (edited)"))
        previous, expected_sequence = row.hash, row.sequence + 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.sequence != expected_sequence - 1 or head.hash != previous):
        problems.append(ChainProblem(head.sequence, "the newest events are missing (head does not match the chain)"))
    if head is None and count:
        problems.append(ChainProblem(0, "the chain head is missing"))
    return ChainReport(count, problems)


EXPORT_COLUMNS = (
    "sequence",
    "occurred_at",
    "event",
    "actor_id",
    "actor_name",
    "actor_role",
    "subject_type",
    "subject_id",
    "details",
    "previous_hash",
    "hash",
)


def export_csv(session: Session, path: Path) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(EXPORT_COLUMNS)
        for row in _events(session):
            writer.writerow(
                [
                    row.sequence,
                    row.occurred_at.isoformat(),
                    row.event,
                    row.actor_id,
                    row.actor_name,
                    row.actor_role,
                    row.subject_type,
                    row.subject_id,
                    json.dumps(row.details, sort_keys=True),
                    row.previous_hash,
                    row.hash,
                ]
            )
            rows += 1
    return rows
