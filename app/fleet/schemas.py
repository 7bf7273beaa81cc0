"""What `GET /cameras/{id}/health` returns: the recorders' view of a camera."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

HEALTH_STATES = (
    "recording",  # segments are being stored
    "connecting",  # a recorder just took the stream
    "reconnecting",  # the stream dropped or would not open; retrying with backoff
    "offline",  # not recording for longer than the recorder's offline threshold
    "auth_failed",  # the camera refused the credentials (retried rarely: accounts lock)
    "unassigned",  # no worker records it (none running, or all at capacity)
    "refused",  # a worker will not open this URL (file:// not allowed, undecryptable)
    "stopped",  # the recorder ended; a worker takes the stream again at its next poll
    "unconfigured",  # an active camera without a stream URL
    "inactive",  # retired or in maintenance: not recorded
)


class Measured(BaseModel):
    """From the last segment's packets (stream copy: nothing decoded)."""

    codec: str | None
    width: int | None
    height: int | None
    fps: float | None
    bitrate_bps: int | None


class StreamHealth(BaseModel):
    stream: str = Field(description="main (recorded as footage) or detect (sub-stream)")
    state: str = Field(description=" | ".join(HEALTH_STATES))
    since: datetime
    offline_since: datetime | None = Field(
        description="when the stream was last seen recording, while it is not"
    )
    error: str | None = Field(description="why it is down: auth_failed, refused, timeout, ...")
    detail: str | None
    last_segment_end: datetime | None
    segments: int = Field(description="segments this stream's current recorder stored")
    measured: Measured
    declared_fps: float | None = Field(description="the frame rate the stream declares")
    fps_ok: bool | None = Field(description="measured fps at least 90 % of the declared one")
    lag_s: float | None = Field(description="how far behind the clock the last segment closed")
    takeovers: int = Field(description="times another worker took it over from a dead one")


class Gaps(BaseModel):
    """Holes in the main-stream footage over a window (from the camera's registration on)."""

    window_s: float
    recorded_s: float
    gap_s: float
    gaps: int
    longest_gap_s: float


class IndexHealth(BaseModel):
    backlog: int = Field(description="segments waiting for their index job")
    lag_s: float | None = Field(description="age of the oldest segment not yet indexed")


class CameraHealth(BaseModel):
    camera_id: int
    state: str = Field(description="of the main stream: " + " | ".join(HEALTH_STATES))
    offline_since: datetime | None
    last_segment_end: datetime | None
    streams: list[StreamHealth]
    gaps_24h: Gaps
    gaps_7d: Gaps
    index: IndexHealth


class HealthBrief(BaseModel):
    """The camera list's one-line health (owners and admins only)."""

    state: str
    offline_since: datetime | None
    last_segment_end: datetime | None
