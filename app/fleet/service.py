"""A camera's health as its recorders keep it: state, last segment, measurements, gaps, and
how far its indexing lags. Read-only: the recorders write it (`app.fleet.supervisor`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from app.auth.policy import Action
from app.auth.principal import Principal
from app.cameras import service as cameras
from app.cameras.models import Camera, CameraStatus
from app.cameras.policy import CameraPolicy
from app.db import utcnow
from app.fleet import repository
from app.fleet.models import CameraStream
from app.fleet.schemas import CameraHealth, Gaps, HealthBrief, IndexHealth, Measured, StreamHealth

FPS_OK = 0.9
LIVE_STATES = frozenset({"recording", "connecting", "reconnecting", "offline", "auth_failed"})


def stream_state(row: CameraStream, now: datetime) -> str:
    """A stream whose worker's lease ran out is not recorded by anyone, whatever it said."""
    if row.worker is None or row.lease_until is None or row.lease_until < now:
        return row.state if row.state == "refused" else "unassigned"
    return row.state


def camera_state(camera: Camera, rows: Sequence[CameraStream], now: datetime) -> str:
    if camera.status != CameraStatus.active:
        return "inactive"
    if not camera.stream_url_encrypted:
        return "unconfigured"
    main = next((r for r in rows if r.stream == repository.MAIN), None)
    return "unassigned" if main is None else stream_state(main, now)


def _offline_since(row: CameraStream, state: str) -> datetime | None:
    if state == "recording":
        return None
    return row.down_since or row.last_segment_end or row.state_since


def _stream(row: CameraStream, now: datetime) -> StreamHealth:
    state = stream_state(row, now)
    fps_ok = None
    if row.fps is not None and row.declared_fps:
        fps_ok = row.fps >= FPS_OK * row.declared_fps
    return StreamHealth(
        stream=row.stream,
        state=state,
        since=row.state_since,
        offline_since=_offline_since(row, state),
        error=row.error,
        detail=row.detail,
        last_segment_end=row.last_segment_end,
        segments=row.segments,
        measured=Measured(
            codec=row.codec,
            width=row.width,
            height=row.height,
            fps=row.fps,
            bitrate_bps=row.bitrate_bps,
        ),
        declared_fps=row.declared_fps,
        fps_ok=fps_ok,
        lag_s=row.lag_s,
        takeovers=row.takeovers,
    )


def gaps(spans: Sequence[tuple[datetime, datetime]], since: datetime, until: datetime) -> Gaps:
    """Uncovered time in [since, until) given recorded (start, end) spans in time order."""
    window = max(0.0, (until - since).total_seconds())
    cursor, covered, count, longest = since, 0.0, 0, 0.0
    for start, end in spans:
        if start > cursor and start < until:
            hole = (start - cursor).total_seconds()
            count, longest = count + 1, max(longest, hole)
        lo, hi = max(start, cursor), min(end, until)
        if hi > lo:
            covered += (hi - lo).total_seconds()
        cursor = max(cursor, end)
    if cursor < until:
        hole = (until - cursor).total_seconds()
        count, longest = count + 1, max(longest, hole)
    return Gaps(
        window_s=round(window, 3),
        recorded_s=round(covered, 3),
        gap_s=round(max(0.0, window - covered), 3),
        gaps=count,
        longest_gap_s=round(longest, 3),
    )


def _gaps_over(
    session: Session, camera: Camera, main: CameraStream | None, days: int, now: datetime
) -> Gaps:
    assert camera.id is not None
    since = max(now - timedelta(days=days), camera.created_at)
    until = now
    if main is not None and stream_state(main, now) == "recording" and main.last_segment_end:
        until = min(now, main.last_segment_end)  # the segment being recorded is no gap
    return gaps(repository.recorded_spans(session, camera.id, since, until), since, until)


def health(session: Session, principal: Principal, camera_id: int) -> CameraHealth:
    """Owners and admins: what keeps the camera's record, and how it is doing."""
    camera = cameras.get_for(
        session, principal, camera_id, manage=True, action=Action.camera_health.value
    )
    now = utcnow()
    rows = [r for r in repository.of_cameras(session, [camera_id]) if _wanted(camera, r)]
    main = next((r for r in rows if r.stream == repository.MAIN), None)
    state = camera_state(camera, rows, now)
    backlog = repository.index_backlog(session, [camera_id]).get(camera_id, 0)
    oldest = repository.oldest_unindexed(session, [camera_id]).get(camera_id)
    return CameraHealth(
        camera_id=camera_id,
        state=state,
        offline_since=None if main is None else _offline_since(main, state),
        last_segment_end=None if main is None else main.last_segment_end,
        streams=[_stream(r, now) for r in rows],
        gaps_24h=_gaps_over(session, camera, main, 1, now),
        gaps_7d=_gaps_over(session, camera, main, 7, now),
        index=IndexHealth(
            backlog=backlog,
            lag_s=None if oldest is None else round((now - oldest).total_seconds(), 3),
        ),
    )


def _wanted(camera: Camera, row: CameraStream) -> bool:
    if row.stream == repository.DETECT:
        return bool(camera.detect_url_encrypted)
    return bool(camera.stream_url_encrypted)


def briefs(
    session: Session, principal: Principal, found: Sequence[Camera]
) -> dict[int, HealthBrief]:
    """One-line health of the cameras of a list page that the caller manages."""
    mine = [c for c in found if c.id is not None and CameraPolicy.can_manage(principal, c)]
    if not mine:
        return {}
    now = utcnow()
    rows: dict[int, list[CameraStream]] = {}
    for r in repository.of_cameras(session, [c.id for c in mine if c.id is not None]):
        rows.setdefault(r.camera_id, []).append(r)
    out: dict[int, HealthBrief] = {}
    for c in mine:
        assert c.id is not None
        own = [r for r in rows.get(c.id, []) if _wanted(c, r)]
        main = next((r for r in own if r.stream == repository.MAIN), None)
        state = camera_state(c, own, now)
        out[c.id] = HealthBrief(
            state=state,
            offline_since=None if main is None else _offline_since(main, state),
            last_segment_end=None if main is None else main.last_segment_end,
        )
    return out


def recorded_by(session: Session, camera_id: int) -> str | None:
    """The worker recording this camera's main stream now (a live lease), if any."""
    now = utcnow()
    for row in repository.of_cameras(session, [camera_id]):
        if row.stream == repository.MAIN and stream_state(row, now) != "unassigned":
            return row.worker
    return None
