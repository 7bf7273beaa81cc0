"""Find the recordings in an NVR export folder and put them in time order.

An NVR export is a tree of files whose names carry the local start time; some models
only stamp the MP4 metadata.  ``scan`` walks the tree once, cheaply (no probing or
hashing: that happens when each file is actually imported, so a big folder lists in
seconds and the import can resume file by file), and reports for every video file its
start time in UTC, or why it has none.  Files with no start are still listed - the
importer decides whether to ask the user or skip them - and sorted last.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path

from ingest.errors import EMPTY_FILE, NO_START_TIME, START_TIME_OUT_OF_RANGE, IngestError
from ingest.probe import read_creation_time
from ingest.timeparse import COMMON_PATTERNS, check_range, get_zone, start_from_name

__all__ = ["VIDEO_EXTENSIONS", "NvrFile", "scan"]

#: Containers seen in NVR/DVR/camera exports that FFmpeg can read: MP4 and friends, MPEG-PS
#: (Hikvision exports, whatever their extension), ``.dav`` (Dahua; FFmpeg's ``dhav``
#: demuxer), raw ``.264``/``.h264`` streams.  ``probe`` reports any file FFmpeg cannot read.
VIDEO_EXTENSIONS: frozenset[str] = frozenset(
    {
        ".mp4",
        ".m4v",
        ".mov",
        ".mkv",
        ".avi",
        ".ts",
        ".mts",
        ".m2ts",
        ".h264",
        ".264",
        ".h265",
        ".265",
        ".hevc",
        ".dav",
        ".asf",
        ".wmv",
        ".flv",
        ".3gp",
        ".webm",
        ".mpg",
        ".mpeg",
        ".ps",  # MPEG program stream (Hikvision exports; often named .mp4 as well)
        ".vob",
    }
)


@dataclass(frozen=True)
class NvrFile:
    """One video file of an export.

    ``start`` is aware UTC or None; ``start_source`` says where it came from ("name" or
    "metadata"); ``reason`` is an ``IngestError`` code (plus detail) when ``start`` is None
    or the file is unusable (``empty_file``).
    """

    path: Path
    size: int
    start: datetime | None
    reason: str | None = None
    start_source: str | None = None


def _iter_files(root: Path, extensions: frozenset[str]) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith("."):
                continue
            if os.path.splitext(name)[1].lower() in extensions:
                yield Path(dirpath) / name


def scan(
    root: str | os.PathLike[str],
    pattern: str | None = None,
    tz: str | tzinfo | None = "UTC",
    *,
    use_metadata: bool = True,
    extensions: Iterable[str] = VIDEO_EXTENSIONS,
    now: datetime | None = None,
) -> list[NvrFile]:
    """List the video files under ``root`` (recursively) with their UTC start times.

    The start comes from the file name matched against ``pattern`` (a strftime layout,
    found anywhere in the name; if it contains ``/`` it is matched against the path
    relative to ``root``, for exports with one folder per day), read in the camera's zone
    ``tz``.  With ``pattern=None`` a list of common NVR layouts is tried.  Failing that,
    and with ``use_metadata``, the container's ``creation_time`` (UTC by definition) is used.
    Sorted by start (files without one last), then by relative path.

    Raises ``IngestError('bad_pattern')`` for an unusable pattern or zone (checked up front,
    so a typo fails at once rather than as "no start time" on every file).
    """
    base = Path(root)
    if not base.is_dir():
        raise FileNotFoundError(f"not a folder: {base}")
    zone = get_zone(tz)
    patterns: tuple[str, ...] = (pattern,) if pattern else COMMON_PATTERNS
    for p in patterns:  # validate the pattern(s) early
        try:
            start_from_name("x", p, zone)
        except IngestError as e:
            if e.code != NO_START_TIME:
                raise
    exts = frozenset(e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions)
    now = now or datetime.now(UTC)

    out: list[NvrFile] = []
    for path in _iter_files(base, exts):
        try:
            size = path.stat().st_size
        except OSError as e:
            out.append(NvrFile(path, 0, None, f"unreadable: {e.strerror}"))
            continue
        if size == 0:
            out.append(NvrFile(path, 0, None, EMPTY_FILE))
            continue
        rel = path.relative_to(base).as_posix()
        name_reason: str | None = None
        start: datetime | None = None
        source: str | None = None
        for p in patterns:
            subject = rel if "/" in p else path.name
            try:
                start = start_from_name(subject, p, zone, now=now)
                source = "name"
                break
            except IngestError as e:
                if e.code == START_TIME_OUT_OF_RANGE and name_reason is None:
                    name_reason = f"{e.code}: {e.detail}"
        if start is None and use_metadata:
            meta = read_creation_time(path)
            if meta is not None:
                try:
                    start = check_range(meta, now=now)
                    source = "metadata"
                except IngestError as e:
                    name_reason = name_reason or f"{e.code}: metadata {e.detail}"
        reason = None
        if start is None:
            reason = name_reason or NO_START_TIME
        out.append(NvrFile(path, size, start, reason, source))

    far_future = datetime.max.replace(tzinfo=UTC)
    out.sort(key=lambda f: (f.start or far_future, f.path.relative_to(base).as_posix()))
    return out
