"""The console's role pages in a real Chromium against the real app (uvicorn, SQLite, the
file store, the in-process job pool with the real detector), on real footage:

the ward registers a camera by placing it on the map and uploads street_crossing_day.mp4
(indexed by WARDCAM_DETECTOR_MODEL); the officer draws a polygon around it and opens a car's
thumbnail; the investigator opens a case, searches under it and requests footage around a car;
the ward approves in its console; the investigator watches the request become ready (htmx
polling), plays the clip (HTTP ranges) and downloads the package, which `wardcam verify`
accepts with the service's key fingerprint pinned; the ward sees all of it in the camera's
access log; a second ward sees none of it. axe-core on every page; screenshots of the main
pages at 360 and 1280 px into docs/screenshots/.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from app.signing import signing_key
from evidence.signing import key_fingerprint
from tests.browser.conftest import NewPage, page_log
from tests.browser.harness import assert_accessible, page_weight, screenshot, settle
from tests.console.conftest import MadePerson, make_person, sign_in
from tests.helpers import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
FOOTAGE = ROOT.parent / "shared" / "assets" / "footage" / "street_crossing_day.mp4"
SHOTS = ROOT / "docs" / "screenshots"
ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
HUMAN_PAUSE_MS = 300  # leaflet-draw drops a vertex clicked within ~50 ms of the last
SQUARE = [(-110, -90), (110, -90), (110, 90), (-110, 90)]
FIGURES: dict[str, float] = {}


def shoot(page: Page, name: str) -> None:
    screenshot(page, name, folder=SHOTS)


def check(page: Page) -> None:
    settle(page)
    assert_accessible(page)


def draw_polygon_around_centre(page: Page, map_id: str) -> None:
    page.get_by_role("link", name="Vẽ đa giác").click()
    box = page.locator(f"#{map_id}").bounding_box()
    assert box is not None
    cx, cy = round(box["x"] + box["width"] / 2), round(box["y"] + box["height"] / 2)
    clicks = [(cx + dx, cy + dy) for dx, dy in SQUARE]
    for x, y in clicks:
        page.mouse.click(x, y)
        page.wait_for_timeout(HUMAN_PAUSE_MS)
    page.mouse.click(*clicks[0])
    expect(page.locator(f"#{map_id}-status")).to_have_text("Đa giác 4 đỉnh")


def search(page: Page, day: str, *, purpose: str | None) -> float:
    """Fill the window and classes, press search; seconds until the first thumbnail shows."""
    page.get_by_label("Từ (UTC+07:00)").fill(f"{day}T07:30")
    page.get_by_label("Đến (UTC+07:00)").fill(f"{day}T09:00")
    page.get_by_role("group", name="Loại đối tượng").get_by_label("Ô tô").check()
    if purpose is not None:
        page.get_by_label("Mục đích").fill(purpose)
    started = time.perf_counter()
    page.get_by_role("button", name="Tìm kiếm", exact=True).click()
    page.wait_for_function(
        "() => { const i = document.querySelector('.thumb img');"
        " return i && i.complete && i.naturalWidth > 0; }",
        timeout=30_000,
    )
    return time.perf_counter() - started


@pytest.fixture
def wardcam(
    tmp_path: Path, live_server: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> tuple[str, object]:
    from app.main import create_app
    from app.settings import Settings

    if not FOOTAGE.is_file():
        pytest.fail(f"missing footage {FOOTAGE}")
    monkeypatch.setenv("WARDCAM_MAP_TILES", "")  # a closed network: plain background
    monkeypatch.setenv("WARDCAM_LANGUAGE", "vi")
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{tmp_path / 'wardcam.db'}",
        storage_url=f"file://{tmp_path / 'objects'}",
        secret_key=TEST_SECRET,
        job_workers=1,
        detector_device="cpu",
    )
    app = create_app(settings)
    return live_server(app), app


def signed_in(new_page: NewPage, url: str, who: MadePerson, **kw: object) -> Page:
    page = new_page(**kw)
    sign_in(page, url, who.username, who.password)
    return page


def register_on_form(w: Page, url: str, name: str) -> None:
    """The ward registers a camera at the Lê Lợi crossing through the form, typed."""
    w.goto(url + "/ward/cameras/new")
    w.get_by_label("Vĩ độ").fill("10.772500")
    w.get_by_label("Kinh độ").fill("106.698000")
    w.get_by_label("Tên (bắt buộc)", exact=True).fill(name)
    w.get_by_role("button", name="Đăng ký camera").click()
    expect(w.get_by_text("Đã lưu camera.")).to_be_visible()


def test_ward_officer_investigator_journey(wardcam: tuple[str, object], new_page: NewPage) -> None:
    url, app = wardcam
    ward = make_person(app, "ward", full_name="UBND phường Bến Thành")
    ward2 = make_person(app, "ward", full_name="UBND phường Đa Kao")
    officer = make_person(app, "officer", full_name="Trần Văn Cảnh")
    investigator = make_person(app, "investigator", org_id=officer.org_id, full_name="Lê Thị Tra")
    day = (datetime.now(UTC).astimezone(ZONE) - timedelta(days=1)).date().isoformat()

    # --- the ward registers its camera on the map and uploads footage ---------------------
    w = signed_in(new_page, url, ward)
    w.goto(url + "/ward")
    check(w)
    w.get_by_role("link", name="Đăng ký camera").first.click()
    expect(w.get_by_role("heading", name="Đăng ký camera")).to_be_visible()
    box = w.locator("#camera-map").bounding_box()
    assert box is not None
    w.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    assert w.get_by_label("Vĩ độ").input_value()  # the click placed it
    w.get_by_label("Vĩ độ").fill("10.772500")  # then the exact spot, typed
    w.get_by_label("Kinh độ").fill("106.698000")
    w.get_by_label("Tên (bắt buộc)", exact=True).fill("Camera ngã tư Lê Lợi")
    w.get_by_label("Địa chỉ", exact=True).fill("Ngã tư Lê Lợi, Nam Kỳ Khởi Nghĩa")
    check(w)
    shoot(w, "ward-camera-new")
    w.get_by_role("button", name="Đăng ký camera").click()
    expect(w.get_by_text("Đã lưu camera.")).to_be_visible()
    camera_url = w.url.split("?")[0]
    camera_id = int(camera_url.rsplit("/", 1)[1])
    w.get_by_label("Tệp video").set_input_files(FOOTAGE)
    w.get_by_label("Thời điểm bắt đầu ghi", exact=False).fill(f"{day}T08:00:00")
    w.get_by_role("button", name="Tải lên", exact=True).click()
    expect(w.locator(".upload__status")).to_have_text(
        "Đã tải lên: street_crossing_day.mp4.", timeout=60_000
    )
    check(w)
    shoot(w, "ward-camera")
    # indexing with the real model: the backlog empties
    deadline = time.monotonic() + 180
    while True:
        w.goto(url + "/ward")
        cell = w.locator(f'tr[data-camera="{camera_id}"] td').nth(4)
        if cell.inner_text().strip().startswith("0 "):
            break
        assert time.monotonic() < deadline, "indexing did not finish"
        w.wait_for_timeout(2000)
    expect(w.locator(f'tr[data-camera="{camera_id}"]')).to_contain_text("Camera ngã tư Lê Lợi")
    check(w)
    shoot(w, "ward-cameras")

    # --- the officer draws a polygon around it and opens a car -----------------------------
    o = signed_in(new_page, url, officer)
    o.goto(url + "/search")
    expect(o.locator("#search-map .leaflet-marker-icon")).to_have_count(1)
    check(o)
    draw_polygon_around_centre(o, "search-map")
    FIGURES["officer_first_thumbnail_s"] = search(o, day, purpose="Tìm ô tô liên quan vụ va quẹt")
    thumbs = o.locator('.thumb[data-label="car"]')
    assert thumbs.count() >= 1
    expect(o.locator(".histogram svg rect").first).to_be_attached()
    check(o)
    weight = page_weight(o)
    for how in ("raw", "wire"):
        FIGURES[f"search_page_{how}_bytes"] = sum(weight[k][how] for k in ("html", "js", "css"))
    assert FIGURES["search_page_wire_bytes"] <= 300_000
    shoot(o, "officer-search-results")
    thumbs.first.locator("a").click()
    expect(o.locator("#event-map .leaflet-popup")).to_contain_text("Camera ngã tư Lê Lợi")
    expect(o.locator(".event__picture")).to_be_visible()
    assert o.get_by_role("link", name="Yêu cầu video quanh thời điểm này").count() == 0
    check(o)
    shoot(o, "officer-result")

    # --- the investigator opens a case, searches under it and requests footage -------------
    # strict=False: the video element aborts its first open-ended range request once it has
    # what it needs (checked below: nothing else may go wrong on this page)
    i = signed_in(new_page, url, investigator, strict=False)
    i.goto(url + "/casework/cases")
    i.get_by_label("Số vụ việc").fill("HS-2026/041")
    i.get_by_label("Tiêu đề").fill("Va quẹt ô tô tại ngã tư Lê Lợi")
    i.get_by_role("button", name="Mở vụ việc").click()
    expect(i.get_by_role("heading", name="Vụ việc HS-2026/041")).to_be_visible()
    case_url = i.url
    i.get_by_role("link", name="Tìm kiếm theo vụ việc này").click()
    draw_polygon_around_centre(i, "search-map")
    assert i.get_by_label("Vụ việc").input_value()  # the case is chosen
    search(i, day, purpose=None)
    # every thumbnail loaded before leaving the page (lazy ones below the fold too), so that
    # leaving it aborts nothing
    i.evaluate(
        "() => document.querySelectorAll('.thumb img').forEach(m => { m.loading = 'eager'; })"
    )
    i.wait_for_function("() => [...document.querySelectorAll('.thumb img')].every(m => m.complete)")
    settle(i)
    i.locator('.thumb[data-label="car"] a').first.click()
    i.get_by_role("link", name="Yêu cầu video quanh thời điểm này").click()
    expect(i.get_by_role("heading", name="Yêu cầu trích xuất video")).to_be_visible()
    assert i.get_by_label("Camera ngã tư Lê Lợi").is_checked()
    assert i.locator("#f-from").input_value().startswith(day)
    i.get_by_label("Lý do").fill("Xác định ô tô va quẹt xe máy lúc 8 giờ sáng")
    check(i)
    shoot(i, "investigator-request")
    i.get_by_role("button", name="Gửi yêu cầu").click()
    expect(i.locator("#extraction-state")).to_have_attribute("data-state", "pending")
    extraction_url = i.url

    # --- the ward approves its camera -----------------------------------------------------
    w.goto(url + "/ward/requests")
    expect(w.get_by_text("Xác định ô tô va quẹt xe máy lúc 8 giờ sáng")).to_be_visible()
    check(w)
    shoot(w, "ward-requests")
    w.get_by_label("Ghi chú cho người yêu cầu").fill("Đồng ý, chỉ dùng cho vụ việc này.")
    w.get_by_role("button", name="Chấp thuận").click()
    expect(w.get_by_text("Đã chấp thuận. Người yêu cầu đã được báo.")).to_be_visible()

    # --- the investigator's page follows fulfilment, then plays and downloads -------------
    expect(i.locator("#extraction-state")).to_have_attribute("data-state", "ready", timeout=180_000)
    assert i.url == extraction_url  # updated in place by polling
    check(i)
    shoot(i, "investigator-extraction")
    ranges: list[int] = []
    i.on("response", lambda r: ranges.append(r.status) if "/clips/" in r.url else None)
    i.get_by_role("link", name="Xem các đoạn video").click()
    expect(i.locator(".clip__name").first).to_have_text("Camera ngã tư Lê Lợi")
    video = i.locator("video").first
    i.wait_for_function(
        "() => { const v = document.querySelector('video'); return v && v.readyState >= 1; }",
        timeout=30_000,
    )
    assert video.evaluate("v => v.duration") > 1
    assert 206 in ranges, ranges  # the browser asked for byte ranges
    check(i)
    shoot(i, "investigator-play")
    with i.expect_download() as got:
        i.get_by_role("link", name="Tải gói chứng cứ").click()
    package = Path(got.value.path())
    fingerprint = key_fingerprint(signing_key(app.state.ctx.settings))  # type: ignore[attr-defined]
    verify = subprocess.run(
        [sys.executable, "-m", "app", "verify", str(package), "--trusted-fingerprint", fingerprint],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
    i.goto(case_url)
    timeline = i.locator("#timeline")
    for action in ("case.create", "event.search", "extraction.request", "extraction.download"):
        expect(timeline.locator(f'[data-action="{action}"]').first).to_be_attached()
    check(i)
    shoot(i, "investigator-case")
    problems = page_log(i).problems()
    assert [p for p in problems if not ("/clips/" in p and "ERR_ABORTED" in p)] == []

    # --- the ward sees all of it; a second ward none of it ----------------------------------
    w.goto(f"{camera_url}/access-log")
    log = w.locator("#access-log")
    for action in (
        "event.search",
        "event.thumbnail",
        "event.read",
        "extraction.request",
        "extraction.approve",
        "extraction.play",
        "extraction.download",
    ):
        expect(log.locator(f'[data-action="{action}"]').first).to_be_attached()
    expect(log).to_contain_text(officer.username)
    expect(log).to_contain_text(investigator.username)
    check(w)
    shoot(w, "ward-access-log")
    w2 = signed_in(new_page, url, ward2, strict=False)  # its 403 page is logged by the browser
    w2.goto(url + "/ward")
    expect(w2.get_by_text("Chưa có camera")).to_be_visible()
    assert "Lê Lợi" not in w2.content()
    w2.goto(url + "/ward/requests")
    assert "HS-2026/041" not in w2.content()
    response = w2.goto(f"{camera_url}/access-log")
    assert response is not None and response.status == 403
    assert "Lê Lợi" not in w2.content()
    print("FIGURES", FIGURES)


def test_an_upload_the_api_refuses_is_said_in_the_pages_language(
    wardcam: tuple[str, object], new_page: NewPage, tmp_path: Path
) -> None:
    """The upload script reads the API's JSON refusal: in Vietnamese it says the code's
    sentence (it showed the API's English `detail`), and nothing is stored."""
    url, app = wardcam
    ward = make_person(app, "ward")
    w = signed_in(new_page, url, ward, allow_console=True)  # the browser logs the 422
    register_on_form(w, url, "Camera cổng chợ")
    notes = tmp_path / "ghi_chu.mp4"
    notes.write_text("Biên bản ghi nhận: không phải video.\n" * 50, encoding="utf-8")
    w.get_by_label("Tệp video").set_input_files(notes)
    w.get_by_label("Thời điểm bắt đầu ghi", exact=False).fill("2026-12-01T08:00:00")
    w.get_by_role("button", name="Tải lên", exact=True).click()
    expect(w.locator(".upload__status")).to_have_text(
        "Tải lên thất bại: Tệp này không phải là video; chưa có gì được lưu.", timeout=30_000
    )
    w.goto(url + "/ward")
    camera_row = w.locator("tr", has_text="Camera cổng chợ")
    expect(camera_row).to_be_visible()
    engine = app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM segment").scalar() == 0


def test_a_place_typed_as_a_phone_types_it_is_found_on_the_map_and_saved(
    wardcam: tuple[str, object], new_page: NewPage
) -> None:
    """On a phone the decimal keypad of a Vietnamese keyboard types `10,7725`; a map
    application copies a place as `10.7725, 106.698`. The map's pin goes where the server will
    put the camera (it went to 10, 106: `parseFloat` stops at the comma), both are saved, and
    what cannot be read is said beside the field and at the top of the long form, in
    Vietnamese (pydantic's English was shown), with nothing stored."""
    url, app = wardcam
    ward = make_person(app, "ward")
    w = signed_in(new_page, url, ward, width=390, height=844, mobile=True, allow_console=True)
    register_on_form(w, url, "Camera cổng chợ")

    w.goto(url + "/ward/cameras/new")  # the first camera is on the map
    cameras = w.locator("#camera-map .leaflet-marker-icon:not(.pick-marker)")
    expect(cameras).to_have_count(1)
    w.get_by_label("Vĩ độ").fill("10,7725")
    w.get_by_label("Kinh độ").fill("106,698")
    w.get_by_label("Kinh độ").press("Tab")  # a change event, as leaving the field
    pin = w.locator("#camera-map .leaflet-marker-icon.pick-marker")
    expect(pin).to_have_count(1)
    at, there = pin.bounding_box(), cameras.bounding_box()
    assert at is not None and there is not None
    assert abs(at["x"] - there["x"]) <= 1 and abs(at["y"] - there["y"]) <= 1, (at, there)
    w.get_by_label("Tên (bắt buộc)", exact=True).fill("Camera bãi xe")
    w.get_by_role("button", name="Đăng ký camera").click()
    expect(w.get_by_text("Đã lưu camera.")).to_be_visible()
    expect(w.get_by_label("Vĩ độ")).to_have_value("10.772500")
    expect(w.get_by_label("Kinh độ")).to_have_value("106.698000")

    w.goto(url + "/ward/cameras/new")
    w.get_by_label("Vĩ độ").fill("10.7761, 106.7009")  # pasted whole
    w.get_by_label("Vĩ độ").press("Tab")
    expect(w.get_by_label("Vĩ độ")).to_have_value("10.7761")
    expect(w.get_by_label("Kinh độ")).to_have_value("106.7009")

    w.get_by_label("Vĩ độ").fill("mười")
    w.get_by_label("Lưu video trong (ngày)").fill("5000")
    w.get_by_label("Tên (bắt buộc)", exact=True).fill("Camera trường học")
    w.get_by_role("button", name="Đăng ký camera").click()
    expect(w.locator("#f-latitude-error")).to_contain_text("Vĩ độ phải là một số.")
    expect(w.locator("#f-retention_days-error")).to_contain_text(
        "Lưu video trong (ngày) tối đa là 3.650."
    )
    expect(w.locator(".flash--error").first).to_contain_text("Vĩ độ phải là một số.")
    assert "Input should" not in w.content()
    engine = app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM camera").scalar() == 2


def test_a_refusal_answered_to_htmx_is_shown_and_a_malformed_answer_is_not(
    wardcam: tuple[str, object], new_page: NewPage
) -> None:
    """htmx swapped only a 2xx: a request the console refused changed nothing on the page. A
    refusal (the console's HTML sentence) is now swapped in; a 4xx that is not HTML (the
    API's JSON for a malformed request) is still not pasted into the page."""
    url, app = wardcam
    officer = make_person(app, "officer")
    o = signed_in(new_page, url, officer, allow_console=True)  # the browser logs the 4xx
    o.goto(url + "/search")
    o.wait_for_function("() => window.htmx !== undefined")
    results = o.locator("#results")
    before = results.inner_html()
    too_long = "x" * 600  # past the cursor's 512 characters: FastAPI's JSON 422
    o.evaluate(f"htmx.ajax('GET', '/search/results?cursor={too_long}', {{target: '#results'}})")
    o.wait_for_timeout(1000)
    assert results.inner_html() == before
    o.evaluate("htmx.ajax('GET', '/casework/extractions/1/state', {target: '#results'})")
    expect(results.locator('[role="alert"]')).to_have_text(
        "Vai trò của bạn không được truy cập trang này. "
        "Việc từ chối đã được ghi vào nhật ký kiểm toán."
    )
