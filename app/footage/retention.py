"""Retention: originals, events and thumbnails older than a camera's retention go, except
what a legal hold covers.

A segment is held while a request of an open case covers it: any request not denied, on
that camera, whose window overlaps the segment. Closing the case releases the hold and the
next sweep deletes what is past retention. Deleted segments keep their row (status
`deleted`, hash and times intact) so the audit trail still names what existed.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, exists
from sqlmodel import Session, col, select

from app.audit.service import record
from app.cameras.models import Camera
from app.cases.models import Case, CaseStatus
from app.context import AppContext
from app.db import session_scope, utcnow
from app.events.models import Event
from app.extractions.models import Decision, Extraction, ExtractionCamera, ExtractionState
from app.footage.models import Segment, SegmentStatus
from app.storage import ObjectLocked

log = logging.getLogger(__name__)


def held():  # type: ignore[no-untyped-def]
    """SQL condition: the segment is covered by a request of an open case."""
    return exists(
        select(ExtractionCamera.id)
        .join(Extraction, col(Extraction.id) == col(ExtractionCamera.extraction_id))
        .join(Case, col(Case.id) == col(Extraction.case_id))
        .where(
            col(ExtractionCamera.camera_id) == col(Segment.camera_id),
            col(ExtractionCamera.decision) != Decision.denied,
            col(Extraction.state) != ExtractionState.denied,
            col(Case.status) == CaseStatus.open,
            col(Extraction.start) < col(Segment.end),
            col(Extraction.end) > col(Segment.start),
        )
    )


def is_held(session: Session, segment_id: int) -> bool:
    return (
        session.exec(select(Segment.id).where(Segment.id == segment_id, held())).first() is not None
    )


@dataclass
class SweepReport:
    deleted_segments: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    deleted_events: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    held: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    locked: dict[int, int] = field(default_factory=lambda: defaultdict(int))

    @property
    def total_deleted(self) -> int:
        return sum(self.deleted_segments.values())


def _expired(
    session: Session,
    camera_id: int,
    cutoff: datetime,
    *,
    held_ones: bool,
    skip: set[int],
    limit: int,
) -> list[Segment]:
    stmt = select(Segment).where(
        Segment.camera_id == camera_id,
        col(Segment.start) < cutoff,  # implied by end < cutoff; lets the index serve it
        col(Segment.end) < cutoff,
        col(Segment.status) != SegmentStatus.deleted,
        held() if held_ones else ~held(),
    )
    if skip:
        stmt = stmt.where(col(Segment.id).not_in(skip))
    return list(session.exec(stmt.order_by(col(Segment.start)).limit(limit)).all())


def sweep(ctx: AppContext, now: datetime | None = None, batch: int = 200) -> SweepReport:
    """Delete what is past retention, camera by camera in batches; each batch is one
    transaction with one audit entry carrying its counts."""
    now = now or utcnow()
    report = SweepReport()
    with session_scope(ctx.engine) as session:
        cameras = [(c.id, c.retention_days) for c in session.exec(select(Camera)).all()]
    for camera_id, days in cameras:
        assert camera_id is not None
        cutoff = now - timedelta(days=days)
        skip: set[int] = set()
        with session_scope(ctx.engine) as session:
            report.held[camera_id] = len(
                _expired(session, camera_id, cutoff, held_ones=True, skip=skip, limit=100_000)
            )
        while True:
            with session_scope(ctx.engine) as session:
                segs = _expired(session, camera_id, cutoff, held_ones=False, skip=skip, limit=batch)
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
                    for key in session.exec(
                        select(Event.thumbnail_key).where(Event.segment_id == seg.id)
                    ).all():
                        if key:
                            ctx.store.delete(key)
                    res = session.execute(delete(Event).where(col(Event.segment_id) == seg.id))
                    n_events += int(res.rowcount or 0)  # type: ignore[attr-defined]
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
                            "cutoff": cutoff.isoformat(),
                        },
                    )
                    report.deleted_segments[camera_id] += n_segs
                    report.deleted_events[camera_id] += n_events
    return report


class RetentionScheduler:
    """The embedded default's schedule: a sweep every `retention_interval_s` in the API
    process (Celery beat runs the same sweep at scale)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="wardcam-retention", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.wait(self.ctx.settings.retention_interval_s):
            try:
                report = sweep(self.ctx)
                if report.total_deleted:
                    log.info("retention: deleted %d segments", report.total_deleted)
            except Exception:
                log.exception("retention sweep failed; will try again")
