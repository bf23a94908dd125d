"""audit: a random id for this database, named by every signed checkpoint

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-16

Checkpoints used to name their database by its URL (host, port, name), so the same database reached as `localhost`
instead of `127.0.0.1` matched none of them. The id lives in the database itself: it follows the database through
any address, a copy or a restore, and a reset database (a new id) does not claim the old one's checkpoints.
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from db.types import UTCDateTime

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    from core.dates import utcnow

    identity = op.create_table(
        "audit_database",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("database_id", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_database_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_database")),
    )
    op.bulk_insert(identity, [{"id": 1, "database_id": "d" + secrets.token_hex(12), "created_at": utcnow()}])


def downgrade() -> None:
    op.drop_table("audit_database")
