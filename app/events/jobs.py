"""The index job: one segment's original through the detector, its sightings stored as
events with their thumbnails. Re-indexing replaces them: never duplicates."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from app.events import repository
from app.events.models import Event
from app.footage import repository as footage
from app.footage.models import Segment, SegmentStatus
from app.footage.service import INDEX_JOB
from app.jobs.registry import JobContext, PermanentJobError, handler
from app.storage import ObjectStore
from app.storage.download import local_copy
from detectors import DetectorLoadError, PipelineConfig, run_pipeline
from detectors import Event as Sighting
from evidence.hashing import sha256_file


def thumbnail_key(segment: Segment, index: int) -> str:
    return f"thumbs/cam{segment.camera_id}/seg{segment.id}/{index:04d}.jpg"


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


def replace_events(
    session: Session, store: ObjectStore, segment: Segment, sightings: list[Sighting]
) -> list[Event]:
    """Delete the segment's events and thumbnails, then store these ones.

    Thumbnails are written before the rows that point at them; the old ones are removed
    only after, so a failure part-way leaves the previous index intact.
    """
    assert segment.id is not None
    old_keys = repository.thumbnail_keys(session, segment.id)
    repository.delete_for_segment(session, segment.id)
    rows: list[Event] = []
    new_keys: set[str] = set()
    for i, s in enumerate(sorted(sightings, key=lambda s: (s.start_s, s.track_id))):
        key = thumbnail_key(segment, i)
        store.put(
            key,
            io.BytesIO(s.thumbnail_jpeg),
            length=len(s.thumbnail_jpeg),
            content_type="image/jpeg",
        )
        new_keys.add(key)
        w, h = max(1, s.frame_width), max(1, s.frame_height)
        x1, y1, x2, y2 = s.box
        rows.append(
            Event(
                camera_id=segment.camera_id,
                segment_id=segment.id,
                track_id=s.track_id,
                label=s.label,
                color=s.color,
                start=_at(segment.start, s.start_s),
                end=_at(segment.start, max(s.end_s, s.start_s)),
                best_at=_at(segment.start, s.best_s),
                confidence=round(float(s.confidence), 4),
                box_x1=x1 / w,
                box_y1=y1 / h,
                box_x2=x2 / w,
                box_y2=y2 / h,
                thumbnail_key=key,
            )
        )
    repository.add_all(session, rows)
    for key in old_keys:
        if key not in new_keys:
            store.delete(key)
    return rows


@handler(INDEX_JOB)
def index_segment(jc: JobContext) -> None:
    """Verify the original, run the detection pipeline, store its events and thumbnails.

    A file that fails to decode part-way keeps the events found up to the failure; the job
    then fails (no retry: the bytes will not change) with the reason and the frame count.
    """
    with jc.app.transaction() as session:
        segment = None if jc.segment_id is None else footage.get(session, jc.segment_id)
        if segment is None:
            raise PermanentJobError(f"segment {jc.segment_id} does not exist")
        key, expected = segment.object_key, segment.sha256
    try:
        detector = jc.app.detectors.get()
    except DetectorLoadError as exc:  # one line saying how to fix it; retrying cannot help
        raise PermanentJobError(str(exc)) from None
    with local_copy(jc.app.store, key, Path(key).suffix) as path:
        if sha256_file(path) != expected:
            raise PermanentJobError(
                f"stored original of segment {jc.segment_id} does not match its acquisition hash"
            )
        result = run_pipeline(
            path, detector, PipelineConfig(), progress=lambda done, total: jc.progress(done, total)
        )
    jc.progress(result.frames_decoded, result.frames_total, force=True)
    with jc.app.transaction() as session:
        segment = footage.get(session, segment.id or 0)
        assert segment is not None
        replace_events(session, jc.app.store, segment, result.events)
        segment.status = SegmentStatus.failed if result.error else SegmentStatus.indexed
        session.add(segment)
    if result.error:
        raise PermanentJobError(
            f"decoding failed after frame {result.frames_decoded} of {result.frames_total}: "
            f"{result.error} ({len(result.events)} events up to there were kept)"
        )
