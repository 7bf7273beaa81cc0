"""The browser harness and the vendored web assets, proven in a real Chromium against a real
uvicorn: Leaflet draws a map with a camera marker and a scale bar on a plain background (no
tiles, no network), leaflet-draw draws a polygon, a rectangle and a circle by mouse and a polygon
by touch, htmx swaps a fragment, Swagger UI renders `/docs` from the vendored files, all under a
strict Content-Security-Policy, and axe-core reads the page.

The app here is a throwaway; the console's own pages get their journeys elsewhere.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewPage, page_log
from tests.browser.harness import (
    assert_accessible,
    axe_violations,
    page_weight,
    screenshot,
    settle,
)

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "app" / "console" / "static"
V = "/static/vendor"
SWAGGER = f"{V}/swagger-ui-5.35.0"

# What the console should send: scripts and styles from this origin only.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

CAMERA = (10.7769, 106.7009)  # a ward in District 1, Ho Chi Minh City

PAGE = f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="htmx-config" content='{{"includeIndicatorStyles": false, "allowEval": false}}'>
<title>Bản đồ camera</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{V}/leaflet-1.9.4/leaflet.css">
<link rel="stylesheet" href="{V}/leaflet-draw-1.0.4/leaflet.draw.css">
<link rel="stylesheet" href="/page.css">
<script src="{V}/leaflet-1.9.4/leaflet.js" defer></script>
<script src="{V}/leaflet-draw-1.0.4/leaflet.draw.js" defer></script>
<script src="{V}/htmx-2.0.11/htmx.min.js" defer></script>
<script src="/map.js" defer></script>
</head>
<body>
<main>
<h1>Camera của phường</h1>
<div id="map" role="region" aria-label="Bản đồ camera"></div>
<h2>Vùng đã vẽ</h2>
<ul id="shapes"></ul>
<button type="button" hx-get="/fragment" hx-target="#fragment">Tải thêm</button>
<div id="fragment"></div>
</main>
</body>
</html>
"""

PAGE_CSS = """
body { font-family: sans-serif; margin: 0 1rem; color: #1a1a1a; }
#map { height: 420px; width: 100%; }
.leaflet-container { background: #eef0ec; }
"""

MAP_JS = f"""
(function () {{
  var map = L.map('map', {{ center: [{CAMERA[0]}, {CAMERA[1]}], zoom: 16 }});
  L.control.scale({{ metric: true, imperial: false }}).addTo(map);
  L.marker([{CAMERA[0]}, {CAMERA[1]}], {{ title: 'Camera 1', alt: 'Camera 1' }}).addTo(map);
  var drawn = new L.FeatureGroup().addTo(map);
  map.addControl(new L.Control.Draw({{
    position: 'topright',
    draw: {{ polyline: false, marker: false, circlemarker: false,
             polygon: {{ allowIntersection: false, showArea: true }},
             rectangle: {{ showArea: true }}, circle: {{}} }},
    edit: {{ featureGroup: drawn }}
  }}));
  window.shapes = [];
  map.on(L.Draw.Event.CREATED, function (e) {{
    drawn.addLayer(e.layer);
    var shape = {{ type: e.layerType, geojson: e.layer.toGeoJSON() }};
    var text;
    if (e.layerType === 'circle') {{
      shape.radius = e.layer.getRadius();
      text = 'circle ' + Math.round(shape.radius) + ' m';
    }} else {{
      text = e.layerType + ' ' + (shape.geojson.geometry.coordinates[0].length - 1) + ' points';
    }}
    window.shapes.push(shape);
    var li = document.createElement('li');
    li.textContent = text;
    document.getElementById('shapes').appendChild(li);
  }});
  window.wardMap = map;
}})();
"""

DOCS_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>wardcam API</title>
<link rel="icon" href="{SWAGGER}/favicon-32x32.png">
<link rel="stylesheet" href="{SWAGGER}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{SWAGGER}/swagger-ui-bundle.js"></script>
<script src="/docs.js"></script>
</body>
</html>
"""

# validatorUrl: null, or Swagger UI fetches a badge from validator.swagger.io for any spec not
# served from localhost.
DOCS_JS = """window.ui = SwaggerUIBundle({
  url: '/openapi.json', dom_id: '#swagger-ui', deepLinking: true, validatorUrl: null
});"""


BARE_HEAD = (
    '<!doctype html><html lang="vi"><head><title>x</title><link rel="icon" href="data:,"></head>'
)


def make_app(*, gzip: bool = False) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None)
    if gzip:
        app.add_middleware(GZipMiddleware, minimum_size=500)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.middleware("http")
    async def csp(request: Request, call_next: Callable[..., Any]) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        return response

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return PAGE

    @app.get("/page.css")
    def page_css() -> Response:
        return Response(PAGE_CSS, media_type="text/css")

    @app.get("/map.js")
    def map_js() -> Response:
        return Response(MAP_JS, media_type="text/javascript")

    @app.get("/fragment", response_class=HTMLResponse)
    def fragment() -> str:
        return "<p id='loaded'>Đã tải: camera đường Lê Lợi</p>"

    # FastAPI's get_swagger_ui_html starts Swagger UI from an inline <script>, which a strict
    # CSP refuses; the same page with the start-up in its own file needs no exception.
    @app.get("/docs", include_in_schema=False, response_class=HTMLResponse)
    def docs() -> str:
        return DOCS_PAGE

    @app.get("/docs.js", include_in_schema=False)
    def docs_js() -> Response:
        return Response(DOCS_JS, media_type="text/javascript")

    return app


@pytest.fixture
def site(live_server: Callable[..., str]) -> str:
    return live_server(make_app())


def map_point(page: Page, lat: float, lng: float) -> tuple[float, float]:
    """Page coordinates of a place on the map."""
    box = page.locator("#map").bounding_box()
    assert box is not None
    pt = page.evaluate(
        "([lat, lng]) => window.wardMap.latLngToContainerPoint([lat, lng])", [lat, lng]
    )
    return box["x"] + pt["x"], box["y"] + pt["y"]


def offset(page: Page, dx: float, dy: float) -> tuple[float, float]:
    """Page coordinates `dx`, `dy` pixels from the camera."""
    x, y = map_point(page, *CAMERA)
    return x + dx, y + dy


def to_latlng(page: Page, x: float, y: float) -> list[float]:
    box = page.locator("#map").bounding_box()
    assert box is not None
    ll = page.evaluate(
        "([x, y]) => window.wardMap.containerPointToLatLng([x, y])", [x - box["x"], y - box["y"]]
    )
    return [ll["lat"], ll["lng"]]


def open_map(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator(".leaflet-marker-icon")).to_be_visible()


SQUARE = [(-120, -90), (110, -100), (120, 80), (-100, 100)]

# leaflet-draw ignores a vertex that comes within 50 ms of the previous one and eats a closing
# tap 100 ms after the last; people are slower than that, so the tests click at a human pace.
HUMAN_PAUSE_MS = 300


def test_map_without_tiles_shows_camera_and_scale(site: str, page: Page) -> None:
    open_map(page, site)
    marker = page.locator(".leaflet-marker-icon")
    expect(marker).to_have_attribute("alt", "Camera 1")
    # The icon image really loaded from the vendored images/ folder (the path Leaflet derives
    # from its own CSS), and there are no tiles at all.
    assert marker.evaluate("img => img.complete && img.naturalWidth") == 25
    assert "/static/vendor/leaflet-1.9.4/images/marker-icon.png" in (
        marker.get_attribute("src") or ""
    )
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    # At zoom 16 and latitude 10.78 a pixel is 2.35 m: the 100-px scale bar rounds to 200 m.
    scale = page.locator(".leaflet-control-scale-line")
    expect(scale).to_have_text("200 m")
    scale_box = scale.bounding_box()
    assert scale_box is not None
    assert abs(scale_box["width"] - 200 / 2.346) < 3
    background = page.locator("#map").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(238, 240, 236)"
    # The marker stands where the camera is.
    box = marker.bounding_box()
    assert box is not None
    x, y = map_point(page, *CAMERA)
    assert abs(box["x"] + box["width"] / 2 - x) <= 1
    assert abs(box["y"] + box["height"] - y) <= 1
    paths = screenshot(page, "harness-map")
    assert [p.name for p in paths] == ["harness-map-360.png", "harness-map-1280.png"]
    assert all(p.stat().st_size > 5_000 for p in paths)


def test_draw_polygon_with_mouse_clicks(site: str, page: Page) -> None:
    open_map(page, site)
    page.get_by_role("link", name="Draw a polygon").click()
    clicks = [offset(page, dx, dy) for dx, dy in SQUARE]
    for x, y in clicks:
        page.mouse.click(x, y)
        page.wait_for_timeout(HUMAN_PAUSE_MS)
    page.mouse.click(*clicks[0])  # back on the first vertex closes the ring
    expect(page.locator("#shapes li")).to_have_text(["polygon 4 points"])
    shape = page.evaluate("() => window.shapes[0]")
    ring = shape["geojson"]["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    for (lng, lat), (x, y) in zip(ring[:-1], clicks, strict=True):
        want_lat, want_lng = to_latlng(page, x, y)
        assert abs(lat - want_lat) < 2e-5 and abs(lng - want_lng) < 2e-5
    expect(page.locator(".leaflet-overlay-pane path.leaflet-interactive")).to_have_count(1)
    screenshot(page, "harness-polygon")


def test_draw_rectangle_and_circle_by_dragging(site: str, page: Page) -> None:
    open_map(page, site)
    page.get_by_role("link", name="Draw a rectangle").click()
    page.mouse.move(*offset(page, -100, -60))
    page.mouse.down()
    page.mouse.move(*offset(page, 0, 0), steps=5)
    page.mouse.move(*offset(page, 90, 70), steps=5)
    page.mouse.up()
    page.get_by_role("link", name="Draw a circle").click()
    page.mouse.move(*offset(page, 0, 0))
    page.mouse.down()
    page.mouse.move(*offset(page, 60, 0), steps=5)
    page.mouse.move(*offset(page, 100, 0), steps=5)
    page.mouse.up()
    expect(page.locator("#shapes li")).to_have_count(2)
    items = page.locator("#shapes li").all_inner_texts()
    assert items[0] == "rectangle 4 points"
    assert items[1].startswith("circle ")
    # 100 px at zoom 16 near latitude 10.8 is about 234 m.
    radius = page.evaluate("() => window.shapes[1].radius")
    metres_per_px = page.evaluate(
        "() => { const m = window.wardMap, c = m.getSize().divideBy(2);"
        " return m.containerPointToLatLng(c).distanceTo(m.containerPointToLatLng(c.add([1, 0]))); }"
    )
    assert abs(radius - 100 * metres_per_px) < 2 * metres_per_px


def test_draw_polygon_by_touch_on_a_phone(site: str, new_page: NewPage) -> None:
    page = new_page(width=360, height=740, mobile=True)
    open_map(page, site)
    page.get_by_role("link", name="Draw a polygon").tap()
    taps = [offset(page, dx * 0.6, dy * 0.6) for dx, dy in SQUARE]
    for x, y in taps:
        page.touchscreen.tap(x, y)
        page.wait_for_timeout(HUMAN_PAUSE_MS)
    expect(page.locator(".leaflet-editing-icon")).to_have_count(4)
    page.get_by_role("link", name="Finish").tap()
    expect(page.locator("#shapes li")).to_have_text(["polygon 4 points"])
    screenshot(page, "harness-polygon-touch", widths=[360])


def test_htmx_swaps_a_fragment_under_csp(site: str, page: Page) -> None:
    page.goto(site)
    page.get_by_role("button", name="Tải thêm").click()
    expect(page.locator("#loaded")).to_have_text("Đã tải: camera đường Lê Lợi")


def test_swagger_ui_from_vendored_files(site: str, page: Page) -> None:
    page.goto(site + "/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    paths = [
        p.replace("\u200b", "") for p in page.locator(".opblock-summary-path").all_inner_texts()
    ]
    assert sorted(paths) == ["/", "/fragment", "/map.js", "/page.css"]
    page.locator(".opblock-summary", has_text="/fragment").click()
    expect(page.locator(".opblock-body .responses-wrapper")).to_be_visible()
    assert page_log(page).external_requests == []


def test_axe_reads_the_map_page(site: str, page: Page) -> None:
    open_map(page, site)
    assert_accessible(page)


def test_axe_reports_what_is_wrong(live_server: Callable[..., str], page: Page) -> None:
    """The accessibility helper must be able to fail: an image button without a name and grey
    on grey text are reported, with the rule and the element."""
    bad = FastAPI()

    @bad.get("/", response_class=HTMLResponse)
    def index() -> str:
        return (
            f"{BARE_HEAD}<body><main>"
            '<button type="button"><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></button>'
            '<p style="color:#bbb;background:#ccc">Khó đọc</p></main></body></html>'
        )

    page.goto(live_server(bad))
    violations = axe_violations(page)
    ids = {v["id"] for v in violations}
    assert {"button-name", "color-contrast"} <= ids, json.dumps(violations, indent=1)
    with pytest.raises(AssertionError, match="button-name"):
        assert_accessible(page)


def test_a_request_off_loopback_is_blocked_and_recorded(
    live_server: Callable[..., str], new_page: NewPage
) -> None:
    """A page that reaches for a CDN gets nothing, and the attempt is on record (this page has
    no CSP, which would stop the request before it is made)."""
    plain = FastAPI()

    @plain.get("/", response_class=HTMLResponse)
    def index() -> str:
        return f"{BARE_HEAD}<body></body></html>"

    page = new_page(strict=False)
    page.goto(live_server(plain))
    status = page.evaluate(
        "() => fetch('https://unpkg.com/leaflet@1.9.4/dist/leaflet.js').then(r => r.status,"
        " e => 'blocked')"
    )
    assert status == "blocked"
    assert page_log(page).external_requests == ["https://unpkg.com/leaflet@1.9.4/dist/leaflet.js"]


MAP_PAGE_ASSETS = [
    "leaflet-1.9.4/leaflet.js",
    "leaflet-1.9.4/leaflet.css",
    "leaflet-draw-1.0.4/leaflet.draw.js",
    "leaflet-draw-1.0.4/leaflet.draw.css",
    "htmx-2.0.11/htmx.min.js",
]


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_page_weight_counts_what_the_map_page_loads(
    live_server: Callable[..., str], page: Page, gzip: bool
) -> None:
    """The weight helper adds up exactly the bytes of the page, its scripts and its styles; the
    vendored share of a map page is what the console's search page will carry."""
    page.goto(live_server(make_app(gzip=gzip)))
    expect(page.locator(".leaflet-marker-icon")).to_be_visible()
    settle(page)
    weight = page_weight(page)
    vendored = sum((STATIC / "vendor" / a).stat().st_size for a in MAP_PAGE_ASSETS)
    own = len(PAGE.encode()) + len(PAGE_CSS.encode()) + len(MAP_JS.encode())
    raw = sum(weight[k]["raw"] for k in ("html", "js", "css"))
    wire = sum(weight[k]["wire"] for k in ("html", "js", "css"))
    assert raw == vendored + own
    assert (weight["js"]["files"], weight["css"]["files"]) == (4, 3)
    if gzip:
        assert wire < raw // 3
    else:
        assert wire == raw
    print(f"map page HTML+JS+CSS: {raw} bytes raw, {wire} bytes on the wire (gzip={gzip})")
