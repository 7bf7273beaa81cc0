"""GeoJSON polygons for search: parsing, validation and point-in-polygon.

Coordinates are WGS84 `[lon, lat]`. A polygon is a list of linear rings (the first is the
outline, the rest are holes); each ring must be closed (last position equals the first), have
at least four positions, and not cross itself. Rings are treated as planar in lon/lat, which is
exact enough at city scale; rings crossing the antimeridian are not supported.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass

from app.geo import BBox, GeoError, check_lat_lon

MAX_POSITIONS = 2000
Point = tuple[float, float]  # (lon, lat)


@dataclass(frozen=True)
class Polygon:
    rings: tuple[tuple[Point, ...], ...]

    @property
    def bbox(self) -> BBox:
        lons = [p[0] for p in self.rings[0]]
        lats = [p[1] for p in self.rings[0]]
        return BBox(min(lons), min(lats), max(lons), max(lats))

    def contains(self, lat: float, lon: float) -> bool:
        """Inside the outline and outside every hole (points on an edge count as inside)."""
        if not _in_ring(self.rings[0], lon, lat):
            return False
        return not any(_in_ring(h, lon, lat, edge=False) for h in self.rings[1:])


def _bad(detail: str) -> GeoError:
    return GeoError("invalid_polygon", detail)


def parse_polygon(text: str) -> Polygon:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad(
            'polygon must be GeoJSON, e.g. {"type":"Polygon","coordinates":[[[lon,lat],...]]}'
        ) from None
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") != "Polygon":
        raise _bad("polygon must be a GeoJSON object with type 'Polygon'")
    coords = obj.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise _bad("polygon coordinates must be a non-empty list of rings")
    rings: list[tuple[Point, ...]] = []
    total = 0
    for i, raw in enumerate(coords):
        ring = _ring(raw, i)
        total += len(ring)
        if total > MAX_POSITIONS:
            raise _bad(f"polygon has more than {MAX_POSITIONS} positions")
        rings.append(ring)
    for i, ring in enumerate(rings):
        _check_simple(ring, i)
    return Polygon(tuple(rings))


def _ring(raw: object, index: int) -> tuple[Point, ...]:
    name = "outer ring" if index == 0 else f"hole {index}"
    if not isinstance(raw, list):
        raise _bad(f"{name} must be a list of [lon, lat] positions")
    pts: list[Point] = []
    for pos in raw:
        if (
            not isinstance(pos, list)
            or len(pos) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        ):
            raise _bad(f"{name}: every position must be [lon, lat]")
        lon, lat = float(pos[0]), float(pos[1])
        try:
            check_lat_lon(lat, lon)
        except GeoError as exc:
            raise _bad(f"{name}: {exc.detail}") from None
        pts.append((lon, lat))
    if len(pts) < 4:
        raise _bad(f"{name} needs at least 4 positions (a closed triangle), got {len(pts)}")
    if pts[0] != pts[-1]:
        raise _bad(f"{name} is not closed: its last position must equal its first")
    if len(set(pts[:-1])) < 3 or _area2(pts) == 0.0:
        raise _bad(f"{name} encloses no area")
    return tuple(pts)


def _area2(pts: list[Point]) -> float:
    return sum(a[0] * b[1] - b[0] * a[1] for a, b in itertools.pairwise(pts))


def _orient(a: Point, b: Point, c: Point) -> float:
    return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])


def _on_segment(a: Point, b: Point, p: Point) -> bool:
    in_x = min(a[0], b[0]) <= p[0] <= max(a[0], b[0])
    return in_x and min(a[1], b[1]) <= p[1] <= max(a[1], b[1])


def _intersects(a: Point, b: Point, c: Point, d: Point) -> bool:
    o1, o2, o3, o4 = _orient(a, b, c), _orient(a, b, d), _orient(c, d, a), _orient(c, d, b)
    if ((o1 > 0 and o2 < 0) or (o1 < 0 and o2 > 0)) and (
        (o3 > 0 and o4 < 0) or (o3 < 0 and o4 > 0)
    ):
        return True
    return (
        (o1 == 0 and _on_segment(a, b, c))
        or (o2 == 0 and _on_segment(a, b, d))
        or (o3 == 0 and _on_segment(c, d, a))
        or (o4 == 0 and _on_segment(c, d, b))
    )


def _check_simple(ring: tuple[Point, ...], index: int) -> None:
    """No two non-adjacent edges touch; adjacent edges share only their common vertex."""
    name = "outer ring" if index == 0 else f"hole {index}"
    edges = [(ring[i], ring[i + 1]) for i in range(len(ring) - 1)]
    edges = [e for e in edges if e[0] != e[1]]  # repeated positions are harmless
    n = len(edges)
    for i in range(n):
        a, b = edges[i]
        for j in range(i + 1, n):
            c, d = edges[j]
            adjacent = j == i + 1 or (i == 0 and j == n - 1)
            if adjacent:
                # Folding back over the previous edge is a self-overlap.
                shared = b if j == i + 1 else a
                other1 = a if shared == b else b
                other2 = d if shared == c else c
                if _orient(other1, shared, other2) == 0 and (
                    _on_segment(shared, other1, other2) or _on_segment(shared, other2, other1)
                ):
                    raise _bad(f"{name} intersects itself (edges {i + 1} and {j + 1} overlap)")
                continue
            if _intersects(a, b, c, d):
                raise _bad(f"{name} intersects itself (edges {i + 1} and {j + 1} cross)")


def _in_ring(ring: tuple[Point, ...], x: float, y: float, *, edge: bool = True) -> bool:
    inside = False
    for (x1, y1), (x2, y2) in itertools.pairwise(ring):
        if _orient((x1, y1), (x2, y2), (x, y)) == 0 and _on_segment((x1, y1), (x2, y2), (x, y)):
            return edge
        if (y1 > y) != (y2 > y):
            xc = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
            if x < xc:
                inside = not inside
    return inside
