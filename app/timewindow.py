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


def _refuse(code: str, message: str, value: object) -> PydanticCustomError:
    return PydanticCustomError(
        code, message + f" (ISO 8601 with an offset, e.g. {EXAMPLE})", {"value": str(value)[:64]}
    )


def parse_time(value: object, code: str = "invalid_time") -> datetime:
    """`value` (ISO 8601 text with an offset, or an aware datetime) in UTC; a
    `PydanticCustomError` of type `code` saying what is wrong otherwise."""
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
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise _refuse(code, "{value!r} is out of range in UTC", value) from None


def utc_z(moment: datetime) -> str:
    """A time as the API writes it: UTC, ISO 8601, `Z` (what pydantic writes for UTC)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _time_type(code: str) -> Any:
    return Annotated[
        datetime,
        BeforeValidator(lambda v: parse_time(v, code)),
        WithJsonSchema({"type": "string", "format": "date-time", "examples": [EXAMPLE]}),
    ]


WindowTime = _time_type("invalid_window")
"""An end of a time window (`from`, `to`): a bad value is a 422 `invalid_window`."""
StartTime = _time_type("invalid_start")
"""The start of uploaded footage: a bad value is a 422 `invalid_start`."""


def check_window(
    start: datetime | None, end: datetime | None, *, longest: timedelta, too_long: str
) -> tuple[datetime, datetime]:
    """The window in UTC; a 422 (`missing_window`, `invalid_window`, `window_too_long`,
    the latter with `too_long` as its detail) otherwise."""
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
    if end <= start:
        raise Unprocessable("to must be after from", code="invalid_window")
    if end - start > longest:
        raise Unprocessable(too_long, code="window_too_long")
    return start, end
