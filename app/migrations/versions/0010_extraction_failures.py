"""where a failed extraction stopped

- `extraction.failed_step`, `failed_camera_id`, `failed_segment_id`: a request whose package
  could not be built says which step failed and on which camera and segment (`error` says
  why); before, a failed job left the request `approved` with `error` empty.

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-03 16:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("extraction", schema=None) as batch_op:
        batch_op.add_column(sa.Column("failed_step", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("failed_camera_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("failed_segment_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extraction", schema=None) as batch_op:
        batch_op.drop_column("failed_segment_id")
        batch_op.drop_column("failed_camera_id")
        batch_op.drop_column("failed_step")
