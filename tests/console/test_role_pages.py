"""The role pages (ward, search, casework) through a real app and the sign-in cookie: what
each person sees, and that every action is the API's (same rules, same audit entries)."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.console.conftest import MadePerson, make_person, sign_in

XSS = "<script>alert(1)</script>"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def as_person(client: TestClient, person: MadePerson) -> tuple[TestClient, str]:
    """A browser of its own (own cookies) signed in as `person`; returns it and its CSRF."""
    browser = TestClient(client.app)
    return browser, sign_in(browser, "", person.username, person.password)


def rows(client: TestClient, sql: str, **params: Any) -> list[Any]:
    engine = client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


def register(browser: TestClient, csrf: str, name: str, lat: str, lon: str) -> int:
    r = browser.post(
        "/ward/cameras/new",
        data={
            "csrf_token": csrf,
            "name": name,
            "address": "12 Lê Lợi, phường Bến Thành",
            "latitude": lat,
            "longitude": lon,
            "timezone": "Asia/Ho_Chi_Minh",
            "retention_days": "30",
            "sharing_policy": "owner_approval",
        },
        follow_redirects=False,
    )
    return registered(r)


def registered(response: Any) -> int:
    """The id of the camera a register form's answer (a redirect to its page) names."""
    assert response.status_code == 303, response.text
    found = re.fullmatch(r"/ward/cameras/(\d+)\?saved=1", response.headers["location"])
    assert found, response.headers["location"]
    return int(found.group(1))


def test_ward_registers_a_camera_and_sees_it_with_its_state(client: TestClient) -> None:
    ward = make_person(client, "ward")
    browser, csrf = as_person(client, ward)
    cam = register(browser, csrf, XSS, "10.772500", "106.698000")
    page = browser.get(f"/ward/cameras/{cam}?saved=1")
    assert page.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text and XSS not in page.text
    assert 'value="10.772500"' in page.text
    assert f'data-url="/cameras/{cam}/footage"' in page.text  # the upload goes to the API
    home = browser.get("/ward")
    assert home.status_code == 200
    assert f'data-camera="{cam}"' in home.text
    assert "Chưa có video" in home.text  # no footage yet, in Vietnamese by default
    assert XSS not in home.text
    markers = re.search(r"data-cameras='([^']*)'", home.text)
    assert markers and json.loads(markers.group(1).replace("&#34;", '"'))[0]["id"] == cam
    # the same audit entry as POST /cameras
    (entry,) = rows(
        client, "SELECT action, actor_user_id FROM audit_entry WHERE action='camera.create'"
    )
    assert entry == ("camera.create", ward.user_id)


def test_a_form_without_the_csrf_token_is_refused(client: TestClient) -> None:
    ward = make_person(client, "ward")
    browser, _ = as_person(client, ward)
    r = browser.post(
        "/ward/cameras/new",
        data={"name": "x", "latitude": "10.7", "longitude": "106.7", "timezone": "UTC"},
    )
    assert r.status_code == 403
    assert rows(client, "SELECT count(*) FROM camera")[0][0] == 0


def test_invalid_place_is_shown_on_the_form(client: TestClient) -> None:
    ward = make_person(client, "ward")
    browser, csrf = as_person(client, ward)
    r = browser.post(
        "/ward/cameras/new",
        data={
            "csrf_token": csrf,
            "name": "Chợ",
            "latitude": "95",
            "longitude": "106.7",
            "timezone": "Asia/Ho_Chi_Minh",
            "retention_days": "30",
            "sharing_policy": "owner_approval",
        },
    )
    assert r.status_code == 422
    assert 'aria-invalid="true"' in r.text and 'id="f-latitude"' in r.text
    assert 'value="Chợ"' in r.text  # what was typed stays


def test_roles_and_owners_are_kept_apart(client: TestClient) -> None:
    ward_a = make_person(client, "ward")
    ward_b = make_person(client, "ward")
    a, csrf_a = as_person(client, ward_a)
    cam = register(a, csrf_a, "Camera chợ Bến Thành", "10.7725", "106.698")
    b, _ = as_person(client, ward_b)
    for path in (f"/ward/cameras/{cam}", f"/ward/cameras/{cam}/access-log"):
        r = b.get(path)
        assert r.status_code == 403, path
        assert "Bến Thành" not in r.text
    assert f'data-camera="{cam}"' not in b.get("/ward").text
    # a ward user on an officer's page: the 403 page, audited as the API's refusal
    r = b.get("/search")
    assert r.status_code == 403 and "<html" in r.text
    denied = rows(
        client,
        "SELECT count(*) FROM audit_entry WHERE outcome='denied' AND action='event.search' "
        "AND actor_user_id=:u",
        u=ward_b.user_id,
    )
    assert denied[0][0] == 1
    # signed out: the sign-in page
    r = TestClient(client.app).get("/ward", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/sign-in")


def _audited_query(client: TestClient, user_id: int) -> dict[str, Any]:
    (details,) = rows(
        client,
        "SELECT details FROM audit_entry WHERE action='event.search' AND actor_user_id=:u "
        "ORDER BY seq DESC LIMIT 1",
        u=user_id,
    )[0]
    return json.loads(details)


def test_a_console_search_is_the_same_audit_entry_as_get_events(client: TestClient) -> None:
    ward = make_person(client, "ward")
    a, csrf = as_person(client, ward)
    cam = register(a, csrf, "Ngã tư Lê Lợi", "10.7735", "106.7010")
    officer = make_person(client, "officer")
    o, _ = as_person(client, officer)
    polygon = json.dumps(
        {
            "type": "Polygon",
            "coordinates": [
                [
                    [106.70, 10.773],
                    [106.702, 10.773],
                    [106.702, 10.774],
                    [106.70, 10.774],
                    [106.70, 10.773],
                ]
            ],
        }
    )
    purpose = "Tìm xe máy bị trộm ở chợ"
    r = o.get(
        "/search",
        params={
            "go": "1",
            "from": "2026-12-01T07:00",
            "to": "2026-12-01T09:00",
            "polygon": polygon,
            "label": "car",
            "purpose": purpose,
        },
    )
    assert r.status_code == 200, r.text
    assert 'id="results-heading"' in r.text
    console = _audited_query(client, officer.user_id)
    api = o.get(
        "/events",
        params={
            "from": "2026-12-01T07:00:00+07:00",
            "to": "2026-12-01T09:00:00+07:00",
            "polygon": polygon,
            "label": "car",
            "purpose": purpose,
            "limit": 48,
        },
    )
    assert api.status_code == 200, api.text
    assert _audited_query(client, officer.user_id) == console
    assert console["cameras_searched"] == 1
    (why,) = rows(
        client,
        "SELECT purpose FROM audit_entry WHERE action='event.search' AND actor_user_id=:u",
        u=officer.user_id,
    )[:1]
    assert why[0] == purpose
    assert cam  # the polygon holds the ward's camera
    # no purpose: the API's refusal, shown on the form
    r = o.get("/search", params={"go": "1", "from": "2026-12-01T07:00", "to": "2026-12-01T09:00"})
    assert r.status_code == 422 and 'role="alert"' in r.text
    assert "Hãy nêu vụ việc hoặc mục đích của lần tìm kiếm này." in r.text


def test_case_request_and_per_camera_decision(client: TestClient) -> None:
    ward = make_person(client, "ward")
    other_ward = make_person(client, "ward")
    a, csrf_a = as_person(client, ward)
    cam = register(a, csrf_a, "Camera hẻm 42", "10.7741", "106.7003")
    cam2 = register(a, csrf_a, "Camera cổng chợ", "10.7743", "106.7006")
    inv = make_person(client, "investigator", full_name="Trần Quốc Trung")
    i, csrf_i = as_person(client, inv)
    r = i.post(
        "/casework/cases",
        data={"csrf_token": csrf_i, "number": "HS-2026/17", "title": "Trộm xe máy chợ Bến Thành"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    case_url = r.headers["location"]
    case_id = int(case_url.rsplit("/", 1)[1])
    prefill = i.get(
        f"/casework/request?camera_id={cam}&case_id={case_id}"
        "&from=2026-12-01T07:58&to=2026-12-01T08:04"
    )
    assert 'value="2026-12-01T07:58"' in prefill.text
    assert f'value="{cam}" checked' in prefill.text
    r = i.post(
        "/casework/request",
        data={
            "csrf_token": csrf_i,
            "case_id": str(case_id),
            "camera_id": [str(cam), str(cam2)],
            "from": "2026-12-01T07:58",
            "to": "2026-12-01T08:04",
            "reason": "Xe máy Honda bị trộm lúc 8 giờ",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    ex_url = r.headers["location"]
    ex_id = int(ex_url.rsplit("/", 1)[1])
    (start,) = rows(client, "SELECT start FROM extraction WHERE id=:i", i=ex_id)[0]
    assert str(start).startswith("2026-12-01 00:58")  # 07:58 in Hồ Chí Minh City is 00:58Z
    page = i.get(ex_url)
    assert 'hx-trigger="every 2s"' in page.text  # polls while the owners decide
    # htmx asking for what it may not see gets the refusal to swap in (no more polling), in
    # the reader's language; it got the API's JSON, which htmx does not show
    stranger, _ = as_person(client, make_person(client, "investigator"))
    refused = stranger.get(f"{ex_url}/state", headers={"HX-Request": "true"})
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in refused.text and "Bạn không tham gia vụ việc này." in refused.text
    assert "hx-trigger" not in refused.text and "<html" not in refused.text
    # the ward sees it, a ward whose cameras it does not touch does not
    pending = a.get("/ward/requests")
    assert "Xe máy Honda bị trộm lúc 8 giờ" in pending.text and "HS-2026/17" in pending.text
    assert f"Trần Quốc Trung ({inv.username})" in pending.text  # who asks, by name
    assert f"Trần Quốc Trung ({inv.username})" in page.text
    b, csrf_b = as_person(client, other_ward)
    assert "HS-2026/17" not in b.get("/ward/requests").text
    r = b.post(
        f"/ward/requests/{ex_id}/decision", data={"csrf_token": csrf_b, "decision": "approve"}
    )
    assert r.status_code == 403
    r = a.post(
        f"/ward/requests/{ex_id}/decision",
        data={
            "csrf_token": csrf_a,
            "decision": "approve",
            "camera_ids": str(cam),
            "note": "Đồng ý, chỉ dùng cho vụ việc này",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    # one camera decided, the other still waits: the request too, and the page offers it alone
    assert 'data-state="pending"' in i.get(f"{ex_url}/state").text
    pending = a.get("/ward/requests").text
    assert f'name="camera_ids" value="{cam2}" checked' in pending
    assert f'name="camera_ids" value="{cam}"' not in pending
    r = a.post(
        f"/ward/requests/{ex_id}/decision",
        data={
            "csrf_token": csrf_a,
            "decision": "deny",
            "camera_ids": str(cam2),
            "note": "Camera cổng chợ không liên quan",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    state = i.get(f"{ex_url}/state")
    assert 'data-state="approved"' in state.text
    assert "Đồng ý, chỉ dùng cho vụ việc này" in state.text
    assert "Camera cổng chợ không liên quan" in state.text
    # the case's timeline and the camera's access log tell the story
    timeline = i.get(case_url).text
    for action in ("case.create", "extraction.request", "extraction.approve"):
        assert f'data-action="{action}"' in timeline, action
    log = a.get(f"/ward/cameras/{cam}/access-log").text
    assert 'data-action="extraction.request"' in log and inv.username in log
    # people by the name colleagues know, with the user name members are added by
    named = f"Trần Quốc Trung ({inv.username})"
    assert named in log and f"<li>{named}</li>" in timeline
    assert b.get(f"/ward/cameras/{cam}/access-log").status_code == 403
    # a live camera records a segment a minute: the service's entry for each does not bury
    # the accesses (the page shows 50), and is there when asked for
    from app.audit.service import record

    with client.app.state.ctx.transaction() as session:  # type: ignore[attr-defined]
        for n in range(60):
            record(session, None, "footage.record", target_type="segment",
                   target_id=10_000 + n, camera_ids=[cam])
    log = a.get(f"/ward/cameras/{cam}/access-log").text
    assert 'data-action="extraction.request"' in log and 'data-action="footage.record"' not in log
    assert "Hiện cả mục ghi của từng đoạn video thu từ luồng camera" in log
    everything = a.get(f"/ward/cameras/{cam}/access-log", params={"recorded": "1"}).text
    assert everything.count('data-action="footage.record"') == 50
    assert "Đã ghi video từ luồng camera" in everything
    more = re.search(r'hx-get="([^"]+)"', everything)
    assert more and "recorded=1" in more.group(1)


def test_search_results_load_in_place_and_the_histogram_after_them(client: TestClient) -> None:
    ward = make_person(client, "ward")
    a, csrf = as_person(client, ward)
    register(a, csrf, "Ngã tư Lê Lợi", "10.7735", "106.7010")
    officer = make_person(client, "officer")
    o, _ = as_person(client, officer)
    query = {
        "go": "1",
        "from": "2026-12-01T07:00",
        "to": "2026-12-01T09:00",
        "near": "10.7735,106.7010",
        "radius_m": "300",
        "purpose": "Tìm xe máy bị trộm ở chợ",
    }
    r = o.get("/search/results", params=query, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert "<html" not in r.text and 'id="results-heading"' in r.text
    assert r.headers["HX-Push-Url"].startswith("/search?")
    found = re.search(r'hx-get="(/search/histogram\?[^"]+)"', r.text)
    assert found, r.text
    hist = o.get(found.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
    assert hist.status_code == 200 and "0 lần xuất hiện" in hist.text
    actions = [
        a
        for (a,) in rows(
            client, "SELECT action FROM audit_entry WHERE actor_user_id=:u", u=officer.user_id
        )
    ]
    assert actions[-2:] == ["event.search", "event.histogram"]  # GET /events, its histogram
    # a refused search is shown in place (htmx swaps a 200 only)
    bad = o.get(
        "/search/results", params={**query, "purpose": "ngắn"}, headers={"HX-Request": "true"}
    )
    assert bad.status_code == 200 and 'role="alert"' in bad.text
    assert "Hãy nêu lý do, ít nhất 10 ký tự." in bad.text  # the reader's language, not the API's
    assert "purpose" not in bad.text


def test_more_results_render_as_a_fragment_with_the_next_load_more(client: TestClient) -> None:
    from datetime import UTC, datetime

    from app.console.pages.search import COLOUR_NAMES, LABEL_NAMES, Results

    item = {
        "id": 7,
        "label": "car",
        "color": "white",
        "thumb": "/search/thumbnail/7?case_id=1",
        "open": "/search/event/7?case_id=1",
        "start": datetime(2026, 12, 1, 1, 0, tzinfo=UTC),
        "camera": {"name": XSS, "timezone": "Asia/Ho_Chi_Minh"},
    }
    html = client.app.state.console.render(  # type: ignore[attr-defined]
        "pages/search_items.html",
        lang="vi",
        results=Results([item], "/search/results?cursor=abc", 1),
        label_names=LABEL_NAMES,
        colour_names=COLOUR_NAMES,
    )
    assert 'hx-get="/search/results?cursor=abc"' in html and "Ô tô · Trắng" in html
    assert "08:00:00" in html and XSS not in html


# Every role page and the action whose roles may open it (app.auth.policy): the console's
# side of the route x role matrix.
PAGES = {
    "/ward": "camera.update",
    "/ward/cameras/new": "camera.create",
    "/ward/requests": "extraction.decide",
    "/search": "event.search",
    "/casework/cases": "case.list",
    "/casework/request": "extraction.create",
}


def test_each_role_opens_exactly_the_pages_its_role_may(client: TestClient) -> None:
    from app.auth.policy import Action, role_may
    from app.identity.models import Role

    for role in Role:
        person = make_person(client, role.value)
        browser, _ = as_person(client, person)
        for path, action in PAGES.items():
            r = browser.get(path)
            want = 200 if role_may(role, Action(action)) else 403
            assert r.status_code == want, (role.value, path, r.status_code)
            assert "<html" in r.text  # a page either way, never JSON


def test_upload_without_script_says_so_and_stores_nothing(client: TestClient) -> None:
    ward = make_person(client, "ward")
    browser, csrf = as_person(client, ward)
    cam = register(browser, csrf, "Camera hẻm 42", "10.7741", "106.7003")
    r = browser.post(
        f"/ward/cameras/{cam}/footage",
        files={"file": ("a.mp4", b"\x00" * 100, "video/mp4")},
        data={"csrf_token": csrf},
    )
    assert r.status_code == 415 and "JavaScript" in r.text and "<html" in r.text
    assert rows(client, "SELECT count(*) FROM segment")[0][0] == 0
