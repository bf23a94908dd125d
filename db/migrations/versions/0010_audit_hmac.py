"""audit: keyed chain (HMAC-SHA256) with a chain version and key id per event; the legacy chain is sealed

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-16

Existing events keep their plain-sha256 hashes (chain version 1, so exports taken before still match). If there are
any, this migration checks them and appends one keyed `audit.chain_upgraded` event after them that records their
count, the last hash and whether they verified: from then on, editing or recomputing the old events breaks that
event's MAC, and a chain of only version 1 events is refused. Doing so needs the audit key (CREDITDESK_AUDIT_SECRET,
or the embedded key file, generated here if missing); an empty audit log needs none.

Downgrade recomputes the keyed events as plain sha256 (the keyed protection is lost) and drops the columns.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

from db.types import JSONType, UTCDateTime

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GENESIS = "0" * 64

events = sa.table(
    "audit_event",
    sa.column("id", sa.Integer()),
    sa.column("sequence", sa.Integer()),
    sa.column("occurred_at", UTCDateTime()),
    sa.column("event", sa.String()),
    sa.column("actor_id", sa.Integer()),
    sa.column("actor_name", sa.String()),
    sa.column("actor_role", sa.String()),
    sa.column("subject_type", sa.String()),
    sa.column("subject_id", sa.String()),
    sa.column("details", JSONType),
    sa.column("previous_hash", sa.String()),
    sa.column("hash", sa.String()),
    sa.column("chain_version", sa.Integer()),
    sa.column("key_id", sa.String()),
)
head = sa.table("audit_head", sa.column("id", sa.Integer()), sa.column("sequence", sa.Integer()), sa.column("hash"))


def _rows(connection: sa.Connection) -> list[Any]:
    return list(connection.execute(sa.select(events).order_by(events.c.sequence)).mappings())


def _seal_legacy_chain(connection: sa.Connection) -> None:
    from core.audit_keys import load_audit_keys
    from core.dates import utcnow
    from db.queries.audit import KEYED_VERSION, UPGRADE_EVENT, EventContent, keyed_mac, legacy_hash

    rows = _rows(connection)
    if not rows:
        return
    broken: list[int] = []
    previous, expected = GENESIS, 1
    for row in rows:
        linked = row["sequence"] == expected and row["previous_hash"] == previous
        if not linked or legacy_hash(row["previous_hash"], EventContent.from_mapping(row)) != row["hash"]:
            broken.append(row["sequence"])
        previous, expected = row["hash"], row["sequence"] + 1
    recorded = connection.execute(sa.select(head.c.sequence, head.c.hash).where(head.c.id == 1)).first()
    head_matches = recorded is not None and (recorded[0], recorded[1]) == (expected - 1, previous)
    details: dict[str, Any] = {
        "legacy_events": len(rows),
        "legacy_head": previous,
        "legacy_intact": not broken and head_matches,
    }
    if broken:
        details["legacy_broken_events"] = broken[:50]
    if not head_matches:
        details["legacy_head_row"] = None if recorded is None else {"sequence": recorded[0], "hash": recorded[1]}
    key = load_audit_keys(create=True).current
    content = EventContent(expected, utcnow(), UPGRADE_EVENT, None, "system", None, "audit_chain", None, details)
    mac = keyed_mac(key, previous, content)
    connection.execute(
        events.insert().values(
            sequence=content.sequence,
            occurred_at=content.occurred_at,
            event=content.event,
            actor_id=None,
            actor_name=content.actor_name,
            actor_role=None,
            subject_type=content.subject_type,
            subject_id=None,
            details=details,
            previous_hash=previous,
            hash=mac,
            chain_version=KEYED_VERSION,
            key_id=key.key_id,
        )
    )
    if recorded is None:
        connection.execute(head.insert().values(id=1, sequence=content.sequence, hash=mac))
    else:
        connection.execute(head.update().where(head.c.id == 1).values(sequence=content.sequence, hash=mac))


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_version", sa.Integer(), server_default=sa.text("1"), nullable=False))
        batch_op.add_column(sa.Column("key_id", sa.String(length=32), nullable=True))
    _seal_legacy_chain(op.get_bind())


def downgrade() -> None:
    from db.queries.audit import EventContent, legacy_hash

    connection = op.get_bind()
    previous = GENESIS
    for row in _rows(connection):
        if row["chain_version"] != 1 or row["previous_hash"] != previous:
            digest = legacy_hash(previous, EventContent.from_mapping(row))
            connection.execute(
                events.update().where(events.c.id == row["id"]).values(previous_hash=previous, hash=digest)
            )
            previous = digest
        else:
            previous = row["hash"]
    connection.execute(head.update().where(head.c.id == 1).values(hash=previous))
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("key_id")
        batch_op.drop_column("chain_version")
