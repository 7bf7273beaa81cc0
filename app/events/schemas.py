"""What event search returns."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class EventCamera(BaseModel):
    id: int
    name: str
    latitude: float
    longitude: float
    timezone: str


class Box(BaseModel):
    """Normalised to the frame: 0..1 from the top-left corner."""

    x1: float
    y1: float
    x2: float
    y2: float


class EventPublic(BaseModel):
    id: int
    camera: EventCamera
    segment_id: int
    track_id: int
    label: str
    color: str | None
    confidence: float
    start: datetime = Field(description="UTC")
    end: datetime = Field(description="UTC")
    start_local: datetime = Field(description="in the camera's time zone")
    end_local: datetime = Field(description="in the camera's time zone")
    best_at: datetime
    box: Box
    thumbnail_url: str | None


class EventPage(BaseModel):
    items: list[EventPublic]
    next_cursor: str | None = Field(
        default=None, description="pass as ?cursor= with the same filters for the next page"
    )
    cameras_searched: int


class CameraCounts(BaseModel):
    camera_id: int
    name: str
    total: int
    counts: list[int] = Field(description="one count per bucket, in bucket order")


class Histogram(BaseModel):
    start: datetime = Field(description="the window's start: the first bucket begins here")
    end: datetime
    bucket_seconds: int
    buckets: int
    cameras: list[CameraCounts] = Field(description="cameras with at least one event")
    cameras_searched: int
    total: int
