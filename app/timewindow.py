"""The rule for times and for a time window `[from, to)` given by a client, stated once.

A time is ISO 8601 with a UTC offset or `Z` (`2024-05-01T10:00:00+07:00`,
`2024-05-01T03:00:00Z`); it is turned into UTC as it is read, so everything behind the API,
and every time the API returns, is UTC (written with `Z`; only the `*_local` copies of event
times are in the camera's zone). Refused, with a detail saying how to write it:
- a time without an offset: it would be read in whatever zone the server is in;
- a date without a time (`2024-05-01`): midnight where? A search spans cameras, and the
  caller's zone is not the server's;
- a unix timestamp (`1714557600`): seconds or milliseconds, and easily a local time passed
  off as UTC. ISO 8601 says what it means;
- a time that cannot be turned into UTC (year 1 at +07:00).
A `+` in a URL query must be written `%2B`, or it arrives as a space: the detail says so.

Every end of a client's window lies between 2000-01-01 and a day from now (`check_bounds`,
422 `date_out_of_range`): nothing was recorded before 2000 or after tomorrow, and a year 1 or
9999 would otherwise overflow date arithmetic in Python and in the databases (500s). An
upload's `start` has the stricter footage rule (`start_time_out_of_range`, not in the future).

`to` comes after `from`, and the window is no longer than what the asking endpoint allows.
Search, footage coverage and extraction requests all check their windows here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from app.errors import Unprocessable

EXAMPLE = "2024-05-01T10:00:00+07:00"
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-?\d{2}-?\d{2}$")
_SPACE_FOR_PLUS = re.compile(r"T\d{2}:?\d{2}(:?\d{2}(\.\d+)?)? \d{2}(:?\d{2})?$")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No client date is earlier: wardcam holds no footage from before 2000."""
LATEST_AHEAD = timedelta(days=1)
"""No client date is later than this from now (clock skew and zones, with room to spare)."""
OUT_OF_RANGE = "date_out_of_range"


def bounds_detail(moment: datetime | str, now: datetime | None = None) -> str:
    latest = (now or datetime.now(UTC)) + LATEST_AHEAD
    shown = moment if isinstance(moment, str) else utc_z(moment)
    return (
        f"{shown} is out of range: dates lie between {utc_z(EARLIEST)} "
        f"and a day from now ({utc_z(latest.replace(microsecond=0))})"
    )


def in_bounds(moment: datetime, now: datetime | None = None) -> bool:
    """Whether an aware `moment` lies within [2000-01-01, now + 1 day]."""
    return EARLIEST <= moment <= (now or datetime.now(UTC)) + LATEST_AHEAD


def _refuse(code: str, message: str, value: object) -> PydanticCustomError:
    return PydanticCustomError(
        code, message + f" (ISO 8601 with an offset, e.g. {EXAMPLE})", {"value": str(value)[:64]}
    )


def parse_time(value: object, code: str = "invalid_time", *, bounded: bool = False) -> datetime:
    """`value` (ISO 8601 text with an offset, or an aware datetime) in UTC; a
    `PydanticCustomError` of type `code` saying what is wrong otherwise. `bounded`: a time
    outside 2000-01-01 ... now + 1 day (or not expressible in UTC) is a `date_out_of_range`."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        if _NUMBER.match(text):
            raise _refuse(code, "{value!r} looks like a unix timestamp, which is ambiguous", text)
        if _DATE.match(text):
            raise _refuse(code, "{value!r} is a date without a time: midnight in which zone?", text)
        if _SPACE_FOR_PLUS.search(text):
            raise _refuse(
                code, "{value!r} has a space before its offset: write '+' as %2B in a URL", text
            )
        try:
            moment = datetime.fromisoformat(text.upper() if text.endswith("z") else text)
        except ValueError:
            raise _refuse(code, "{value!r} is not an ISO 8601 time", text) from None
    elif isinstance(value, int | float):
        raise _refuse(code, "{value!r} looks like a unix timestamp, which is ambiguous", value)
    else:
        raise _refuse(code, "a time must be text", type(value).__name__)
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise _refuse(code, "{value!r} needs a UTC offset or Z", value)
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        if bounded:
            raise PydanticCustomError(
                OUT_OF_RANGE, "{detail}", {"detail": bounds_detail(str(value)[:64])}
            ) from None
        raise _refuse(code, "{value!r} is out of range in UTC", value) from None
    if bounded and not in_bounds(moment):
        raise PydanticCustomError(OUT_OF_RANGE, "{detail}", {"detail": bounds_detail(moment)})
    return moment


def utc_z(moment: datetime) -> str:
    """A time as the API writes it: UTC, ISO 8601, `Z` (what pydantic writes for UTC)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _time_type(code: str, bounded: bool = False) -> Any:
    return Annotated[
        datetime,
        BeforeValidator(lambda v: parse_time(v, code, bounded=bounded)),
        WithJsonSchema({"type": "string", "format": "date-time", "examples": [EXAMPLE]}),
    ]


WindowTime = _time_type("invalid_window", bounded=True)
"""An end of a time window (`from`, `to`): a bad value is a 422 `invalid_window`, one
outside 2000-01-01 ... now + 1 day a 422 `date_out_of_range`."""
StartTime = _time_type("invalid_start")
"""The start of uploaded footage: a bad value is a 422 `invalid_start`."""


def check_window(
    start: datetime | None, end: datetime | None, *, longest: timedelta, too_long: str
) -> tuple[datetime, datetime]:
    """The window in UTC; a 422 (`missing_window`, `invalid_window`, `date_out_of_range`,
    `window_too_long`, the latter with `too_long` as its detail) otherwise."""
    if start is None or end is None:
        raise Unprocessable(
            f"from and to are required (ISO 8601 with a UTC offset, e.g. {EXAMPLE})",
            code="missing_window",
        )
    if start.tzinfo is None or end.tzinfo is None:
        raise Unprocessable(
            f"from and to need a UTC offset, e.g. {EXAMPLE}",
            code="invalid_window",
        )
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    for moment in (start, end):
        if not in_bounds(moment):
            raise Unprocessable(bounds_detail(moment), code="date_out_of_range")
    if end <= start:
        raise Unprocessable("to must be after from", code="invalid_window")
    if end - start > longest:
        raise Unprocessable(too_long, code="window_too_long")
    return start, end
