"""A real signed evidence package for the verifier's tests, and ways to alter one."""

from __future__ import annotations

import shutil
import struct
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import av
import cv2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import signing
from evidence.cut import SourceSegment, cut_clip
from evidence.package import PackageFile, build_package
from evidence.verify import VerifyReport, verify_package

SECRET = b"test-secret-for-evidence-signing-0123456789"


@dataclass
class Built:
    zip: Path
    key: Ed25519PrivateKey
    sources: list[SourceSegment]
    clip: Path
    manifest: dict


def package_inputs(
    sources: list[SourceSegment], clip: Path, derivation: dict, tmp: Path
) -> tuple[list[PackageFile], list[dict], dict[str, bytes], list[dict], dict]:
    files = [
        PackageFile(
            f"originals/cam1/{s.path.name}",
            s.path,
            "original",
            expected_sha256=s.sha256,
            info={"camera_id": 1, "segment_id": s.segment_id, "start": s.start.isoformat()},
        )
        for s in sources
    ]
    files.append(PackageFile("clips/cam1/clip.mp4", clip, "clip", derivation=derivation))
    with av.open(str(clip)) as c:
        frame = next(c.decode(video=0)).to_ndarray(format="bgr24")
    ok, jpg = cv2.imencode(".jpg", frame)
    assert ok
    events = [
        {
            "id": 7,
            "camera_id": 1,
            "label": "car",
            "start": "2025-03-01T06:15:21+00:00",
            "end": "2025-03-01T06:15:24+00:00",
            "confidence": 0.88,
            "thumbnail": "thumbnails/7.jpg",
        }
    ]
    custody = [
        {
            "seq": 1,
            "action": "extraction.request",
            "actor": "investigator",
            "at": "2025-03-02T09:00:00+00:00",
            "prev_hash": "0" * 64,
        }
    ]
    meta = {
        "case": {"id": 3, "reference": "CASE-2025-003"},
        "request": {"id": 11, "reason": "hit and run", "redact": False},
        "approvals": [{"by": "ward_a", "decision": "approve", "note": "ok"}],
        "cameras": [
            {
                "id": 1,
                "name": "Ngã tư Lê Lợi, phường 7",
                "latitude": 10.7769,
                "longitude": 106.7009,
                "timezone": "Asia/Ho_Chi_Minh",
                "clock_offset_s": 2.5,
            }
        ],
    }
    return files, events, {"thumbnails/7.jpg": jpg.tobytes()}, custody, meta


def make_package(segments: list[SourceSegment], tmp: Path) -> Built:
    """A signed package of three real segments, a clip cut across them, events, custody."""
    sources = segments[1:4]
    start = sources[0].start + timedelta(seconds=5)
    end = sources[2].start + timedelta(seconds=2)
    clip = cut_clip(segments, start, end, tmp / "clip.mp4")
    used = [s for s in segments if s.segment_id in {u.segment_id for u in clip.sources_used}]
    key = signing.derive_signing_key(SECRET)
    files, events, thumbs, custody, meta = package_inputs(used, clip.path, clip.derivation(), tmp)
    res = build_package(
        tmp / "package.zip",
        manifest_meta=meta,
        files=files,
        events=events,
        thumbnails=thumbs,
        custody=custody,
        signing_key=key,
        created_at=datetime(2025, 3, 2, 10, 0, tzinfo=UTC),
    )
    assert res.path.is_file()
    return Built(res.path, key, used, clip.path, res.manifest)


def verify(path: Path) -> VerifyReport:
    """As a recipient who pinned the issuer's key (fetched from the service) verifies."""
    return verify_package(path, signing.public_key_pem(signing.derive_signing_key(SECRET)))


def fails(report: VerifyReport) -> list[str]:
    return [f"{v.name}: {v.message}" for v in report.failures]


def rewrite(
    src: Path,
    dst: Path,
    replace: dict[str, bytes | None] | None = None,
    add: dict[str, bytes] | None = None,
) -> Path:
    """Copy a package, replacing (None = dropping) or adding members, with valid CRCs."""
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for zi in zin.infolist():
            if zi.filename in replace:
                data = replace[zi.filename]
                if data is None:
                    continue
            else:
                data = zin.read(zi.filename)
            zout.writestr(zi, data)
        for name, data in (add or {}).items():
            zout.writestr(name, data)
    return dst


def flip_raw(src: Path, dst: Path, member: str, at: int = 100) -> Path:
    """Flip one byte of a stored member directly in the zip file (CRC left stale)."""
    shutil.copy(src, dst)
    with zipfile.ZipFile(dst) as zf:
        zi = zf.getinfo(member)
        assert zi.compress_type == zipfile.ZIP_STORED
    with open(dst, "r+b") as f:
        f.seek(zi.header_offset)
        head = f.read(30)
        n, m = struct.unpack("<HH", head[26:30])
        pos = zi.header_offset + 30 + n + m + at
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ 0x40]))
    return dst
