"""Checks a recorded segment must pass whatever the source: the file is what the record says."""

from __future__ import annotations

import hashlib
import itertools
from datetime import timedelta
from pathlib import Path

import av
import pytest

from ingest.probe import probe
from ingest.recorder import RecordedSegment

FRAME = 1 / 30  # most of the shared clips are 30 fps


def decode_count(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def check_segment(
    s: RecordedSegment, frame: float = FRAME, size: tuple[int, int] = (640, 360)
) -> None:
    """Hash, size, every frame decodable, duration, creation time: the file is the record."""
    data = s.path.read_bytes()
    assert hashlib.sha256(data).hexdigest() == s.sha256
    assert len(data) == s.size
    assert not s.path.with_name(s.path.name + ".part").exists()
    assert decode_count(s.path) == s.video_packets
    p = probe(s.path)  # a recorded segment is itself a whole, valid video
    # What the recorder says of the file without probing it (issue 13) is what a probe says.
    assert s.facts == p, {
        k: (getattr(s.facts, k), getattr(p, k))
        for k in p.__dataclass_fields__
        if getattr(s.facts, k, None) != getattr(p, k)
    }
    assert p.video_codec == "h264" and (p.width, p.height) == size
    assert p.duration_s == pytest.approx(s.duration_s, abs=2 * frame)
    assert abs((s.end_utc - s.start_utc).total_seconds() - s.duration_s) <= 1e-6
    assert p.creation_time is not None
    assert timedelta(0) <= s.start_utc - p.creation_time < timedelta(seconds=1)  # MP4: whole s
    if s.stats is not None:
        assert s.stats.video_packets == s.video_packets
        assert (s.stats.width, s.stats.height) == size and s.stats.codec == "h264"


def assert_contiguous(segs: list[RecordedSegment], frame: float = FRAME) -> None:
    for a, b in itertools.pairwise(segs):
        assert b.start_utc == a.end_utc
        # ... and independently of our arithmetic: the next file starts where this file's
        # media ends.
        gap = (b.start_utc - a.start_utc).total_seconds() - probe(a.path).duration_s
        assert abs(gap) <= 2 * frame
