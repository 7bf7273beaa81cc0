"""Delivering notifications, and the offline watch.

`deliver_notification` makes one attempt and logs it. A failed attempt queues the next one
as a new job due after an exponential wait (`WARDCAM_NOTIFY_RETRY_BASE_S`, doubling, at most
`WARDCAM_NOTIFY_RETRY_MAX_S`), until `WARDCAM_NOTIFY_RETRY_FOR_S` (24 h) after the first
attempt; the job machinery's own retries only cover a crash of the worker's code. Jobs run in
the in-process pool or on Celery workers like every other job.

The watch (`@periodic("notifications.watch")`, every `WARDCAM_NOTIFY_WATCH_INTERVAL_S`, in
the API process for the embedded default or by Celery beat) compares the end of each active
streaming camera's latest footage with its organisation's threshold. It reads only the
footage table, so it works whoever records.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.context import AppContext
from app.db import utcnow
from app.jobs import repository as jobs
from app.jobs.registry import JobContext, handler, periodic
from app.jobs.schedule import Every
from app.notifications import messages, repository, senders
from app.notifications.models import (
    CameraWatch,
    ChannelKind,
    DeliveryAttempt,
    DeliveryState,
    NotificationKind,
)
from app.notifications.service import DEFAULT_OFFLINE_MINUTES, DELIVER_JOB, announce, payload

log = logging.getLogger(__name__)
WATCH = "notifications.watch"


def backoff_s(attempt: int, base: float, cap: float) -> float:
    """Wait after the `attempt`-th failure: base, 2 base, 4 base, ... at most `cap`."""
    return float(min(cap, base * 2 ** min(attempt - 1, 62)))


@dataclass(frozen=True)
class _Work:
    kind: ChannelKind
    target: str
    secret: str | None
    language: str
    note_kind: NotificationKind
    body: dict[str, object]
    first_attempt: datetime | None


@handler(DELIVER_JOB)
def deliver(jc: JobContext) -> None:
    app = jc.app
    box = app.secret_box
    with app.transaction() as session:
        d = repository.get_delivery(session, jc.target_id or 0)
        if d is None or d.state != DeliveryState.pending or d.id is None:
            return  # delivered, given up, or its channel was deleted
        channel = repository.get_channel(session, d.channel_id)
        note = repository.get_notification(session, d.notification_id)
        assert channel is not None and note is not None
        if not channel.active and note.kind != NotificationKind.test:
            # switched off (a receiver down for good, say): its retries stop too
            d.state, d.next_attempt_at = DeliveryState.failed, None
            d.last_error = "the channel was deactivated"
            repository.save(session, d)
            return
        work = _Work(
            kind=channel.kind,
            target=box.decrypt(channel.target_encrypted),
            secret=box.decrypt(channel.secret_encrypted) if channel.secret_encrypted else None,
            language=channel.language,
            note_kind=note.kind,
            body=payload(note),
            first_attempt=repository.first_attempt_at(session, d.id),
        )
        delivery_id = d.id
    started = utcnow()
    s = app.settings
    if work.kind == ChannelKind.webhook:
        data = json.dumps(work.body, ensure_ascii=False, separators=(",", ":")).encode()
        outcome = senders.send_webhook(
            work.target,
            work.secret or "",
            data,
            event=str(work.note_kind),
            delivery_id=delivery_id,
            timeout_s=s.notify_timeout_s,
            allow_private=s.notify_allow_private_targets,
        )
    else:
        facts = work.body["facts"]
        assert isinstance(facts, dict)
        subject, text = messages.render(work.note_kind, facts, work.language)
        outcome = senders.send_email(s, work.target.split(","), subject, text)
    with app.transaction() as session:
        d = repository.get_delivery(session, delivery_id)
        if d is None or d.state != DeliveryState.pending:
            return
        d.attempts += 1
        repository.save(
            session,
            DeliveryAttempt(
                delivery_id=delivery_id,
                number=d.attempts,
                started_at=started,
                latency_ms=outcome.latency_ms,
                status=outcome.status,
                ok=outcome.ok,
                error=outcome.error,
            ),
        )
        d.last_status, d.last_error = outcome.status, outcome.error
        now = utcnow()
        if outcome.ok:
            d.state, d.delivered_at, d.next_attempt_at = DeliveryState.delivered, now, None
        else:
            due = now + timedelta(
                seconds=backoff_s(d.attempts, s.notify_retry_base_s, s.notify_retry_max_s)
            )
            if due - (work.first_attempt or started) > timedelta(seconds=s.notify_retry_for_s):
                d.state, d.next_attempt_at = DeliveryState.failed, None
                log.warning("notification delivery %s failed for good: %s", d.id, outcome.error)
            else:
                d.next_attempt_at = due
                job = jobs.create(session, DELIVER_JOB, target_id=delivery_id, max_attempts=3)
                job.run_after = due
                session.add(job)
        repository.save(session, d)


@dataclass
class WatchReport:
    watched: int = 0
    offline: list[int] = field(default_factory=list)
    back: list[int] = field(default_factory=list)


@periodic(WATCH)
def watch(ctx: AppContext, now: datetime | None = None) -> WatchReport:
    """Announce cameras whose latest footage ended longer ago than their organisation's
    threshold, once per outage, and announce them back when footage arrives again. A camera
    is watched from the first run that sees it active with a stream URL; it stops being
    watched (no announcement) when retired, in maintenance or without a stream."""
    now = now or utcnow()
    report = WatchReport()
    with ctx.transaction() as session:
        cams = repository.watched_cameras(session)
        known = repository.watches(session)
        minutes = repository.all_settings(session)
        repository.unwatch(session, sorted(set(known) - {c[0] for c in cams}))
        report.watched = len(cams)
        for cid, org, name, last_end in cams:
            w = known.get(cid)
            if w is None:
                repository.save(session, CameraWatch(camera_id=cid, watched_since=now))
                continue
            limit = minutes.get(org, DEFAULT_OFFLINE_MINUTES)
            if w.offline_since is None:
                ref = max(last_end, w.watched_since) if last_end else w.watched_since
                since = last_end or w.watched_since
                if now - ref > timedelta(minutes=limit) and repository.mark_offline(
                    session, cid, since
                ):
                    report.offline.append(cid)
                    announce(
                        session,
                        org,
                        NotificationKind.camera_offline,
                        camera_id=cid,
                        camera_name=name,
                        offline_since=since,
                        minutes=limit,
                    )
            elif (
                last_end is not None
                and last_end > w.offline_since
                and repository.mark_online(session, cid, w.offline_since)
            ):
                back = repository.first_start_after(session, cid, w.offline_since) or last_end
                report.back.append(cid)
                announce(
                    session,
                    org,
                    NotificationKind.camera_online,
                    camera_id=cid,
                    camera_name=name,
                    offline_since=w.offline_since,
                    back_at=back,
                    offline_minutes=max(0, round((back - w.offline_since).total_seconds() / 60)),
                )
    return report


class WatchScheduler(Every):
    """The embedded default's schedule for the watch: a thread in the API process (Celery
    beat runs the same task at scale)."""

    def __init__(self, ctx: AppContext) -> None:
        super().__init__(
            "notification watch", ctx.settings.notify_watch_interval_s, lambda: watch(ctx)
        )
