"""What clients send and receive about notification channels. A channel's URL, addresses
and secret go in; only a hint of the target comes out, and the secret only once, when the
channel is created (like an API key)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.notifications.models import ChannelKind, DeliveryState, NotificationKind
from app.text import CleanStr

Name = Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)]
Url = Annotated[CleanStr, StringConstraints(min_length=1, max_length=2000)]
Secret = Annotated[str, StringConstraints(min_length=16, max_length=200, pattern=r"^[\x21-\x7e]+$")]
Email = Annotated[CleanStr, StringConstraints(min_length=3, max_length=254)]
Language = Literal["vi", "en"]
Kinds = Annotated[list[NotificationKind], Field(max_length=len(NotificationKind))]

_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")
SUBSCRIBABLE = frozenset(NotificationKind) - {NotificationKind.test}


def check_url(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises for a port out of range)
    except ValueError:
        raise ValueError("not a URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("a webhook URL is http(s)://host/...")
    return value


def check_emails(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    bad = [v for v in value if not _EMAIL.match(v)]
    if bad:
        raise ValueError(f"not an e-mail address: {bad[0]!r}")
    return value


def check_kinds(value: list[NotificationKind] | None) -> list[NotificationKind] | None:
    if value is None:
        return None
    if NotificationKind.test in value:
        raise ValueError("'test' is sent by POST .../test, not subscribed to")
    return sorted(set(value))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChannelCreate(_Strict):
    kind: ChannelKind
    name: Name
    url: Url | None = Field(default=None, description="webhook: where to POST")
    secret: Secret | None = Field(
        default=None, description="webhook: the HMAC key (generated and shown once if absent)"
    )
    emails: Annotated[list[Email], Field(max_length=20)] | None = Field(
        default=None, description="e-mail: the recipients"
    )
    events: Kinds = Field(default_factory=lambda: sorted(SUBSCRIBABLE))
    language: Language = "vi"
    active: bool = True

    _url = field_validator("url")(check_url)
    _emails = field_validator("emails")(check_emails)
    _kinds = field_validator("events")(check_kinds)


class ChannelUpdate(_Strict):
    name: Name | None = None
    url: Url | None = None
    secret: Secret | None = None
    emails: Annotated[list[Email], Field(min_length=1, max_length=20)] | None = None
    events: Kinds | None = None
    language: Language | None = None
    active: bool | None = None

    _url = field_validator("url")(check_url)
    _emails = field_validator("emails")(check_emails)
    _kinds = field_validator("events")(check_kinds)


class ChannelPublic(BaseModel):
    id: int
    org_id: int
    kind: ChannelKind
    name: str
    target: str = Field(description="webhook: scheme and host only; e-mail: how many recipients")
    events: list[NotificationKind]
    language: str
    active: bool
    created_at: datetime
    updated_at: datetime


class ChannelCreated(ChannelPublic):
    secret: str | None = Field(
        default=None, description="webhook: the signing key, shown this once only"
    )


class SettingsIn(_Strict):
    offline_after_minutes: int = Field(ge=1, le=7 * 24 * 60)


class SettingsPublic(BaseModel):
    org_id: int
    offline_after_minutes: int


class AttemptPublic(BaseModel):
    number: int
    started_at: datetime
    latency_ms: float
    status: int | None
    ok: bool
    error: str | None


class DeliveryPublic(BaseModel):
    id: int
    notification_id: int
    kind: NotificationKind
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    log: list[AttemptPublic]


class DeliveryPage(BaseModel):
    items: list[DeliveryPublic]
    next_cursor: str | None = None


class TestQueued(BaseModel):
    notification_id: int
    delivery_id: int
