"""Extraction requests: footage asked for under a case, decided per camera by its owner."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Column, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import EnumText, UTCDateTime, utcnow


class ExtractionState(StrEnum):
    pending = "pending"  # waiting for an owner's decision
    approved = "approved"  # every camera decided, at least one approved; job queued
    denied = "denied"  # every camera denied
    processing = "processing"
    ready = "ready"  # package built
    no_footage = "no_footage"  # approved, but no approved camera has footage in the window
    failed = "failed"


class Decision(StrEnum):
    pending = "pending"
    approved = "approved"
    denied = "denied"


class Extraction(SQLModel, table=True):
    __tablename__ = "extraction"

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    requested_by: int = Field(foreign_key="user_account.id")
    start: datetime = Field(sa_type=UTCDateTime, nullable=False)
    end: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    redact: bool = False
    state: ExtractionState = Field(sa_column=Column(EnumText(ExtractionState), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    package_key: str | None = Field(default=None, sa_column=Column(String(512)))
    package_sha256: str | None = Field(default=None, max_length=64)
    package_size: int | None = Field(default=None, sa_column=Column(BigInteger))
    manifest_sha256: str | None = Field(default=None, max_length=64)
    error: str | None = Field(default=None, sa_column=Column(Text))
    """Why the package could not be built (`failed`), or why the last attempt failed while
    another waits."""
    failed_step: str | None = Field(default=None, max_length=32)
    """The fulfilment step that failed (`app.extractions.jobs.STEPS`)."""
    failed_camera_id: int | None = None
    failed_segment_id: int | None = None
    failed_code: str | None = Field(default=None, max_length=40)
    """Why, as a code (`app.extractions.jobs.FAILURE_CODES`): what a person is told."""


class ExtractionCamera(SQLModel, table=True):
    __tablename__ = "extraction_camera"
    __table_args__ = (UniqueConstraint("extraction_id", "camera_id", name="uq_extraction_cam"),)

    id: int | None = Field(default=None, primary_key=True)
    extraction_id: int = Field(foreign_key="extraction.id", index=True)
    camera_id: int = Field(foreign_key="camera.id", index=True)
    decision: Decision = Field(sa_column=Column(EnumText(Decision), nullable=False))
    by_policy: bool = False  # approved at once by the camera's `auto` sharing policy
    decided_by: int | None = Field(default=None, foreign_key="user_account.id")
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    note: str | None = Field(default=None, sa_column=Column(Text))
    outcome: str | None = Field(default=None, max_length=32)  # packaged | no_footage
    segments: int = 0
