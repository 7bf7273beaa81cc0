"""The whole fulfilment on local files: re-hash, cut, (redact), package, sign, verify."""

from __future__ import annotations

import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from evidence import signing
from evidence.cut import SourceSegment
from evidence.errors import TamperError
from evidence.export import CameraWindow, export_package
from evidence.verify import verify_package
from tests.evidence.conftest import T0
from tests.evidence.test_redact import HAVE_DETECTOR, _detector

KEY = signing.derive_signing_key(b"export-test-secret")


def test_two_cameras(
    segments: list[SourceSegment], bframe_segments: list[SourceSegment], tmp_path: Path
) -> None:
    start, end = T0 + timedelta(seconds=9), T0 + timedelta(seconds=17)
    cams = [
        CameraWindow("cam1", segments, {"camera_id": 1}),
        CameraWindow("cam2", bframe_segments, {"camera_id": 2}),
    ]
    res = export_package(
        tmp_path / "p.zip",
        cams,
        start,
        end,
        signing_key=KEY,
        manifest_meta={"case": {"id": 1}, "request": {"id": 2}},
        events=[{"id": 1}],
        custody=[{"seq": 1}],
    )
    rep = verify_package(res.package.path, signing.public_key_pem(KEY))
    assert rep.ok, [v.message for v in rep.failures]
    with zipfile.ZipFile(res.package.path) as zf:
        names = set(zf.namelist())
    assert {"clips/cam1/clip.mp4", "clips/cam2/clip.mp4"} <= names
    for cam in res.cameras:
        assert cam.clip.actual_start <= start and cam.clip.actual_end >= end
        for s in cam.originals:
            assert f"originals/{cam.key}/{s.path.name}" in names
    assert len(res.cameras[0].originals) == 2  # 9 s .. 17 s spans the first two segments


def test_tampered_original_fails_loudly(segments: list[SourceSegment], tmp_path: Path) -> None:
    copies = []
    for s in segments[:2]:
        p = tmp_path / s.path.name
        shutil.copy(s.path, p)
        copies.append(SourceSegment(p, s.start, s.sha256, s.segment_id))
    data = bytearray(copies[0].path.read_bytes())
    data[-10] ^= 0x01
    copies[0].path.write_bytes(bytes(data))
    with pytest.raises(TamperError) as ei:
        export_package(
            tmp_path / "p.zip",
            [CameraWindow("cam1", copies)],
            T0,
            T0 + timedelta(seconds=5),
            signing_key=KEY,
            manifest_meta={},
        )
    assert ei.value.path == str(copies[0].path)
    assert not (tmp_path / "p.zip").exists()


@pytest.mark.skipif(not HAVE_DETECTOR, reason="detectors.Detector not available")
def test_redacted_export(bframe_segments: list[SourceSegment], tmp_path: Path) -> None:
    start, end = T0 + timedelta(seconds=1), T0 + timedelta(seconds=3)
    res = export_package(
        tmp_path / "r.zip",
        [CameraWindow("cam2", bframe_segments)],
        start,
        end,
        signing_key=KEY,
        manifest_meta={},
        redact=True,
        detector=_detector(),
    )
    assert verify_package(res.package.path, signing.public_key_pem(KEY)).ok
    entry = next(f for f in res.package.manifest["files"] if f["role"] == "clip_redacted")
    clip_entry = next(f for f in res.package.manifest["files"] if f["role"] == "clip")
    assert entry["derivation"]["source_sha256"] == clip_entry["sha256"]
    assert res.cameras[0].redacted is not None
    assert res.cameras[0].redacted.frames == res.cameras[0].clip.packets


def test_corrupted_original_reported_as_tamper(
    segments: list[SourceSegment], tmp_path: Path
) -> None:
    """An original damaged so badly it cannot be cut is still reported as a hash mismatch."""
    p = tmp_path / segments[0].path.name
    p.write_bytes(b"\x00" * 4096)
    src = [SourceSegment(p, segments[0].start, segments[0].sha256, "x")]
    with pytest.raises(TamperError):
        export_package(
            tmp_path / "p.zip",
            [CameraWindow("cam1", src)],
            T0,
            T0 + timedelta(seconds=5),
            signing_key=KEY,
            manifest_meta={},
        )
    assert not (tmp_path / "p.zip").exists()
