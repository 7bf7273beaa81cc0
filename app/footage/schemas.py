"""Segments and coverage as clients see them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


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
    ingested_by: int | None
    ingested_at: datetime
    job: JobPublic | None = None


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
