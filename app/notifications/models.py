"""Notification channels of an organisation, the notifications announced to it, and the log
of every delivery attempt.

A channel's target (webhook URL or e-mail addresses) and its signing secret are encrypted at
rest with the service's secret box: a URL may carry a token, addresses are personal data.
`camera_watch` remembers which cameras were announced offline, so "offline" and "back" are
each announced once per outage whichever worker runs the watch.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from app.db import EnumText, UTCDateTime, utcnow


class ChannelKind(StrEnum):
    webhook = "webhook"
    email = "email"


class NotificationKind(StrEnum):
    camera_offline = "camera_offline"
    camera_online = "camera_online"
    extraction_awaiting = "extraction_awaiting"
    extraction_decided = "extraction_decided"
    package_ready = "package_ready"
    evidence_failed = "evidence_failed"
    retention_summary = "retention_summary"
    test = "test"


class DeliveryState(StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    delivered = "delivered"
    failed = "failed"  # gave up: retried for the whole retry period, or refused for good


class NotificationSettings(SQLModel, table=True):
    """Per-organisation settings (a row only once an organisation changed a default)."""

    __tablename__ = "notification_settings"

    org_id: int = Field(foreign_key="organisation.id", primary_key=True)
    offline_after_minutes: int = 15
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NotificationChannel(SQLModel, table=True):
    __tablename__ = "notification_channel"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    kind: ChannelKind = Field(sa_column=Column(EnumText(ChannelKind), nullable=False))
    name: str = Field(max_length=200)
    target_encrypted: str = Field(sa_column=Column(Text, nullable=False))
    """Webhook: the URL; e-mail: the addresses, comma-separated. Encrypted."""
    secret_encrypted: str | None = Field(default=None, sa_column=Column(Text))
    """Webhook: the HMAC key the receiver checks signatures with. Encrypted."""
    events: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    """JSON list of the `NotificationKind`s sent to this channel."""
    language: str = Field(default="vi", max_length=8)
    active: bool = True
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Notification(SQLModel, table=True):
    """One announced event: its kind and facts (ids, names, counts, times; nothing else)."""

    __tablename__ = "notification"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    kind: NotificationKind = Field(sa_column=Column(EnumText(NotificationKind, 32), nullable=False))
    facts: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class NotificationDelivery(SQLModel, table=True):
    """One notification to one channel, with the outcome of its last attempt."""

    __tablename__ = "notification_delivery"
    __table_args__ = (Index("ix_notification_delivery_channel_id", "channel_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    notification_id: int = Field(foreign_key="notification.id", index=True)
    channel_id: int = Field(foreign_key="notification_channel.id")
    state: DeliveryState = Field(sa_column=Column(EnumText(DeliveryState), nullable=False))
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeliveryAttempt(SQLModel, table=True):
    """One try: when, how long it took, what the receiver answered."""

    __tablename__ = "notification_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: int = Field(foreign_key="notification_delivery.id", index=True)
    number: int
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    latency_ms: float
    status: int | None = None
    """HTTP status of a webhook's answer; SMTP reply code of an e-mail's."""
    ok: bool = False
    error: str | None = Field(default=None, max_length=500)


class CameraWatch(SQLModel, table=True):
    """A camera the offline watch looks after (active, with a stream URL)."""

    __tablename__ = "camera_watch"

    camera_id: int = Field(foreign_key="camera.id", primary_key=True)
    watched_since: datetime = Field(sa_type=UTCDateTime, nullable=False)
    offline_since: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """Set when the camera was announced offline: the end of its last footage then (or when
    the watch began, if it had none). Cleared when it is announced back."""
