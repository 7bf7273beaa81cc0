"""Notifications: what an organisation is told, through which channels, and nothing more.

`announce` is how every domain tells an organisation something. It writes the notification
and one delivery per subscribed channel, each with its delivery job, in the caller's
transaction: the jobs are announced to the workers through the session's outbox once that
transaction commits, so a request never waits for a receiver, and a rolled-back change is
never announced. The facts a kind may carry are listed in `FACTS` (ids, names, counts,
times); anything else is refused, so no secret, stream URL or free text written by a user
(a request's reason, a note) can reach a receiver.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlmodel import Session

from app.audit.service import record
from app.auth.principal import Principal
from app.db import utcnow
from app.errors import BadRequest, Forbidden, NotFound, Unprocessable
from app.jobs import repository as jobs
from app.notifications import repository
from app.notifications.models import (
    ChannelKind,
    DeliveryState,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationKind,
    NotificationSettings,
)
from app.notifications.schemas import (
    AttemptPublic,
    ChannelCreate,
    ChannelCreated,
    ChannelPublic,
    ChannelUpdate,
    DeliveryPublic,
    SettingsIn,
    SettingsPublic,
)
from app.security import SecretBox
from app.timewindow import utc_z

DELIVER_JOB = "deliver_notification"
DEFAULT_OFFLINE_MINUTES = 15
K = NotificationKind

FACTS: dict[NotificationKind, frozenset[str]] = {
    K.camera_offline: frozenset({"camera_id", "camera_name", "offline_since", "minutes"}),
    K.camera_online: frozenset(
        {"camera_id", "camera_name", "offline_since", "back_at", "offline_minutes"}
    ),
    K.extraction_awaiting: frozenset(
        {
            "extraction_id",
            "case_number",
            "requester_org",
            "camera_ids",
            "camera_names",
            "from",
            "to",
        }
    ),
    K.extraction_decided: frozenset(
        {"extraction_id", "case_id", "case_number", "decision", "by_org", "camera_ids", "state"}
    ),
    K.package_ready: frozenset(
        {"extraction_id", "case_id", "case_number", "package_sha256", "package_size", "cameras"}
    ),
    K.evidence_failed: frozenset({"extraction_id", "case_id", "case_number", "reason"}),
    K.retention_summary: frozenset(
        {
            "ran_at",
            "cameras",
            "deleted_segments",
            "deleted_events",
            "held_segments",
            "locked_segments",
        }
    ),
    K.test: frozenset({"channel_id", "message"}),
}
"""The only facts each kind may carry: ids, names, counts and times."""
MAX_FACT_TEXT = 300


def _fact(kind: NotificationKind, key: str, value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_z(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        if len(value) > MAX_FACT_TEXT:
            raise ValueError(f"{kind}: fact {key!r} is longer than {MAX_FACT_TEXT} characters")
        return value
    if isinstance(value, list | tuple):
        return [_fact(kind, key, v) for v in value]
    raise ValueError(f"{kind}: fact {key!r} is a {type(value).__name__}, not a plain value")


def clean_facts(kind: NotificationKind, facts: dict[str, Any]) -> dict[str, Any]:
    """The facts as JSON values; refuses a fact the kind does not list (a programming
    error, never a user's)."""
    extra = set(facts) - FACTS[kind]
    if extra:
        raise ValueError(f"{kind} notifications carry no {sorted(extra)}")
    return {k: _fact(kind, k, facts[k]) for k in sorted(facts)}


def announce(
    session: Session, org_id: int | None, kind: NotificationKind | str, **facts: Any
) -> Notification | None:
    """Tell organisation `org_id` about `kind` through each of its active channels that
    subscribed to it. Returns the notification, or None when no channel wants it."""
    kind = NotificationKind(kind)
    body = clean_facts(kind, facts)
    if org_id is None:
        return None
    channels = [
        c for c in repository.active_channels(session, org_id) if kind.value in events_of(c)
    ]
    if not channels:
        return None
    return _queue(session, org_id, kind, body, channels)[0]


def _queue(
    session: Session,
    org_id: int,
    kind: NotificationKind,
    facts: dict[str, Any],
    channels: Sequence[NotificationChannel],
) -> tuple[Notification, list[NotificationDelivery]]:
    note = Notification(org_id=org_id, kind=kind, facts=json.dumps(facts, ensure_ascii=False))
    repository.save(session, note)
    assert note.id is not None
    now = utcnow()
    out = []
    for channel in channels:
        assert channel.id is not None
        delivery = NotificationDelivery(
            notification_id=note.id,
            channel_id=channel.id,
            state=DeliveryState.pending,
            next_attempt_at=now,
        )
        repository.save(session, delivery)
        jobs.create(session, DELIVER_JOB, target_id=delivery.id, max_attempts=3)
        out.append(delivery)
    return note, out


def payload(note: Notification) -> dict[str, Any]:
    """The JSON a webhook receives (and what an e-mail says, in words)."""
    return {
        "id": note.id,
        "kind": str(note.kind),
        "org_id": note.org_id,
        "occurred_at": utc_z(note.created_at),
        "facts": json.loads(note.facts),
    }


def events_of(channel: NotificationChannel) -> list[str]:
    return list(json.loads(channel.events))


# -- who may manage an organisation's notifications -------------------------------------


def org_for(session: Session, principal: Principal, org_id: int, action: str) -> int:
    """The organisation, if the principal manages its notifications: admins any, a ward
    or a supervisor only their own."""
    if repository.get_org(session, org_id) is None:
        raise NotFound(f"organisation {org_id} does not exist", code="org_not_found")
    if not principal.is_admin and principal.org_id != org_id:
        raise Forbidden(
            "that organisation's notifications are not yours to manage",
            code="not_your_org",
            audit={
                "action": action,
                "actor": principal,
                "target_type": "organisation",
                "target_id": org_id,
            },
        )
    return org_id


def channel_for(
    session: Session, principal: Principal, org_id: int, channel_id: int, action: str
) -> NotificationChannel:
    org_for(session, principal, org_id, action)
    channel = repository.get_channel(session, channel_id)
    if channel is None or channel.org_id != org_id:
        raise NotFound(
            f"organisation {org_id} has no channel {channel_id}", code="channel_not_found"
        )
    return channel


# -- channels ---------------------------------------------------------------------------


def _hint(channel: NotificationChannel, box: SecretBox) -> str:
    target = box.decrypt(channel.target_encrypted)
    if channel.kind == ChannelKind.webhook:
        parts = urlsplit(target)
        return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    n = len([t for t in target.split(",") if t])
    return f"{n} recipient" + ("" if n == 1 else "s")


def to_public(channel: NotificationChannel, box: SecretBox) -> ChannelPublic:
    assert channel.id is not None
    return ChannelPublic(
        id=channel.id,
        org_id=channel.org_id,
        kind=channel.kind,
        name=channel.name,
        target=_hint(channel, box),
        events=[NotificationKind(e) for e in events_of(channel)],
        language=channel.language,
        active=channel.active,
        created_at=channel.created_at,
        updated_at=channel.updated_at,
    )


def _target(kind: ChannelKind, url: str | None, emails: list[str] | None) -> str:
    if kind == ChannelKind.webhook:
        if not url or emails is not None:
            raise Unprocessable(
                "a webhook channel has a `url` and no `emails`", code="invalid_channel"
            )
        return url
    if not emails or url is not None:
        raise Unprocessable("an e-mail channel has `emails` and no `url`", code="invalid_channel")
    return ",".join(emails)


def create_channel(
    session: Session, principal: Principal, org_id: int, data: ChannelCreate, box: SecretBox
) -> ChannelCreated:
    target = _target(data.kind, data.url, data.emails)
    secret: str | None = None
    if data.kind == ChannelKind.webhook:
        secret = data.secret or secrets.token_urlsafe(32)
    elif data.secret is not None:
        raise Unprocessable("only webhook channels have a secret", code="invalid_channel")
    channel = NotificationChannel(
        org_id=org_id,
        kind=data.kind,
        name=data.name,
        target_encrypted=box.encrypt(target),
        secret_encrypted=box.encrypt(secret) if secret else None,
        events=json.dumps([str(e) for e in data.events]),
        language=data.language,
        active=data.active,
        created_by=principal.user_id,
    )
    repository.save(session, channel)
    record(
        session,
        principal,
        "notification.channel_create",
        target_type="notification_channel",
        target_id=channel.id,
        details={"org_id": org_id, "kind": str(data.kind), "events": events_of(channel)},
    )
    public = to_public(channel, box)
    return ChannelCreated(**public.model_dump(), secret=secret)


def update_channel(
    session: Session,
    principal: Principal,
    channel: NotificationChannel,
    data: ChannelUpdate,
    box: SecretBox,
) -> NotificationChannel:
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise BadRequest("nothing to change", code="empty_update")
    if channel.kind == ChannelKind.webhook and "emails" in changes:
        raise Unprocessable("a webhook channel has no `emails`", code="invalid_channel")
    if channel.kind == ChannelKind.email and ({"url", "secret"} & set(changes)):
        raise Unprocessable("an e-mail channel has no `url` or `secret`", code="invalid_channel")
    for key in ("name", "url", "secret", "emails", "events", "language", "active"):
        if changes.get(key, ...) is None:
            raise Unprocessable(f"`{key}` cannot be null", code="invalid_channel")
    if data.name is not None:
        channel.name = data.name
    if data.url is not None:
        channel.target_encrypted = box.encrypt(data.url)
    if data.emails is not None:
        channel.target_encrypted = box.encrypt(",".join(data.emails))
    if data.secret is not None:
        channel.secret_encrypted = box.encrypt(data.secret)
    if data.events is not None:
        channel.events = json.dumps([str(e) for e in data.events])
    if data.language is not None:
        channel.language = data.language
    if data.active is not None:
        channel.active = data.active
    channel.updated_at = utcnow()
    repository.save(session, channel)
    record(
        session,
        principal,
        "notification.channel_update",
        target_type="notification_channel",
        target_id=channel.id,
        # which fields changed, never their values (a URL or a secret)
        details={"org_id": channel.org_id, "changed": sorted(changes)},
    )
    return channel


def delete_channel(session: Session, principal: Principal, channel: NotificationChannel) -> None:
    record(
        session,
        principal,
        "notification.channel_delete",
        target_type="notification_channel",
        target_id=channel.id,
        details={"org_id": channel.org_id, "kind": str(channel.kind)},
    )
    repository.delete_channel(session, channel)


def test_send(
    session: Session, principal: Principal, channel: NotificationChannel
) -> tuple[Notification, NotificationDelivery]:
    """A "test" notification to this channel alone (active or not), delivered like any."""
    assert channel.id is not None
    facts = clean_facts(
        K.test,
        {"channel_id": channel.id, "message": "wardcam test notification / thông báo thử"},
    )
    note, (delivery,) = _queue(session, channel.org_id, K.test, facts, [channel])
    record(
        session,
        principal,
        "notification.test",
        target_type="notification_channel",
        target_id=channel.id,
        details={"org_id": channel.org_id, "notification_id": note.id},
    )
    return note, delivery


def deliveries(
    session: Session, channel: NotificationChannel, *, before_id: int | None, limit: int
) -> list[DeliveryPublic]:
    assert channel.id is not None
    out = []
    for d, n, attempts in repository.deliveries_of(
        session, channel.id, before_id=before_id, limit=limit
    ):
        assert d.id is not None and n.id is not None
        out.append(
            DeliveryPublic(
                id=d.id,
                notification_id=n.id,
                kind=n.kind,
                state=d.state,
                attempts=d.attempts,
                next_attempt_at=d.next_attempt_at if d.state == DeliveryState.pending else None,
                last_status=d.last_status,
                last_error=d.last_error,
                created_at=d.created_at,
                delivered_at=d.delivered_at,
                log=[
                    AttemptPublic(
                        number=a.number,
                        started_at=a.started_at,
                        latency_ms=a.latency_ms,
                        status=a.status,
                        ok=a.ok,
                        error=a.error,
                    )
                    for a in attempts
                ],
            )
        )
    return out


# -- per-organisation settings ----------------------------------------------------------


def offline_minutes(session: Session, org_id: int) -> int:
    row = repository.settings_of(session, org_id)
    return row.offline_after_minutes if row else DEFAULT_OFFLINE_MINUTES


def get_settings(session: Session, org_id: int) -> SettingsPublic:
    return SettingsPublic(org_id=org_id, offline_after_minutes=offline_minutes(session, org_id))


def put_settings(
    session: Session, principal: Principal, org_id: int, data: SettingsIn
) -> SettingsPublic:
    row = repository.settings_of(session, org_id) or NotificationSettings(org_id=org_id)
    row.offline_after_minutes = data.offline_after_minutes
    row.updated_at = utcnow()
    repository.save(session, row)
    record(
        session,
        principal,
        "notification.settings",
        target_type="organisation",
        target_id=org_id,
        details={"offline_after_minutes": data.offline_after_minutes},
    )
    return get_settings(session, org_id)
