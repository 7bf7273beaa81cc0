"""All tables, imported here so that Alembic and `SQLModel.metadata` see every one."""

from app.models.audit import AuditCamera, AuditEntry, AuditHead
from app.models.camera import Camera, CameraStatus, SharingPolicy
from app.models.footage import Job, JobState, Segment, SegmentSource, SegmentStatus
from app.models.identity import ApiKey, Organisation, OrgKind, Role, User

__all__ = [
    "ApiKey",
    "AuditCamera",
    "AuditEntry",
    "AuditHead",
    "Camera",
    "CameraStatus",
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
