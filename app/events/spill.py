"""Thumbnails of a recording wait in a temporary file, not in memory, until its events are stored.

The index job stores a segment's events in one transaction at its end (re-indexing replaces
them whole, and a failure leaves the previous index as it was). At the rate the shared clips
make them, an hour of dense traffic is 6,000-20,000 events with 26-59 MB of thumbnails, so a
day-long NVR export held about a gigabyte of JPEGs until its last frame. The pipeline hands
each event over as it is made (`run_pipeline(on_event=...)`); its thumbnail is appended here
and the event kept without it; the job reads each back while it writes the store.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from dataclasses import replace
from types import TracebackType

from detectors import Event as Sighting


class ThumbnailSpill:
    """Append-only thumbnails of one index run, by track id (unique per event of a file; the
    job's `TRACK_ID_STRIDE` keeps several files' apart). Removed from disk when closed."""

    def __init__(self) -> None:
        # closed by `close` (this class is the context manager)
        self._file = tempfile.TemporaryFile(prefix="wardcam-thumbnails-")  # noqa: SIM115
        self._where: dict[int, tuple[int, int]] = {}

    def keeper(self, id_offset: int = 0) -> Callable[[Sighting], Sighting]:
        """The pipeline's `on_event` for one file whose track ids are shifted by `id_offset`."""

        def keep(event: Sighting) -> Sighting:
            track = event.track_id + id_offset
            if track in self._where:
                raise ValueError(f"track id {track} handed over twice")
            start = self._file.seek(0, io.SEEK_END)
            self._file.write(event.thumbnail_jpeg)
            self._where[track] = (start, len(event.thumbnail_jpeg))
            return replace(event, thumbnail_jpeg=b"")

        return keep

    def thumbnail(self, event: Sighting) -> bytes:
        """The event's thumbnail: read back if it was handed over, else its own."""
        where = self._where.get(event.track_id)
        if where is None:
            return event.thumbnail_jpeg
        start, length = where
        self._file.seek(start)
        return self._file.read(length)

    @property
    def size(self) -> int:
        return sum(length for _, length in self._where.values())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ThumbnailSpill:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
