"""snapshots: per-date rollup of ar_snapshot by customer dimensions and currency (whole-book portfolio totals)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.types

revision: str = '0007'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUCKETS = 6
MONTHS = 7


def upgrade() -> None:
    op.create_table('ar_snapshot_rollup_run',
    sa.Column('as_of_dn', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('built_at', db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('parameters', sa.String(length=120), nullable=False),
    sa.Column('source_fingerprint', sa.String(length=200), nullable=False),
    sa.Column('customer_fingerprint', sa.String(length=200), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('as_of_dn', name=op.f('pk_ar_snapshot_rollup_run'))
    )
    money = [sa.Column(f'{p}_b{i}', sa.BigInteger(), nullable=False) for p in ('u', 'd') for i in range(BUCKETS)]
    money += [sa.Column(f'{p}_m{i}', sa.BigInteger(), nullable=False) for p in ('sales', 'coll') for i in range(MONTHS)]
    op.create_table('ar_snapshot_rollup',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('as_of_dn', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=12), nullable=False),
    sa.Column('region', sa.String(length=50), nullable=True),
    sa.Column('segment', sa.String(length=40), nullable=True),
    sa.Column('collector_id', sa.Integer(), nullable=True),
    sa.Column('risk_class', sa.String(length=1), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('open_rows', sa.Integer(), nullable=False),
    *money,
    sa.Column('credit_all', sa.BigInteger(), nullable=False),
    sa.Column('nonzero_all', sa.Integer(), nullable=False),
    sa.Column('negative_all', sa.Integer(), nullable=False),
    sa.Column('credit_undisputed', sa.BigInteger(), nullable=False),
    sa.Column('nonzero_undisputed', sa.Integer(), nullable=False),
    sa.Column('negative_undisputed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ar_snapshot_rollup'))
    )
    with op.batch_alter_table('ar_snapshot_rollup', schema=None) as batch_op:
        batch_op.create_index('ix_ar_snapshot_rollup_level', ['as_of_dn', 'level', 'collector_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ar_snapshot_rollup', schema=None) as batch_op:
        batch_op.drop_index('ix_ar_snapshot_rollup_level')

    op.drop_table('ar_snapshot_rollup')
    op.drop_table('ar_snapshot_rollup_run')
