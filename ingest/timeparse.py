"""Start times from file names (NVR exports) and their conversion to UTC.

NVRs name exported files after the local wall-clock time of the first frame
(``ch01_20240101_120000.mp4``, ``2024-01-01 12-00-00.mp4``, folders per day ...).  The
name is usually more trustworthy than MP4 ``creation_time`` (often the export time, or
unset), so the importer reads it first.  The caller gives the layout as a ``strftime``
pattern and the camera's IANA time zone; we find the pattern *anywhere* in the name,
interpret it in that zone and return UTC.

DST: a local time that occurs twice (the hour after clocks go back) is read as the first
occurrence unless ``fold=1``; a local time that never occurs (the hour skipped when
clocks go forward) is read with the offset in force before the change (PEP 495
semantics) - a camera that did not change its clock would produce exactly such names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.errors import BAD_PATTERN, NO_START_TIME, START_TIME_OUT_OF_RANGE, IngestError

#: The default layout: ``20240101_120000``.
DEFAULT_PATTERN = "%Y%m%d_%H%M%S"

#: Tried in order when the caller has no pattern (``nvr.scan(pattern=None)``). All have a
#: four-digit year and seconds, so false matches on random digit runs are unlikely.
COMMON_PATTERNS: tuple[str, ...] = (
    "%Y%m%d_%H%M%S",
    "%Y%m%d-%H%M%S",
    "%Y%m%dT%H%M%S",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d_%H-%M-%S",
    "%Y-%m-%d %H-%M-%S",
    "%Y-%m-%dT%H-%M-%S",
    "%Y-%m-%d_%H.%M.%S",
    "%Y-%m-%d %H.%M.%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)

#: Earliest accepted start; anything earlier is an unset camera clock (1970, 1904, 2000-01-01
#: is still allowed as a real if unlikely time).
MIN_START = datetime(2000, 1, 1, tzinfo=UTC)
#: How far into the future a start may be (camera clocks run a little fast).
FUTURE_SLACK = timedelta(minutes=10)

_DIRECTIVES: dict[str, str] = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{1,2}",
    "d": r"\d{1,2}",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "f": r"\d{1,6}",
    "j": r"\d{1,3}",
    "b": r"[A-Za-z]{3}",
    "B": r"[A-Za-z]{3,9}",
    "a": r"[A-Za-z]{3}",
    "A": r"[A-Za-z]{6,9}",
    "p": r"[AaPp][Mm]",
    "z": r"(?:Z|[+-]\d{2}:?\d{2})",
}
# Fixed-width forms, tried first so that "20240101" splits as 2024/01/01, not 2024/1/01...
_FIXED = {
    "m": r"\d{2}",
    "d": r"\d{2}",
    "H": r"\d{2}",
    "I": r"\d{2}",
    "M": r"\d{2}",
    "S": r"\d{2}",
    "j": r"\d{3}",
}


def _pattern_regex(pattern: str, fixed: bool) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "%":
            if i + 1 >= len(pattern):
                raise IngestError(BAD_PATTERN, f"pattern {pattern!r} ends with a lone '%'")
            d = pattern[i + 1]
            if d == "%":
                out.append("%")
            elif fixed and d in _FIXED:
                out.append(_FIXED[d])
            elif d in _DIRECTIVES:
                out.append(_DIRECTIVES[d])
            else:
                raise IngestError(BAD_PATTERN, f"unsupported directive %{d} in {pattern!r}")
            i += 2
        else:
            out.append(re.escape(c))
            i += 1
    if not any(pattern.count(f"%{d}") for d in "Yy"):
        raise IngestError(BAD_PATTERN, f"pattern {pattern!r} has no year (%Y or %y)")
    return re.compile("".join(out))


def _candidates(name: str, rx: re.Pattern[str]) -> Iterator[str]:
    """Every match of ``rx`` in ``name`` at every start position (overlapping), digit-
    bounded matches first so that ``x1220240101_120000`` finds ``20240101_120000``."""
    bounded: list[str] = []
    loose: list[str] = []
    for start in range(len(name)):
        m = rx.match(name, start)
        if m is None:
            continue
        s, e = m.span()
        before_digit = s > 0 and name[s - 1].isdigit()
        after_digit = e < len(name) and name[e].isdigit()
        (loose if before_digit or after_digit else bounded).append(m.group())
    yield from bounded
    yield from loose


def find_datetime(name: str, pattern: str = DEFAULT_PATTERN) -> datetime | None:
    """The first valid date-time in ``name`` laid out as ``pattern`` (naive, as written).

    Returns an aware datetime only if the pattern has ``%z``.  ``None`` if nothing matches
    or every match is an impossible date (month 13 ...).
    """
    for fixed in (True, False):
        rx = _pattern_regex(pattern, fixed)
        for text in _candidates(name, rx):
            try:
                return datetime.strptime(text, pattern)
            except ValueError:
                continue
    return None


def get_zone(tz: str | tzinfo | None) -> tzinfo:
    """An IANA zone name (``Europe/London``), a ``tzinfo``, or None meaning UTC."""
    if tz is None:
        return UTC
    if isinstance(tz, tzinfo):
        return tz
    if tz.upper() in {"UTC", "Z", "ETC/UTC"}:
        return UTC
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise IngestError(BAD_PATTERN, f"unknown time zone {tz!r}") from e


def to_utc(local: datetime, tz: str | tzinfo | None = None, *, fold: int = 0) -> datetime:
    """Interpret a naive local time in ``tz`` and return it in UTC (aware values pass through)."""
    if local.tzinfo is not None and local.utcoffset() is not None:
        return local.astimezone(UTC)
    return local.replace(tzinfo=get_zone(tz), fold=fold).astimezone(UTC)


def check_range(start: datetime, *, now: datetime | None = None) -> datetime:
    """Raise ``start_time_out_of_range`` for starts before 2000 or in the future."""
    now = now or datetime.now(UTC)
    if start < MIN_START:
        raise IngestError(
            START_TIME_OUT_OF_RANGE, f"start {start.isoformat()} is before {MIN_START.year}"
        )
    if start > now + FUTURE_SLACK:
        raise IngestError(
            START_TIME_OUT_OF_RANGE,
            f"start {start.isoformat()} is in the future (now {now.isoformat()})",
        )
    return start


def start_from_name(
    name: str,
    pattern: str | Iterable[str] = DEFAULT_PATTERN,
    tz: str | tzinfo | None = None,
    *,
    now: datetime | None = None,
    fold: int = 0,
) -> datetime:
    """UTC start time encoded in a file name (or relative path) using ``pattern``.

    ``pattern`` may be one strftime pattern or several tried in order.  Raises
    ``IngestError`` with ``no_start_time`` (no match), ``start_time_out_of_range`` (before
    2000 / in the future) or ``bad_pattern`` (unusable pattern or zone).
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    zone = get_zone(tz)
    for p in patterns:
        local = find_datetime(name, p)
        if local is not None:
            return check_range(to_utc(local, zone, fold=fold), now=now)
    shown = patterns[0] if len(patterns) == 1 else f"any of {len(patterns)} patterns"
    raise IngestError(NO_START_TIME, f"no date-time matching {shown} in {name!r}")


def parse_iso_utc(value: str) -> datetime | None:
    """Parse an ISO 8601 metadata value (``2020-07-27T16:57:40.000000Z``) to aware UTC.

    Naive values are taken as UTC (that is what MP4 ``creation_time`` means). Garbage and
    unset clocks (years before 1990, e.g. the MP4 epoch 1904 or Unix 1970) give ``None``.
    """
    text = value.strip()
    if not text:
        return None
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        dt = datetime.fromisoformat(text.replace(" ", "T", 1))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt if dt.year >= 1990 else None
