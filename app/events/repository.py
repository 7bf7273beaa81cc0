"""Every query on events: search, histogram, one event, a segment's events (re-indexing,
retention) and an extraction window's (evidence packages).

Search is scoped by who asks through its camera set: places resolve to the cameras the caller
may see first (`app.cameras.repository.resolve_place`). Events are then read by camera set
and time only, through one of two covering indexes (see app.events.models), so filters are
evaluated on index entries:

* per camera (`ix_event_camera_start`, camera_id, start, ...): the window is read in time
  chunks that grow (x4) until a page is full; the first is sized from the event rate where
  reading starts (two hours of the hourly roll-up for a spread of up to 32 of the cameras,
  read in the same round trip as the bound). Each chunk is one indexed range per camera plus
  a top-N sort of that chunk; a small camera set or a selective filter never reads far past
  the page.
* in time order across cameras (`ix_event_start`, start, camera_id, ...): for camera sets that
  cover most of the city with unselective filters, the index is read in order and the query
  stops at the page end.

Time overlap: an event [start, end] matches the window [from, to) when start < to and
end >= from. The start is bounded below by `from - D`, D being the longest event of the cameras
searched (`event_bound`, kept by triggers), so both conditions are index ranges. Pages are
keyset pages on (start, id): a deep page costs what the first page costs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import bindparam, delete, insert, text
from sqlmodel import Session, col, select

from app.db import UTCDateTime, rowcount
from app.events.cursor import EPOCH, Position
from app.events.models import Event
from detectors import LABELS

EVENT_COLUMNS = (
    'id, camera_id, segment_id, track_id, label, color, start, "end", best_at, confidence, '
    "box_x1, box_y1, box_x2, box_y2, thumbnail_key"
)
BOUND_SLACK = timedelta(seconds=1)
"""Added to the stored longest duration (SQLite computes it in floating point)."""
CHUNK_GROWTH = 4
MIN_CHUNK = timedelta(minutes=1)
RATE_SAMPLE_HOURS = 2
RATE_SAMPLE_CAMERAS = 32
ASSUMED_RATE_PER_CAMERA_HOUR = 15.0
"""Only sizes the first time chunk when the sampled hours are empty; a wrong guess costs one
more round trip, never a result."""


# ---------------------------------------------------------------------------------------------
# Events


@dataclass(frozen=True)
class EventQuery:
    camera_ids: Sequence[int]
    start: datetime
    end: datetime
    labels: Sequence[str] = ()
    colors: Sequence[str] = ()
    min_confidence: float | None = None
    descending: bool = False
    limit: int = 100
    after: Position | None = None


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


@dataclass(frozen=True)
class Bound:
    longest_s: float | None
    """Longest event among the cameras searched; None if they have none."""
    active_cameras: int
    """Cameras with any event."""
    sampled_per_hour: float | None
    """Matching events per hour (by class) at the edge of the window a page starts from."""


def _bound(
    session: Session, camera_ids: Sequence[int], sample: tuple[int, str] | None = None
) -> Bound:
    """One round trip: the start bound, and (with `sample`: first hour, count expression) the
    event rate where reading starts, from the hourly roll-up, to size the first time chunk."""
    params: dict[str, Any] = {}
    cams_sql, _ = _cams_clause(session, params, camera_ids)
    rate_sql, scale = ", NULL", 1.0
    if sample is not None:
        # A spread of at most RATE_SAMPLE_CAMERAS cameras, scaled up: each camera costs an
        # index descent, and a rough rate is all that sizing needs.
        step = max(1, math.ceil(len(camera_ids) / RATE_SAMPLE_CAMERAS))
        sampled_ids = list(camera_ids)[::step]
        scale = len(camera_ids) / len(sampled_ids)
        sample_sql, _ = _cams_clause(session, params, sampled_ids)
        first, n_expr = sample
        rate_sql = (
            f", (SELECT sum({n_expr}) FROM event_hourly WHERE {sample_sql} "
            f"AND hour >= {int(first)} AND hour < {int(first) + RATE_SAMPLE_HOURS})"
        )
    stmt = text(
        f"SELECT max(max_duration_s), (SELECT count(*) FROM event_bound){rate_sql} "
        f"FROM event_bound WHERE {cams_sql}"
    )
    longest, active, sampled = session.execute(stmt, params).one()
    return Bound(
        None if longest is None else float(longest),
        int(active),
        None if sampled is None else float(sampled) * scale / RATE_SAMPLE_HOURS,
    )


def _rollup_count(labels: Sequence[str]) -> str:
    """The `event_hourly` expression counting these classes (all events if none)."""
    known = [lb for lb in LABELS if lb in labels]
    return " + ".join(f"n_{lb}" for lb in known) if known else "n_all"


def _cams_clause(session: Session, params: dict[str, Any], ids: Sequence[int]) -> tuple[str, Any]:
    """`camera_id IN (...)` with the ids inlined: they are integers from the registry, and a
    bound list of hundreds costs more to expand than the query costs to run."""
    listed = ",".join(str(int(c)) for c in ids) or "NULL"
    return f"camera_id IN ({listed})", None


def _filters(q: EventQuery, params: dict[str, Any], binds: list[Any]) -> list[str]:
    where: list[str] = []
    if q.labels:
        where.append("label IN :labels")
        params["labels"] = list(q.labels)
        binds.append(bindparam("labels", expanding=True))
    if q.colors:
        where.append("color IN :colors")
        params["colors"] = list(q.colors)
        binds.append(bindparam("colors", expanding=True))
    if q.min_confidence is not None:
        where.append("confidence >= :min_conf")
        params["min_conf"] = q.min_confidence
    return where


def _selectivity(q: EventQuery, active_cameras: int, *, labels: bool = True) -> float:
    """Guessed share of events matching (only sizes reads; never decides a result)."""
    share = len(q.camera_ids) / max(1, active_cameras)
    if q.labels and labels:
        share *= min(1.0, 0.3 * len(q.labels))
    if q.colors:
        share *= min(1.0, 0.2 * len(q.colors))
    if q.min_confidence is not None:
        share *= 0.5
    return share


def choose_index(q: EventQuery, active_cameras: int) -> str:
    """The index that reads fewest entries for one page.

    With a class filter, the per-class index: its ranges hold only that class. Otherwise,
    in time order across cameras when the camera set is most of the city and nothing else
    filters (its cost is then about limit / share of cameras, and that share is known), else
    per camera.
    """
    if q.labels:
        return "ix_event_label_camera_start"
    if q.colors or q.min_confidence is not None:
        return "ix_event_camera_start"
    in_time_order = q.limit / max(_selectivity(q, active_cameras), 1e-9)
    per_camera = 3 * 10 * len(q.camera_ids) + 2 * q.limit
    return "ix_event_start" if in_time_order < per_camera else "ix_event_camera_start"


class EventRow(NamedTuple):
    id: int
    camera_id: int
    segment_id: int
    track_id: int
    label: str
    color: str | None
    start: datetime
    end: datetime
    best_at: datetime
    confidence: float
    box_x1: float
    box_y1: float
    box_x2: float
    box_y2: float
    thumbnail_key: str | None


_PG_TEXT_TIMES = EVENT_COLUMNS.replace(
    'start, "end", best_at', 'start::text, "end"::text, best_at::text'
)
"""Times as ISO text (PostgreSQL's DateStyle ISO): parsed here with the UTC offset appended,
which costs a third of the driver's datetime plus `.replace(tzinfo=UTC)`."""


def _utc(value: str) -> datetime:
    """A stored UTC time ('YYYY-MM-DD HH:MM:SS[.ffffff]') as an aware UTC datetime."""
    return datetime.fromisoformat(value + "+00:00")


def fetch_rows(session: Session, ids: Sequence[int]) -> list[EventRow]:
    """The events with these ids, in the order given.

    Read on the driver's cursor and converted here: a page is up to 500 rows, and the ORM's
    per-value type processing cost more than the lookups themselves.
    """
    if not ids:
        return []
    dbapi = session.connection().connection
    pg = _is_pg(session)
    # PostgreSQL: binary results (numbers need no text round trip), times as text (above).
    cur = dbapi.cursor(binary=True) if pg else dbapi.cursor()
    try:
        columns = _PG_TEXT_TIMES if pg else EVENT_COLUMNS
        cur.execute(f"SELECT {columns} FROM event WHERE id IN ({','.join(map(str, ids))})")
        found = {
            r[0]: EventRow._make((*r[:6], _utc(r[6]), _utc(r[7]), _utc(r[8]), *r[9:]))
            for r in cur.fetchall()
        }
    finally:
        cur.close()
    return [found[i] for i in ids if i in found]


def search_events(session: Session, q: EventQuery, *, index: str | None = None) -> list[EventRow]:
    """One page of events, ordered by (start, id) ascending or descending."""
    if not q.camera_ids:
        return []
    # Where reading starts (the window's edge, or the cursor): its rate sizes the first chunk.
    edge = q.end - timedelta(microseconds=1) if q.descending else q.start
    if q.after is not None:
        edge = min(edge, q.after.start) if q.descending else max(edge, q.after.start)
    first_hour = _epoch_hour(edge) - (RATE_SAMPLE_HOURS - 1 if q.descending else 0)
    bound = _bound(session, q.camera_ids, (first_hour, _rollup_count(q.labels)))
    if bound.longest_s is None:
        return []
    lower = q.start - timedelta(seconds=max(0.0, bound.longest_s)) - BOUND_SLACK
    index = index or choose_index(q, bound.active_cameras)
    pg = _is_pg(session)

    params: dict[str, Any] = {"win_from": q.start}
    binds: list[Any] = [
        bindparam("win_from", type_=UTCDateTime),
        bindparam("lo", type_=UTCDateTime),
        bindparam("hi", type_=UTCDateTime),
    ]
    cams_sql, _ = _cams_clause(session, params, q.camera_ids)
    where = [cams_sql, "start >= :lo", "start < :hi", '"end" >= :win_from']
    where += _filters(q, params, binds)
    if q.after is not None:
        params["after_start"], params["after_id"] = q.after.start, q.after.id
        binds.append(bindparam("after_start", type_=UTCDateTime))
        op = "<" if q.descending else ">"
        where.append(f"(start {op} :after_start OR id {op} :after_id)")
    direction = "DESC" if q.descending else "ASC"
    hint = "" if pg else f" INDEXED BY {index}"
    # Phase 1 reads keys only, from the covering index (no table rows for what the page does
    # not keep); phase 2 fetches the page's rows by id.
    sql = (
        f"SELECT id FROM event{hint} WHERE {' AND '.join(where)} "
        f"ORDER BY start {direction}, id {direction} LIMIT :limit"
    )
    keys_stmt = text(sql).bindparams(*binds)

    # The range still to read: [lo, hi), narrowed by the cursor.
    lo, hi = lower, q.end
    if q.after is not None:
        if q.descending:
            hi = min(hi, q.after.start + timedelta(microseconds=1))
        else:
            lo = max(lo, q.after.start)
    if lo >= hi:
        return []
    if index == "ix_event_start":
        chunk = hi - lo  # read in time order, stopping at the page end
    elif bound.sampled_per_hour:  # classes counted; colour and confidence guessed
        rate = bound.sampled_per_hour * _selectivity(q, len(q.camera_ids), labels=False)
        chunk = max(MIN_CHUNK, timedelta(hours=1.5 * q.limit / rate))
    else:  # nothing where reading starts (a quiet hour): assume a typical rate
        share = _selectivity(q, len(q.camera_ids))  # the filters' share only
        rate = len(q.camera_ids) * ASSUMED_RATE_PER_CAMERA_HOUR * share
        chunk = max(MIN_CHUNK, timedelta(hours=1.5 * q.limit / rate))
    ids: list[int] = []
    while lo < hi and len(ids) < q.limit:
        if q.descending:
            c_lo, c_hi = max(lo, hi - chunk), hi
        else:
            c_lo, c_hi = lo, min(hi, lo + chunk)
        params.update(lo=c_lo, hi=c_hi, limit=q.limit - len(ids))
        ids.extend(session.execute(keys_stmt, params).scalars().all())
        if q.descending:
            hi = c_lo
        else:
            lo = c_hi
        chunk *= CHUNK_GROWTH
    return fetch_rows(session, ids)


def get_event(session: Session, event_id: int) -> Event | None:
    return session.get(Event, event_id)


# ---------------------------------------------------------------------------------------------
# A segment's events (re-indexing, retention) and an extraction window's (evidence packages)

MAX_EVENT = timedelta(hours=24)
"""Longest event an extraction window looks back for (an event is within one segment)."""


def thumbnail_keys(session: Session, segment_id: int) -> list[str]:
    stmt = select(Event.thumbnail_key).where(Event.segment_id == segment_id)
    return [k for k in session.exec(stmt).all() if k]


def delete_for_segment(session: Session, segment_id: int) -> int:
    """Delete the segment's events; returns how many there were."""
    return rowcount(session.execute(delete(Event).where(col(Event.segment_id) == segment_id)))


def shift_for_segment(session: Session, segment_id: int, shift: timedelta) -> int:
    """Move the segment's events by `shift` (its start was corrected); returns how many.

    Deleted and inserted again with the same ids rather than updated: the triggers that keep
    the search tables and the hourly counts (migrations 0005-0007) fire on insert and delete.
    """
    table = Event.__table__  # type: ignore[attr-defined]
    rows = [
        dict(r._mapping)
        for r in session.execute(select(table).where(table.c.segment_id == segment_id))
    ]
    if not rows:
        return 0
    session.execute(delete(table).where(table.c.segment_id == segment_id))
    for row in rows:
        for name in ("start", "end", "best_at"):
            row[name] = row[name] + shift
    session.execute(insert(table), rows)
    return len(rows)


def add_all(session: Session, events: Sequence[Event]) -> None:
    session.add_all(events)
    session.flush()


def in_window(
    session: Session, camera_ids: Sequence[int], start: datetime, end: datetime
) -> list[Event]:
    """Events of these cameras overlapping [start, end), by start time."""
    return list(
        session.exec(
            select(Event)
            .where(
                col(Event.camera_id).in_(camera_ids),
                col(Event.start) >= start - MAX_EVENT,
                col(Event.start) < end,
                col(Event.end) > start,
            )
            .order_by(col(Event.start), col(Event.id))
        ).all()
    )


# ---------------------------------------------------------------------------------------------
# Histogram


@dataclass(frozen=True)
class HistogramQuery:
    camera_ids: Sequence[int]
    start: datetime
    end: datetime
    bucket: timedelta
    labels: Sequence[str] = ()
    colors: Sequence[str] = ()
    min_confidence: float | None = None

    @property
    def buckets(self) -> int:
        return math.ceil((self.end - self.start) / self.bucket)


def _hour_aligned(dt: datetime) -> bool:
    dt = dt.astimezone(UTC)
    return dt.minute == 0 and dt.second == 0 and dt.microsecond == 0


def can_use_rollup(q: HistogramQuery) -> bool:
    return (
        not q.colors
        and q.min_confidence is None
        and q.bucket % timedelta(hours=1) == timedelta(0)
        and _hour_aligned(q.start)
        and _hour_aligned(q.end)
    )


def histogram(session: Session, q: HistogramQuery) -> dict[int, list[int]]:
    """Events per camera per bucket, by start time in [from, to): {camera_id: counts}."""
    if not q.camera_ids:
        return {}
    n_buckets = q.buckets
    params: dict[str, Any] = {"win_from": q.start, "win_to": q.end}
    binds: list[Any] = [
        bindparam("win_from", type_=UTCDateTime),
        bindparam("win_to", type_=UTCDateTime),
    ]
    cams_sql, _ = _cams_clause(session, params, q.camera_ids)
    pg = _is_pg(session)
    if can_use_rollup(q):
        n_expr = _rollup_count(q.labels)
        first = _epoch_hour(q.start)
        mark = "%s" if pg else "?"
        # Tens of thousands of (camera, hour, count) cells: concatenated into one text by the
        # database and parsed by numpy: about a third less than fetching them as rows.
        concat = "string_agg" if pg else "group_concat"
        sql = (
            f"SELECT {concat}(camera_id || ' ' || (hour - {first}) || ' ' || ({n_expr}), ' ') "
            f"FROM event_hourly WHERE {cams_sql} AND hour >= {mark} AND hour < {mark}"
            + (f" AND {n_expr} > 0" if q.labels else "")
        )
        cur = session.connection().connection.cursor()
        try:
            cur.execute(sql, (first, _epoch_hour(q.end)))
            (cells,) = cur.fetchone() or (None,)
        finally:
            cur.close()
        if not cells:
            return {}
        arr = np.fromstring(cells, dtype=np.int64, sep=" ").reshape(-1, 3)
        arr[:, 1] //= int(q.bucket / timedelta(hours=1))
        return _dense(arr, n_buckets)
    params["bucket_s"] = q.bucket.total_seconds()
    if pg:
        b_expr = "floor(extract(epoch FROM start - :win_from) / :bucket_s)::int"
    else:
        b_expr = "CAST((julianday(start) - julianday(:win_from)) * 86400.0 / :bucket_s AS INTEGER)"
    where = [cams_sql, "start >= :win_from", "start < :win_to"]
    where += _filters(
        EventQuery(q.camera_ids, q.start, q.end, q.labels, q.colors, q.min_confidence),
        params,
        binds,
    )
    hint = "" if pg else " INDEXED BY ix_event_camera_start"
    sql = (
        f"SELECT camera_id, {b_expr} AS b, count(*) FROM event{hint} "
        f"WHERE {' AND '.join(where)} GROUP BY camera_id, b"
    )
    rows = session.execute(text(sql).bindparams(*binds), params).all()
    if not rows:
        return {}
    return _dense(np.array([tuple(r) for r in rows], dtype=np.int64), n_buckets)


def _epoch_hour(dt: datetime) -> int:
    return int((dt - EPOCH) // timedelta(hours=1))


def _dense(arr: np.ndarray, n_buckets: int) -> dict[int, list[int]]:
    """(camera, bucket, count) rows to one dense row of counts per camera (vectorised: a
    week of hours over a few hundred cameras is tens of thousands of cells)."""
    cams, inverse = np.unique(arr[:, 0], return_inverse=True)
    grid = np.zeros((len(cams), n_buckets), dtype=np.int64)
    np.add.at(grid, (inverse, np.clip(arr[:, 1], 0, n_buckets - 1)), arr[:, 2])
    keep = grid.sum(axis=1) > 0
    return {int(c): row for c, row in zip(cams[keep], grid[keep].tolist(), strict=True)}
