"""What a recorder knows about its camera's health: the connection state, and measurements of
every segment it closes.

Why here: the recorder is the only thing that sees every packet of a camera, so it is where
"is it up, since when, and is it sending what it promised" can be answered cheaply.  These are
plain dataclasses; the service stores them, turns them into ``/cameras/{id}/health``, metrics
and notifications.

States of :class:`StreamStatus` (reported through ``on_status`` only when they change):

* ``connecting`` - the first attempt, nothing received yet;
* ``recording`` - video packets are arriving;
* ``reconnecting`` - the source dropped or could not be opened; retrying with backoff
  (``error`` says why, ``retry_in_s`` when);
* ``offline`` - still not recording ``offline_after_s`` after ``down_since``;
* ``auth_failed`` - the camera refused the credentials (401/403).  Retried only every
  ``auth_retry_s`` (cameras lock an account after a few failed logins);
* ``stopped`` - the recorder returned.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

__all__ = [
    "AUTH_FAILED",
    "CONNECTING",
    "OFFLINE",
    "RECONNECTING",
    "RECORDING",
    "STATES",
    "STOPPED",
    "SegmentStats",
    "StatusTracker",
    "StreamStatus",
]

log = logging.getLogger(__name__)

CONNECTING: Final = "connecting"
RECORDING: Final = "recording"
RECONNECTING: Final = "reconnecting"
OFFLINE: Final = "offline"
AUTH_FAILED: Final = "auth_failed"
STOPPED: Final = "stopped"
STATES: Final = frozenset({CONNECTING, RECORDING, RECONNECTING, OFFLINE, AUTH_FAILED, STOPPED})


@dataclass(frozen=True)
class StreamStatus:
    """One state change of a recorder.  Times are aware UTC from the recorder's clock.

    ``since`` is when this state was entered.  ``down_since`` is when the camera was last
    seen recording (or when the recorder started, if it never was); it is ``None`` only while
    recording, so "offline since" is ``down_since`` in every other state.  ``error`` is a
    code from :data:`ingest.streams.ERROR_CODES` and ``detail`` FFmpeg's words for it; neither
    ever contains the URL.
    """

    state: str
    since: datetime
    down_since: datetime | None = None
    error: str | None = None
    detail: str | None = None
    attempts: int = 0  # consecutive failed opens or sessions
    retry_in_s: float | None = None
    connection: int = 0  # 0-based count of successful opens so far

    @property
    def up(self) -> bool:
        return self.state == RECORDING


@dataclass(frozen=True)
class SegmentStats:
    """Measured over one segment's packets (stream copy: nothing is decoded to get these).

    ``fps`` and ``bitrate_bps`` are what the camera actually sent, to compare with what it
    declared (``declared_fps``, codec, size).  A *gap* is a hole inside the segment: two
    consecutive video frames further apart than ``max(3 frame intervals, 0.5 s)``; ``gap_s``
    is the time missing in those holes.  ``gap_before_s`` is the time between the previous
    segment's end and this one's start (0 when contiguous, ``None`` for the first segment of a
    ``record`` call): a reconnect shows here.  ``lag_s`` is how far behind the wall clock the
    segment's end was when it was closed (network and buffering delay for a live source).
    """

    codec: str
    width: int
    height: int
    declared_fps: float | None
    fps: float
    bitrate_bps: int
    video_bytes: int
    audio_bytes: int
    video_packets: int
    audio_packets: int
    keyframes: int
    gaps: int
    gap_s: float
    max_frame_interval_s: float
    rejected_packets: int  # packets the MP4 muxer refused (odd timestamps)
    corrupt_packets: int  # packets the demuxer flagged as corrupt
    gap_before_s: float | None
    lag_s: float
    audio_codec: str | None = None


class StatusTracker:
    """The recorder's current :class:`StreamStatus`; tells ``on_status`` about changes."""

    def __init__(
        self,
        on_status: Callable[[StreamStatus], None] | None,
        clock: Callable[[], datetime],
        offline_after_s: float,
        label: str = "",
    ) -> None:
        self.label = label  # for the log: a redacted URL, never one with a password
        self.on_status = on_status
        self.clock = clock
        self.offline_after = timedelta(seconds=offline_after_s)
        self.current: StreamStatus | None = None

    def set(
        self,
        state: str,
        *,
        error: str | None = None,
        detail: str | None = None,
        attempts: int = 0,
        retry_in_s: float | None = None,
        connection: int = 0,
    ) -> None:
        now = self.clock()
        prev = self.current
        if state == RECORDING:
            down_since = None
        elif prev is None or prev.down_since is None:
            down_since = now  # just lost (or never had) the stream
        else:
            down_since = prev.down_since
        if prev is not None and prev.state == OFFLINE and state == RECONNECTING:
            state = OFFLINE  # still offline: a further failed attempt changes nothing
        state_changed = prev is None or prev.state != state
        changed = state_changed or (prev is not None and prev.error != error)
        since = now if state_changed or prev is None else prev.since
        self.current = StreamStatus(
            state=state,
            since=since,
            down_since=down_since,
            error=error,
            detail=detail,
            attempts=attempts,
            retry_in_s=retry_in_s,
            connection=connection,
        )
        if changed:
            log.info("%s: %s%s", self.label, state, f" ({error})" if error else "")
            if self.on_status is not None:
                self.on_status(self.current)

    def offline_due_in(self) -> float | None:
        """Seconds until the stream counts as offline (None if it cannot become so now)."""
        cur = self.current
        if cur is None or cur.down_since is None:
            return None
        if cur.state not in (CONNECTING, RECONNECTING):
            return None
        return (cur.down_since + self.offline_after - self.clock()).total_seconds()

    def check_offline(self) -> None:
        due = self.offline_due_in()
        cur = self.current
        if due is not None and due <= 0 and cur is not None:
            self.set(
                OFFLINE,
                error=cur.error,
                detail=cur.detail,
                attempts=cur.attempts,
                retry_in_s=cur.retry_in_s,
                connection=cur.connection,
            )
