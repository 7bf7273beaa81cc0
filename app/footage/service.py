"""Turning a hashed, probed file into a stored original, a segment row and an indexing job.

Upload, NVR import and live recording all end here, so they behave the same: the same bytes
for the same camera are stored once; the object is written before the row, and removed again
if the row cannot be written or its transaction rolls back, so a failure leaves neither
behind. The original is put under object lock once its row is committed, and its indexing job
is announced then (both through the transaction's outbox, see app.db.Outbox).
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.audit.service import Batch, record
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cameras import service as cameras
from app.cameras.models import Camera, CameraStatus
from app.cameras.policy import CameraPolicy
from app.context import AppContext
from app.db import outbox, read_session, utcnow
from app.errors import ApiError, BadRequest, Conflict, NotFound, Unprocessable
from app.events import repository as events
from app.extractions import repository as extractions
from app.footage import repository
from app.footage.models import Segment, SegmentSource, SegmentStatus, SegmentStream
from app.footage.schemas import (
    Coverage,
    Gap,
    JobPublic,
    Overlap,
    SegmentCorrection,
    SegmentPublic,
)
from app.jobs import repository as jobs
from app.jobs.models import Job
from app.storage import ObjectStore
from app.timewindow import check_window, utc_z
from ingest.errors import IngestError
from ingest.hashing import Spooled
from ingest.probe import ProbeResult
from ingest.probe import probe as probe_file
from ingest.timeparse import check_range

log = logging.getLogger(__name__)

INDEX_JOB = "index_segment"


def check_start(start: datetime, *, now: datetime | None = None) -> datetime:
    """The same rule as NVR import (ingest.timeparse.check_range), as an API error."""
    if start.tzinfo is None:
        raise Unprocessable(
            "start must carry a UTC offset, e.g. 2024-05-01T10:00:00+05:45", code="invalid_start"
        )
    try:
        check_range(start, now=now)
    except IngestError as exc:
        raise Unprocessable(exc.detail, code=exc.code) from None
    return start.astimezone(UTC)


def object_key(camera_id: int, start: datetime, sha256: str, suffix: str) -> str:
    s = start.astimezone(UTC)
    return (
        f"footage/cam{camera_id}/{s:%Y/%m/%d}/{s:%Y%m%dT%H%M%S}Z_{sha256[:16]}_"
        f"{uuid.uuid4().hex[:8]}{suffix}"
    )


def _suffix(probe: ProbeResult, name: str | None) -> str:
    """What the container is (a Hikvision MPEG-PS export named `.mp4` is stored as `.mpg`),
    else the name's extension."""
    if probe.suffix != ".bin":
        return probe.suffix
    if name and Path(name).suffix and len(Path(name).suffix) <= 6:
        return Path(name).suffix.lower()
    return ".bin"


_CONTENT_TYPES = {
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".mkv": "video/x-matroska",
    ".ts": "video/mp2t",
    ".mpg": "video/mp2p",  # MPEG program stream (Hikvision exports)
}


def content_type(probe: ProbeResult) -> str:
    """The stored original's media type, from what it is (not what it was called); Dahua
    `.dav` and anything else unusual is stored as plain bytes."""
    return _CONTENT_TYPES.get(probe.suffix, "application/octet-stream")


def to_public(segment: Segment, job: Job | None) -> SegmentPublic:
    data = segment.model_dump(exclude={"probe", "object_key"})
    return SegmentPublic(**data, job=JobPublic(**job.model_dump()) if job else None)


def store_segment(
    session: Session,
    store: ObjectStore,
    actor: Principal | None,
    camera: Camera,
    spooled: Spooled,
    probe: ProbeResult,
    *,
    start_raw: datetime,
    start_source: str,
    source: SegmentSource,
    original_name: str | None = None,
    truncated: bool = False,
    truncated_reason: str | None = None,
    max_attempts: int = 3,
    lock_mode: str = "",
    audit_details: dict[str, object] | None = None,
    camera_clock: bool = True,
    stream: SegmentStream = SegmentStream.main,
    take_file: bool = False,
    audit: Batch | None = None,
    savepoint: bool = True,
) -> tuple[Segment, Job | None, bool]:
    """Store the original and register it. Returns (segment, job, created).

    A `detect` (sub-)stream segment gets no index job of its own: the index job of the main
    segment it overlaps decodes it (`app.events.jobs`).

    The caller's transaction owner commits; the job is announced and the original locked
    (`lock_mode`, see `lock_original`) after that. `camera_clock=False` for times taken from
    this server's clock (live recording), which the camera's clock offset does not apply to.
    `take_file=True` lets the store take the spooled file itself instead of a copy (a hard
    link on the same file system): only for a file this process wrote, closed and will never
    write again (a recorded segment) - never a file of an NVR export, which its owner may
    still change. `audit`: gather the segment's audit entry there, for the caller to append
    with others under one lock of the chain's head (`app.footage.store_queue`), instead of
    appending it now. `savepoint=False` for a caller that stores in a savepoint of its own
    (`app.footage.recording.store_in`: two round trips fewer): a conflict then undoes that
    savepoint, raised to the caller, instead of finding the segment that won.
    """
    assert camera.id is not None
    start_raw = check_start(start_raw)
    existing = repository.by_hash(session, camera.id, spooled.sha256)
    if existing is not None:
        assert existing.id is not None
        check_same_start(existing, start_raw)
        return existing, jobs.for_segment(session, existing.id, INDEX_JOB), False
    offset = camera.clock_offset_s if camera_clock else 0.0
    start = start_raw - timedelta(seconds=offset)
    if probe.duration_s <= 0 or probe.duration_s > repository.MAX_SEGMENT.total_seconds():
        raise Unprocessable(
            f"segment duration {probe.duration_s:.1f}s is not accepted (0 < duration <= 24 h)",
            code="invalid_duration",
        )
    key = object_key(camera.id, start, spooled.sha256, _suffix(probe, original_name))
    if take_file:  # the recorded file itself where the store can take it (no copy)
        store.put_file(key, spooled.path, spooled.size, content_type(probe))
    else:
        with spooled.path.open("rb") as fh:
            store.put(key, fh, length=spooled.size, content_type=content_type(probe))
    try:
        with session.begin_nested() if savepoint else nullcontext():
            segment = Segment(
                camera_id=camera.id,
                start=start,
                end=start + timedelta(seconds=probe.duration_s),
                start_raw=start_raw,
                clock_offset_s=offset,
                start_source=start_source,
                duration_s=probe.duration_s,
                sha256=spooled.sha256,
                size=spooled.size,
                object_key=key,
                container=probe.format_name[:64],
                video_codec=probe.video_codec[:32],
                width=probe.width,
                height=probe.height,
                fps=probe.fps,
                keyframe_interval_s=probe.keyframe_interval_s,
                probe=json.dumps(asdict(probe), default=str),
                source=source,
                stream=stream,
                original_name=(original_name or None) and original_name[:255],
                truncated=truncated,
                truncated_reason=truncated_reason,
                status=SegmentStatus.pending,
                ingested_by=actor.user_id if actor else None,
            )
            repository.add(session, segment)
            assert segment.id is not None
            overlaps = overlapping_ids(session, segment)
            job = (
                jobs.create(session, INDEX_JOB, segment_id=segment.id, max_attempts=max_attempts)
                if stream == SegmentStream.main
                else None
            )
        # The audit entry last: it locks the chain's head until the transaction ends, and
        # every store of every worker waits for that lock, so as little as possible may
        # follow it (at 200 recorded cameras the stores queued behind it: issue 13).
        (audit.add if audit is not None else partial(record, session))(
            actor,
            f"footage.{source.value}",
            target_type="segment",
            target_id=segment.id,
            camera_ids=[camera.id],
            details={
                "sha256": spooled.sha256,
                "size": spooled.size,
                "start": utc_z(start),
                "duration_s": probe.duration_s,
                "truncated": truncated,
                **({"overlaps": overlaps} if overlaps else {}),
                **({"stream": stream.value} if stream != SegmentStream.main else {}),
                **(audit_details or {}),
            },
        )
    except IntegrityError:
        # The same bytes arrived concurrently and the other upload won: keep theirs.
        store.delete(key)
        if not savepoint:
            raise
        existing = repository.by_hash(session, camera.id, spooled.sha256)
        if existing is None:
            raise
        assert existing.id is not None
        check_same_start(existing, start_raw)
        return existing, jobs.for_segment(session, existing.id, INDEX_JOB), False
    except BaseException:
        store.delete(key)
        raise
    box = outbox(session)
    box.on_rollback.append(lambda: store.delete(key))
    box.after_commit.append(lambda: lock_original(store, segment, camera, lock_mode))
    return segment, job, True


SAME_START = timedelta(milliseconds=1)


def check_same_start(existing: Segment, start_raw: datetime) -> None:
    """The same bytes again are the same segment, unless they come with another start: then
    the sender means to correct the time, and silently keeping the old one would hide that.
    (Retried uploads, with the same start, get the stored segment back.)"""
    if abs(existing.start_raw - start_raw) <= SAME_START:
        return
    raise Conflict(
        f"these bytes are already stored for camera {existing.camera_id} as segment "
        f"{existing.id} (GET /segments/{existing.id}), starting {utc_z(existing.start_raw)} "
        f"as sent ({utc_z(existing.start)} corrected), not {utc_z(start_raw)}; nothing was "
        f"stored. To correct its start: PATCH /segments/{existing.id} with "
        '{"start": "<ISO 8601 with offset>", "reason": "<why>"}',
        code="duplicate_footage",
    )


def overlapping_ids(session: Session, segment: Segment) -> list[int]:
    """Other segments of the camera whose time overlaps this one's (a camera records one
    thing at a time per stream: an overlap means a wrong start somewhere)."""
    same = repository.overlapping(
        session, segment.camera_id, segment.start, segment.end, segment.stream
    )
    return [s.id for s in same if s.id is not None and s.id != segment.id]


def camera_for_upload(engine: Engine, principal: Principal, camera_id: int) -> Camera:
    """The camera an upload is for, checked before the body streams in: read in a short
    transaction of its own, so that nothing is held while the bytes arrive (SQLite has one
    writer at a time; a slow upload must not stall everyone else)."""
    with read_session(engine) as session:
        camera = cameras.get_for(
            session, principal, camera_id, manage=True, action=Action.footage_upload
        )
    if camera.status == CameraStatus.retired:
        raise Unprocessable(f"camera {camera_id} is retired", code="camera_retired")
    return camera


def register_upload(
    session: Session,
    ctx: AppContext,
    principal: Principal,
    camera: Camera,
    spooled: Spooled,
    start: datetime | None,
    filename: str | None,
) -> tuple[Segment, Job | None, bool]:
    """Probe an uploaded file and store it (see `store_segment`)."""
    try:
        info = probe_file(spooled.path)
    except IngestError as exc:
        raise ingest_error(exc) from None
    source = "request"
    if start is None:
        if info.creation_time is None:
            raise Unprocessable(
                "no start time: pass ?start=ISO8601 (the file has no creation "
                "time in its metadata)",
                code="no_start_time",
            )
        start, source = info.creation_time, "metadata"
    return store_segment(
        session,
        ctx.store,
        principal,
        camera,
        spooled,
        info,
        start_raw=start,
        start_source=source,
        source=SegmentSource.upload,
        original_name=filename,
        max_attempts=ctx.settings.job_max_attempts,
        lock_mode=ctx.settings.object_lock_mode,
    )


INGEST_STATUS = {"too_large": 413}


def ingest_error(exc: IngestError) -> ApiError:
    return ApiError(exc.detail, code=exc.code, status_code=INGEST_STATUS.get(exc.code, 422))


MAX_COVERAGE = timedelta(days=31)


def coverage(
    session: Session, principal: Principal, camera_id: int, start: datetime, end: datetime
) -> Coverage:
    """The segments of a camera that overlap [start, end) and the gaps between them; police
    looking at another owner's camera leave an entry in its access log."""
    check_window(start, end, longest=MAX_COVERAGE, too_long="window longer than 31 days")
    action = Action.footage_list
    camera = cameras.get_for(session, principal, camera_id, manage=False, action=action)
    rows = repository.overlapping_with_jobs(session, camera_id, start, end, INDEX_JOB)
    segments = [seg for seg, _ in rows]
    if not CameraPolicy.can_manage(principal, camera):
        record(
            session,
            principal,
            "footage.list",
            target_type="camera",
            target_id=camera_id,
            camera_ids=[camera_id],
            details={"from": utc_z(start), "to": utc_z(end), "segments": len(segments)},
        )
    gaps: list[Gap] = []
    cursor, covered = start, 0.0
    for seg in segments:
        if seg.start > cursor:
            gaps.append(
                Gap(start=cursor, end=seg.start, seconds=(seg.start - cursor).total_seconds())
            )
        lo, hi = max(seg.start, cursor), min(seg.end, end)
        if hi > lo:
            covered += (hi - lo).total_seconds()
        cursor = max(cursor, seg.end)
    if cursor < end:
        gaps.append(Gap(start=cursor, end=end, seconds=(end - cursor).total_seconds()))
    pairs = overlaps_among(segments)
    flagged: dict[int, list[int]] = {}
    for o in pairs:
        a, b = o.segment_ids
        flagged.setdefault(a, []).append(b)
        flagged.setdefault(b, []).append(a)
    items = []
    for seg, job in rows:  # jobs came with the segments: no query per segment
        public = to_public(seg, job)
        public.overlaps = sorted(flagged.get(seg.id or 0, []))
        items.append(public)
    return Coverage(
        camera_id=camera_id,
        start=start,
        end=end,
        covered_seconds=covered,
        segments=items,
        gaps=gaps,
        overlaps=pairs,
    )


def overlaps_among(segments: Sequence[Segment]) -> list[Overlap]:
    """Pairs of these segments (sorted by start) whose times overlap, in one pass: each
    segment against those still open when it starts."""
    out: list[Overlap] = []
    open_: list[Segment] = []
    for seg in segments:
        open_ = [o for o in open_ if o.end > seg.start]
        for o in open_:
            lo, hi = seg.start, min(o.end, seg.end)
            out.append(
                Overlap(
                    segment_ids=(o.id or 0, seg.id or 0),
                    start=lo,
                    end=hi,
                    seconds=(hi - lo).total_seconds(),
                )
            )
        open_.append(seg)
    return out


def get_segment(session: Session, principal: Principal, segment_id: int) -> SegmentPublic:
    segment = repository.get(session, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist", code="segment_not_found")
    cameras.get_for(session, principal, segment.camera_id, manage=False, action=Action.segment_read)
    return segment_public(session, segment)


def upload_public(session: Session, segment: Segment, job: Job | None) -> SegmentPublic:
    """An upload's answer: the segment, its job, and the segments it overlaps (flagged)."""
    public = to_public(segment, job)
    public.overlaps = overlapping_ids(session, segment)
    return public


def segment_public(
    session: Session, segment: Segment, overlaps: list[int] | None = None
) -> SegmentPublic:
    """`overlaps`: when the caller knows them already (coverage), else they are looked up."""
    assert segment.id is not None
    public = to_public(segment, jobs.for_segment(session, segment.id, INDEX_JOB))
    public.overlaps = overlapping_ids(session, segment) if overlaps is None else overlaps
    return public


def correct_start(
    session: Session, principal: Principal, segment_id: int, data: SegmentCorrection
) -> SegmentPublic:
    """Correct a segment's start (sent wrong at upload): its times and its events' move
    together; audited with the reason. Refused once the segment is in an evidence package
    (or being packaged): a package's times must stay what they were."""
    segment = repository.get(session, segment_id)
    if segment is None:
        raise NotFound(f"segment {segment_id} does not exist", code="segment_not_found")
    assert segment.id is not None
    cameras.get_for(
        session, principal, segment.camera_id, manage=True, action=Action.segment_correct
    )
    start_raw = check_start(data.start)
    start = start_raw - timedelta(seconds=segment.clock_offset_s)
    shift = start - segment.start
    if abs(shift) <= SAME_START:
        raise BadRequest(
            f"segment {segment_id} starts at {utc_z(segment.start_raw)} already",
            code="empty_update",
        )
    packages = extractions.in_evidence(session, segment.camera_id, segment.start, segment.end)
    if packages:
        raise Conflict(
            f"segment {segment_id} is in the evidence of extraction request(s) "
            f"{', '.join(map(str, packages))}: its times stay as packaged",
            code="segment_in_evidence",
            audit={
                "action": Action.segment_correct.value,
                "actor": principal,
                "target_type": "segment",
                "target_id": segment_id,
                "camera_ids": [segment.camera_id],
                "purpose": data.reason,
                "details": {"extractions": packages},
            },
        )
    before = (segment.start, segment.start_raw, segment.start_source)
    segment.start, segment.end = start, start + timedelta(seconds=segment.duration_s)
    segment.start_raw, segment.start_source = start_raw, "corrected"
    session.add(segment)
    session.flush()
    moved = events.shift_for_segment(session, segment.id, shift)
    overlaps = overlapping_ids(session, segment)
    record(
        session,
        principal,
        "segment.correct",
        target_type="segment",
        target_id=segment.id,
        camera_ids=[segment.camera_id],
        purpose=data.reason,
        details={
            "from": utc_z(before[0]),
            "to": utc_z(start),
            "start_raw_from": utc_z(before[1]),
            "start_raw_to": utc_z(start_raw),
            "start_source_was": before[2],
            "shift_s": shift.total_seconds(),
            "events_moved": moved,
            **({"overlaps": overlaps} if overlaps else {}),
        },
    )
    return segment_public(session, segment, overlaps)


def lock_original(store: ObjectStore, segment: Segment, camera: Camera, mode: str) -> bool:
    """Put the stored original under object-lock retention until its retention ends, so
    that not even an admin key can delete it early. Applied once the segment's row is
    committed (a failed insert must still be able to remove its object). `mode` is
    GOVERNANCE or COMPLIANCE; empty: no lock."""
    if not mode or not store.supports_object_lock:
        return False
    until = segment.start + timedelta(days=camera.retention_days)
    if until <= utcnow():
        return False
    store.set_retention(segment.object_key, until, mode)
    return True


@dataclass(frozen=True)
class CameraState:
    """What a ward sees of each camera in its console: its latest footage, when footage last
    arrived, the gaps of the last day, and the segments still waiting to be indexed."""

    last_footage_end: datetime | None
    last_received: datetime | None
    gaps: list[Gap]
    gap_seconds: float
    backlog: int


STATE_WINDOW = timedelta(hours=24)


def camera_states(
    session: Session, cams: list[Camera], *, now: datetime | None = None
) -> dict[int, CameraState]:
    """The state of cameras the caller manages (the ward's own: nothing to audit, as in
    `coverage` for an owner)."""
    now = now or utcnow()
    since = now - STATE_WINDOW
    ids = [c.id for c in cams if c.id is not None]
    latest = repository.latest_and_backlog(session, ids)
    stretches = repository.covered_stretches(session, ids, since, now)
    out: dict[int, CameraState] = {}
    for cid in ids:
        gaps: list[Gap] = []
        cursor = since
        for first, last in stretches.get(cid, ()):
            if first > cursor:
                gaps.append(
                    Gap(start=cursor, end=first, seconds=(first - cursor).total_seconds())
                )
            cursor = max(cursor, last)
        if cursor < now:
            gaps.append(Gap(start=cursor, end=now, seconds=(now - cursor).total_seconds()))
        end, got, backlog = latest.get(cid, (None, None, 0))
        out[cid] = CameraState(end, got, gaps, sum(g.seconds for g in gaps), backlog)
    return out
