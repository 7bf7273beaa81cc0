"""segment: partial indexes for a camera's state (latest footage, last arrival, backlog)

The ward's console reads each camera's latest footage, when footage last arrived and how
many segments wait to be indexed. Grouping every segment of every camera took 11 s for a
ward of 190 cameras keeping a month of one-minute segments; with these indexes each figure
is the top of an index (or a count of the few pending segments).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 23:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# as in app/footage/models.py at this revision (a migration does not import the models)
FOOTAGE = "stream = 'main' AND status <> 'deleted'"
PENDING = "stream = 'main' AND status = 'pending'"


def upgrade() -> None:
    for name, columns, where in (
        ("ix_segment_footage_end", ["camera_id", "end"], FOOTAGE),
        ("ix_segment_footage_ingested", ["camera_id", "ingested_at"], FOOTAGE),
        ("ix_segment_footage_pending", ["camera_id"], PENDING),
    ):
        op.create_index(
            name,
            "segment",
            columns,
            unique=False,
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )


def downgrade() -> None:
    for name in (
        "ix_segment_footage_pending",
        "ix_segment_footage_ingested",
        "ix_segment_footage_end",
    ):
        op.drop_index(name, table_name="segment")
