"""HTTP routes of the camera registry; parsing and checks only, the work is in `service`."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.audit import repository as audit
from app.audit.service import record
from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cameras import repository, service
from app.cameras.models import CameraStatus
from app.cameras.schemas import (
    AccessLogEntry,
    AccessLogPage,
    CameraCreate,
    CameraPage,
    CameraPublic,
    CameraUpdate,
)
from app.deps import MAX_ID, ContextDep, IdPath, SessionDep
from app.errors import Unprocessable
from app.fleet import service as fleet
from app.geo import GeoError, check_radius, parse_bbox, parse_near

router = APIRouter(prefix="/cameras", tags=["cameras"])


def _cursor(text: str) -> int:
    if not text.isdigit() or int(text) > MAX_ID:
        raise Unprocessable("cursor is not valid", code="invalid_cursor")
    return int(text)


def _geo(exc: GeoError) -> Unprocessable:
    return Unprocessable(exc.detail, code=exc.code)


@router.post("", status_code=201, response_model=CameraPublic)
def create_camera(
    data: CameraCreate,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.camera_create))],
) -> CameraPublic:
    camera = service.create(
        session, principal, data, ctx.secret_box, allow_file_streams=ctx.settings.allow_file_streams
    )
    return service.to_public(camera)


@router.get("", response_model=CameraPage)
def list_cameras(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.camera_list))],
    near: Annotated[str | None, Query(description="lat,lon", max_length=64)] = None,
    radius_m: Annotated[float | None, Query(description="with near; metres")] = None,
    bbox: Annotated[
        str | None, Query(description="minLon,minLat,maxLon,maxLat", max_length=128)
    ] = None,
    status: CameraStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> CameraPage:
    try:
        point = parse_near(near) if near is not None else None
        if point is not None:
            if radius_m is None:
                raise GeoError("invalid_radius", "near needs radius_m")
            check_radius(radius_m)
        elif radius_m is not None:
            raise GeoError("invalid_near", "radius_m needs near=lat,lon")
        box = parse_bbox(bbox) if bbox is not None else None
    except GeoError as exc:
        raise _geo(exc) from None
    if point is not None and box is not None:
        raise Unprocessable("give either near+radius_m or bbox, not both", code="invalid_place")
    after_id = None
    if cursor is not None:
        after_id = _cursor(cursor)
    found = repository.list_visible(
        session,
        principal,
        near=point,
        radius_m=radius_m,
        bbox=box,
        status=status,
        after_id=after_id,
        limit=limit,
    )
    if (point or box) and repository.owner_scope(principal) is None:  # across owners
        record(
            session,
            principal,
            "camera.search",
            target_type="camera",
            details={"near": near, "radius_m": radius_m, "bbox": bbox, "results": len(found)},
            camera_ids=[c.id for c, _ in found if c.id is not None],
        )
    health = fleet.briefs(session, principal, [c for c, _ in found])
    items = [service.to_public(c, d) for c, d in found]
    for item in items:
        item.health = health.get(item.id)
    next_cursor = None
    if point is None and len(found) == limit and found[-1][0].id is not None:
        next_cursor = str(found[-1][0].id)
    return CameraPage(items=items, next_cursor=next_cursor)


@router.get("/{camera_id}", response_model=CameraPublic)
def get_camera(
    camera_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.camera_read))],
) -> CameraPublic:
    camera = service.get_for(
        session, principal, camera_id, manage=False, action=Action.camera_read.value
    )
    return service.to_public(camera)


@router.patch("/{camera_id}", response_model=CameraPublic)
def update_camera(
    camera_id: IdPath,
    data: CameraUpdate,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.camera_update))],
) -> CameraPublic:
    camera = service.get_for(
        session, principal, camera_id, manage=True, action=Action.camera_update.value
    )
    camera = service.update(
        session,
        principal,
        camera,
        data,
        ctx.secret_box,
        allow_file_streams=ctx.settings.allow_file_streams,
    )
    return service.to_public(camera)


@router.delete("/{camera_id}", response_model=CameraPublic)
def retire_camera(
    camera_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.camera_delete))],
) -> CameraPublic:
    camera = service.get_for(
        session, principal, camera_id, manage=True, action=Action.camera_delete.value
    )
    return service.to_public(service.retire(session, principal, camera))


@router.get("/{camera_id}/access-log", response_model=AccessLogPage)
def camera_access_log(
    camera_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.camera_access_log))],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
    recorded: Annotated[
        bool, Query(description="also the service's entry for each segment it recorded")
    ] = False,
) -> AccessLogPage:
    """Every search hit, request, download and change touching this camera, newest first;
    with `recorded=true` also each segment recorded from its stream (one a minute per stream
    of a live camera)."""
    service.get_for(
        session, principal, camera_id, manage=True, action=Action.camera_access_log.value
    )
    before = None
    if cursor is not None:
        before = _cursor(cursor)
    rows = audit.for_camera(session, camera_id, before_id=before, limit=limit, recorded=recorded)
    items = [
        AccessLogEntry(
            seq=e.seq,
            ts=e.ts,
            action=e.action,
            outcome=e.outcome,
            actor_user_id=e.actor_user_id,
            actor_role=e.actor_role,
            actor_org_id=e.actor_org_id,
            target_type=e.target_type,
            target_id=e.target_id,
            case_id=e.case_id,
            purpose=e.purpose,
            details=json.loads(e.details),
        )
        for e in rows
    ]
    next_cursor = str(rows[-1].id) if len(rows) == limit and rows[-1].id else None
    return AccessLogPage(items=items, next_cursor=next_cursor)
