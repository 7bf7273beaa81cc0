"""One call from "these segments, this window" to a signed package: the fulfilment steps
(re-hash the originals, cut, optionally redact, package, sign) on local files.

The service (app/) gathers the segments, case, request, approvals, events and custody entries
from its database and object store and calls :func:`export_package`; everything here works on
local files only.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence.cut import ClipResult, SourceSegment, cut_clip, iso, select_sources
from evidence.errors import CutError
from evidence.hashing import verify_sources
from evidence.package import PackageFile, PackageResult, PackageWriter, check_arcname
from evidence.redact import DetectorLike, RedactResult, redact_clip


@dataclass(frozen=True)
class CameraWindow:
    """One camera's part of an extraction: its segments and a short safe name for paths."""

    key: str  # used in arcnames: originals/<key>/..., clips/<key>/clip.mp4
    sources: Sequence[SourceSegment]
    info: dict[str, Any] = field(default_factory=dict)  # added to each file's manifest entry


@dataclass
class CameraExport:
    key: str
    clip: ClipResult
    redacted: RedactResult | None
    originals: list[SourceSegment]


@dataclass
class ExportResult:
    package: PackageResult
    cameras: list[CameraExport]


def export_package(
    out_zip: str | Path,
    cameras: Sequence[CameraWindow],
    start: datetime,
    end: datetime,
    *,
    signing_key: Ed25519PrivateKey,
    manifest_meta: dict[str, Any],
    events: list[dict[str, Any]] | None = None,
    thumbnails: dict[str, bytes] | None = None,
    custody: list[dict[str, Any]] | None = None,
    redact: bool = False,
    detector: DetectorLike | None = None,
    redact_options: dict[str, Any] | None = None,
    workdir: str | Path | None = None,
    verify_first: bool | None = None,
    hash_workers: int = 2,
    created_at: datetime | None = None,
) -> ExportResult:
    """Fulfil an extraction: re-hash every original against its acquisition hash, cut the
    window by stream copy, redact if asked, then write and sign the package.

    Every original the window touches is hashed as it is written into the package (in a
    worker thread, while the clip is being cut) and compared with its acquisition hash; a
    mismatch raises :class:`~evidence.errors.TamperError` and leaves no package, and the
    hashes in the manifest are those of the exact bytes packaged. ``verify_first`` also
    re-hashes them *before* anything else (``None``: only when redacting, so that minutes of
    re-encoding are not spent on a tampered original; for a stream-copy export the check
    while packaging is the same check at half the cost).

    Clips are made in ``workdir`` (a temp dir by default, removed afterwards).
    Raises :class:`~evidence.errors.CutError` (``no_footage`` ...) for a camera with no
    footage in the window.
    """
    if redact and detector is None:
        raise ValueError("redact=True needs a detector")
    pre = verify_first if verify_first is not None else redact
    keys = [c.key for c in cameras]
    for k in keys:
        check_arcname(k)
        if "/" in k:
            raise ValueError(f"camera key {k!r} must not contain '/'")
    if len(set(keys)) != len(keys):
        raise ValueError("camera keys must be unique")
    own_tmp = workdir is None
    work = Path(tempfile.mkdtemp(prefix="wardcam-export-")) if own_tmp else Path(workdir or ".")
    try:
        exports: list[CameraExport] = []
        with PackageWriter(out_zip, signing_key, created_at) as pw, ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="package-originals"
        ) as pool:
            for cam in cameras:
                try:
                    chosen = select_sources(list(cam.sources), start, end)
                except CutError:
                    # an original that cannot even be opened may have been tampered with
                    verify_sources(cam.sources, workers=hash_workers)
                    raise
                if not chosen:
                    raise CutError(
                        f"camera {cam.key}: no footage between {iso(start)} and {iso(end)}",
                        code="no_footage",
                    )
                if pre:
                    verify_sources(chosen, workers=hash_workers)
                originals = [
                    PackageFile(
                        f"originals/{cam.key}/{Path(s.path).name}",
                        Path(s.path),
                        "original",
                        expected_sha256=s.sha256,
                        info={**cam.info, "segment_id": s.segment_id, "start": iso(s.start)},
                    )
                    for s in chosen
                ]
                pending: Future[None] = pool.submit(_add_all, pw, originals)
                cdir = work / cam.key
                cdir.mkdir(parents=True, exist_ok=True)
                try:
                    clip = cut_clip(chosen, start, end, cdir / "clip.mp4",
                                    compute_sha256=redact)
                except Exception as exc:
                    # an original that cannot be cut may have been tampered with: say so
                    err = pending.exception()
                    if err is not None:
                        raise err from exc
                    raise
                pending.result()  # TamperError if an original no longer matches
                pw.add_file(PackageFile(f"clips/{cam.key}/clip.mp4", clip.path, "clip",
                                        derivation=clip.derivation(), info=dict(cam.info)))
                red: RedactResult | None = None
                if redact:
                    assert detector is not None
                    red = redact_clip(clip.path, cdir / "clip_redacted.mp4", detector=detector,
                                      source_sha256=clip.sha256, **(redact_options or {}))
                    pw.add_file(PackageFile(f"clips/{cam.key}/clip_redacted.mp4", red.path,
                                            "clip_redacted", derivation=red.derivation(),
                                            info=dict(cam.info)))
                exports.append(CameraExport(cam.key, clip, red, chosen))
            pkg = pw.finish(manifest_meta, events or [], thumbnails or {}, custody or [])
        return ExportResult(pkg, exports)
    finally:
        if own_tmp:
            shutil.rmtree(work, ignore_errors=True)


def _add_all(pw: PackageWriter, files: list[PackageFile]) -> None:
    for pf in files:
        pw.add_file(pf)
