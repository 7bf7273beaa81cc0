"""Notification queries: channels of an organisation, deliveries and their attempts, and the
latest footage of the cameras the offline watch looks after."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, delete, func, update
from sqlmodel import Session, col, select

from app.cameras.models import Camera, CameraStatus
from app.db import rowcount
from app.footage.models import Segment
from app.identity.models import Organisation, User
from app.notifications.models import (
    CameraWatch,
    DeliveryAttempt,
    Notification,
    NotificationChannel,
    NotificationDelivery,
    NotificationSettings,
)


def get_org(session: Session, org_id: int) -> Organisation | None:
    return session.get(Organisation, org_id)


def org_names(session: Session, org_ids: Sequence[int]) -> dict[int, str]:
    rows = session.exec(
        select(Organisation.id, Organisation.name).where(col(Organisation.id).in_(org_ids))
    ).all()
    return {i: n for i, n in rows if i is not None}


def org_of_user(session: Session, user_id: int) -> int | None:
    user = session.get(User, user_id)
    return user.org_id if user else None


def settings_of(session: Session, org_id: int) -> NotificationSettings | None:
    return session.get(NotificationSettings, org_id)


def all_settings(session: Session) -> dict[int, int]:
    rows = session.exec(
        select(NotificationSettings.org_id, NotificationSettings.offline_after_minutes)
    ).all()
    return dict(rows)


def save(session: Session, row: object) -> None:
    session.add(row)
    session.flush()


def get_channel(session: Session, channel_id: int) -> NotificationChannel | None:
    return session.get(NotificationChannel, channel_id)


def channels_of(session: Session, org_id: int) -> Sequence[NotificationChannel]:
    return session.exec(
        select(NotificationChannel)
        .where(NotificationChannel.org_id == org_id)
        .order_by(col(NotificationChannel.id))
    ).all()


def active_channels(session: Session, org_id: int) -> Sequence[NotificationChannel]:
    return session.exec(
        select(NotificationChannel)
        .where(NotificationChannel.org_id == org_id, col(NotificationChannel.active).is_(True))
        .order_by(col(NotificationChannel.id))
    ).all()


def delete_channel(session: Session, channel: NotificationChannel) -> None:
    """The channel with its delivery log (the notifications themselves stay)."""
    ids = select(NotificationDelivery.id).where(NotificationDelivery.channel_id == channel.id)
    session.execute(delete(DeliveryAttempt).where(col(DeliveryAttempt.delivery_id).in_(ids)))
    session.execute(
        delete(NotificationDelivery).where(col(NotificationDelivery.channel_id) == channel.id)
    )
    session.delete(channel)
    session.flush()


def get_delivery(session: Session, delivery_id: int) -> NotificationDelivery | None:
    return session.get(NotificationDelivery, delivery_id)


def get_notification(session: Session, notification_id: int) -> Notification | None:
    return session.get(Notification, notification_id)


def deliveries_of(
    session: Session, channel_id: int, *, before_id: int | None, limit: int
) -> list[tuple[NotificationDelivery, Notification, list[DeliveryAttempt]]]:
    """The channel's deliveries, newest first, each with its notification and attempts."""
    stmt = (
        select(NotificationDelivery, Notification)
        .join(Notification, col(Notification.id) == col(NotificationDelivery.notification_id))
        .where(NotificationDelivery.channel_id == channel_id)
        .order_by(col(NotificationDelivery.id).desc())
        .limit(limit)
    )
    if before_id is not None:
        stmt = stmt.where(col(NotificationDelivery.id) < before_id)
    rows = session.exec(stmt).all()
    ids = [d.id for d, _ in rows]
    attempts: dict[int, list[DeliveryAttempt]] = {i: [] for i in ids if i is not None}
    for a in session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id).in_(ids))
        .order_by(col(DeliveryAttempt.delivery_id), col(DeliveryAttempt.number))
    ).all():
        attempts[a.delivery_id].append(a)
    return [(d, n, attempts.get(d.id or 0, [])) for d, n in rows]


def first_attempt_at(session: Session, delivery_id: int) -> datetime | None:
    return session.exec(
        select(func.min(DeliveryAttempt.started_at)).where(
            DeliveryAttempt.delivery_id == delivery_id
        )
    ).one()


def watched_cameras(session: Session) -> list[tuple[int, int, str, datetime | None]]:
    """(camera id, owner org, name, end of its latest footage) of every active camera with
    a stream URL: the ones expected to be recording."""
    stmt = (
        select(Camera.id, Camera.org_id, Camera.name, func.max(Segment.end))
        .select_from(Camera)
        .outerjoin(Segment, col(Segment.camera_id) == col(Camera.id))
        .where(
            Camera.status == CameraStatus.active,
            col(Camera.stream_url_encrypted).is_not(None),
            col(Camera.stream_url_encrypted) != "",
        )
        .group_by(col(Camera.id), col(Camera.org_id), col(Camera.name))
        .order_by(col(Camera.id))
    )
    out: list[tuple[int, int, str, datetime | None]] = []
    for cid, org, name, end in session.exec(stmt).all():
        if cid is None:
            continue
        if isinstance(end, datetime) and end.tzinfo is None:  # in case a driver skips the type
            end = end.replace(tzinfo=UTC)
        out.append((cid, org, name, end))
    return out


def watches(session: Session) -> dict[int, CameraWatch]:
    return {w.camera_id: w for w in session.exec(select(CameraWatch)).all()}


def unwatch(session: Session, camera_ids: Sequence[int]) -> None:
    if camera_ids:
        session.execute(delete(CameraWatch).where(col(CameraWatch.camera_id).in_(camera_ids)))


def mark_offline(session: Session, camera_id: int, since: datetime) -> bool:
    """Claim the "offline" announcement of this outage; False when another worker did."""
    result = session.execute(
        update(CameraWatch)
        .where(col(CameraWatch.camera_id) == camera_id, col(CameraWatch.offline_since).is_(None))
        .values(offline_since=since)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def mark_online(session: Session, camera_id: int, since: datetime) -> bool:
    """Claim the "back" announcement of the outage that began at `since`."""
    result = session.execute(
        update(CameraWatch)
        .where(
            and_(col(CameraWatch.camera_id) == camera_id, col(CameraWatch.offline_since) == since)
        )
        .values(offline_since=None)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


def first_start_after(session: Session, camera_id: int, after: datetime) -> datetime | None:
    """Start of the camera's first footage ending after `after` (when it came back)."""
    start = session.exec(
        select(func.min(Segment.start)).where(
            Segment.camera_id == camera_id, col(Segment.end) > after
        )
    ).one()
    if isinstance(start, datetime) and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return start
