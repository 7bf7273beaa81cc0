"""Registering and changing cameras. Every change is audited in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from app.audit.service import record
from app.auth.principal import Principal
from app.cameras import repository
from app.cameras.models import Camera, CameraStatus
from app.cameras.policy import CameraPolicy
from app.cameras.schemas import (
    CameraCreate,
    CameraPublic,
    CameraUpdate,
    StreamSource,
    check_stream_url,
)
from app.db import utcnow
from app.errors import BadRequest, NotFound, Unprocessable
from app.identity import repository as identity
from app.identity.models import OrgKind
from app.security import SecretBox
from ingest.vendors import build_rtsp_url


def to_public(camera: Camera, distance_m: float | None = None) -> CameraPublic:
    data = camera.model_dump(exclude={"stream_url_encrypted", "detect_url_encrypted"})
    return CameraPublic(
        **data,
        has_stream=bool(camera.stream_url_encrypted),
        has_detect_stream=bool(camera.detect_url_encrypted),
        distance_m=distance_m,
    )


def _from_source(source: StreamSource) -> tuple[str, str | None]:
    """(main URL, sub URL or None) of a vendor source; a bad one is a 422."""
    password = source.password.get_secret_value() if source.password else None
    try:
        urls = [
            build_rtsp_url(
                source.vendor,
                source.host,
                channel=source.channel,
                stream=kind,
                user=source.user,
                password=password,
                port=source.port,
                path=source.path,
                tls=source.tls,
            )
            for kind in (("main", "sub") if source.detect_stream else ("main",))
        ]
    except ValueError as exc:
        raise Unprocessable(f"stream source: {exc}", code="invalid_stream_url") from None
    return urls[0], urls[1] if len(urls) > 1 else None


def _streams(
    data: CameraCreate | CameraUpdate, changes: dict[str, Any], box: SecretBox, allow_file: bool
) -> dict[str, Any]:
    """The encrypted stream columns (and vendor/channel) to set from what the client sent."""
    out: dict[str, Any] = {}
    if data.source is not None:
        if "stream_url" in changes or "detect_stream_url" in changes:
            raise Unprocessable(
                "give either source or stream_url/detect_stream_url", code="invalid_stream_url"
            )
        main, sub = _from_source(data.source)
        out["stream_url_encrypted"] = box.encrypt(main)
        out["detect_url_encrypted"] = box.encrypt(sub) if sub else None
        out["vendor"], out["channel"] = data.source.vendor, data.source.channel
        return out
    if "stream_url" in changes:
        main_url = _stream(changes["stream_url"], allow_file)
        out["stream_url_encrypted"] = box.encrypt(main_url) if main_url else None
        out["vendor"] = out["channel"] = None
    if "detect_stream_url" in changes:
        sub_url = _stream(changes["detect_stream_url"], allow_file)
        out["detect_url_encrypted"] = box.encrypt(sub_url) if sub_url else None
    return out


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
    streams = _streams(data, data.model_dump(exclude_unset=True), box, allow_file_streams)
    camera = Camera(
        **data.model_dump(exclude={"stream_url", "detect_stream_url", "source", "org_id"}),
        org_id=_owner_org(session, principal, data.org_id),
        **streams,
    )
    if camera.detect_url_encrypted and not camera.stream_url_encrypted:
        raise Unprocessable("a detect stream needs a record stream", code="invalid_stream_url")
    repository.save(session, camera)
    record(
        session,
        principal,
        "camera.create",
        target_type="camera",
        target_id=camera.id,
        camera_ids=[camera.id] if camera.id else [],
        details={
            "name": camera.name,
            "stream_url_set": camera.stream_url_encrypted is not None,
            "detect_stream_url_set": camera.detect_url_encrypted is not None,
            **({"vendor": camera.vendor} if camera.vendor else {}),
        },
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
    for key, value in _streams(data, changes, box, allow_file_streams).items():
        setattr(camera, key, value)
    for key in ("stream_url", "detect_stream_url", "source"):
        changes.pop(key, None)
    if camera.detect_url_encrypted and not camera.stream_url_encrypted:
        raise Unprocessable("a detect stream needs a record stream", code="invalid_stream_url")
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
