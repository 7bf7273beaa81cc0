"""The index job: one segment's original through the detector, its sightings stored as
events with their thumbnails. Re-indexing replaces them: never duplicates."""

from __future__ import annotations

import functools
import io
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from sqlmodel import Session

from app.cameras import repository as cameras
from app.db import utcnow
from app.events import repository
from app.events.models import Event
from app.events.spill import ThumbnailSpill
from app.footage import repository as footage
from app.footage.models import Segment, SegmentSource, SegmentStatus, SegmentStream
from app.footage.service import INDEX_JOB
from app.jobs.registry import JobContext, NotReady, PermanentJobError, handler
from app.storage import ObjectStore
from app.storage.download import local_copy
from detectors import Detector, DetectorLoadError, PipelineConfig, run_pipeline
from detectors import Event as Sighting
from evidence.hashing import sha256_file


def thumbnail_key(segment: Segment, index: int) -> str:
    return f"thumbs/cam{segment.camera_id}/seg{segment.id}/{index:04d}.jpg"


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


def replace_events(
    session: Session,
    store: ObjectStore,
    segment: Segment,
    sightings: list[Sighting],
    thumbnail: Callable[[Sighting], bytes] = lambda s: s.thumbnail_jpeg,
) -> list[Event]:
    """Delete the segment's events and thumbnails, then store these ones (each thumbnail as
    `thumbnail` gives it: `ThumbnailSpill.thumbnail` where they waited on disk).

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
        jpeg = thumbnail(s)
        store.put(key, io.BytesIO(jpeg), length=len(jpeg), content_type="image/jpeg")
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


DETECT_WAIT = timedelta(minutes=3)
"""How long after a dual-stream segment's end its index waits for the detect stream to cover
it; then (the sub-stream is down) the main segment is indexed itself."""
NOT_READY_DELAY_S = 5.0
"""How long a dual-stream index waits before it looks for the detect stream again. The two
streams are cut within a GOP or so of each other, so the detect segment is mostly stored
seconds after the main one: at 15 s, the wait was most of a live camera's index lag (p50
16.6 s with 10 s segments, `benchmarks/live.py`); a look costs two queries."""
COVER_SLACK_S = 1.0
"""The two streams are anchored by the clock independently: edges and holes up to this are
covered."""
WARM_UP_S = 5.0
"""A detect segment that starts before the main segment is looked at from this long before
the main segment's start (not from its own start), for context: what is in the picture then
is tracked already at the start (one full-frame look at least, every
`PipelineConfig.confirm_interval_s`) and its event starts at the main segment's start."""

FOLLOW_S = 1.5
"""… and on for this long past the main segment's end: the next sample (one a second at the
least) says what was still in the picture at the end, so its event runs to the end (and the
next segment's starts there): no gap between the two."""


@dataclass(frozen=True)
class _Source:
    """A file to detect on: its stored key and hash, where it starts in the segment, and
    (a detect-stream file) the record frame size the boxes are scaled to."""

    key: str
    sha256: str
    segment_id: int
    offset_s: float = 0.0
    record_size: tuple[int, int] | None = None
    window: tuple[float, float] | None = None
    """The part of a detect file the main segment covers (its seconds); the pipeline looks
    from `WARM_UP_S` before it."""


def _covers(parts: list[Segment], start: datetime, end: datetime) -> bool:
    slack = timedelta(seconds=COVER_SLACK_S)
    cursor = start
    for p in parts:
        if p.start > cursor + slack:
            return False
        cursor = max(cursor, p.end)
    return cursor + slack >= end


def sources(session: Session, segment: Segment, now: datetime) -> list[_Source]:
    """What the index of this segment decodes. A recorded main segment of a camera with a
    detect stream: the detect segments overlapping it (dual-stream; `NotReady` while the
    detect stream has not been recorded past its end yet). Otherwise the segment itself."""
    assert segment.id is not None
    own = [_Source(segment.object_key, segment.sha256, segment.id)]
    camera = cameras.get(session, segment.camera_id)
    if (
        camera is None
        or not camera.detect_url_encrypted
        or segment.stream != SegmentStream.main
        or segment.source != SegmentSource.record
    ):
        return own
    parts = list(
        footage.overlapping(
            session, segment.camera_id, segment.start, segment.end, stream=SegmentStream.detect
        )
    )
    if parts and _covers(parts, segment.start, segment.end):
        out = []
        for p in parts:
            offset = (p.start - segment.start).total_seconds()
            window = (max(0.0, -offset), segment.duration_s - offset)
            out.append(
                _Source(
                    p.object_key,
                    p.sha256,
                    p.id or 0,
                    offset,
                    (segment.width, segment.height),
                    window,
                )
            )
        return out
    latest = footage.latest_end(session, segment.camera_id, SegmentStream.detect)
    if (latest is None or latest < segment.end) and now < segment.end + DETECT_WAIT:
        raise NotReady(
            f"the detect stream of camera {segment.camera_id} is not recorded up to "
            f"{segment.end.isoformat()} yet",
            NOT_READY_DELAY_S,
        )
    return own


@handler(INDEX_JOB)
def index_segment(jc: JobContext) -> None:
    """Verify the original(s), run the detection pipeline, store events and thumbnails.

    Dual-stream cameras: detection runs on the detect-stream segments that cover this main
    segment (`sources`), on the part of each that the main segment covers (from `WARM_UP_S`
    before it to `FOLLOW_S` after it); the pipeline scales boxes to the recorded frame,
    shifts times onto this segment's clock and keeps events within it: an object already in
    the picture at its start is an event from its start, as in a single-stream camera's
    segment, and one still there at its end runs to its end.

    A file that fails to decode part-way keeps the events found up to the failure; the job
    then fails (no retry: the bytes will not change) with the reason and the frame count.
    """
    with jc.app.transaction() as session:
        segment = None if jc.segment_id is None else footage.get(session, jc.segment_id)
        if segment is None:
            raise PermanentJobError(f"segment {jc.segment_id} does not exist")
        todo = sources(session, segment, utcnow())
    try:
        detector = jc.app.detectors.get()
    except DetectorLoadError as exc:  # one line saying how to fix it; retrying cannot help
        raise PermanentJobError(str(exc)) from None
    with ThumbnailSpill() as spill:
        _index(jc, segment, todo, detector, spill)


def _index(
    jc: JobContext, segment: Segment, todo: list[_Source], detector: Detector,
    spill: ThumbnailSpill,
) -> None:
    """Detect on each source, then store what was found (see `index_segment`)."""
    events: list[Sighting] = []
    error: str | None = None
    decoded = total = 0
    notes: list[str] = []
    for n, src in enumerate(todo):
        with local_copy(jc.app.store, src.key, Path(src.key).suffix) as path:
            if sha256_file(path) != src.sha256:
                raise PermanentJobError(
                    f"stored original of segment {src.segment_id} does not match its "
                    "acquisition hash"
                )
            result = run_pipeline(
                path,
                detector,
                PipelineConfig.from_env(),
                progress=functools.partial(_progress, jc, decoded, total),
                record_size=src.record_size,
                time_offset_s=src.offset_s,
                window=src.window,
                warm_up_s=WARM_UP_S,
                follow_s=FOLLOW_S,
                on_event=spill.keeper(n * TRACK_ID_STRIDE),
            )
        found = result.events
        if len(todo) > 1:  # several files: track ids kept apart
            found = [replace(e, track_id=e.track_id + n * TRACK_ID_STRIDE) for e in found]
        events += found
        note = result.decode.note(src.offset_s)
        if note:
            notes.append(note)
        decoded += result.frames_decoded
        total += result.frames_total
        if result.error:
            error = (
                f"decoding failed after frame {result.frames_decoded} of "
                f"{result.frames_total}: {result.error}"
            )
            break
    jc.progress(decoded, total, force=True)
    with jc.app.transaction() as session:
        current = footage.get(session, segment.id or 0)
        assert current is not None
        replace_events(session, jc.app.store, current, events, spill.thumbnail)
        current.status = SegmentStatus.failed if error else SegmentStatus.indexed
        current.index_note = "; ".join(notes)[:2000] or None
        session.add(current)
    if error:
        raise PermanentJobError(f"{error} ({len(events)} events up to there were kept)")


TRACK_ID_STRIDE = 1_000_000


def _progress(jc: JobContext, done0: int, total0: int, done: int, total: int) -> None:
    jc.progress(done0 + done, total0 + total)
