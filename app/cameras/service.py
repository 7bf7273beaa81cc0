"""Registering and changing cameras. Every change is audited in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.audit.service import record
from app.auth.principal import Principal
from app.cameras import repository
from app.cameras.models import Camera, CameraStatus
from app.cameras.policy import CameraPolicy
from app.cameras.schemas import CameraCreate, CameraPublic, CameraUpdate, check_stream_url
from app.db import utcnow
from app.errors import BadRequest, NotFound, Unprocessable
from app.identity import repository as identity
from app.identity.models import OrgKind
from app.security import SecretBox


def to_public(camera: Camera, distance_m: float | None = None) -> CameraPublic:
    data = camera.model_dump(exclude={"stream_url_encrypted"})
    return CameraPublic(**data, has_stream=bool(camera.stream_url_encrypted), distance_m=distance_m)


def _stream(value: str | None, allow_file: bool) -> str | None:
    try:
        return check_stream_url(value, allow_file=allow_file)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="invalid_stream_url") from None


def _owner_org(session: Session, principal: Principal, requested: int | None) -> int:
    own = repository.owner_scope(principal)
    if own is not None:
        if requested is not None and requested != own:
            raise Unprocessable("a ward registers cameras for itself only", code="invalid_org")
        return own
    if requested is None:
        raise Unprocessable("org_id (the owning ward) is required", code="org_required")
    org = identity.get_org(session, requested)
    if org is None or org.kind != OrgKind.ward:
        raise Unprocessable(f"organisation {requested} is not a ward", code="invalid_org")
    return requested


def get_for(
    session: Session, principal: Principal, camera_id: int, *, manage: bool, action: str
) -> Camera:
    camera = repository.get(session, camera_id)
    if camera is None:
        raise NotFound(f"camera {camera_id} does not exist", code="camera_not_found")
    CameraPolicy.check(principal, camera, manage=manage, action=action)
    return camera


def create(
    session: Session,
    principal: Principal,
    data: CameraCreate,
    box: SecretBox,
    *,
    allow_file_streams: bool,
) -> Camera:
    stream = _stream(data.stream_url, allow_file_streams)
    camera = Camera(
        **data.model_dump(exclude={"stream_url", "org_id"}),
        org_id=_owner_org(session, principal, data.org_id),
        stream_url_encrypted=box.encrypt(stream) if stream else None,
    )
    repository.save(session, camera)
    record(
        session,
        principal,
        "camera.create",
        target_type="camera",
        target_id=camera.id,
        camera_ids=[camera.id] if camera.id else [],
        details={"name": camera.name, "stream_url_set": stream is not None},
    )
    return camera


def update(
    session: Session,
    principal: Principal,
    camera: Camera,
    data: CameraUpdate,
    box: SecretBox,
    *,
    allow_file_streams: bool,
) -> Camera:
    changes: dict[str, Any] = data.model_dump(exclude_unset=True)
    if not changes:
        raise BadRequest("nothing to change", code="empty_update")
    for key in (
        "name",
        "latitude",
        "longitude",
        "timezone",
        "retention_days",
        "sharing_policy",
        "status",
        "clock_offset_s",
        "address",
    ):
        if key in changes and changes[key] is None:
            raise Unprocessable(f"{key} cannot be null", code="invalid_input")
    changed = sorted(changes)
    if "stream_url" in changes:
        stream = _stream(changes.pop("stream_url"), allow_file_streams)
        camera.stream_url_encrypted = box.encrypt(stream) if stream else None
    for key, value in changes.items():
        setattr(camera, key, value)
    camera.updated_at = utcnow()
    repository.save(session, camera)
    record(
        session,
        principal,
        "camera.update",
        target_type="camera",
        target_id=camera.id,
        camera_ids=[camera.id] if camera.id else [],
        details={"fields": changed},
    )
    return camera


def retire(session: Session, principal: Principal, camera: Camera) -> Camera:
    """Cameras are retired, never erased: their footage and audit trail must stay readable."""
    camera.status = CameraStatus.retired
    camera.updated_at = utcnow()
    repository.save(session, camera)
    record(
        session,
        principal,
        "camera.retire",
        target_type="camera",
        target_id=camera.id,
        camera_ids=[camera.id] if camera.id else [],
    )
    return camera
