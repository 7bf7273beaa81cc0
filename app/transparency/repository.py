"""The counts the public transparency page shows, per ward and per calendar month (UTC)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import extract
from sqlmodel import Session, col, func, select

from app.audit.models import AuditCamera, AuditEntry
from app.cameras.models import Camera, CameraStatus
from app.extractions.models import Decision, Extraction, ExtractionCamera
from app.identity.models import Organisation, OrgKind

Month = tuple[int, int]


def wards(session: Session) -> Sequence[Organisation]:
    stmt = select(Organisation).where(Organisation.kind == OrgKind.ward)
    return session.exec(stmt.order_by(col(Organisation.name_key))).all()


def cameras(session: Session, org_id: int) -> tuple[int, int | None, int | None]:
    """Cameras in service (not retired), and their shortest and longest retention in days."""
    stmt = select(
        func.count(), func.min(Camera.retention_days), func.max(Camera.retention_days)
    ).where(Camera.org_id == org_id, col(Camera.status) != CameraStatus.retired)
    n, low, high = session.exec(stmt).one()
    return int(n), low, high


def searches_by_month(session: Session, org_id: int, since: datetime) -> dict[Month, int]:
    """Searches whose results included footage of the ward's cameras."""
    year = extract("year", col(AuditEntry.ts))
    month = extract("month", col(AuditEntry.ts))
    ward_cameras = select(Camera.id).where(Camera.org_id == org_id)
    stmt = (
        select(year, month, func.count(func.distinct(AuditEntry.id)))
        .join(AuditCamera, col(AuditCamera.audit_id) == col(AuditEntry.id))
        .where(
            col(AuditCamera.camera_id).in_(ward_cameras),
            AuditEntry.action == "event.search",
            col(AuditEntry.outcome) == "allowed",
            col(AuditEntry.ts) >= since,
        )
        .group_by(year, month)
    )
    return {(int(y), int(m)): int(n) for y, m, n in session.exec(stmt).all()}


def requests_by_month(session: Session, org_id: int, since: datetime) -> dict[Month, int]:
    """Extraction requests that asked for footage of at least one of the ward's cameras."""
    year = extract("year", col(Extraction.created_at))
    month = extract("month", col(Extraction.created_at))
    stmt = (
        select(year, month, func.count(func.distinct(Extraction.id)))
        .join(ExtractionCamera, col(ExtractionCamera.extraction_id) == col(Extraction.id))
        .join(Camera, col(Camera.id) == col(ExtractionCamera.camera_id))
        .where(Camera.org_id == org_id, col(Extraction.created_at) >= since)
        .group_by(year, month)
    )
    return {(int(y), int(m)): int(n) for y, m, n in session.exec(stmt).all()}


def decisions_by_month(
    session: Session, org_id: int, since: datetime, decision: Decision
) -> dict[Month, int]:
    """The ward's per-camera decisions (approved or denied), by the month they were made."""
    year = extract("year", col(ExtractionCamera.decided_at))
    month = extract("month", col(ExtractionCamera.decided_at))
    stmt = (
        select(year, month, func.count())
        .join(Camera, col(Camera.id) == col(ExtractionCamera.camera_id))
        .where(
            Camera.org_id == org_id,
            col(ExtractionCamera.decision) == decision,
            col(ExtractionCamera.decided_at) >= since,
        )
        .group_by(year, month)
    )
    return {(int(y), int(m)): int(n) for y, m, n in session.exec(stmt).all()}
