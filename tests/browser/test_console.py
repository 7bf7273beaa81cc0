"""The console's groundwork in a real Chromium against a real uvicorn (tests/browser/
console_site.py): the base layout and macros at 360 and 1280 px, the language switch, the map
without tiles, with tiles, and with tiles that fail, each drawing tool filling the search form's
hidden fields in GET /events terms, picking a camera's location, footage upload with progress,
and axe-core on every page, all under the console's strict Content-Security-Policy.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from app.console.maps import DEFAULT_MAP_TILES
from tests.browser.conftest import NewPage
from tests.browser.console_site import CAMERAS, CSRF, XSS, SiteState, make_site
from tests.browser.harness import (
    PHONE_WIDTH,
    WIDTHS,
    assert_accessible,
    page_weight,
    screenshot,
    settle,
)

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "app" / "console" / "static"
FOOTAGE = ROOT.parent / "shared" / "assets" / "footage" / "street_crossing_day.mp4"
MAP = "search-map"
HUMAN_PAUSE_MS = 300  # leaflet-draw drops a vertex that comes within ~50 ms of the last

Serve = Callable[..., tuple[str, SiteState]]


@pytest.fixture
def serve(live_server: Callable[..., str]) -> Serve:
    def start(**options: object) -> tuple[str, SiteState]:
        app, state = make_site(**options)  # type: ignore[arg-type]
        return live_server(app), state

    return start


@pytest.fixture
def site(serve: Serve) -> Iterator[tuple[str, SiteState]]:
    yield serve()


def http_errors(page: Page) -> list[str]:
    """Responses with a 4xx/5xx status (the harness records only network failures)."""
    errors: list[str] = []
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    return errors


# --- map geometry, asked of the page's own Leaflet ---------------------------------------------


def js_map(map_id: str = MAP) -> str:
    return f"window.wardcam.maps[{json.dumps(map_id)}].map"


def origin(page: Page, map_id: str = MAP) -> tuple[float, float]:
    """Page coordinates of the map's container point (0, 0): inside its border, as Leaflet
    counts (the map has a 1 px border)."""
    box = page.locator(f"#{map_id}").bounding_box()
    assert box is not None
    left, top = page.locator(f"#{map_id}").evaluate("el => [el.clientLeft, el.clientTop]")
    return box["x"] + left, box["y"] + top


def page_xy(page: Page, lat: float, lng: float, map_id: str = MAP) -> tuple[float, float]:
    ox, oy = origin(page, map_id)
    pt = page.evaluate(f"([a, b]) => {js_map(map_id)}.latLngToContainerPoint([a, b])", [lat, lng])
    return ox + pt["x"], oy + pt["y"]


def latlng_at(page: Page, x: float, y: float, map_id: str = MAP) -> tuple[float, float]:
    ox, oy = origin(page, map_id)
    ll = page.evaluate(
        f"([x, y]) => {js_map(map_id)}.containerPointToLatLng([x, y]).wrap()", [x - ox, y - oy]
    )
    return ll["lat"], ll["lng"]


def metres_between(page: Page, a: tuple[float, float], b: tuple[float, float]) -> float:
    ox, oy = origin(page)
    return float(
        page.evaluate(
            f"([a, b]) => {js_map()}.containerPointToLatLng(a)"
            f".distanceTo({js_map()}.containerPointToLatLng(b))",
            [[a[0] - ox, a[1] - oy], [b[0] - ox, b[1] - oy]],
        )
    )


def centre(page: Page, map_id: str = MAP) -> tuple[int, int]:
    """A whole-pixel point near the middle of the map (mouse events land on whole pixels)."""
    box = page.locator(f"#{map_id}").bounding_box()
    assert box is not None
    return round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)


def field(page: Page, name: str) -> tuple[str, bool]:
    """(value, disabled) of a hidden place field of the search form."""
    loc = page.locator(f"#search input[name={name}]")
    return loc.input_value(), loc.is_disabled()


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    page.mouse.move(*mid, steps=5)
    page.mouse.move(*end, steps=5)
    page.mouse.up()


def open_map(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator(f"#{MAP} .leaflet-marker-icon")).to_have_count(len(CAMERAS))


# --- layout ------------------------------------------------------------------------------------

PAGES = {"home": "/", "map": "/map", "pick": "/pick", "upload": "/upload"}


@pytest.mark.parametrize("name", list(PAGES))
def test_pages_fit_a_phone_and_a_desktop(
    site: tuple[str, SiteState], page: Page, name: str
) -> None:
    url, _ = site
    errors = http_errors(page)
    page.goto(url + PAGES[name])
    settle(page)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        settle(page)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name} scrolls sideways by {overflow}px at {width}px"
        # Every button, link-button and navigation link is a 44-px target at least.
        small = page.evaluate(
            """() => [...document.querySelectorAll('.button, .site-nav a')]
                 .filter(e => e.offsetParent !== null && e.getBoundingClientRect().height < 44)
                 .map(e => e.textContent.trim())"""
        )
        assert small == [], f"targets under 44 px at {width}px: {small}"
    paths = screenshot(page, f"console-{name}")
    assert [p.name for p in paths] == [f"console-{name}-360.png", f"console-{name}-1280.png"]
    assert errors == []  # the favicon included: no /favicon.ico 404


def test_table_becomes_cards_on_a_phone(site: tuple[str, SiteState], new_page: NewPage) -> None:
    url, _ = site
    page = new_page(width=PHONE_WIDTH, mobile=True)
    page.goto(url)
    cell = page.locator("table.cards td").first
    assert cell.evaluate("td => getComputedStyle(td).display") == "block"
    assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"Tên"'
    expect(page.locator("table.cards thead")).to_have_css("position", "absolute")
    # The XSS-named camera is a line of text in its card, not a script.
    expect(page.locator("table.cards td", has_text=XSS)).to_have_count(1)
    page.set_viewport_size({"width": 1280, "height": 800})
    assert cell.evaluate("td => getComputedStyle(td).display") == "table-cell"


def test_skip_link_takes_keyboard_users_to_the_content(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    page.goto(url)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Chuyển đến nội dung chính")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()


def test_vietnamese_typed_in_a_form_comes_back_composed(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    page.goto(url)
    text = "Camera hẻm 42 Nguyễn Thị Minh Khai, Phường Đa Kao"
    decomposed = unicodedata.normalize("NFD", text)
    page.get_by_label("Tên camera").fill(decomposed)
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("#echo")).to_have_text(text)
    echoed = page.locator("#echo").inner_text()
    assert echoed == text and unicodedata.is_normalized("NFC", echoed)
    assert page.get_by_label("Tên camera").input_value() == text


def test_load_more_appends_the_next_page_in_place(site: tuple[str, SiteState], page: Page) -> None:
    url, _ = site
    page.goto(url)
    items = page.locator("#events li:not(.load-more)")
    expect(items).to_have_count(3)
    page.get_by_role("link", name="Tải thêm").click()
    expect(items).to_have_count(6)
    page.get_by_role("link", name="Tải thêm").click()
    expect(items).to_have_count(9)
    expect(page.get_by_role("link", name="Tải thêm")).to_have_count(0)
    assert items.all_inner_texts() == [f"Sự kiện {i}" for i in range(1, 10)]
    assert page.url == url + "/"  # in place, no navigation


# --- language ----------------------------------------------------------------------------------


def test_language_switch_changes_every_string_and_sticks(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    page.goto(url + "/map")
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("link", name="Vẽ đa giác")).to_be_visible()
    expect(page.get_by_role("navigation", name="Menu chính")).to_be_visible()
    expect(page.locator("#search-map-status")).to_have_text(
        "Bản đồ không có nền: camera và hình vẽ hiển thị trên nền trơn."
    )
    page.get_by_role("button", name="English").click()
    page.wait_for_url(url + "/map")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Draw a polygon")).to_be_visible()
    expect(page.get_by_role("link", name="Skip to main content")).to_be_attached()
    expect(page.get_by_role("navigation", name="Main menu")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    expect(page.locator(".who__role")).to_have_text("Officer")
    expect(page.locator("#search-map-status")).to_have_text(
        "Map without background tiles: cameras and shapes on a plain background."
    )
    page.goto(url + "/")  # the choice is kept for the next page
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


@pytest.mark.parametrize(
    ("locale", "lang"), [("vi-VN", "vi"), ("en-US", "en"), ("en-GB", "en"), ("fr-FR", "vi")]
)
def test_first_visit_follows_the_browsers_language(
    site: tuple[str, SiteState], new_page: NewPage, locale: str, lang: str
) -> None:
    url, _ = site
    page = new_page(locale=locale)
    page.goto(url)
    expect(page.locator("html")).to_have_attribute("lang", lang)


# --- the map -----------------------------------------------------------------------------------


def test_map_without_tiles_shows_cameras_and_a_scale_bar(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    errors = http_errors(page)
    open_map(page, url + "/map")
    markers = page.locator(f"#{MAP} .leaflet-marker-icon")
    assert [markers.nth(i).get_attribute("alt") for i in range(3)] == [c.name for c in CAMERAS]
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    expect(page.locator(".leaflet-control-scale-line")).to_have_text(re.compile(r"^\d+ (m|km)$"))
    background = page.locator(f"#{MAP}").evaluate("el => getComputedStyle(el).backgroundColor")
    assert background == "rgb(238, 240, 236)"
    # The map opened on its cameras, each where it stands.
    for i, camera in enumerate(CAMERAS):
        box = markers.nth(i).bounding_box()
        assert box is not None
        x, y = page_xy(page, camera.lat, camera.lon)
        assert abs(box["x"] + box["width"] / 2 - x) <= 1 and abs(box["y"] + box["height"] - y) <= 1
    # A marker opens by click (and by keyboard), its name as text, with a link to the camera.
    markers.nth(2).click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup.locator("strong")).to_have_text(XSS)
    expect(popup.get_by_role("link", name="Mở camera")).to_have_attribute("href", "/cameras/3")
    page.get_by_role("button", name="Đóng").click()
    expect(popup).to_have_count(0)
    markers.nth(0).focus()
    page.keyboard.press("Enter")
    expect(popup.locator("strong")).to_have_text(CAMERAS[0].name)
    expect(popup).to_contain_text("Đang ghi")
    expect(page.locator(f"#{MAP}-summary")).to_have_text("3 camera trên bản đồ này")
    screenshot(page, "console-map-no-tiles")
    assert errors == []


def test_a_given_camera_opens_on_the_map(site: tuple[str, SiteState], page: Page) -> None:
    url, _ = site
    open_map(page, url + "/map?open=2")
    expect(page.locator(".leaflet-popup-content strong")).to_have_text("Camera chợ Bến Thành")
    assert page.evaluate(f"() => {js_map()}.getZoom()") >= 16
    assert page.evaluate("() => window.wardcam.maps['search-map'].openCamera(99)") is False


def test_map_with_tiles_shows_them(serve: Serve, page: Page) -> None:
    url, _ = serve(tiles="/tiles/{z}/{x}/{y}.png")
    open_map(page, url + "/map")
    expect(page.locator(".leaflet-tile-loaded").first).to_be_visible()
    expect(page.locator(f"#{MAP}-status")).to_have_text("")


def test_map_falls_back_to_a_plain_background_when_tiles_fail(
    serve: Serve, new_page: NewPage
) -> None:
    url, _ = serve(tiles="/missing/{z}/{x}/{y}.png")
    page = new_page(allow_console=True)  # the browser logs each 404 tile
    open_map(page, url + "/map")
    expect(page.locator(f"#{MAP}-status")).to_have_text(
        "Không tải được nền bản đồ: camera được hiển thị trên nền trơn."
    )
    expect(page.locator(".leaflet-tile")).to_have_count(0)
    expect(page.locator(".leaflet-control-scale-line")).to_be_visible()
    expect(page.locator(f"#{MAP} .leaflet-marker-icon")).to_have_count(3)
    screenshot(page, "console-map-tiles-failed", widths=[PHONE_WIDTH])


def test_map_on_a_closed_network_with_the_default_tiles(serve: Serve, new_page: NewPage) -> None:
    """The default OpenStreetMap template on a network that cannot reach it (DNS fails here):
    the CSP lets the tile requests go, they fail, and the map carries on without them."""
    url, _ = serve(tiles=DEFAULT_MAP_TILES)
    page = new_page(allow_external=True, allow_console=True)
    open_map(page, url + "/map")
    expect(page.locator(f"#{MAP}-status")).to_have_text(
        "Không tải được nền bản đồ: camera được hiển thị trên nền trơn."
    )
    expect(page.locator(".leaflet-control-attribution")).to_have_count(1)
    expect(page.locator(f"#{MAP} .leaflet-marker-icon")).to_have_count(3)


# --- drawing: the hidden fields of GET /events --------------------------------------------------


def test_circle_fills_near_and_radius(site: tuple[str, SiteState], page: Page) -> None:
    url, _ = site
    open_map(page, url + "/map")
    page.get_by_role("link", name="Vẽ hình tròn").click()
    cx, cy = centre(page)
    drag(page, (cx, cy), (cx + 100, cy))
    near, near_off = field(page, "near")
    radius, radius_off = field(page, "radius_m")
    assert not near_off and not radius_off
    lat, lon = (float(v) for v in near.split(","))
    want_lat, want_lon = latlng_at(page, cx, cy)
    assert re.fullmatch(r"-?\d+\.\d{6},-?\d+\.\d{6}", near)
    assert abs(lat - want_lat) < 2e-6 and abs(lon - want_lon) < 2e-6
    want_radius = metres_between(page, (cx, cy), (cx + 100, cy))
    assert radius.isdigit() and abs(int(radius) - want_radius) <= 1
    assert field(page, "bbox") == ("", True) and field(page, "polygon") == ("", True)
    expect(page.locator(f"#{MAP}-status")).to_have_text(
        f"Hình tròn bán kính {int(radius)} m quanh {near.replace(',', ', ')}"
    )


def test_rectangle_fills_bbox_west_south_east_north(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    open_map(page, url + "/map")
    page.get_by_role("link", name="Vẽ hình chữ nhật").click()
    cx, cy = centre(page)
    drag(page, (cx - 100, cy - 60), (cx + 90, cy + 70))
    bbox, off = field(page, "bbox")
    assert not off
    west, south, east, north = (float(v) for v in bbox.split(","))
    want_north, want_west = latlng_at(page, cx - 100, cy - 60)
    want_south, want_east = latlng_at(page, cx + 90, cy + 70)
    for got, want in (
        (west, want_west),
        (south, want_south),
        (east, want_east),
        (north, want_north),
    ):
        assert abs(got - want) < 2e-6
    assert west < east and south < north
    assert field(page, "near") == ("", True) and field(page, "radius_m") == ("", True)
    assert field(page, "polygon") == ("", True)


SQUARE = [(-120, -90), (110, -100), (120, 80), (-100, 100)]


def draw_polygon(page: Page, scale: float = 1.0) -> list[tuple[float, float]]:
    page.get_by_role("link", name="Vẽ đa giác").click()
    cx, cy = centre(page)
    clicks = [(cx + dx * scale, cy + dy * scale) for dx, dy in SQUARE]
    for x, y in clicks:
        page.mouse.click(x, y)
        page.wait_for_timeout(HUMAN_PAUSE_MS)
    page.mouse.click(*clicks[0])  # back on the first vertex closes the ring
    return clicks


def test_polygon_fills_a_closed_geojson_ring(site: tuple[str, SiteState], page: Page) -> None:
    url, _ = site
    open_map(page, url + "/map")
    clicks = draw_polygon(page)
    text, off = field(page, "polygon")
    assert not off
    polygon = json.loads(text)
    assert polygon["type"] == "Polygon" and len(polygon["coordinates"]) == 1
    ring = polygon["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    for (lon, lat), (x, y) in zip(ring[:-1], clicks, strict=True):
        want_lat, want_lon = latlng_at(page, x, y)
        assert abs(lat - want_lat) < 2e-5 and abs(lon - want_lon) < 2e-5
        assert len(str(lon).split(".")[1]) <= 6
    assert field(page, "near") == ("", True) and field(page, "bbox") == ("", True)
    expect(page.locator(f"#{MAP}-status")).to_have_text("Đa giác 4 đỉnh")
    screenshot(page, "console-map-polygon")


def test_polygon_by_touch_on_a_phone(site: tuple[str, SiteState], new_page: NewPage) -> None:
    url, _ = site
    page = new_page(width=PHONE_WIDTH, height=740, mobile=True)
    open_map(page, url + "/map")
    page.get_by_role("link", name="Vẽ đa giác").tap()
    cx, cy = centre(page)
    for dx, dy in SQUARE:
        page.touchscreen.tap(cx + dx * 0.5, cy + dy * 0.5)
        page.wait_for_timeout(HUMAN_PAUSE_MS)
    page.get_by_role("link", name="Xong").tap()
    ring = json.loads(field(page, "polygon")[0])["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]


def test_a_new_shape_replaces_the_last_one(site: tuple[str, SiteState], page: Page) -> None:
    url, _ = site
    open_map(page, url + "/map")
    page.get_by_role("link", name="Vẽ hình chữ nhật").click()
    cx, cy = centre(page)
    drag(page, (cx - 80, cy - 50), (cx + 80, cy + 50))
    assert field(page, "bbox")[0]
    page.get_by_role("link", name="Vẽ hình tròn").click()
    drag(page, (cx + 20, cy + 10), (cx + 80, cy + 10))
    assert field(page, "bbox") == ("", True)
    assert field(page, "near")[0] and field(page, "radius_m")[0]
    expect(page.locator(".leaflet-overlay-pane path.leaflet-interactive")).to_have_count(1)


def test_deleting_the_shape_clears_the_fields(site: tuple[str, SiteState], page: Page) -> None:
    url, _ = site
    open_map(page, url + "/map")
    page.get_by_role("link", name="Vẽ hình chữ nhật").click()
    cx, cy = centre(page)
    drag(page, (cx - 80, cy - 50), (cx + 80, cy + 50))
    page.get_by_role("link", name="Xóa hình").click()
    page.mouse.click(cx - 70, cy + 40)  # on the shape, away from the camera markers
    page.get_by_role("link", name="Lưu", exact=True).click()
    for name in ("near", "radius_m", "bbox", "polygon"):
        assert field(page, name) == ("", True), name
    expect(page.locator(f"#{MAP}-status")).to_have_text(
        "Chưa vẽ khu vực: hãy vẽ hình tròn, hình chữ nhật hoặc đa giác trên bản đồ."
    )


def test_the_drawn_area_is_submitted_and_drawn_again(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    open_map(page, url + "/map")
    draw_polygon(page)
    sent = field(page, "polygon")[0]
    page.get_by_label("Mục đích tìm kiếm").fill("Vụ va chạm xe máy ngày 3/12")
    page.get_by_role("button", name="Tìm").click()
    page.wait_for_url(re.compile(r"/map\?"))
    query = page.evaluate("() => [...new URLSearchParams(location.search).keys()]")
    assert query == ["polygon", "purpose"]  # the empty place fields are not sent
    expect(page.locator(".leaflet-overlay-pane path.leaflet-interactive")).to_have_count(1)
    assert field(page, "polygon") == (sent, False)
    expect(page.locator(f"#{MAP}-status")).to_have_text("Đa giác 4 đỉnh")
    expect(page.get_by_label("Mục đích tìm kiếm")).to_have_value("Vụ va chạm xe máy ngày 3/12")


# --- picking a location --------------------------------------------------------------------------


def test_location_is_picked_by_click_drag_or_typing(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    page.goto(url + "/pick")
    pick = "pick-map"
    lat_in, lon_in = page.get_by_label("Vĩ độ"), page.get_by_label("Kinh độ")
    cx, cy = centre(page, pick)
    x, y = cx + 60, cy - 50
    page.mouse.click(x, y)
    want = latlng_at(page, x, y, pick)
    assert abs(float(lat_in.input_value()) - want[0]) < 2e-6
    assert abs(float(lon_in.input_value()) - want[1]) < 2e-6
    expect(page.locator(f"#{pick}-status")).to_have_text(
        f"Đã đặt vị trí tại {lat_in.input_value()}, {lon_in.input_value()}"
    )
    marker = page.get_by_role("button", name="Vị trí camera (kéo để di chuyển)")
    expect(marker).to_be_visible()
    # Drag the marker 40 px left and 30 px down: the inputs follow.
    drag(page, (x, y - 20), (x - 40, y + 10))
    want = latlng_at(page, x - 40, y + 30, pick)
    assert abs(float(lat_in.input_value()) - want[0]) < 3e-5
    assert abs(float(lon_in.input_value()) - want[1]) < 3e-5
    # Typed coordinates move the marker.
    lat_in.fill("10.7741")
    lon_in.fill("106.7002")
    lon_in.press("Tab")
    where = page.evaluate(
        f"() => {{ const m = window.wardcam.maps['{pick}'].map; let p = null;"
        " m.eachLayer(l => { if (l.options && l.options.draggable) p = l.getLatLng(); });"
        " return p; }"
    )
    assert where == {"lat": 10.7741, "lng": 106.7002}
    expect(page.locator(f"#{pick}-status")).to_have_text("Đã đặt vị trí tại 10.7741, 106.7002")
    screenshot(page, "console-pick")


# --- upload --------------------------------------------------------------------------------------


@pytest.fixture
def footage() -> Path:
    if not FOOTAGE.is_file():
        pytest.fail(f"test footage missing: {FOOTAGE} (see ../shared/assets/README.md)")
    return FOOTAGE


def throttle_upload(page: Page, bytes_per_second: int) -> None:
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {
            "offline": False,
            "latency": 10,
            "downloadThroughput": -1,
            "uploadThroughput": bytes_per_second,
        },
    )


def record_progress(page: Page) -> None:
    page.evaluate(
        """() => { window.progressSeen = [];
           const bar = document.querySelector('progress');
           new MutationObserver(() => window.progressSeen.push(bar.value))
             .observe(bar, {attributes: true, attributeFilter: ['value']}); }"""
    )


def test_upload_sends_the_raw_file_with_its_start_time_and_shows_progress(
    site: tuple[str, SiteState], page: Page, footage: Path
) -> None:
    url, state = site
    page.goto(url + "/upload")
    throttle_upload(page, 1_000_000)  # ~1.7 s for the file: progress has time to show
    record_progress(page)
    page.get_by_label("Tệp video").set_input_files(footage)
    page.get_by_label(re.compile("^Thời điểm bắt đầu ghi")).fill("2026-03-12T14:05:09")
    page.get_by_role("button", name="Tải lên", exact=True).click()
    expect(page.get_by_role("button", name="Hủy tải lên")).to_be_visible()
    status = page.locator(".upload__status")
    expect(status).to_have_text("Đã tải lên: street_crossing_day.mp4.", timeout=30_000)
    size = footage.stat().st_size
    assert page.locator("progress").evaluate("p => [p.value, p.max]") == [size, size]
    seen = page.evaluate("() => window.progressSeen")
    assert any(0 < v < size for v in seen), f"no progress between 0 and {size}: {seen}"
    expect(page.get_by_role("button", name="Hủy tải lên")).to_be_hidden()
    [upload] = state.uploads
    assert upload.sha256 == hashlib.sha256(footage.read_bytes()).hexdigest()
    assert upload.size == size and upload.camera_id == 1
    assert upload.query == {
        "filename": "street_crossing_day.mp4",
        "start": "2026-03-12T14:05:09+07:00",
    }
    assert upload.content_type == "video/mp4"
    assert upload.csrf == CSRF
    screenshot(page, "console-upload")
    # The same bytes again: the API answers 200 with the stored segment.
    page.get_by_role("button", name="Tải lên", exact=True).click()
    expect(status).to_have_text(
        "Tệp này đã được lưu trước đó: street_crossing_day.mp4.", timeout=30_000
    )


def test_upload_error_shows_the_apis_detail(
    site: tuple[str, SiteState], new_page: NewPage, footage: Path
) -> None:
    url, state = site
    page = new_page(allow_console=True)  # the browser logs the 404
    page.goto(url + "/upload?camera=99")
    page.get_by_label("Tệp video").set_input_files(footage)
    page.get_by_role("button", name="Tải lên", exact=True).click()
    expect(page.locator(".upload__status")).to_have_text("Tải lên thất bại: camera 99 not found")
    assert state.uploads == []


def test_upload_can_be_cancelled_and_stores_nothing(
    site: tuple[str, SiteState], new_page: NewPage, footage: Path
) -> None:
    url, state = site
    page = new_page(strict=False)  # an aborted request is a "failed request" on purpose
    page.goto(url + "/upload")
    throttle_upload(page, 200_000)  # ~9 s: time to cancel
    page.get_by_label("Tệp video").set_input_files(footage)
    page.get_by_role("button", name="Tải lên", exact=True).click()
    page.wait_for_function("() => document.querySelector('progress').value > 0")
    page.get_by_role("button", name="Hủy tải lên").click()
    expect(page.locator(".upload__status")).to_have_text("Đã hủy tải lên; chưa có gì được lưu.")
    assert page.locator("progress").evaluate("p => p.value") == 0
    page.wait_for_timeout(500)
    assert state.uploads == []


def test_upload_without_a_file_says_so(site: tuple[str, SiteState], page: Page) -> None:
    url, state = site
    page.goto(url + "/upload")
    page.get_by_label("Tệp video").evaluate("i => i.removeAttribute('required')")
    page.get_by_role("button", name="Tải lên", exact=True).click()
    expect(page.locator(".upload__status")).to_have_text("Hãy chọn một tệp video trước.")
    assert state.uploads == []


def test_local_time_to_iso_follows_the_cameras_zone(
    site: tuple[str, SiteState], page: Page
) -> None:
    """time.js in the browser (whose own zone is Asia/Ho_Chi_Minh here) for other zones too."""
    url, _ = site
    page.goto(url + "/upload")
    cases = {
        ("2026-03-12T14:05", "Asia/Ho_Chi_Minh"): "2026-03-12T14:05:00+07:00",
        ("2026-07-01T09:30:15", "Europe/Berlin"): "2026-07-01T09:30:15+02:00",
        ("2026-01-15T09:30:15", "Europe/Berlin"): "2026-01-15T09:30:15+01:00",
        ("2026-06-01T23:59:59", "America/St_Johns"): "2026-06-01T23:59:59-02:30",
        ("2026-12-31T00:00", "UTC"): "2026-12-31T00:00:00+00:00",
    }
    for (value, zone), want in cases.items():
        got = page.evaluate("([v, z]) => window.wardcam.time.localToIso(v, z)", [value, zone])
        assert got == want, (value, zone)


# --- accessibility and weight --------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["vi-VN", "en-US"])
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_nothing_serious(
    site: tuple[str, SiteState], new_page: NewPage, name: str, lang: str
) -> None:
    url, _ = site
    page = new_page(locale=lang)
    page.goto(url + PAGES[name])
    settle(page)
    assert_accessible(page)
    page.set_viewport_size({"width": PHONE_WIDTH, "height": 740})
    settle(page)
    assert_accessible(page)


def test_axe_on_a_map_with_a_shape_and_an_open_popup(
    site: tuple[str, SiteState], page: Page
) -> None:
    url, _ = site
    open_map(page, url + "/map?open=1")
    draw_polygon(page)
    assert_accessible(page)


def test_search_page_weight(serve: Serve, page: Page) -> None:
    """HTML + JS + CSS of the map page (the search page's share: Leaflet, leaflet-draw, htmx
    and htmx-errors.js, the console's CSS and map.js), as served with gzip; the issue's budget
    is 300 KB."""
    url, _ = serve(gzip=True)
    open_map(page, url + "/map")
    settle(page)
    weight = page_weight(page)
    raw = sum(weight[k]["raw"] for k in ("html", "js", "css"))
    wire = sum(weight[k]["wire"] for k in ("html", "js", "css"))
    own = sum((STATIC / f).stat().st_size for f in ("console.css", "map.js"))
    print(
        f"search-like map page: HTML+JS+CSS {raw} bytes raw, {wire} on the wire (gzip); "
        f"the console's own CSS+JS {own} raw; html {weight['html']['raw']} raw"
    )
    assert (weight["js"]["files"], weight["css"]["files"]) == (5, 3)
    assert wire <= 300_000
