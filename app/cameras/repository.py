"""Camera queries, scoped by who asks."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, or_
from sqlmodel import Session, col, select

from app.audit.models import AuditCamera, AuditEntry
from app.auth.principal import Principal
from app.cameras.models import Camera, CameraStatus
from app.geo import BBox, circle_bounds, haversine_m
from app.identity.models import Role


def get(session: Session, camera_id: int) -> Camera | None:
    return session.get(Camera, camera_id)


def _in_box(box: BBox):  # type: ignore[no-untyped-def]
    lon_terms = [
        and_(col(Camera.longitude) >= lo, col(Camera.longitude) <= hi)
        for lo, hi in box.lon_ranges()
    ]
    return and_(
        col(Camera.latitude) >= box.min_lat, col(Camera.latitude) <= box.max_lat, or_(*lon_terms)
    )


def list_visible(
    session: Session,
    principal: Principal,
    *,
    near: tuple[float, float] | None = None,
    radius_m: float | None = None,
    bbox: BBox | None = None,
    status: CameraStatus | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[tuple[Camera, float | None]]:
    """Cameras the principal may see; with `near`, nearest first and with distances."""
    stmt = select(Camera)
    if principal.role is Role.ward:
        stmt = stmt.where(Camera.org_id == principal.org_id)
    if status is not None:
        stmt = stmt.where(Camera.status == status)
    if bbox is not None:
        stmt = stmt.where(_in_box(bbox))
    if near is not None and radius_m is not None:
        stmt = stmt.where(_in_box(circle_bounds(near[0], near[1], radius_m)))
        found: list[tuple[Camera, float | None]] = []
        for cam in session.exec(stmt).all():
            d = haversine_m(near[0], near[1], cam.latitude, cam.longitude)
            if d <= radius_m:
                found.append((cam, d))
        found.sort(key=lambda pair: (pair[1], pair[0].id or 0))
        return found[:limit]
    if after_id is not None:
        stmt = stmt.where(col(Camera.id) > after_id)
    stmt = stmt.order_by(col(Camera.id)).limit(limit)
    return [(cam, None) for cam in session.exec(stmt).all()]


def access_log(
    session: Session, camera_id: int, *, before_id: int | None, limit: int
) -> Sequence[AuditEntry]:
    stmt = (
        select(AuditEntry)
        .join(AuditCamera, col(AuditCamera.audit_id) == col(AuditEntry.id))
        .where(AuditCamera.camera_id == camera_id)
    )
    if before_id is not None:
        stmt = stmt.where(col(AuditCamera.audit_id) < before_id)
    stmt = stmt.order_by(col(AuditCamera.audit_id).desc()).limit(limit)
    return session.exec(stmt).all()
