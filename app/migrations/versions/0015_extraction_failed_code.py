"""extraction.failed_code: why a request's package could not be built, as a code a console
can say in its reader's language (`error` stays the English account for whoever mends it)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("extraction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_code", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extraction", schema=None) as batch_op:
        batch_op.drop_column("failed_code")
