"""The recording fleet: one row per camera stream that should be recorded.

The row is both the lease (which worker records this stream, until when) and the health the
recorder keeps (state, the last segment and what it measured). Why one row: the worker that
holds the lease is the only writer of the health, so it never lags behind whoever records.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class CameraStream(SQLModel, table=True):
    __tablename__ = "camera_stream"
    __table_args__ = (UniqueConstraint("camera_id", "stream", name="uq_camera_stream"),)

    id: int | None = Field(default=None, primary_key=True)
    camera_id: int = Field(foreign_key="camera.id", index=True)
    stream: str = Field(sa_column=Column(String(8), nullable=False))  # main | detect
    # the lease
    worker: str | None = Field(default=None, max_length=128)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    takeovers: int = 0
    """How often the stream was claimed from a worker whose lease had run out."""
    # the health, as the recorder last reported it
    state: str = Field(default="unassigned", max_length=16)
    state_since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    down_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    error: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, sa_column=Column(Text))
    last_segment_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    segments: int = 0
    codec: str | None = Field(default=None, max_length=32)
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    declared_fps: float | None = None
    bitrate_bps: int | None = None
    lag_s: float | None = None
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
