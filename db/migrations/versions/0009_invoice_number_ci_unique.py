"""invoice: invoice numbers unique regardless of case (unique index on upper(number))

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-16
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    clashes = (
        op.get_bind()
        .execute(sa.text("SELECT upper(number) FROM invoice GROUP BY upper(number) HAVING count(*) > 1 LIMIT 5"))
        .scalars()
        .all()
    )
    if clashes:
        raise RuntimeError(
            "invoice numbers that differ only in case must be merged or renamed before this upgrade: "
            + ", ".join(clashes)
        )
    op.create_index("ux_invoice_number_upper", "invoice", [sa.text("upper(number)")], unique=True)


def downgrade() -> None:
    op.drop_index("ux_invoice_number_upper", table_name="invoice")
