"""search indexes

Covering indexes for event search, and two small tables kept by triggers on `event`:
`event_bound` (longest event per camera: bounds the start of a time-overlap query) and
`event_hourly` (events per camera, hour and label: histograms). Triggers, not application
code, keep them, so every writer (indexing jobs, imports, bulk loads) keeps them right.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 23:19:24.854257
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
# 0006 (extractions) was written alongside and also follows 0004; chained after it so the
# history stays linear.
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LABELS = ("person", "bicycle", "car", "motorcycle", "bus", "truck")
_COLS = ", ".join(f"n_{label}" for label in LABELS)

# --- SQLite: row triggers (UPSERT). Times are stored as 'YYYY-MM-DD HH:MM:SS.ffffff';
# event_hourly.hour is hours since the Unix epoch. ---
_SQLITE_HOUR = "CAST(strftime('%s', {r}.start) AS INTEGER) / 3600"
_SQLITE_DUR = '(julianday({r}."end") - julianday({r}.start)) * 86400.0'

SQLITE_TRIGGERS = [
    f"""
CREATE TRIGGER event_ai_search AFTER INSERT ON event BEGIN
  INSERT INTO event_hourly (camera_id, hour, n_all, {_COLS})
  VALUES (NEW.camera_id, {_SQLITE_HOUR.format(r="NEW")}, 1,
          {", ".join(f"NEW.label = '{label}'" for label in LABELS)})
  ON CONFLICT (camera_id, hour) DO UPDATE SET n_all = n_all + 1,
    {", ".join(f"n_{label} = n_{label} + excluded.n_{label}" for label in LABELS)};
  INSERT INTO event_bound (camera_id, max_duration_s)
  VALUES (NEW.camera_id, {_SQLITE_DUR.format(r="NEW")})
  ON CONFLICT (camera_id) DO UPDATE SET max_duration_s = excluded.max_duration_s
    WHERE excluded.max_duration_s > event_bound.max_duration_s;
END""",
    f"""
CREATE TRIGGER event_ad_search AFTER DELETE ON event BEGIN
  UPDATE event_hourly SET n_all = n_all - 1,
    {", ".join(f"n_{label} = n_{label} - (OLD.label = '{label}')" for label in LABELS)}
  WHERE camera_id = OLD.camera_id AND hour = {_SQLITE_HOUR.format(r="OLD")};
END""",
]

# --- PostgreSQL: statement triggers over transition tables (one upsert per statement,
# COPY included). Rows are upserted in key order so concurrent writers cannot deadlock. ---
_PG_COUNTS = ", ".join(f"count(*) FILTER (WHERE label = '{label}')" for label in LABELS)
PG_TRIGGERS = [
    f"""
CREATE FUNCTION event_search_ins() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO event_hourly AS h (camera_id, hour, n_all, {_COLS})
    SELECT camera_id, (floor(extract(epoch FROM start) / 3600))::integer, count(*), {_PG_COUNTS}
    FROM new_rows GROUP BY 1, 2 ORDER BY 1, 2
  ON CONFLICT (camera_id, hour) DO UPDATE SET n_all = h.n_all + excluded.n_all,
    {", ".join(f"n_{label} = h.n_{label} + excluded.n_{label}" for label in LABELS)};
  INSERT INTO event_bound AS b (camera_id, max_duration_s)
    SELECT camera_id, max(extract(epoch FROM "end" - start)) FROM new_rows
    GROUP BY 1 ORDER BY 1
  ON CONFLICT (camera_id) DO UPDATE SET max_duration_s = excluded.max_duration_s
    WHERE excluded.max_duration_s > b.max_duration_s;
  RETURN NULL;
END $$""",
    f"""
CREATE FUNCTION event_search_del() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE event_hourly AS h SET n_all = h.n_all - d.n_all,
    {", ".join(f"n_{label} = h.n_{label} - d.n_{label}" for label in LABELS)}
  FROM (SELECT camera_id, (floor(extract(epoch FROM start) / 3600))::integer AS hour,
          count(*) AS n_all,
          {", ".join(f"count(*) FILTER (WHERE label = '{lb}') AS n_{lb}" for lb in LABELS)}
        FROM old_rows GROUP BY 1, 2 ORDER BY 1, 2) AS d
  WHERE h.camera_id = d.camera_id AND h.hour = d.hour;
  RETURN NULL;
END $$""",
    """
CREATE TRIGGER event_ai_search AFTER INSERT ON event REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION event_search_ins()""",
    """
CREATE TRIGGER event_ad_search AFTER DELETE ON event REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION event_search_del()""",
]

SQLITE_BACKFILL = [
    f"""INSERT INTO event_hourly (camera_id, hour, n_all, {_COLS})
    SELECT camera_id, {_SQLITE_HOUR.format(r="event")}, count(*),
      {", ".join(f"sum(label = '{label}')" for label in LABELS)}
    FROM event GROUP BY 1, 2""",
    f"""INSERT INTO event_bound (camera_id, max_duration_s)
    SELECT camera_id, max({_SQLITE_DUR.format(r="event")}) FROM event GROUP BY 1""",
]
PG_BACKFILL = [
    f"""INSERT INTO event_hourly (camera_id, hour, n_all, {_COLS})
    SELECT camera_id, (floor(extract(epoch FROM start) / 3600))::integer, count(*), {_PG_COUNTS}
    FROM event GROUP BY 1, 2""",
    """INSERT INTO event_bound (camera_id, max_duration_s)
    SELECT camera_id, max(extract(epoch FROM "end" - start)) FROM event GROUP BY 1""",
]


def upgrade() -> None:
    op.create_table(
        "event_bound",
        sa.Column("camera_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("max_duration_s", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("camera_id"),
    )
    op.create_table(
        "event_hourly",
        sa.Column("camera_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("n_all", sa.Integer(), nullable=False),
        sa.Column("n_person", sa.Integer(), nullable=False),
        sa.Column("n_bicycle", sa.Integer(), nullable=False),
        sa.Column("n_car", sa.Integer(), nullable=False),
        sa.Column("n_motorcycle", sa.Integer(), nullable=False),
        sa.Column("n_bus", sa.Integer(), nullable=False),
        sa.Column("n_truck", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("camera_id", "hour"),
        sqlite_with_rowid=False,
    )
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_camera_start")
        batch_op.create_index(
            "ix_event_camera_start",
            ["camera_id", "start", "end", "label", "color", "confidence"],
            unique=False,
        )
        batch_op.drop_index("ix_event_start")
        batch_op.create_index(
            "ix_event_start",
            ["start", "camera_id", "end", "label", "color", "confidence"],
            unique=False,
        )
        batch_op.create_index(
            "ix_event_label_camera_start",
            ["label", "camera_id", "start", "end", "color", "confidence"],
            unique=False,
        )
    sqlite = op.get_bind().dialect.name == "sqlite"
    for sql in SQLITE_BACKFILL + SQLITE_TRIGGERS if sqlite else PG_BACKFILL + PG_TRIGGERS:
        op.execute(sql)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS event_ai_search" + ("" if _sqlite() else " ON event"))
    op.execute("DROP TRIGGER IF EXISTS event_ad_search" + ("" if _sqlite() else " ON event"))
    if not _sqlite():
        op.execute("DROP FUNCTION IF EXISTS event_search_ins()")
        op.execute("DROP FUNCTION IF EXISTS event_search_del()")
    with op.batch_alter_table("event", schema=None) as batch_op:
        batch_op.drop_index("ix_event_label_camera_start")
        batch_op.drop_index("ix_event_start")
        batch_op.create_index("ix_event_start", ["start"], unique=False)
        batch_op.drop_index("ix_event_camera_start")
        batch_op.create_index("ix_event_camera_start", ["camera_id", "start"], unique=False)
    op.drop_table("event_hourly")
    op.drop_table("event_bound")


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"
