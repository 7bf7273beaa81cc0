"""segment: the camera-and-start index also holds each segment's end, stream and status

A ward's page draws the stretches of the last day that each camera's footage covers: 270 000
one-minute segments for 190 cameras. Read through the (camera, start) index, each of them was
a lookup in the table, scattered as the cameras' segments arrive interleaved; with the end,
stream and status in the index the stretches are read from the index alone. The wider index
replaces the narrower one, whose queries it serves as well.

`ix_segment_footage_pending` (0017) holds the stream and status too: SQLite otherwise counted
a camera's backlog by reading all its entries in the span index, which it prefers for being
read alone.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 00:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = "stream = 'main' AND status = 'pending'"  # as in 0017


def upgrade() -> None:
    op.create_index(
        "ix_segment_camera_span",
        "segment",
        ["camera_id", "start", "end", "stream", "status"],
        unique=False,
    )
    op.drop_index("ix_segment_camera_start", table_name="segment")
    _pending(["camera_id", "stream", "status"])


def downgrade() -> None:
    _pending(["camera_id"])
    op.create_index("ix_segment_camera_start", "segment", ["camera_id", "start"], unique=False)
    op.drop_index("ix_segment_camera_span", table_name="segment")


def _pending(columns: list[str]) -> None:
    where = sa.text(PENDING)
    op.drop_index("ix_segment_footage_pending", table_name="segment")
    op.create_index("ix_segment_footage_pending", "segment", columns, unique=False,
                    postgresql_where=where, sqlite_where=where)
