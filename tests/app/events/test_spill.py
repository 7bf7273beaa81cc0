"""The index job's thumbnails wait on disk while a recording is read (`app.events.spill`):
each comes back byte for byte, and a long recording's memory no longer grows by them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from app.events.spill import ThumbnailSpill
from detectors import Detector, Event, PipelineConfig, run_pipeline
from tests.detectors.assets import (
    MOTORCYCLES,
    OPENVINO_MODEL,
    VN_OVERPASS,
    looped_copy,
    traced_growth,
)


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector(str(OPENVINO_MODEL), device="cpu")


def test_thumbnails_handed_over_come_back_as_they_were(detector: Detector) -> None:
    config = replace(PipelineConfig(), retire_every_s=2.0)  # most events made as tracks end
    kept = run_pipeline(VN_OVERPASS, detector, config)
    with ThumbnailSpill() as spill:
        spilled = run_pipeline(VN_OVERPASS, detector, config, on_event=spill.keeper())
        assert len(spilled.events) == len(kept.events) >= 20
        assert all(e.thumbnail_jpeg == b"" for e in spilled.events)
        by_track = {e.track_id: e for e in kept.events}
        for e in spilled.events:
            original = by_track[e.track_id]
            assert replace(e, thumbnail_jpeg=original.thumbnail_jpeg) == original
            assert spill.thumbnail(e) == original.thumbnail_jpeg
            assert spill.thumbnail(e)[:3] == b"\xff\xd8\xff"  # a JPEG
        # an event that was not handed over keeps its own
        first = kept.events[0]
        assert spill.thumbnail(replace(first, track_id=-1)) == first.thumbnail_jpeg
        with pytest.raises(ValueError, match="twice"):
            spill.keeper()(spilled.events[0])


def test_a_second_file_keeps_its_track_ids_apart() -> None:
    with ThumbnailSpill() as spill:
        one = Event("car", 0.0, 1.0, 0.9, (0.0, 0.0, 1.0, 1.0), 0.5, "red", b"first", 7, 10, 10)
        spill.keeper(0)(one)
        spill.keeper(1_000_000)(replace(one, thumbnail_jpeg=b"second"))
        assert spill.thumbnail(one) == b"first"
        assert spill.thumbnail(replace(one, track_id=1_000_007)) == b"second"
        assert spill.size == len(b"first") + len(b"second")


@pytest.mark.slow
def test_a_long_recordings_memory_does_not_grow_by_its_thumbnails(
    detector: Detector, tmp_path: Path
) -> None:
    """Six minutes of the motorcycle clip (about 9 KB a thumbnail): what Python holds after
    the first minute grows by the thumbnails without the spill, by far less with it."""
    long = looped_copy(MOTORCYCLES, tmp_path / "motorcycles_6min.mp4", 6)

    def growth(spill: ThumbnailSpill | None) -> tuple[float, float, int]:
        result, grew = traced_growth(long, detector,
                                     on_event=spill.keeper() if spill else None)
        assert result.error is None
        thumbs = sum(len(spill.thumbnail(e) if spill else e.thumbnail_jpeg)
                     for e in result.events) / 2**20
        return grew, thumbs, len(result.events)

    without, thumbnails, n = growth(None)
    with ThumbnailSpill() as spill:
        with_spill, spilled, n_spilled = growth(spill)
    assert n_spilled == n > 400 and spilled == pytest.approx(thumbnails)
    assert thumbnails > 3.0, thumbnails
    assert without > 0.8 * thumbnails * 5 / 6, (without, thumbnails)
    assert with_spill < without - 0.6 * thumbnails * 5 / 6, (with_spill, without, thumbnails)
