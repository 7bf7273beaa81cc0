"""What each kind of job does. Imported by whoever runs jobs, so the kinds are registered."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.db import session_scope
from app.jobs.runner import JobContext, PermanentJobError, handler
from app.models import Segment, SegmentStatus
from app.storage import ObjectStore
from ingest.errors import IngestError
from ingest.hashing import sha256_file
from ingest.probe import probe

log = logging.getLogger(__name__)


@contextmanager
def local_copy(store: ObjectStore, key: str, suffix: str = "") -> Iterator[Path]:
    """The object as a local file (streamed to a temp file; removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="wardcam-job-") as tmp:
        path = Path(tmp) / f"object{suffix}"
        with path.open("wb") as out:
            for chunk in store.iter_chunks(key):
                out.write(chunk)
        yield path


@handler("index_segment")
def index_segment(jc: JobContext) -> None:
    with session_scope(jc.app.engine) as session:
        segment = session.get(Segment, jc.segment_id)
        if segment is None:
            raise PermanentJobError(f"segment {jc.segment_id} does not exist")
        key, expected = segment.object_key, segment.sha256
    with local_copy(jc.app.store, key, Path(key).suffix) as path:
        if sha256_file(path) != expected:
            raise PermanentJobError(
                f"stored original of segment {jc.segment_id} does not match its acquisition hash"
            )
        try:
            info = probe(path)
        except IngestError as exc:
            raise PermanentJobError(f"{exc.code}: {exc.detail}") from None
        total = info.frame_count or round(info.duration_s * (info.fps or 0))
        jc.progress(total, total, force=True)
    with session_scope(jc.app.engine) as session:
        segment = session.get(Segment, jc.segment_id)
        assert segment is not None
        segment.status = SegmentStatus.indexed
        session.add(segment)
