"""What each kind of job does. Imported by whoever runs jobs, so the kinds are registered."""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from app.context import AppContext
from app.db import session_scope
from app.events.service import replace_events
from app.footage.models import Segment, SegmentStatus
from app.jobs.runner import JobContext, PermanentJobError, handler
from app.storage import ObjectStore
from detectors import Detector, PipelineConfig, run_pipeline
from ingest.hashing import sha256_file

log = logging.getLogger(__name__)
_detector_lock = threading.Lock()


def download(store: ObjectStore, key: str, path: Path) -> Path:
    """Stream an object to a local file (jobs work on files: PyAV, hashing, zip)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        for chunk in store.iter_chunks(key):
            out.write(chunk)
    return path


@contextmanager
def local_copy(store: ObjectStore, key: str, suffix: str = "") -> Iterator[Path]:
    """The object as a local file in a temp dir, removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="wardcam-job-") as tmp:
        yield download(store, key, Path(tmp) / f"object{suffix}")


def preload_detector(app: AppContext) -> Detector:
    """One detector per process, loaded once (model loading takes a second or two).

    Raises `DetectorLoadError` naming WARDCAM_DETECTOR_MODEL for a missing or wrong model.
    """
    with _detector_lock:
        det = app.extras.get("detector")
        if det is None:
            det = Detector(app.settings.detector_model, app.settings.detector_device)
            app.extras["detector"] = det
        assert isinstance(det, Detector)
        return det


@handler("index_segment")
def index_segment(jc: JobContext) -> None:
    """Verify the original, run the detection pipeline, store its events and thumbnails.

    A file that fails to decode part-way keeps the events found up to the failure; the job
    then fails (no retry: the bytes will not change) with the reason and the frame count.
    """
    with session_scope(jc.app.engine) as session:
        segment = session.get(Segment, jc.segment_id)
        if segment is None:
            raise PermanentJobError(f"segment {jc.segment_id} does not exist")
        key, expected = segment.object_key, segment.sha256
    detector = preload_detector(jc.app)
    with local_copy(jc.app.store, key, Path(key).suffix) as path:
        if sha256_file(path) != expected:
            raise PermanentJobError(
                f"stored original of segment {jc.segment_id} does not match its acquisition hash"
            )
        result = run_pipeline(
            path, detector, PipelineConfig(), progress=lambda done, total: jc.progress(done, total)
        )
    jc.progress(result.frames_decoded, result.frames_total, force=True)
    with session_scope(jc.app.engine) as session:
        segment = session.get(Segment, jc.segment_id)
        assert segment is not None
        replace_events(session, jc.app.store, segment, result.events)
        segment.status = SegmentStatus.failed if result.error else SegmentStatus.indexed
        session.add(segment)
    if result.error:
        raise PermanentJobError(
            f"decoding failed after frame {result.frames_decoded} of {result.frames_total}: "
            f"{result.error} ({len(result.events)} events up to there were kept)"
        )


def _register_other_kinds() -> None:
    from app.extractions import fulfil  # noqa: F401  (registers "fulfil_extraction")


_register_other_kinds()
