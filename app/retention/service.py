"""Retention: originals, events and thumbnails older than a camera's retention go, except
what a legal hold covers.

A segment is held while a request of an open case covers it: any request not denied, on
that camera, whose window overlaps the segment. Closing the case releases the hold and the
next sweep deletes what is past retention. Deleted segments keep their row (status
`deleted`, hash and times intact) so the audit trail still names what existed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.audit.service import record
from app.cameras import repository as cameras
from app.context import AppContext
from app.db import read_session, utcnow
from app.events import repository as events
from app.footage.models import SegmentStatus
from app.notifications.models import NotificationKind
from app.notifications.service import announce
from app.retention import repository
from app.storage import ObjectLocked
from app.timewindow import utc_z

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    deleted_segments: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    deleted_events: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    held: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    locked: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def total_deleted(self) -> int:
        return sum(self.deleted_segments.values())


def sweep(ctx: AppContext, now: datetime | None = None, batch: int = 200) -> SweepReport:
    """Delete what is past retention, camera by camera in batches; each batch is one
    transaction with one audit entry carrying its counts."""
    now = now or utcnow()
    report = SweepReport()
    with read_session(ctx.engine) as session:
        retention = cameras.retention_days(session)
    for camera_id, days in retention:
        cutoff = now - timedelta(days=days)
        skip: set[int] = set()
        with read_session(ctx.engine) as session:
            report.held[camera_id] = len(
                repository.expired(session, camera_id, cutoff, held=True, skip=skip, limit=100_000)
            )
        while True:
            with ctx.transaction() as session:
                segs = repository.expired(
                    session, camera_id, cutoff, held=False, skip=skip, limit=batch
                )
                if not segs:
                    break
                n_segs = n_events = 0
                for seg in segs:
                    try:
                        ctx.store.delete(seg.object_key)
                    except ObjectLocked:  # S3 object lock: retained longer than configured
                        report.locked[camera_id] += 1
                        skip.add(seg.id or 0)
                        continue
                    assert seg.id is not None
                    for key in events.thumbnail_keys(session, seg.id):
                        ctx.store.delete(key)
                    n_events += events.delete_for_segment(session, seg.id)
                    seg.status = SegmentStatus.deleted
                    session.add(seg)
                    n_segs += 1
                if n_segs:
                    record(
                        session,
                        None,
                        "retention.delete",
                        target_type="camera",
                        target_id=camera_id,
                        camera_ids=[camera_id],
                        details={
                            "segments": n_segs,
                            "events": n_events,
                            "retention_days": days,
                            "cutoff": utc_z(cutoff),
                        },
                    )
                    report.deleted_segments[camera_id] += n_segs
                    report.deleted_events[camera_id] += n_events
    _announce(ctx, report, now)
    return report


def _announce(ctx: AppContext, report: SweepReport, ran_at: datetime) -> None:
    """Each ward whose cameras lost footage to this run (or kept some only because the
    store's object lock refused) gets the run's counts for its cameras."""
    touched = {c for c, n in report.deleted_segments.items() if n} | {
        c for c, n in report.locked.items() if n
    }
    if not touched:
        return
    with ctx.transaction() as session:
        by_org: dict[int, list[int]] = defaultdict(list)
        for cam in cameras.get_many(session, sorted(touched)):
            by_org[cam.org_id].append(cam.id or 0)
        for org_id, ids in sorted(by_org.items()):
            announce(
                session,
                org_id,
                NotificationKind.retention_summary,
                ran_at=ran_at,
                cameras=len(ids),
                deleted_segments=sum(report.deleted_segments.get(c, 0) for c in ids),
                deleted_events=sum(report.deleted_events.get(c, 0) for c in ids),
                held_segments=sum(report.held.get(c, 0) for c in ids),
                locked_segments=sum(report.locked.get(c, 0) for c in ids),
            )
