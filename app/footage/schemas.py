"""Segments and coverage as clients see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from app.text import CleanText
from app.timewindow import StartTime


class JobPublic(BaseModel):
    id: int
    kind: str
    state: str
    attempts: int
    max_attempts: int
    progress_done: int
    progress_total: int
    error: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SegmentPublic(BaseModel):
    id: int
    camera_id: int
    start: datetime
    end: datetime
    start_raw: datetime
    clock_offset_s: float
    start_source: str
    duration_s: float
    sha256: str
    size: int
    container: str
    video_codec: str
    width: int
    height: int
    fps: float | None
    keyframe_interval_s: float | None
    source: str
    stream: str = "main"
    """`main` (footage) or `detect` (a dual-stream camera's sub-stream, decoded for the index)."""
    original_name: str | None
    truncated: bool
    truncated_reason: str | None
    status: str
    index_note: str | None = None
    """What indexing could not read: damaged packets it skipped and where, or the part of
    recordings joined end to end behind the point where the timestamps go back (None: it
    read everything)."""
    ingested_by: int | None
    ingested_at: datetime
    job: JobPublic | None = None
    overlaps: list[int] = []
    """Other segments of the camera whose time overlaps this one's: a camera records one
    thing at a time, so one of the starts is wrong (correct it: PATCH /segments/{id})."""


class SegmentCorrection(BaseModel):
    """A corrected start for a segment, as the camera's clock shows it (like an upload's
    `start`; the camera's clock offset is applied), and why."""

    model_config = ConfigDict(extra="forbid")
    start: StartTime
    reason: Annotated[CleanText, StringConstraints(min_length=10, max_length=2000)]


class Overlap(BaseModel):
    segment_ids: tuple[int, int]
    start: datetime
    end: datetime
    seconds: float


class Gap(BaseModel):
    start: datetime
    end: datetime
    seconds: float


class Coverage(BaseModel):
    camera_id: int
    start: datetime
    end: datetime
    covered_seconds: float
    segments: list[SegmentPublic]
    gaps: list[Gap]
    overlaps: list[Overlap] = []
    """Segments of this window whose times overlap (each pair once)."""
