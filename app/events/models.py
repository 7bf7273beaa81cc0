"""Sightings: one row per tracked person or vehicle in one segment.

Times are absolute UTC, from the segment's corrected start. An object visible across a
segment boundary is two events (one per segment); search treats each on its own, so a
window touching either half finds it. The box is normalised to the frame (0..1) so it means
the same whatever resolution a camera records at.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow
from detectors import LABELS

EVENT_PK = BigInteger().with_variant(Integer, "sqlite")


class Event(SQLModel, table=True):
    __tablename__ = "event"
    __table_args__ = (
        # Search (app/events/repository.py): the indexes carry every filter column and the
        # id (SQLite's rowid; INCLUDE on PostgreSQL), so a filter is evaluated on index
        # entries, keys are read index-only, and only a page's rows are fetched from the table.
        # Per camera set and time range, ordered by start within each camera:
        Index(
            "ix_event_camera_start",
            *("camera_id", "start", "end", "label", "color", "confidence"),
            postgresql_include=["id"],
        ),
        # In time order across all cameras, for camera sets that cover most of the city:
        Index(
            "ix_event_start",
            *("start", "camera_id", "end", "label", "color", "confidence"),
            postgresql_include=["id"],
        ),
        # Per class, then as the first: a rare class costs what it matches, not the window.
        Index(
            "ix_event_label_camera_start",
            "label",
            "camera_id",
            "start",
            "end",
            "color",
            "confidence",
            postgresql_include=["id"],
        ),
        Index("ix_event_segment", "segment_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(EVENT_PK, primary_key=True))
    camera_id: int = Field(sa_column=Column(Integer, ForeignKey("camera.id"), nullable=False))
    segment_id: int = Field(sa_column=Column(Integer, ForeignKey("segment.id"), nullable=False))
    track_id: int
    label: str = Field(sa_column=Column(String(16), nullable=False))
    color: str | None = Field(default=None, sa_column=Column(String(16)))
    start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    best_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    confidence: float
    box_x1: float
    box_y1: float
    box_x2: float
    box_y2: float
    thumbnail_key: str | None = Field(default=None, sa_column=Column(String(512)))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class EventBound(SQLModel, table=True):
    """The longest event seen per camera, kept by database triggers on `event` (migration
    0005) so every writer keeps it right. Search bounds the start of an overlap query by it:
    an event overlapping [from, to) started at or after `from - max_duration_s`. Deleting
    events never lowers it (it stays an upper bound)."""

    __tablename__ = "event_bound"

    camera_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    max_duration_s: float = Field(nullable=False)


class EventHourly(SQLModel, table=True):
    """Events per camera and UTC hour (by start; the hour as a number, so buckets are integer
    arithmetic), per label; kept by triggers on `event` (insert and delete). Serves histograms
    without counting raw events."""

    __tablename__ = "event_hourly"
    # SQLite: the rows live in the primary-key b-tree, so a camera's hours are one range read.
    # PostgreSQL: the same through a covering index (an index-only scan, no heap visits).
    __table_args__ = (
        Index(
            "ix_event_hourly_cover",
            "camera_id",
            "hour",
            unique=True,
            postgresql_include=[f"n_{label}" for label in ("all", *LABELS)],
        ).ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )

    camera_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    hour: int = Field(
        sa_column=Column(Integer, primary_key=True, autoincrement=False),
        description="hours since 1970-01-01T00:00Z",
    )
    n_all: int = 0
    n_person: int = 0
    n_bicycle: int = 0
    n_car: int = 0
    n_motorcycle: int = 0
    n_bus: int = 0
    n_truck: int = 0
