"""Storing the sightings of one segment. Re-indexing replaces them: never duplicates."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel import Session, col, select

from app.events.models import Event
from app.footage.models import Segment
from app.storage import ObjectStore
from detectors import Event as Sighting


def thumbnail_key(segment: Segment, index: int) -> str:
    return f"thumbs/cam{segment.camera_id}/seg{segment.id}/{index:04d}.jpg"


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=seconds)


def replace_events(
    session: Session, store: ObjectStore, segment: Segment, sightings: list[Sighting]
) -> list[Event]:
    """Delete the segment's events and thumbnails, then store these ones.

    Thumbnails are written before the rows that point at them; the old ones are removed
    only after, so a failure part-way leaves the previous index intact.
    """
    assert segment.id is not None
    old_keys = [
        k
        for k in session.exec(
            select(Event.thumbnail_key).where(Event.segment_id == segment.id)
        ).all()
        if k
    ]
    session.execute(delete(Event).where(col(Event.segment_id) == segment.id))
    rows: list[Event] = []
    new_keys: set[str] = set()
    for i, s in enumerate(sorted(sightings, key=lambda s: (s.start_s, s.track_id))):
        key = thumbnail_key(segment, i)
        store.put(
            key,
            io.BytesIO(s.thumbnail_jpeg),
            length=len(s.thumbnail_jpeg),
            content_type="image/jpeg",
        )
        new_keys.add(key)
        w, h = max(1, s.frame_width), max(1, s.frame_height)
        x1, y1, x2, y2 = s.box
        rows.append(
            Event(
                camera_id=segment.camera_id,
                segment_id=segment.id,
                track_id=s.track_id,
                label=s.label,
                color=s.color,
                start=_at(segment.start, s.start_s),
                end=_at(segment.start, max(s.end_s, s.start_s)),
                best_at=_at(segment.start, s.best_s),
                confidence=round(float(s.confidence), 4),
                box_x1=x1 / w,
                box_y1=y1 / h,
                box_x2=x2 / w,
                box_y2=y2 / h,
                thumbnail_key=key,
            )
        )
    session.add_all(rows)
    session.flush()
    for key in old_keys:
        if key not in new_keys:
            store.delete(key)
    return rows
