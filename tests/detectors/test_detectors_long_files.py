"""Long recordings (an NVR export of hours) are indexed in memory that does not grow with them.

Real model, real footage: shared clips re-encoded at 1080p and looped into files of minutes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from detectors import Detector, Event, PipelineConfig, run_pipeline

from .assets import (
    INTERSECTION,
    MOTORCYCLES,
    VN_OVERPASS,
    looped_copy,
    resized_copy,
    traced_growth,
)

pytestmark = pytest.mark.slow


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def _key(e: Event) -> tuple[object, ...]:
    return (e.label, e.start_s, e.end_s, e.confidence, e.box, e.best_s, e.color,
            e.thumbnail_jpeg, e.hits, tuple(sorted(e.labels.items())))


@pytest.mark.parametrize("clip", [VN_OVERPASS, MOTORCYCLES], ids=lambda p: p.stem)
def test_tracks_made_events_as_they_end_give_the_same_events(
    detector: Detector, clip: Path
) -> None:
    """Ended tracks made events every 2 s of video (riders supported look by look) give the
    events of one pass at the end: times, boxes, classes, colours, thumbnails."""
    once = run_pipeline(clip, detector, replace(PipelineConfig(), retire_every_s=0.0))
    often = run_pipeline(clip, detector, replace(PipelineConfig(), retire_every_s=2.0))
    assert len(once.events) >= 20
    assert sorted(map(_key, often.events)) == sorted(map(_key, once.events))
    assert len({e.track_id for e in often.events}) == len(often.events)


def test_a_long_dense_recording_lets_go_of_ended_tracks(
    detector: Detector, tmp_path: Path
) -> None:
    """Six minutes of the overpass (80 motorbikes at a time): what Python holds after the
    first minute grows by the thumbnails, not by every track's views and sightings."""
    long = looped_copy(VN_OVERPASS, tmp_path / "overpass_6min.mp4", 6)
    result, grew = traced_growth(long, detector)
    assert result.error is None and len(result.events) > 1500
    thumbnails = sum(len(e.thumbnail_jpeg) for e in result.events) / 2**20
    assert grew < thumbnails + 4.0, (grew, thumbnails)


def test_a_long_main_stream_recording_keeps_its_memory(
    detector: Detector, tmp_path: Path
) -> None:
    """Twelve minutes of 1080p (the intersection clip's first 10 s at 1440x1080, looped):
    the process's resident size after the second minute stays within 120 MB (before: the
    heaps of the decoding and model threads grew by about 1 GB every 5 minutes of video)."""
    main = resized_copy(INTERSECTION, tmp_path / "intersection_1080p.mp4", 1080, 10)
    long = looped_copy(main, tmp_path / "intersection_1080p_12min.mp4", 12)
    seen: list[tuple[int, int, float]] = []
    result = run_pipeline(long, detector,
                          progress=lambda done, total: seen.append((done, total, _rss_mb())))
    assert result.error is None and len(result.events) > 400
    total = seen[-1][1]
    after = [rss for done, _, rss in seen if done >= total / 6]
    assert max(after) - after[0] < 120.0, (after[0], max(after))


def test_large_buffers_are_mapped_on_their_own_here() -> None:
    """On glibc (this machine, the Docker image) the threshold is fixed: each large picture
    is its own memory map, returned to the system when freed."""
    import platform

    from detectors.heap import fix_mmap_threshold

    assert platform.libc_ver()[0] == "glibc"
    assert fix_mmap_threshold() is True
