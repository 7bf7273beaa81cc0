"""covering search indexes on PostgreSQL

A search reads (start, id) keys from the covering search indexes and fetches only the page's
rows. SQLite indexes always end with the rowid, so its indexes cover that already; PostgreSQL
indexes do not, and without the id every candidate cost a heap visit. `INCLUDE (id)` makes
those reads index-only. Likewise histograms read `event_hourly` through an index that carries
the counts. SQLite: nothing changes (its roll-up is a WITHOUT ROWID table already).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 02:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_event_camera_start": ["camera_id", "start", "end", "label", "color", "confidence"],
    "ix_event_start": ["start", "camera_id", "end", "label", "color", "confidence"],
    "ix_event_label_camera_start": ["label", "camera_id", "start", "end", "color", "confidence"],
}


COUNTS = ["n_all", "n_person", "n_bicycle", "n_car", "n_motorcycle", "n_bus", "n_truck"]


def _pg() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _rebuild(include: list[str]) -> None:
    for name, columns in INDEXES.items():
        op.drop_index(name, table_name="event")
        op.create_index(name, "event", columns, postgresql_include=include)


def upgrade() -> None:
    if _pg():
        _rebuild(["id"])
        op.create_index(
            "ix_event_hourly_cover",
            "event_hourly",
            ["camera_id", "hour"],
            unique=True,
            postgresql_include=COUNTS,
        )


def downgrade() -> None:
    if _pg():
        op.drop_index("ix_event_hourly_cover", table_name="event_hourly")
        _rebuild([])
