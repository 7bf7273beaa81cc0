"""Footage upload, coverage and segment state.

The upload endpoint streams the body to a spool file while hashing it, and holds no database
transaction while bytes are arriving (SQLite has one writer at a time; a slow upload must not
stall everyone else).
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import ContextDep, IdPath, SessionDep
from app.errors import ApiError, Unprocessable
from app.footage import service
from app.footage.schemas import Coverage, SegmentCorrection, SegmentPublic
from app.leftovers import left_behind, mark
from app.limits import body_chunks, refuse_multipart
from app.text import CleanStr
from app.timewindow import StartTime, WindowTime
from ingest.errors import IngestError
from ingest.hashing import SpoolWriter

log = logging.getLogger(__name__)
router = APIRouter(tags=["footage"])

CHUNK = 1 << 20


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
    start: Annotated[StartTime | None, Query(description="ISO 8601 with offset")] = None,
    filename: Annotated[CleanStr | None, Query(max_length=255)] = None,
) -> SegmentPublic:
    """Upload one video file as the request body. 201 with the new segment; 200 with the
    existing one when the same bytes were already stored for this camera."""
    refuse_multipart(request)
    if start is not None:
        service.check_start(start)
    camera = await run_in_threadpool(service.camera_for_upload, ctx.engine, principal, camera_id)
    limit = ctx.settings.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(
            f"file is {declared} bytes; the limit is {limit}", code="too_large", status_code=413
        )
    spool_dir = ctx.settings.data_dir / "spool"
    spool_dir.mkdir(parents=True, exist_ok=True)
    name = f"upload-{mark()}-{camera_id}-{uuid.uuid4().hex[:12]}"
    writer = SpoolWriter(spool_dir / name, limit, fsync=False)
    try:
        buf = bytearray()
        try:
            async for chunk in body_chunks(request, ctx.settings.body_timeout_s):
                buf += chunk
                if len(buf) >= CHUNK:
                    await run_in_threadpool(writer.write, bytes(buf))
                    buf.clear()
            if buf:
                await run_in_threadpool(writer.write, bytes(buf))
        except ClientDisconnect:
            log.warning("upload for camera %s dropped after %d bytes", camera_id, writer.size)
            raise
        if declared is not None and declared.isdigit() and writer.size != int(declared):
            raise Unprocessable(
                "the upload ended before Content-Length bytes arrived", code="incomplete_upload"
            )
        spooled = await run_in_threadpool(writer.commit)
    except IngestError as exc:
        writer.abort()
        raise service.ingest_error(exc) from None
    except BaseException:
        writer.abort()
        raise
    try:
        segment, job, created = await run_in_threadpool(
            service.register_upload, session, ctx, principal, camera, spooled, start, filename
        )
    finally:
        spooled.path.unlink(missing_ok=True)
    if not created:
        response.status_code = 200
    return await run_in_threadpool(service.upload_public, session, segment, job)


@router.get("/cameras/{camera_id}/footage", response_model=Coverage)
def footage_coverage(
    camera_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.footage_list))],
    from_: Annotated[WindowTime, Query(alias="from")],
    to: WindowTime,
) -> Coverage:
    """The segments that overlap [from, to) and the gaps between them."""
    return service.coverage(session, principal, camera_id, from_, to)


@router.get("/segments/{segment_id}", response_model=SegmentPublic)
def get_segment(
    segment_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.segment_read))],
) -> SegmentPublic:
    return service.get_segment(session, principal, segment_id)


@router.patch("/segments/{segment_id}", response_model=SegmentPublic)
def correct_segment(
    segment_id: IdPath,
    data: SegmentCorrection,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.segment_correct))],
) -> SegmentPublic:
    """Correct the segment's `start` (as the camera's clock shows it, like an upload's) with
    a `reason`; its events move with it. Audited; 409 `segment_in_evidence` once the segment
    is in an evidence package."""
    return service.correct_start(session, principal, segment_id, data)


def clean_spool(spool_dir: Path) -> int:
    """Remove uploads left by a server process of this host that died mid-upload (see
    :mod:`app.leftovers`: another replica's uploads in a shared data folder are its own)."""
    if not spool_dir.is_dir():
        return 0
    removed = 0
    for path in spool_dir.iterdir():
        parts = path.name.split("-")
        if len(parts) >= 2 and left_behind(parts[1]):
            path.unlink(missing_ok=True)
            removed += 1
    return removed
