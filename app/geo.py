"""Places: great-circle distance, bounding boxes and GeoJSON polygons.

Places are resolved to a set of cameras (there are thousands, not millions), so a prefilter
only needs to be a correct superset: a latitude band plus one or two longitude bands (two
when the circle or box crosses the antimeridian, all longitudes near a pole). The exact test
(great-circle distance, point in polygon) then runs on the candidates, vectorised.

Polygons are WGS84 `[lon, lat]` rings, the first the outline and the rest holes; each ring
must be closed (last position equals the first), have at least four positions, enclose an
area and not cross itself. They are planar in lon/lat (exact enough at city scale; rings
crossing the antimeridian are not supported). The geometry is shapely's (GEOS); the number
of positions is capped so that a request cannot buy unbounded CPU.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import overload

import numpy as np
import shapely
from numpy.typing import NDArray

EARTH_RADIUS_M = 6_371_008.8
MAX_RADIUS_M = 50_000.0


class GeoError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


Coords = NDArray[np.float64]


@overload
def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float: ...
@overload
def haversine_m(lat1: float, lon1: float, lat2: Coords, lon2: Coords) -> Coords: ...
def haversine_m(
    lat1: float, lon1: float, lat2: float | Coords, lon2: float | Coords
) -> float | Coords:
    """Great-circle distance in metres from one point to one point, or to arrays of them."""
    p1, p2 = math.radians(lat1), np.radians(lat2)
    dphi = p2 - p1
    dlmb = np.radians(np.subtract(lon2, lon1))
    a = np.sin(dphi / 2) ** 2 + math.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    d = 2 * EARTH_RADIUS_M * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return float(d) if np.ndim(d) == 0 else np.asarray(d, dtype=np.float64)


def check_lat_lon(lat: float, lon: float) -> None:
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise GeoError("invalid_coordinates", "latitude and longitude must be finite numbers")
    if not -90.0 <= lat <= 90.0:
        raise GeoError("invalid_coordinates", f"latitude {lat} is outside -90..90")
    if not -180.0 <= lon <= 180.0:
        raise GeoError("invalid_coordinates", f"longitude {lon} is outside -180..180")


def _floats(text: str, n: int, what: str, example: str) -> list[float]:
    parts = text.split(",")
    if len(parts) != n:
        raise GeoError(f"invalid_{what}", f"{what} must be {example}")
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise GeoError(f"invalid_{what}", f"{what} must be {example}") from None


def parse_near(text: str) -> tuple[float, float]:
    lat, lon = _floats(text, 2, "near", "'lat,lon', e.g. near=27.7,85.3")
    check_lat_lon(lat, lon)
    return lat, lon


def check_radius(radius_m: float, max_m: float = MAX_RADIUS_M) -> None:
    if not math.isfinite(radius_m) or radius_m <= 0 or radius_m > max_m:
        raise GeoError("invalid_radius", f"radius_m must be > 0 and <= {max_m:g}")


@dataclass(frozen=True)
class BBox:
    """min_lon > max_lon means the box crosses the antimeridian."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float

    def lon_ranges(self) -> list[tuple[float, float]]:
        if self.min_lon <= self.max_lon:
            return [(self.min_lon, self.max_lon)]
        return [(self.min_lon, 180.0), (-180.0, self.max_lon)]

    def contains(self, lat: float, lon: float) -> bool:
        return bool(self.contains_many(np.array([lat]), np.array([lon]))[0])

    def contains_many(self, lats: Coords, lons: Coords) -> NDArray[np.bool_]:
        in_lon = np.zeros(len(lons), dtype=bool)
        for lo, hi in self.lon_ranges():
            in_lon |= (lons >= lo) & (lons <= hi)
        return np.asarray((lats >= self.min_lat) & (lats <= self.max_lat) & in_lon)


def parse_bbox(text: str) -> BBox:
    min_lon, min_lat, max_lon, max_lat = _floats(text, 4, "bbox", "'minLon,minLat,maxLon,maxLat'")
    check_lat_lon(min_lat, min_lon)
    check_lat_lon(max_lat, max_lon)
    if min_lat > max_lat:
        raise GeoError("invalid_bbox", "bbox minLat is greater than maxLat")
    return BBox(min_lon, min_lat, max_lon, max_lat)


def circle_bounds(lat: float, lon: float, radius_m: float) -> BBox:
    """A box that contains every point within `radius_m` of (lat, lon)."""
    ang = radius_m / EARTH_RADIUS_M
    dlat = math.degrees(ang)
    min_lat, max_lat = lat - dlat, lat + dlat
    if max_lat >= 90.0 or min_lat <= -90.0:
        # The circle covers a pole: every longitude is within reach.
        return BBox(-180.0, max(min_lat, -90.0), 180.0, min(max_lat, 90.0))
    sin_ratio = math.sin(ang) / math.cos(math.radians(lat))
    if sin_ratio >= 1.0:
        return BBox(-180.0, min_lat, 180.0, max_lat)
    dlon = math.degrees(math.asin(sin_ratio))
    lo, hi = lon - dlon, lon + dlon
    if lo < -180.0:
        lo += 360.0
    if hi > 180.0:
        hi -= 360.0
    return BBox(lo, min_lat, hi, max_lat)


# ---------------------------------------------------------------------------------------------
# Polygons

MAX_POSITIONS = 2000
Point = tuple[float, float]  # (lon, lat)


@dataclass(frozen=True)
class Polygon:
    rings: tuple[tuple[Point, ...], ...]
    shape: shapely.Polygon = field(compare=False, repr=False)

    @property
    def bbox(self) -> BBox:
        min_lon, min_lat, max_lon, max_lat = self.shape.bounds
        return BBox(min_lon, min_lat, max_lon, max_lat)

    def contains_many(self, lats: Coords, lons: Coords) -> NDArray[np.bool_]:
        """Inside the outline and outside every hole; points on an edge count as inside."""
        return np.asarray(shapely.intersects_xy(self.shape, lons, lats), dtype=bool)

    def contains(self, lat: float, lon: float) -> bool:
        return bool(self.contains_many(np.array([lat]), np.array([lon]))[0])


def _bad_polygon(detail: str) -> GeoError:
    return GeoError("invalid_polygon", detail)


def parse_polygon(text: str) -> Polygon:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError):
        raise _bad_polygon(
            'polygon must be GeoJSON, e.g. {"type":"Polygon","coordinates":[[[lon,lat],...]]}'
        ) from None
    if isinstance(obj, dict) and obj.get("type") == "Feature":
        obj = obj.get("geometry")
    if not isinstance(obj, dict) or obj.get("type") != "Polygon":
        raise _bad_polygon("polygon must be a GeoJSON object with type 'Polygon'")
    coords = obj.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise _bad_polygon("polygon coordinates must be a non-empty list of rings")
    rings: list[tuple[Point, ...]] = []
    total = 0
    for i, raw in enumerate(coords):
        ring = _ring(raw, i)
        total += len(ring)
        if total > MAX_POSITIONS:
            raise _bad_polygon(f"polygon has more than {MAX_POSITIONS} positions")
        rings.append(ring)
    for i, ring in enumerate(rings):
        if not shapely.LinearRing(ring).is_simple:
            raise _bad_polygon(f"{_ring_name(i)} intersects itself")
    shape = shapely.Polygon(rings[0], rings[1:])
    shapely.prepare(shape)
    return Polygon(tuple(rings), shape)


def _ring_name(index: int) -> str:
    return "outer ring" if index == 0 else f"hole {index}"


def _ring(raw: object, index: int) -> tuple[Point, ...]:
    name = _ring_name(index)
    if not isinstance(raw, list):
        raise _bad_polygon(f"{name} must be a list of [lon, lat] positions")
    pts: list[Point] = []
    for pos in raw:
        if (
            not isinstance(pos, list)
            or len(pos) not in (2, 3)
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in pos)
        ):
            raise _bad_polygon(f"{name}: every position must be [lon, lat]")
        lon, lat = float(pos[0]), float(pos[1])
        try:
            check_lat_lon(lat, lon)
        except GeoError as exc:
            raise _bad_polygon(f"{name}: {exc.detail}") from None
        pts.append((lon, lat))
        if len(pts) > MAX_POSITIONS:
            raise _bad_polygon(f"polygon has more than {MAX_POSITIONS} positions")
    if len(pts) < 4:
        raise _bad_polygon(f"{name} needs at least 4 positions (a closed triangle), got {len(pts)}")
    if pts[0] != pts[-1]:
        raise _bad_polygon(f"{name} is not closed: its last position must equal its first")
    if len(set(pts[:-1])) < 3 or shapely.Polygon(pts).area == 0.0:
        raise _bad_polygon(f"{name} encloses no area")
    return tuple(pts)
