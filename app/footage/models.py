"""Footage segments.

A segment is one stored original. Its times exist twice: `start_raw` as the camera (or file
name, or container) reported it, and `start`/`end` corrected by the camera's clock offset; all
search and evidence work uses the corrected times, and both are kept for the record.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, Index, String, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from app.db import EnumText, UTCDateTime, utcnow


class SegmentSource(StrEnum):
    upload = "upload"
    nvr_import = "import"
    record = "record"


class SegmentStream(StrEnum):
    """Which of a camera's streams a segment holds. `detect` segments (a dual-stream
    camera's sub-stream) are what the index job decodes; only `main` segments are footage
    (coverage, evidence packages)."""

    main = "main"
    detect = "detect"


class SegmentStatus(StrEnum):
    pending = "pending"  # stored, not yet indexed
    indexed = "indexed"
    failed = "failed"
    deleted = "deleted"  # removed by retention; the row stays for the audit trail


FOOTAGE = "stream = 'main' AND status <> 'deleted'"
"""A segment that is footage (coverage, evidence): the main stream, not removed."""
PENDING = "stream = 'main' AND status = 'pending'"
"""Footage stored and not yet indexed (a camera's backlog)."""


class Segment(SQLModel, table=True):
    __tablename__ = "segment"
    __table_args__ = (
        UniqueConstraint("camera_id", "sha256", name="uq_segment_camera_sha256"),
        # A camera's segments by time; with their end, stream and status beside the start, the
        # stretches a ward's page draws are read from the index alone (migration 0018).
        Index("ix_segment_camera_span", "camera_id", "start", "end", "stream", "status"),
        Index("ix_segment_ingested_at", "ingested_at"),  # /metrics: ingest of the last hour
        # A recorded segment is keyed by its camera, stream and start: two recorders of one
        # camera (a worker thought dead that was only slow) cannot both store the same span.
        Index(
            "uq_segment_recorded_start",
            "camera_id",
            "stream",
            "start",
            unique=True,
            postgresql_where=text("source = 'record'"),
            sqlite_where=text("source = 'record'"),
        ),
        # A camera's state (the ward's console): its latest footage, when footage last came
        # and its backlog, each read from the top of an index of its footage instead of
        # every segment it holds (a month of one-minute segments is 43 000 a camera). The
        # queries repeat these conditions as literals so that both databases use them.
        Index(
            "ix_segment_footage_end",
            "camera_id",
            "end",
            postgresql_where=text(FOOTAGE),
            sqlite_where=text(FOOTAGE),
        ),
        Index(
            "ix_segment_footage_ingested",
            "camera_id",
            "ingested_at",
            postgresql_where=text(FOOTAGE),
            sqlite_where=text(FOOTAGE),
        ),
        Index(  # stream and status too: read from it alone, not from the span index
            "ix_segment_footage_pending",
            "camera_id",
            "stream",
            "status",
            postgresql_where=text(PENDING),
            sqlite_where=text(PENDING),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    camera_id: int = Field(foreign_key="camera.id")
    start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    start_raw: datetime = Field(sa_type=UTCDateTime, nullable=False)
    clock_offset_s: float = 0.0
    start_source: str = Field(max_length=16)  # request | filename | metadata | stream
    duration_s: float
    sha256: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    object_key: str = Field(sa_column=Column(String(512), nullable=False, unique=True))
    container: str = Field(max_length=64)
    video_codec: str = Field(max_length=32)
    width: int
    height: int
    fps: float | None = None
    keyframe_interval_s: float | None = None
    probe: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    source: SegmentSource = Field(sa_column=Column(EnumText(SegmentSource), nullable=False))
    stream: SegmentStream = Field(
        default=SegmentStream.main,
        sa_column=Column(EnumText(SegmentStream), nullable=False, server_default="main"),
    )
    original_name: str | None = Field(default=None, max_length=255)
    truncated: bool = False
    truncated_reason: str | None = Field(default=None, max_length=500)
    index_note: str | None = Field(default=None, max_length=2000)
    """What indexing could not read (damaged packets, a rewind of the timestamps), set by
    the index job."""
    status: SegmentStatus = Field(sa_column=Column(EnumText(SegmentStatus), nullable=False))
    ingested_by: int | None = Field(default=None, foreign_key="user_account.id")
    ingested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
