"""audit_camera.recorded: the service's entry for each segment recorded from a camera's
stream, marked where the access log reads, with an index that leaves them out

A live camera writes one such entry a minute per stream; the access log (console and API)
leaves them out unless asked, and without this column it had to look up every one of them
to find the 50 entries of a page.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 20:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_camera", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("recorded", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute(
        "UPDATE audit_camera SET recorded = TRUE WHERE audit_id IN "
        "(SELECT id FROM audit_entry WHERE action = 'footage.record')"
    )
    with op.batch_alter_table("audit_camera", schema=None) as batch_op:
        batch_op.create_index(
            "ix_audit_camera_camera_recorded_audit",
            ["camera_id", "recorded", "audit_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_camera", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_camera_camera_recorded_audit")
        batch_op.drop_column("recorded")
