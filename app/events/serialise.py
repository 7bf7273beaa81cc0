"""Events as JSON: the API's shape (search pages, one event) and the evidence package's.

The API shape is `EventPublic`; search builds it as plain dicts straight from database rows
(a page of hundreds of events is on the hot path of every search) and encodes it with orjson.
An evidence package's `events.json` is its own document, read by verifiers long after the
API may have changed, so it has its own, flatter shape; both are written here.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from app.audit.chain import format_ts
from app.cameras.repository import CameraInfo


class EventLike(Protocol):
    """An `Event` row or a search `EventRow`: the columns serialisation reads."""

    @property
    def id(self) -> int | None: ...
    @property
    def camera_id(self) -> int: ...
    @property
    def segment_id(self) -> int: ...
    @property
    def track_id(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def color(self) -> str | None: ...
    @property
    def confidence(self) -> float: ...
    @property
    def start(self) -> Any: ...
    @property
    def end(self) -> Any: ...
    @property
    def best_at(self) -> Any: ...
    @property
    def box_x1(self) -> float: ...
    @property
    def box_y1(self) -> float: ...
    @property
    def box_x2(self) -> float: ...
    @property
    def box_y2(self) -> float: ...
    @property
    def thumbnail_key(self) -> str | None: ...


def event_json(row: EventLike, cam: CameraInfo) -> dict[str, Any]:
    """The body of `EventPublic` for this row; datetimes stay objects for `dump_json`."""
    tz = cam.tz
    return {
        "id": row.id,
        "camera": {
            "id": cam.id,
            "name": cam.name,
            "latitude": cam.latitude,
            "longitude": cam.longitude,
            "timezone": cam.timezone,
        },
        "segment_id": row.segment_id,
        "track_id": row.track_id,
        "label": row.label,
        "color": row.color,
        "confidence": row.confidence,
        "start": row.start,
        "end": row.end,
        "start_local": row.start.astimezone(tz),
        "end_local": row.end.astimezone(tz),
        "best_at": row.best_at,
        "box": {"x1": row.box_x1, "y1": row.box_y1, "x2": row.box_x2, "y2": row.box_y2},
        "thumbnail_url": f"/events/{row.id}/thumbnail" if row.thumbnail_key else None,
    }


def dump_json(body: dict[str, Any]) -> bytes:
    """A search page as JSON: datetimes in RFC 3339 with `Z` for UTC (as pydantic writes
    them), in C (orjson) because a page of 500 events took longer to encode than to find."""
    return orjson.dumps(body, option=orjson.OPT_UTC_Z)


def package_event(row: EventLike, thumbnail: str | None) -> dict[str, Any]:
    """One entry of an evidence package's `events.json` (`thumbnail`: its path in the zip)."""
    return {
        "id": row.id,
        "camera_id": row.camera_id,
        "segment_id": row.segment_id,
        "label": row.label,
        "color": row.color,
        "start": format_ts(row.start),
        "end": format_ts(row.end),
        "confidence": row.confidence,
        "box": [row.box_x1, row.box_y1, row.box_x2, row.box_y2],
        "thumbnail": thumbnail,
    }
