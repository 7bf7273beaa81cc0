"""Camera queries, scoped by who asks.

One rule decides which cameras a caller sees (`owner_scope`): a ward sees only its own
cameras; everybody else whom the role table lets look at cameras sees all of them. Every
query here, and every other domain that needs "the caller's cameras" (search, extraction
requests and decisions), goes through it.

"Cameras within r metres of a point" is also answered once (`_nearby`): for the registry
listing (SQL prefilter by the circle's bounding box, then the exact great-circle distance) and
for search, which resolves places against a per-process cache of the registry (`registry`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import ColumnElement, and_, or_, text, true
from sqlmodel import Session, col, select

from app.auth.principal import Principal
from app.cameras.models import Camera, CameraStatus
from app.geo import BBox, Coords, Polygon, circle_bounds, haversine_m
from app.identity.models import Role


def owner_scope(principal: Principal) -> int | None:
    """The organisation whose cameras alone the principal sees; None: every camera."""
    return principal.org_id if principal.role is Role.ward else None


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """SQL condition on `camera`: the principal sees this camera."""
    org = owner_scope(principal)
    return true() if org is None else col(Camera.org_id) == org


def get(session: Session, camera_id: int) -> Camera | None:
    return session.get(Camera, camera_id)


def save(session: Session, camera: Camera) -> None:
    """Write the new or changed camera now, in the caller's transaction."""
    session.add(camera)
    session.flush()


def get_many(session: Session, camera_ids: Sequence[int]) -> Sequence[Camera]:
    return session.exec(select(Camera).where(col(Camera.id).in_(camera_ids))).all()


def visible_ids(session: Session, principal: Principal, camera_ids: Sequence[int]) -> set[int]:
    """Which of these cameras the principal sees (a ward: which are its own)."""
    stmt = select(Camera.id).where(col(Camera.id).in_(camera_ids), visible_to(principal))
    return {i for i in session.exec(stmt).all() if i is not None}


def retention_days(session: Session) -> list[tuple[int, int]]:
    """(camera id, retention days) of every camera."""
    return [
        (c.id, c.retention_days) for c in session.exec(select(Camera)).all() if c.id is not None
    ]


def _in_box(box: BBox) -> ColumnElement[bool]:
    lon_terms = [
        and_(col(Camera.longitude) >= lo, col(Camera.longitude) <= hi)
        for lo, hi in box.lon_ranges()
    ]
    return and_(
        col(Camera.latitude) >= box.min_lat, col(Camera.latitude) <= box.max_lat, or_(*lon_terms)
    )


def _nearby(
    near: tuple[float, float], radius_m: float, lats: Coords, lons: Coords
) -> tuple[NDArray[np.bool_], Coords]:
    """Which of these coordinates lie within `radius_m` of `near`, and their distances."""
    distances = haversine_m(near[0], near[1], lats, lons)
    return np.asarray(distances <= radius_m), distances


def list_visible(
    session: Session,
    principal: Principal,
    *,
    near: tuple[float, float] | None = None,
    radius_m: float | None = None,
    bbox: BBox | None = None,
    status: CameraStatus | None = None,
    after_id: int | None = None,
    limit: int = 100,
) -> list[tuple[Camera, float | None]]:
    """Cameras the principal may see; with `near`, nearest first and with distances."""
    stmt = select(Camera).where(visible_to(principal))
    if status is not None:
        stmt = stmt.where(Camera.status == status)
    if bbox is not None:
        stmt = stmt.where(_in_box(bbox))
    if near is not None and radius_m is not None:
        stmt = stmt.where(_in_box(circle_bounds(near[0], near[1], radius_m)))
        candidates = session.exec(stmt).all()
        inside, distances = _nearby(
            near,
            radius_m,
            np.array([c.latitude for c in candidates], dtype=np.float64),
            np.array([c.longitude for c in candidates], dtype=np.float64),
        )
        found: list[tuple[Camera, float | None]] = [
            (c, float(d)) for c, d, ok in zip(candidates, distances, inside, strict=True) if ok
        ]
        found.sort(key=lambda pair: (pair[1] or 0.0, pair[0].id or 0))
        return found[:limit]
    if after_id is not None:
        stmt = stmt.where(col(Camera.id) > after_id)
    stmt = stmt.order_by(col(Camera.id)).limit(limit)
    return [(cam, None) for cam in session.exec(stmt).all()]


# ---------------------------------------------------------------------------------------------
# The registry as search sees it: every camera, cached per process


@dataclass(frozen=True)
class CameraInfo:
    id: int
    org_id: int
    name: str
    latitude: float
    longitude: float
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)


_ZONES: dict[str, ZoneInfo] = {}


def _zone(name: str) -> ZoneInfo:
    zone = _ZONES.get(name)
    if zone is None:
        zone = _ZONES[name] = ZoneInfo(name)
    return zone


@dataclass(frozen=True)
class Registry:
    """Every camera, with coordinate arrays for vectorised place tests."""

    by_id: dict[int, CameraInfo]
    ids: NDArray[np.int64]
    lat: Coords
    lon: Coords
    org: NDArray[np.int64]


_registry_cache: dict[str, tuple[float, tuple[Any, ...], Registry]] = {}
_cache_lock = threading.Lock()
REVALIDATE_S = 1.0
"""A camera moved or added is seen by searches within this many seconds."""


def registry(session: Session) -> Registry:
    """From a per-process cache, revalidated (one aggregate query) at most once a second."""
    engine = session.get_bind().engine
    key = f"{id(engine)}:{engine.url}"
    now = time.monotonic()
    cached = _registry_cache.get(key)
    if cached is not None and now - cached[0] < REVALIDATE_S:
        return cached[2]
    version = tuple(
        session.execute(text("SELECT count(*), max(id), max(updated_at) FROM camera")).one()
    )
    if cached is not None and cached[1] == version:
        with _cache_lock:
            _registry_cache[key] = (now, version, cached[2])
        return cached[2]
    rows = session.execute(
        text("SELECT id, org_id, name, latitude, longitude, timezone FROM camera ORDER BY id")
    ).all()
    found = {r[0]: CameraInfo(r[0], r[1], r[2], float(r[3]), float(r[4]), r[5]) for r in rows}
    reg = Registry(
        found,
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([float(r[3]) for r in rows], dtype=np.float64),
        np.array([float(r[4]) for r in rows], dtype=np.float64),
        np.array([r[1] for r in rows], dtype=np.int64),
    )
    with _cache_lock:
        _registry_cache[key] = (now, version, reg)
    return reg


def cameras(session: Session) -> dict[int, CameraInfo]:
    return registry(session).by_id


def _visible_mask(reg: Registry, principal: Principal) -> NDArray[np.bool_]:
    org = owner_scope(principal)
    if org is None:
        return np.ones(len(reg.ids), dtype=bool)
    return np.asarray(reg.org == org)


def visible_cameras(session: Session, principal: Principal) -> dict[int, CameraInfo]:
    reg = registry(session)
    return {int(i): reg.by_id[int(i)] for i in reg.ids[_visible_mask(reg, principal)]}


def resolve_place(
    session: Session,
    principal: Principal,
    *,
    near: tuple[float, float] | None = None,
    radius_m: float | None = None,
    bbox: BBox | None = None,
    polygon: Polygon | None = None,
    camera_ids: Sequence[int] = (),
) -> tuple[list[int], list[int]]:
    """(camera ids matching the place and camera filters, requested ids that do not exist)."""
    reg = registry(session)
    mask = _visible_mask(reg, principal)
    visible = set(reg.ids[mask].tolist())
    unknown = [c for c in camera_ids if c not in visible]
    if camera_ids:
        mask &= np.isin(reg.ids, np.array(sorted(set(camera_ids)), dtype=np.int64))
    if near is not None and radius_m is not None:
        mask &= _nearby(near, radius_m, reg.lat, reg.lon)[0]
    if bbox is not None:
        mask &= bbox.contains_many(reg.lat, reg.lon)
    if polygon is not None:
        mask &= polygon.bbox.contains_many(reg.lat, reg.lon)
        candidates = np.flatnonzero(mask)
        mask[candidates] = polygon.contains_many(reg.lat[candidates], reg.lon[candidates])
    return [int(i) for i in reg.ids[mask]], unknown
