"""The camera registry: who owns a camera, where it looks, and how its footage may be shared."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from app.db import EnumText, UTCDateTime, utcnow


class SharingPolicy(StrEnum):
    auto = "auto"
    owner_approval = "owner_approval"


class CameraStatus(StrEnum):
    active = "active"
    maintenance = "maintenance"
    retired = "retired"


class Camera(SQLModel, table=True):
    __tablename__ = "camera"
    __table_args__ = (Index("ix_camera_lat_lon", "latitude", "longitude"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=200)
    latitude: float
    longitude: float
    address: str = Field(default="", max_length=500)
    timezone: str = Field(max_length=64)
    clock_offset_s: float = 0.0
    stream_url_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    """The record (main) stream, kept as evidence; encrypted (it holds the password)."""
    detect_url_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    """The optional detect (sub-)stream: indexed instead of the main one; encrypted."""
    vendor: str | None = Field(default=None, max_length=16)
    """hikvision, dahua, kbvision, imou, ezviz or generic, when the URLs were built from it."""
    channel: int | None = None
    retention_days: int = 30
    sharing_policy: SharingPolicy = Field(sa_column=Column(EnumText(SharingPolicy), nullable=False))
    status: CameraStatus = Field(sa_column=Column(EnumText(CameraStatus), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
