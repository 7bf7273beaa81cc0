"""Live recording: pull a camera's stream and register each closed segment like an upload."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.audit.service import Batch
from app.cameras import repository as cameras
from app.cameras.models import CameraStatus
from app.context import AppContext
from app.db import read_session
from app.footage import service
from app.footage.models import Segment, SegmentSource, SegmentStream
from ingest.errors import IngestError
from ingest.hashing import Spooled
from ingest.probe import ProbeResult, probe
from ingest.recorder import RecordedSegment, RecordSummary, record

log = logging.getLogger(__name__)


class RecordingAborted(Exception):
    pass


def stream_url(ctx: AppContext, camera_id: int) -> str:
    with read_session(ctx.engine) as session:
        camera = cameras.get(session, camera_id)
        if camera is None:
            raise RecordingAborted(f"camera {camera_id} does not exist")
        if camera.status == CameraStatus.retired:
            raise RecordingAborted(f"camera {camera_id} is retired")
        if not camera.stream_url_encrypted:
            raise RecordingAborted(f"camera {camera_id} has no stream URL")
        return ctx.secret_box.decrypt(camera.stream_url_encrypted)


Fence = Callable[[Session], bool]
"""Called in the transaction that stores a segment: False drops it (the recorder's lease on
the stream is gone, so another recorder owns the camera now: `app.fleet`)."""


def facts(camera_id: int, rec: RecordedSegment) -> ProbeResult | None:
    """What the segment's file is: the recorder's own facts (known from writing it) as they
    are, else a probe. None for a file that cannot be used, which is removed."""
    try:
        return rec.facts if rec.facts is not None else probe(rec.path)
    except IngestError as exc:
        log.warning("camera %s: recorded segment unusable (%s); dropped", camera_id, exc.code)
        rec.path.unlink(missing_ok=True)
        return None


def store_in(
    session: Session,
    ctx: AppContext,
    camera_id: int,
    rec: RecordedSegment,
    info: ProbeResult,
    audit: Batch,
    *,
    stream: SegmentStream = SegmentStream.main,
    fence: Fence | None = None,
    savepoint: bool = True,
) -> Segment | None:
    """Store one recorded segment in the caller's transaction, in a savepoint of its own, so
    that a segment dropped (the fence refuses it, or its (camera, stream, start) is stored
    already) leaves the transaction's other segments as they are. Its audit entry goes into
    `audit`, for the caller to write last. The local file is left to the caller.

    `savepoint=False` (`StoreQueue`: two statements fewer a segment, and each statement
    waits for a CPU on a busy node): a segment stored already raises `IntegrityError`, which
    spoils the whole transaction; the caller then stores each segment again alone. A fence
    that refuses changes nothing, so it needs no savepoint."""
    try:
        with session.begin_nested() if savepoint else nullcontext():
            if fence is not None and not fence(session):
                log.warning("camera %s %s: lease lost; segment not stored", camera_id, stream)
                return None
            camera = cameras.get(session, camera_id)
            assert camera is not None
            segment, _, _ = service.store_segment(
                session,
                ctx.store,
                None,
                camera,
                Spooled(rec.path, rec.sha256, rec.size),
                info,
                start_raw=rec.start_utc,
                start_source="stream",
                source=SegmentSource.record,
                original_name=rec.path.name,
                truncated=rec.truncated,
                truncated_reason=rec.reason,
                camera_clock=False,
                max_attempts=ctx.settings.job_max_attempts,
                lock_mode=ctx.settings.object_lock_mode,
                stream=stream,
                take_file=True,  # the recorder's own closed file: no copy of its bytes
                audit=audit,
                savepoint=False,  # this one's own is enough
            )
    except IntegrityError:
        if not savepoint:
            raise
        log.warning(
            "camera %s %s: a segment starting %s is stored already; dropped",
            camera_id,
            stream,
            rec.start_utc.isoformat(),
        )
        return None
    return segment


def register(
    ctx: AppContext,
    camera_id: int,
    rec: RecordedSegment,
    *,
    stream: SegmentStream = SegmentStream.main,
    fence: Fence | None = None,
) -> Segment | None:
    """Store one recorded segment in a transaction of its own; the local file is removed
    either way. Its indexing job is announced through the context's dispatcher once the
    segment is committed. A segment the fence refuses, or whose (camera, stream, start) is
    already stored, is dropped.

    The fence runs in the transaction that stores the segment, and what it writes is undone
    with it (`app.fleet` counts the segment into the stream's health there). The audit entry is
    written last, because it takes the audit chain's head, which every store of every worker
    waits for until this transaction commits: nothing may follow it. (Many recorders in one
    process store through a `StoreQueue` instead: one transaction for several segments.)"""
    info = facts(camera_id, rec)
    if info is None:
        return None
    try:
        with ctx.transaction() as session:
            audit = Batch()
            segment = store_in(
                session, ctx, camera_id, rec, info, audit, stream=stream, fence=fence
            )
            audit.write(session)
    finally:
        rec.path.unlink(missing_ok=True)
    return segment


def record_camera(
    ctx: AppContext,
    camera_id: int,
    *,
    stop: threading.Event,
    segment_seconds: float | None = None,
    max_segments: int | None = None,
    realtime: bool = False,
    speed: float = 1.0,
    on_segment: Callable[[Segment], None] | None = None,
    reconnect_backoff: tuple[float, ...] = (1, 2, 4, 8, 30),
    file_start: datetime | None = None,
) -> RecordSummary:
    """Record the camera's stream until `stop` (or `max_segments`), storing each segment.

    `file_start` (file streams only): stamp the file by its own clock from this UTC moment
    (its first frame) and read it once, as fast as it decodes. Without it a file is paced at
    real time, so that wall-clock stamps never lie in the future (issue 15 item 1)."""
    url = stream_url(ctx, camera_id)
    if url.startswith("file:") and not ctx.settings.allow_file_streams:
        raise RecordingAborted(
            "file:// stream URLs are allowed only with WARDCAM_ALLOW_FILE_STREAMS=1"
        )
    out_dir = ctx.settings.data_dir / "recording" / f"cam{camera_id}"
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*"):  # left by a crash: never registered, so not evidence
        stale.unlink(missing_ok=True)

    def closed(rec: RecordedSegment) -> None:
        segment = register(ctx, camera_id, rec)
        if segment is not None and on_segment:
            on_segment(segment)

    return record(
        url,
        out_dir,
        segment_seconds or ctx.settings.segment_seconds,
        on_segment=closed,
        stop=stop,
        max_segments=max_segments,
        realtime=realtime,
        speed=speed,
        reconnect_backoff=reconnect_backoff,
        prefix=f"cam{camera_id}",
        file_start=file_start,
    )
