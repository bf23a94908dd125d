"""customer: expression index for case-insensitive external-id lookups

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_customer_external_id_upper", "customer", [sa.text("upper(external_id)")], unique=False)


def downgrade() -> None:
    op.drop_index("ix_customer_external_id_upper", table_name="customer")
