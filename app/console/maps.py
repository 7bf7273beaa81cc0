"""What the map script (`static/map.js`) is told by the page: the tile source, the cameras to
show, and every word it may display, already translated.

The script holds no text of its own: its strings, leaflet-draw's toolbar included, come from the
gettext catalogues through `map_strings(i18n)`, so one `update`/`check` covers them too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from app.console.i18n import N_, I18n

MAP_TILES_ENV = "WARDCAM_MAP_TILES"
DEFAULT_MAP_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"
# Where a map with no camera opens: the whole of Việt Nam.
DEFAULT_CENTER = (16.0, 106.0)
DEFAULT_ZOOM = 5


def map_tiles(environ: Mapping[str, str] | None = None) -> str:
    """`WARDCAM_MAP_TILES`: a URL template with `{z}`, `{x}`, `{y}` (and optionally `{s}`);
    set but empty means no tiles (a plain background). Unset means OpenStreetMap's."""
    env = os.environ if environ is None else environ
    value = env.get(MAP_TILES_ENV)
    if value is None:
        return DEFAULT_MAP_TILES
    value = value.strip()
    if value and not all(p in value for p in ("{z}", "{x}", "{y}")):
        raise ValueError(f"{MAP_TILES_ENV} must contain {{z}}, {{x}} and {{y}}; got {value!r}")
    if value and urlsplit(value.replace("{s}", "a")).scheme not in ("http", "https", ""):
        raise ValueError(f"{MAP_TILES_ENV} must be an http(s) URL or a path on this server")
    return value


def tile_attribution(tiles: str) -> str:
    """OpenStreetMap's tiles must be credited; other sources say their own in the template's
    caller (this returns "" for them)."""
    host = urlsplit(tiles.replace("{s}", "a")).hostname or ""
    return OSM_ATTRIBUTION if host.endswith("openstreetmap.org") else ""


@dataclass(frozen=True)
class MapCamera:
    """One camera marker: its name is its accessible label; `url` opens the camera's page;
    `detail` is one line of state shown under the name (e.g. "last footage 5 min ago")."""

    id: int
    name: str
    lat: float
    lon: float
    url: str = ""
    detail: str = ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "lat": self.lat, "lon": self.lon}
        if self.url:
            out["url"] = self.url
        if self.detail:
            out["detail"] = self.detail
        return out


# leaflet-draw's own strings, for the tools the console turns on (polygon, rectangle, circle;
# edit and delete). It puts some of them into the page as HTML: keep `<` and `&` out of them.
_DRAW: dict[str, Any] = {
    "draw": {
        "toolbar": {
            "actions": {"title": N_("Cancel drawing"), "text": N_("Cancel")},
            "finish": {"title": N_("Finish drawing"), "text": N_("Finish")},
            "undo": {"title": N_("Delete last point drawn"), "text": N_("Delete last point")},
            "buttons": {
                "polygon": N_("Draw a polygon"),
                "rectangle": N_("Draw a rectangle"),
                "circle": N_("Draw a circle"),
            },
        },
        "handlers": {
            "circle": {
                "tooltip": {"start": N_("Click and drag to draw a circle.")},
                "radius": N_("Radius"),
            },
            "polygon": {
                "tooltip": {
                    "start": N_("Click to start drawing the shape."),
                    "cont": N_("Click to continue drawing the shape."),
                    "end": N_("Click the first point to close this shape."),
                }
            },
            "polyline": {"error": N_("Error: the edges of the shape cannot cross.")},
            "rectangle": {"tooltip": {"start": N_("Click and drag to draw a rectangle.")}},
            "simpleshape": {"tooltip": {"end": N_("Release the mouse to finish drawing.")}},
        },
    },
    "edit": {
        "toolbar": {
            "actions": {
                "save": {"title": N_("Save changes"), "text": N_("Save")},
                "cancel": {
                    "title": N_("Cancel editing, discard all changes"),
                    "text": N_("Cancel"),
                },
                "clearAll": {"title": N_("Delete every shape"), "text": N_("Delete all")},
            },
            "buttons": {
                "edit": N_("Edit the shape"),
                "editDisabled": N_("No shape to edit"),
                "remove": N_("Delete the shape"),
                "removeDisabled": N_("No shape to delete"),
            },
        },
        "handlers": {
            "edit": {
                "tooltip": {
                    "text": N_("Drag the handles to change the shape."),
                    "subtext": N_("Press Cancel to undo the changes."),
                }
            },
            "remove": {"tooltip": {"text": N_("Click a shape to delete it.")}},
        },
    },
}

# The script's own sentences; `{name}` is filled in by the script.
_SCRIPT: dict[str, str] = {
    "circle": N_("Circle of {radius} m around {lat}, {lon}"),
    "rectangle": N_("Rectangle from {south}, {west} to {north}, {east}"),
    "polygon": N_("Polygon with {points} corners"),
    "cleared": N_("No area drawn: draw a circle, a rectangle or a polygon on the map."),
    "picked": N_("Location set to {lat}, {lon}"),
    "location": N_("Camera location (drag to move)"),
    "open": N_("Open camera"),
    "close": N_("Close"),
    "zoomIn": N_("Zoom in"),
    "zoomOut": N_("Zoom out"),
    "tilesFailed": N_("Map tiles could not be loaded: cameras are shown on a plain background."),
    "noTiles": N_("Map without background tiles: cameras and shapes on a plain background."),
}


def _translate(tree: Any, i18n: I18n) -> Any:
    if isinstance(tree, dict):
        return {key: _translate(value, i18n) for key, value in tree.items()}
    return i18n.gettext(tree)


def map_strings(i18n: I18n, *, draw: bool = True) -> dict[str, Any]:
    """Everything map.js shows, in the page's language: `draw` (only for a map with drawing
    tools) is merged into leaflet-draw's `L.drawLocal`, its `format` the reader's decimal mark."""
    out: dict[str, Any] = _translate(_SCRIPT, i18n)
    if draw:
        out["draw"] = _translate(_DRAW, i18n)
        out["draw"]["format"] = {"numeric": {"delimiters": i18n.decimal_symbols()}}
    return out
