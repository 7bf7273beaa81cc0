"""`wardcam import` of the exports wards have: Hikvision MPEG program streams (muxed here from
the shared footage with PyAV, one of them named `.mp4` as Hikvision names them) are stored as
received (byte for byte, hashed), probed as what they are, and indexed like MP4.

Dahua `.dav`: no real `.dav` file could be obtained (none in the shared assets; a made-up one
would prove nothing), so a `.dav` import is not tested here; FFmpeg's `dhav` demuxer is in
PyAV's build (tests/ingest/test_ingest_nvr_formats.py) and `.dav` files go the same path."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from tests.app.footage.test_import_record import _cli
from tests.conftest import FOOTAGE, World
from tests.ingest.media import to_program_stream


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_hikvision_program_streams_import_and_index(
    world: World,
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    from app.footage.models import Segment
    from app.jobs.pool import InProcessPool

    cam = world.camera(timezone="Asia/Ho_Chi_Minh", clock_offset_s=0)
    export = tmp_path / "export"
    export.mkdir()
    files = [
        to_program_stream(
            FOOTAGE / "intersection_cctv_day.mp4", export / "ch01_20250315083000.mp4"
        ),
        to_program_stream(FOOTAGE / "street_crossing_day.mp4", export / "ch01_20250315083100.ps"),
    ]
    out = _cli(settings, "import", str(export), "--camera", str(cam["id"]))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "ingested 2 files" in out.stdout
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    with Session(ctx.engine) as s:
        segs = list(s.exec(select(Segment).order_by(col(Segment.start))).all())
    assert [s.original_name for s in segs] == [f.name for f in files]
    for seg, f in zip(segs, files, strict=True):
        data = f.read_bytes()
        stored = b"".join(ctx.store.iter_chunks(seg.object_key))
        assert stored == data  # as received: not remuxed
        assert seg.sha256 == hashlib.sha256(data).hexdigest()
        assert seg.container == "mpeg" and seg.video_codec == "h264"
        assert seg.object_key.endswith(".mpg")  # stored as what it is, not as `.mp4`
        assert seg.start_source == "name"
    # 08:30 in Ho Chi Minh City is 01:30 UTC.
    assert segs[0].start.isoformat() == "2025-03-15T01:30:00+00:00"
    assert InProcessPool(ctx, 0).run_until_idle() == 2
    with Session(ctx.engine) as s:
        done = list(s.exec(select(Segment).order_by(col(Segment.start))).all())
    assert all(d.status == "indexed" for d in done), [(d.status) for d in done]
    assert world.count("event", f"segment_id = {segs[0].id}") >= 3
