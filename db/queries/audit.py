"""The audit log: append (keyed chain, serialised through `audit_head`), verify, export.

Each event's MAC is HMAC-SHA256(key, previous MAC ‖ canonical JSON of the event), with the key's id and the chain
version inside the MAC, so nobody without the key can edit, delete, insert or reorder events, or recompute the chain,
unnoticed. Rolling the tail back (deleting the newest events together with the head) is only detectable against
something outside the database: the signed checkpoints of `db/queries/audit_checkpoints.py`.

Chain versions: 1 = the plain sha256 chain written before migration 0010; those events keep their original hashes
(so earlier exports still match) and are sealed by the keyed `audit.chain_upgraded` event the migration appended
after them, which records how many there were and the last hash. A version 1 event anywhere else, or version 1
events without that seal, mean the chain was recomputed without the key. 2 = keyed.

Details never hold message text or customer names: ids, amounts, codes.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.audit_keys import AuditKey, AuditKeyRing, load_audit_keys
from core.dates import utcnow
from core.errors import CreditDeskError, ErrorCode
from db.models.governance import AuditEvent, AuditHead

GENESIS = "0" * 64
LEGACY_VERSION = 1
KEYED_VERSION = 2
UPGRADE_EVENT = "audit.chain_upgraded"
_EVENT_DOMAIN = b"creditdesk-audit-event"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def canonical(details: dict[str, Any]) -> dict[str, Any]:
    """Details as they round-trip through JSON storage (what the MAC is computed over)."""
    return json.loads(json.dumps(details, default=_json_default, sort_keys=True))


@dataclass(frozen=True)
class EventContent:
    """Everything an event's hash or MAC covers besides the link and the key."""

    sequence: int
    occurred_at: datetime
    event: str
    actor_id: int | None
    actor_name: str
    actor_role: str | None
    subject_type: str | None
    subject_id: str | None
    details: dict[str, Any]

    @classmethod
    def of(cls, row: Any) -> EventContent:
        return cls(
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

    @classmethod
    def from_mapping(cls, row: Any) -> EventContent:
        return cls(
            row["sequence"],
            row["occurred_at"],
            row["event"],
            row["actor_id"],
            row["actor_name"],
            row["actor_role"],
            row["subject_type"],
            row["subject_id"],
            canonical(row["details"]),
        )

    def fields(self) -> list[Any]:
        return [
            self.sequence,
            self.occurred_at.isoformat(timespec="microseconds"),
            self.event,
            self.actor_id,
            self.actor_name,
            self.actor_role,
            self.subject_type,
            self.subject_id,
            self.details,
        ]


def event_span(first: int, last: int) -> str:
    return f"event {first}" if first == last else f"events {first}..{last}"


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=_json_default)


def legacy_hash(previous: str, content: EventContent) -> str:
    """Version 1 (before migration 0010): sha256(previous hash + canonical JSON). Anyone can recompute it."""
    return hashlib.sha256((previous + _dumps(content.fields())).encode("utf-8")).hexdigest()


def keyed_mac(key: AuditKey, previous: str, content: EventContent) -> str:
    """Version 2: HMAC-SHA256 over the previous MAC, the version, the key id and the content."""
    body = _dumps([KEYED_VERSION, key.key_id, *content.fields()])
    return key.mac(_EVENT_DOMAIN, previous.encode("ascii") + b"\n" + body.encode("utf-8"))


def _locked_head(session: Session) -> AuditHead:
    """The head row, locked (FOR UPDATE on PostgreSQL; SQLite's write transaction is already exclusive), re-read
    from the database even if this session loaded it earlier. A missing head is rebuilt from the newest event with
    an insert that a concurrent rebuilder cannot duplicate; the chain then continues from the events that exist."""
    locked = select(AuditHead).where(AuditHead.id == 1).with_for_update().execution_options(populate_existing=True)
    head = session.scalars(locked).first()
    if head is not None:
        return head
    newest = session.execute(select(AuditEvent.sequence, AuditEvent.hash).order_by(AuditEvent.sequence.desc())).first()
    values = {"id": 1, "sequence": newest[0] if newest else 0, "hash": newest[1] if newest else GENESIS}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(AuditHead).values(**values).on_conflict_do_nothing(index_elements=["id"]))
    return session.scalars(locked).one()


def _writer_keys(session: Session) -> AuditKeyRing:
    """The key ring for appending. The embedded key file is generated only for a trail with no keyed event yet: once
    events were signed, a missing key is lost (or moved), and a new one would silently chain on under another key."""
    try:
        return load_audit_keys(create=False)
    except CreditDeskError as missing:
        keyed = session.scalar(select(AuditEvent.id).where(AuditEvent.chain_version == KEYED_VERSION).limit(1))
        if keyed is None:
            return load_audit_keys(create=True)
        raise CreditDeskError(
            ErrorCode.NOT_CONFIGURED,
            "the audit key is missing but the audit trail already holds events signed with it: nothing was "
            "written. Restore the key file or set CREDITDESK_AUDIT_SECRET to the key the trail was signed with "
            f"({missing.message})",
        ) from None


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
    keys: AuditKeyRing | None = None,
) -> AuditEvent:
    """Add one event in the caller's transaction; concurrent appenders queue on the head row instead of forking
    the chain. Without a configured audit key this raises (not_configured) and the caller's transaction writes
    nothing."""
    key = (keys or _writer_keys(session)).current
    head = _locked_head(session)
    content = EventContent(
        head.sequence + 1,
        utcnow(),
        event,
        actor_id,
        actor_name,
        actor_role,
        subject_type,
        None if subject_id is None else str(subject_id),
        canonical(details or {}),
    )
    mac = keyed_mac(key, head.hash, content)
    row = AuditEvent(
        sequence=content.sequence,
        occurred_at=content.occurred_at,
        event=event,
        actor_id=actor_id,
        actor_name=actor_name,
        actor_role=actor_role,
        subject_type=subject_type,
        subject_id=content.subject_id,
        details=content.details,
        previous_hash=head.hash,
        hash=mac,
        chain_version=KEYED_VERSION,
        key_id=key.key_id,
    )
    session.add(row)
    head.sequence, head.hash = content.sequence, mac
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
    last_sequence: int = 0
    last_mac: str = GENESIS
    last_event_id: int | None = None
    legacy_events: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _events(session: Session) -> Iterator[AuditEvent]:
    yield from session.scalars(select(AuditEvent).order_by(AuditEvent.sequence).execution_options(yield_per=5000))


class _UnsetKeys:
    pass


_FROM_SETTINGS = _UnsetKeys()


@dataclass
class _Walk:
    """State of one pass over the chain."""

    keys: AuditKeyRing | None
    keys_error: str | None
    problems: list[ChainProblem] = field(default_factory=list)
    previous: str = GENESIS
    expected: int = 1
    count: int = 0
    legacy: int = 0
    keyed_seen: bool = False
    unknown_keys: set[str] = field(default_factory=set)

    def add(self, sequence: int, problem: str) -> None:
        self.problems.append(ChainProblem(sequence, problem))

    def check_seal(self, row: AuditEvent) -> None:
        details = row.details or {}
        sealed = (
            row.event == UPGRADE_EVENT
            and details.get("legacy_events") == self.legacy
            and details.get("legacy_head") == row.previous_hash
        )
        if not sealed:
            self.add(
                row.sequence,
                f"the {self.legacy} plain-sha256 events before this one are not the ones migration 0010 sealed: "
                "the chain was recomputed without the key",
            )
        elif details.get("legacy_intact") is False:
            self.add(
                row.sequence,
                "the plain-sha256 chain was already broken when migration 0010 sealed it "
                f"(events {details.get('legacy_broken_events') or '-'}, head row {details.get('legacy_head_row')})",
            )

    def check_keyed(self, row: AuditEvent) -> None:
        key = self.keys.get(row.key_id) if self.keys is not None else None
        if key is None:
            if row.key_id not in self.unknown_keys:
                self.unknown_keys.add(row.key_id or "")
                reason = self.keys_error or (
                    f"key {row.key_id!r} is not configured (a retired key belongs in CREDITDESK_AUDIT_PREVIOUS_SECRETS)"
                )
                self.add(row.sequence, f"cannot verify the events signed with key {row.key_id!r}: {reason}")
            return
        if keyed_mac(key, row.previous_hash, EventContent.of(row)) != row.hash:
            self.add(
                row.sequence,
                "contents do not match the event's MAC: edited, or the chain was recomputed without the key",
            )

    def visit(self, row: AuditEvent) -> None:
        self.count += 1
        if row.sequence != self.expected:
            self.add(self.expected, f"{event_span(self.expected, row.sequence - 1)} missing (deleted)")
        if row.previous_hash != self.previous:
            self.add(row.sequence, "the link to the previous event is broken (an event was deleted, inserted or moved)")
        if row.chain_version == LEGACY_VERSION:
            if self.keyed_seen:
                self.add(row.sequence, "a plain-sha256 event after keyed events: recomputed without the key")
            else:
                self.legacy += 1
            if legacy_hash(row.previous_hash, EventContent.of(row)) != row.hash:
                self.add(row.sequence, "contents do not match the recorded hash (edited)")
        elif row.chain_version == KEYED_VERSION:
            if not self.keyed_seen and self.legacy:
                self.check_seal(row)
            self.keyed_seen = True
            self.check_keyed(row)
        else:
            self.add(row.sequence, f"unknown chain version {row.chain_version!r}")
        self.previous, self.expected = row.hash, row.sequence + 1


def verify_chain(
    session: Session, keys: AuditKeyRing | _UnsetKeys | None = _FROM_SETTINGS, *, keys_error: str | None = None
) -> ChainReport:
    """Recompute every hash and MAC in sequence order; report gaps, broken links, edited or re-hashed events, events
    whose key is not configured (fail closed) and a head that does not match the chain. By default the key ring
    comes from the settings; `None` means no key is available (`keys_error` says why)."""
    if isinstance(keys, _UnsetKeys):
        try:
            keys = load_audit_keys(create=False)
        except CreditDeskError as error:
            keys, keys_error = None, error.message
    walk = _Walk(keys, keys_error or ("no audit key is configured" if keys is None else None))
    last_id: int | None = None
    for row in _events(session):
        walk.visit(row)
        last_id = row.id
    if walk.legacy and not walk.keyed_seen:
        walk.add(
            1,
            f"all {walk.legacy} events use the plain-sha256 chain and none is keyed: the chain was recomputed without "
            "the key (or migration 0010 did not complete)",
        )
    head = session.get(AuditHead, 1)
    last_sequence = walk.expected - 1
    if head is not None and (head.sequence != last_sequence or head.hash != walk.previous):
        walk.add(
            head.sequence,
            f"the chain head says event {head.sequence} is the newest, the table ends at event {last_sequence}"
            + (" (the head's hash differs too)" if head.sequence == last_sequence else ""),
        )
    if head is None and walk.count:
        walk.add(0, "the chain head is missing")
    notes = [f"{walk.legacy:,} events predate the keyed chain (plain sha256, sealed)"] if walk.legacy else []
    return ChainReport(walk.count, walk.problems, last_sequence, walk.previous, last_id, walk.legacy, notes)


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


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
    "chain_version",
    "key_id",
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
                    row.chain_version,
                    row.key_id,
                ]
            )
            rows += 1
    return rows
