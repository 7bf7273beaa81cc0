"""Great-circle geometry for "cameras near here" and bounding boxes.

Places are resolved to a set of cameras (there are thousands, not millions), so the SQL
prefilter only needs to be a correct superset: a latitude band plus one or two longitude
bands (two when the circle or box crosses the antimeridian, all longitudes near a pole). The
exact great-circle test then runs on the few candidates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8
MAX_RADIUS_M = 50_000.0


class GeoError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dphi = p2 - p1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


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
        if not self.min_lat <= lat <= self.max_lat:
            return False
        return any(lo <= lon <= hi for lo, hi in self.lon_ranges())


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
