"""Footage upload, coverage and segment state.

The upload endpoint streams the body to a spool file while hashing it, and holds no database
transaction while bytes are arriving (SQLite has one writer at a time; a slow upload must not
stall everyone else).
"""

from __future__ import annotations

import logging
import os
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.audit.service import record
from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cameras.models import Camera, CameraStatus
from app.cameras.policy import CameraPolicy
from app.cameras.service import get_for
from app.deps import ContextDep, IdPath, SessionDep
from app.errors import ApiError, NotFound, Unprocessable
from app.footage import repository, service
from app.footage.models import Segment, SegmentSource
from app.footage.schemas import Coverage, Gap, SegmentPublic
from ingest.errors import IngestError
from ingest.hashing import SpoolWriter
from ingest.probe import probe

log = logging.getLogger(__name__)
router = APIRouter(tags=["footage"])

CHUNK = 1 << 20
INGEST_STATUS = {"too_large": 413}


def ingest_error(exc: IngestError) -> ApiError:
    return ApiError(exc.detail, code=exc.code, status_code=INGEST_STATUS.get(exc.code, 422))


def _camera_for_upload(session, principal: Principal, camera_id: int) -> Camera:  # type: ignore[no-untyped-def]
    camera = get_for(session, principal, camera_id, manage=True, action=Action.footage_upload)
    if camera.status == CameraStatus.retired:
        raise Unprocessable(f"camera {camera_id} is retired", code="camera_retired")
    return camera


@router.post(
    "/cameras/{camera_id}/footage",
    status_code=201,
    response_model=SegmentPublic,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "video/mp4": {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def upload_footage(
    camera_id: IdPath,
    request: Request,
    response: Response,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.footage_upload))],
    start: Annotated[datetime | None, Query(description="ISO 8601 with offset")] = None,
    filename: Annotated[str | None, Query(max_length=255)] = None,
) -> SegmentPublic:
    """Upload one video file as the request body. 201 with the new segment; 200 with the
    existing one when the same bytes were already stored for this camera."""
    if start is not None:
        service.check_start(start)
    camera = await run_in_threadpool(_camera_for_upload, session, principal, camera_id)
    await run_in_threadpool(session.commit)  # nothing held while the body streams in
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(
            f"file is {declared} bytes; the limit is {limit}", code="too_large", status_code=413
        )
    spool_dir = ctx.settings.data_dir / "spool"
    spool_dir.mkdir(parents=True, exist_ok=True)
    name = f"upload-{os.getpid()}-{camera_id}-{uuid.uuid4().hex[:12]}"
    writer = SpoolWriter(spool_dir / name, limit, fsync=False)
    try:
        buf = bytearray()
        try:
            async for chunk in request.stream():
                buf += chunk
                if len(buf) >= CHUNK:
                    await run_in_threadpool(writer.write, bytes(buf))
                    buf.clear()
            if buf:
                await run_in_threadpool(writer.write, bytes(buf))
        except ClientDisconnect:
            log.info("upload for camera %s dropped after %d bytes", camera_id, writer.size)
            raise
        if declared is not None and declared.isdigit() and writer.size != int(declared):
            raise Unprocessable(
                "the upload ended before Content-Length bytes arrived", code="incomplete_upload"
            )
        spooled = await run_in_threadpool(writer.commit)
    except IngestError as exc:
        writer.abort()
        raise ingest_error(exc) from None
    except BaseException:
        writer.abort()
        raise
    try:
        result = await run_in_threadpool(
            _register, ctx, session, principal, camera, spooled, start, filename
        )
    finally:
        spooled.path.unlink(missing_ok=True)
    segment, job, created = result
    if created and job is not None and job.id is not None:
        dispatcher = ctx.extras.get("dispatcher")
        if dispatcher is not None:
            dispatcher.enqueue(job.id)  # type: ignore[attr-defined]
    if not created:
        response.status_code = 200
    return service.to_public(segment, job)


def _register(ctx, session, principal, camera, spooled, start, filename):  # type: ignore[no-untyped-def]
    try:
        info = probe(spooled.path)
    except IngestError as exc:
        raise ingest_error(exc) from None
    source = "request"
    if start is None:
        if info.creation_time is None:
            raise Unprocessable(
                "no start time: pass ?start=ISO8601 (the file has no creation "
                "time in its metadata)",
                code="no_start_time",
            )
        start, source = info.creation_time, "metadata"
    segment, job, created = service.store_segment(
        session,
        ctx.store,
        principal,
        camera,
        spooled,
        info,
        start_raw=start,
        start_source=source,
        source=SegmentSource.upload,
        original_name=filename,
        max_attempts=ctx.settings.job_max_attempts,
    )
    try:
        session.commit()
    except BaseException:
        if created:
            ctx.store.delete(segment.object_key)
        raise
    if created:
        service.lock_original(ctx.store, segment, camera, ctx.settings.object_lock_mode)
    return segment, job, created


MAX_COVERAGE = timedelta(days=31)


@router.get("/cameras/{camera_id}/footage", response_model=Coverage)
def footage_coverage(
    camera_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.footage_list))],
    from_: Annotated[datetime, Query(alias="from")],
    to: datetime,
) -> Coverage:
    """The segments that overlap [from, to) and the gaps between them."""
    if from_.tzinfo is None or to.tzinfo is None:
        raise Unprocessable("from and to need a UTC offset", code="invalid_window")
    if to <= from_:
        raise Unprocessable("to must be after from", code="invalid_window")
    if to - from_ > MAX_COVERAGE:
        raise Unprocessable("window longer than 31 days", code="window_too_long")
    camera = get_for(session, principal, camera_id, manage=False, action=Action.footage_list)
    segments = repository.overlapping(session, camera_id, from_, to)
    if not CameraPolicy.can_manage(principal, camera):
        record(
            session,
            principal,
            "footage.list",
            target_type="camera",
            target_id=camera_id,
            camera_ids=[camera_id],
            details={"from": from_.isoformat(), "to": to.isoformat(), "segments": len(segments)},
        )
    gaps: list[Gap] = []
    cursor, covered = from_, 0.0
    for seg in segments:
        if seg.start > cursor:
            gaps.append(
                Gap(start=cursor, end=seg.start, seconds=(seg.start - cursor).total_seconds())
            )
        lo, hi = max(seg.start, cursor), min(seg.end, to)
        if hi > lo:
            covered += (hi - lo).total_seconds()
        cursor = max(cursor, seg.end)
    if cursor < to:
        gaps.append(Gap(start=cursor, end=to, seconds=(to - cursor).total_seconds()))
    items = [service.to_public(s, repository.job_for(session, s.id or 0)) for s in segments]
    return Coverage(
        camera_id=camera_id, start=from_, end=to, covered_seconds=covered, segments=items, gaps=gaps
    )


@router.get("/segments/{segment_id}", response_model=SegmentPublic)
def get_segment(
    segment_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.segment_read))],
) -> SegmentPublic:
    segment = session.get(Segment, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist", code="segment_not_found")
    get_for(session, principal, segment.camera_id, manage=False, action=Action.segment_read)
    return service.to_public(segment, repository.job_for(session, segment_id))


def clean_spool(spool_dir: Path) -> int:
    """Remove uploads left by a server process that died mid-upload (its pid is gone)."""
    if not spool_dir.is_dir():
        return 0
    removed = 0
    for path in spool_dir.iterdir():
        parts = path.name.split("-")
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        pid = int(parts[1])
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            path.unlink(missing_ok=True)
            removed += 1
        except PermissionError:
            pass
    return removed
