"""What clients send and receive about cameras. The stream URL goes in, never comes out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints, field_validator

from app.cameras.models import CameraStatus, SharingPolicy
from app.deps import IdField
from app.fleet.schemas import HealthBrief
from app.text import CleanStr

STREAM_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})

Name = Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)]
Address = Annotated[CleanStr, StringConstraints(max_length=500)]
Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False)]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False)]
ClockOffset = Annotated[float, Field(ge=-86_400, le=86_400, allow_inf_nan=False)]
RetentionDays = Annotated[int, Field(ge=1, le=3650)]
StreamUrl = Annotated[CleanStr, StringConstraints(max_length=2000)]
TimeZone = Annotated[CleanStr, StringConstraints(max_length=64)]


def check_timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


def check_stream_url(value: str | None, *, allow_file: bool = False) -> str | None:
    if value is None or value == "":
        return None
    parts = urlsplit(value)
    schemes = STREAM_SCHEMES | ({"file"} if allow_file else set())
    if parts.scheme.lower() not in schemes:
        raise ValueError(
            f"stream URL scheme {parts.scheme or '(none)'!r} is not supported; use "
            + ", ".join(sorted(STREAM_SCHEMES))
        )
    if parts.scheme != "file" and not parts.hostname:
        raise ValueError("stream URL has no host")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


Vendor = Literal["hikvision", "dahua", "kbvision", "imou", "ezviz", "generic"]


class StreamSource(_Strict):
    """A camera (or NVR channel) by vendor: its standard RTSP main and sub-stream URLs are
    built from this (`ingest.vendors.build_rtsp_url`) and stored encrypted; the password is
    never returned."""

    vendor: Vendor
    host: Annotated[str, StringConstraints(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    channel: Annotated[int, Field(ge=1, le=512)] = 1
    user: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    password: SecretStr | None = Field(default=None, max_length=256)
    tls: bool = Field(default=False, description="rtsps://")
    path: Annotated[str, StringConstraints(max_length=500)] | None = Field(
        default=None, description="generic vendor only: e.g. '/stream{stream_no}'"
    )
    detect_stream: bool = Field(
        default=True, description="also record the sub-stream and detect on it"
    )


class CameraCreate(_Strict):
    name: Name
    latitude: Latitude
    longitude: Longitude
    address: Address = ""
    timezone: TimeZone
    clock_offset_s: ClockOffset = 0.0
    stream_url: StreamUrl | None = Field(default=None, description="record (main) stream")
    detect_stream_url: StreamUrl | None = Field(
        default=None, description="detect (sub-)stream, e.g. 640x360: indexed instead of main"
    )
    source: StreamSource | None = Field(default=None, description="instead of the URLs")
    retention_days: RetentionDays = 30
    sharing_policy: SharingPolicy = SharingPolicy.owner_approval
    status: CameraStatus = CameraStatus.active
    org_id: IdField | None = Field(default=None, description="owner ward (admins only)")

    _tz = field_validator("timezone")(check_timezone)


class CameraUpdate(_Strict):
    name: Name | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    address: Address | None = None
    timezone: TimeZone | None = None
    clock_offset_s: ClockOffset | None = None
    stream_url: StreamUrl | None = Field(default=None, description="'' removes it")
    detect_stream_url: StreamUrl | None = Field(default=None, description="'' removes it")
    source: StreamSource | None = Field(default=None, description="replaces both URLs")
    retention_days: RetentionDays | None = None
    sharing_policy: SharingPolicy | None = None
    status: CameraStatus | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str | None) -> str | None:
        return None if value is None else check_timezone(value)


class CameraPublic(BaseModel):
    id: int
    org_id: int
    name: str
    latitude: float
    longitude: float
    address: str
    timezone: str
    clock_offset_s: float
    has_stream: bool
    has_detect_stream: bool = False
    vendor: str | None = None
    channel: int | None = None
    retention_days: int
    sharing_policy: SharingPolicy
    status: CameraStatus
    created_at: datetime
    updated_at: datetime
    distance_m: float | None = None
    health: HealthBrief | None = Field(
        default=None, description="in the list, for the caller's own cameras (admins: all)"
    )


class CameraPage(BaseModel):
    items: list[CameraPublic]
    next_cursor: str | None = None


class AccessLogEntry(BaseModel):
    seq: int
    ts: datetime
    action: str
    outcome: str
    actor_user_id: int | None
    actor_role: str | None
    actor_org_id: int | None
    target_type: str | None
    target_id: str | None
    case_id: int | None
    purpose: str | None
    details: dict[str, object]


class AccessLogPage(BaseModel):
    items: list[AccessLogEntry]
    next_cursor: str | None = None
