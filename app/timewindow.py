"""The rule for a time window `[from, to)` given by a client, stated once.

Both ends carry a UTC offset (a naive time would be read in whatever zone the server is in),
`to` comes after `from`, and the window is no longer than what the asking endpoint allows.
Search, footage coverage and extraction requests all check their windows here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.errors import Unprocessable


def check_window(
    start: datetime | None, end: datetime | None, *, longest: timedelta, too_long: str
) -> tuple[datetime, datetime]:
    """The window in UTC; a 422 (`missing_window`, `invalid_window`, `window_too_long`,
    the latter with `too_long` as its detail) otherwise."""
    if start is None or end is None:
        raise Unprocessable(
            "from and to are required (ISO 8601 with a UTC offset)", code="missing_window"
        )
    if start.tzinfo is None or end.tzinfo is None:
        raise Unprocessable(
            "from and to need a UTC offset, e.g. 2024-05-01T10:00:00+05:45",
            code="invalid_window",
        )
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        raise Unprocessable("to must be after from", code="invalid_window")
    if end - start > longest:
        raise Unprocessable(too_long, code="window_too_long")
    return start, end
