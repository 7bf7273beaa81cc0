"""All tables, imported here so that Alembic and `SQLModel.metadata` see every one."""

from app.models.audit import AuditCamera, AuditEntry, AuditHead
from app.models.camera import Camera, CameraStatus, SharingPolicy
from app.models.case import Case, CaseMember, CaseStatus
from app.models.event import COLORS, LABELS, Event
from app.models.extraction import Decision, Extraction, ExtractionCamera, ExtractionState
from app.models.footage import Job, JobState, Segment, SegmentSource, SegmentStatus
from app.models.identity import ApiKey, Organisation, OrgKind, Role, User

__all__ = [
    "COLORS",
    "LABELS",
    "ApiKey",
    "AuditCamera",
    "AuditEntry",
    "AuditHead",
    "Camera",
    "CameraStatus",
    "Case",
    "CaseMember",
    "CaseStatus",
    "Decision",
    "Event",
    "Extraction",
    "ExtractionCamera",
    "ExtractionState",
    "Job",
    "JobState",
    "OrgKind",
    "Organisation",
    "Role",
    "Segment",
    "SegmentSource",
    "SegmentStatus",
    "SharingPolicy",
    "User",
]
