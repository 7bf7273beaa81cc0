"""NVR folder import: the same path as an upload, file by file, resumable.

A file already imported for this camera (same relative name and size, or failing that the
same SHA-256) is skipped, so an import stopped with Ctrl-C simply runs again. Each file is
committed on its own: an interruption loses at most the file in flight, and leaves nothing
half-stored.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.cameras import repository as cameras
from app.cameras.models import Camera, CameraStatus
from app.context import AppContext
from app.db import read_session
from app.errors import ApiError
from app.footage import repository, service
from app.footage.models import SegmentSource
from evidence.hashing import sha256_file
from ingest.errors import IngestError
from ingest.hashing import Spooled
from ingest.nvr import NvrFile, scan
from ingest.probe import probe


@dataclass
class ImportSummary:
    ingested: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    rejected: list[tuple[Path, str]] = field(default_factory=list)
    bytes_ingested: int = 0
    job_ids: list[int] = field(default_factory=list)


class ImportAborted(Exception):
    """The import cannot start (unknown or retired camera, bad folder or pattern)."""


def plan(
    ctx: AppContext, root: Path, camera_id: int, pattern: str | None
) -> tuple[Camera, list[NvrFile]]:
    with read_session(ctx.engine) as session:
        camera = cameras.get(session, camera_id)
        if camera is None:
            raise ImportAborted(f"camera {camera_id} does not exist")
        if camera.status == CameraStatus.retired:
            raise ImportAborted(f"camera {camera_id} is retired")
    try:
        files = scan(root, pattern, camera.timezone)
    except IngestError as exc:
        raise ImportAborted(f"{exc.code}: {exc.detail}") from None
    except FileNotFoundError as exc:
        raise ImportAborted(str(exc)) from None
    return camera, files


def import_files(
    ctx: AppContext,
    root: Path,
    camera: Camera,
    files: list[NvrFile],
    *,
    on_file: Callable[[NvrFile, str], None] | None = None,
) -> ImportSummary:
    """Import the files one by one, each in its own transaction (its indexing job announced
    through the context's dispatcher once it is committed)."""
    summary = ImportSummary()
    operator = getpass.getuser()
    assert camera.id is not None
    for f in files:
        rel = str(f.path.relative_to(root))
        outcome = _import_one(ctx, camera, f, rel, operator, summary)
        if on_file:
            on_file(f, outcome)
    return summary


def _import_one(
    ctx: AppContext,
    camera: Camera,
    f: NvrFile,
    rel: str,
    operator: str,
    summary: ImportSummary,
) -> str:
    assert camera.id is not None
    with read_session(ctx.engine) as session:
        seen = repository.imported(session, camera.id, rel, f.size)
    if seen:
        summary.skipped.append(f.path)
        return "skipped"
    if f.start is None:
        summary.rejected.append((f.path, f.reason or "no start time"))
        return "rejected"
    try:
        digest = sha256_file(f.path)
        with read_session(ctx.engine) as session:
            if repository.by_hash(session, camera.id, digest) is not None:
                summary.skipped.append(f.path)
                return "skipped"
        info = probe(f.path)
        with ctx.transaction() as session:
            cam = cameras.get(session, camera.id)
            assert cam is not None
            _, job, created = service.store_segment(
                session,
                ctx.store,
                None,
                cam,
                Spooled(f.path, digest, f.size),
                info,
                start_raw=f.start,
                start_source=f.start_source or "filename",
                source=SegmentSource.nvr_import,
                original_name=rel,
                max_attempts=ctx.settings.job_max_attempts,
                lock_mode=ctx.settings.object_lock_mode,
                audit_details={"operator": operator, "file": rel},
            )
    except IngestError as exc:
        summary.rejected.append((f.path, f"{exc.code}: {exc.detail}"))
        return "rejected"
    except ApiError as exc:
        summary.rejected.append((f.path, f"{exc.code}: {exc.detail}"))
        return "rejected"
    if not created:
        summary.skipped.append(f.path)
        return "skipped"
    summary.ingested.append(f.path)
    summary.bytes_ingested += f.size
    if job is not None and job.id is not None:
        summary.job_ids.append(job.id)
    return "ingested"
