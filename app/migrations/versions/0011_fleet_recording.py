"""the recording fleet: camera streams and their leases, detect streams, recorded-segment keys

- `camera.detect_url_encrypted`: a camera's optional detect (sub-)stream, encrypted like the
  record stream; `camera.vendor`, `camera.channel`: what its URLs were built from.
- `segment.stream`: `main` (footage) or `detect` (a sub-stream segment the index job decodes).
- `uq_segment_recorded_start`: a recorded segment is unique per (camera, stream, start), so two
  recorders of one camera can never both store the same span.
- `camera_stream`: one row per camera stream to record, holding the recorder's lease (worker,
  lease_until) and the health it reports.

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-03 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detect_url_encrypted", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("vendor", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("channel", sa.Integer(), nullable=True))
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("stream", sa.String(length=16), nullable=False, server_default="main")
        )
    op.create_index(
        "uq_segment_recorded_start",
        "segment",
        ["camera_id", "stream", "start"],
        unique=True,
        postgresql_where=sa.text("source = 'record'"),
        sqlite_where=sa.text("source = 'record'"),
    )
    op.create_table(
        "camera_stream",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("camera_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=8), nullable=False),
        sa.Column("worker", sa.String(length=128), nullable=True),
        sa.Column("lease_until", app.db.UTCDateTime(), nullable=True),
        sa.Column("claimed_at", app.db.UTCDateTime(), nullable=True),
        sa.Column("takeovers", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_since", app.db.UTCDateTime(), nullable=False),
        sa.Column("down_since", app.db.UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("last_segment_end", app.db.UTCDateTime(), nullable=True),
        sa.Column("segments", sa.Integer(), nullable=False),
        sa.Column("codec", sa.String(length=32), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("fps", sa.Float(), nullable=True),
        sa.Column("declared_fps", sa.Float(), nullable=True),
        sa.Column("bitrate_bps", sa.Integer(), nullable=True),
        sa.Column("lag_s", sa.Float(), nullable=True),
        sa.Column("updated_at", app.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["camera_id"], ["camera.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("camera_id", "stream", name="uq_camera_stream"),
    )
    with op.batch_alter_table("camera_stream", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_camera_stream_camera_id"), ["camera_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("camera_stream", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_camera_stream_camera_id"))
    op.drop_table("camera_stream")
    op.drop_index("uq_segment_recorded_start", table_name="segment")
    with op.batch_alter_table("segment", schema=None) as batch_op:
        batch_op.drop_column("stream")
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.drop_column("channel")
        batch_op.drop_column("vendor")
        batch_op.drop_column("detect_url_encrypted")
