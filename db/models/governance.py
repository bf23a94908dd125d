"""Guarded actions: proposals awaiting a human decision, the append-only hash-chained audit log, and the dunning
outbox. A proposal's `decision IS NULL` means pending; deciding is one conditional UPDATE, so it happens once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base
from db.types import JSONType, Money, UTCDateTime

PENDING = text("decision IS NULL")


class Proposal(Base):
    __tablename__ = "proposal"
    __table_args__ = (
        CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'rejected', 'expired', 'stale', 'failed')",
            name="decision_values",
        ),
        Index("ix_proposal_pending", "expires_at", sqlite_where=PENDING, postgresql_where=PENDING),
        Index("ix_proposal_customer_created", "customer_id", "created_at"),
        Index("ix_proposal_conversation", "conversation_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(40))
    tool_name: Mapped[str] = mapped_column(String(60))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customer.id", ondelete="SET NULL"))
    summary: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    diff: Mapped[list[dict[str, Any]]] = mapped_column(JSONType)
    # Versions (or values) of the rows the proposal was computed from; the executor refuses if any changed.
    read_versions: Mapped[dict[str, Any]] = mapped_column(JSONType)
    required_role: Mapped[str] = mapped_column(String(20))
    # The size of the change in the reporting currency, which the authority rules are evaluated on.
    authority_amount: Mapped[Any | None] = mapped_column(Money())
    four_eyes: Mapped[bool] = mapped_column(default=False)
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="RESTRICT"))
    proposed_by_name: Mapped[str] = mapped_column(String(80))
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decision: Mapped[str | None] = mapped_column(String(10))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id", ondelete="RESTRICT"))
    decided_by_name: Mapped[str | None] = mapped_column(String(80))
    decided_via: Mapped[str | None] = mapped_column(String(20))  # slack | api | cli | web | policy
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)


class AuditEvent(Base):
    """Append-only and keyed: for `chain_version` 2, `hash = HMAC-SHA256(key[key_id], previous hash ‖ canonical
    JSON of this row)`, so editing, deleting, inserting or reordering a row, or recomputing the chain without the key,
    breaks it (`creditdesk audit verify`). Version 1 rows are the plain-sha256 events written before migration 0010,
    sealed by the keyed `audit.chain_upgraded` event that follows them (see db/queries/audit.py)."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_subject", "subject_type", "subject_id"),
        Index("ix_audit_event_occurred", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    event: Mapped[str] = mapped_column(String(60))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    actor_name: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str | None] = mapped_column(String(20))
    subject_type: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[str | None] = mapped_column(String(80))
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    previous_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    chain_version: Mapped[int] = mapped_column(Integer, default=2, server_default=text("1"))
    key_id: Mapped[str | None] = mapped_column(String(32))


class AuditHead(Base):
    """One row: the chain's last sequence number and hash. Appenders lock it, which serialises the chain."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    sequence: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditDatabase(Base):
    """One row: a random id created with the database (migration 0011). Signed checkpoints name it, so they follow
    the database through any address, copy or restore, and a reset database does not claim another's checkpoints."""

    __tablename__ = "audit_database"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    database_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class DunningOutbox(Base):
    __tablename__ = "dunning_outbox"
    __table_args__ = (Index("ix_dunning_outbox_status", "status", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="RESTRICT"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    level: Mapped[int] = mapped_column(Integer)
    to_name: Mapped[str | None] = mapped_column(String(160))
    to_email: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))  # queued | sent | failed
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
