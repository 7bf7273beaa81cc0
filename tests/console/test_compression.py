"""Console pages reach a phone compressed, and no secret rides in a compressed page as it is.

A ward's camera list is about 1.5 KB of HTML a camera; sent compressed it is a fraction of
that. The CSRF token is on every page, so each page carries it under a mask of its own (a
secret repeated in compressed pages that echo someone's typing can be read from their sizes:
BREACH); the invitation link an admin is shown once goes uncompressed."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from app.console.compression import accepts_gzip
from app.signin.service import SESSION_COOKIE, csrf_token_for
from tests.console.conftest import CSRF_INPUT, csrf_of, make_person
from tests.console.test_role_pages import as_person, register

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


def _without_tokens(html: str) -> str:
    """The page with its CSRF disguises taken out (each response has its own)."""
    html = CSRF_INPUT.sub('name="csrf_token" value=""', html)
    return re.sub(r'hx-headers=\'\{"X-CSRF-Token": "[0-9a-f]+"\}\'', "hx-headers=''", html)


def test_a_wards_camera_list_is_sent_compressed_to_a_browser_that_accepts_it(
    client: TestClient,
) -> None:
    ward = make_person(client, "ward")
    browser, csrf = as_person(client, ward)
    for i in range(12):
        register(browser, csrf, f"Camera {i:02d} ngã tư Lê Lợi", f"10.77{i:02d}", "106.698")
    packed = browser.get("/ward", headers=GZIP)
    plain = browser.get("/ward", headers=PLAIN)
    assert packed.status_code == plain.status_code == 200
    assert packed.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    for r in (packed, plain):
        assert "accept-encoding" in r.headers["vary"].lower()  # a cache keeps them apart
    # the same page, a fraction of the bytes on the wire
    assert _without_tokens(packed.text) == _without_tokens(plain.text)
    assert all(f"Camera {i:02d} ngã tư Lê Lợi" in packed.text for i in range(12))
    assert int(packed.headers["content-length"]) == packed.num_bytes_downloaded
    assert packed.num_bytes_downloaded * 4 < len(plain.content), (
        packed.num_bytes_downloaded, len(plain.content))


def test_every_page_carries_the_csrf_token_under_a_mask_of_its_own(client: TestClient) -> None:
    ward = make_person(client, "ward")
    browser, _ = as_person(client, ward)
    token = csrf_token_for(browser.cookies[SESSION_COOKIE],
                           client.app.state.ctx.settings.secret_bytes)  # type: ignore[attr-defined]
    pages = [browser.get("/ward/cameras/new", headers=GZIP).text for _ in range(3)]
    sent = [csrf_of(p) for p in pages]
    assert len(set(sent)) == 3
    assert all(token not in p for p in pages)
    # each disguise works, on the form and in htmx's header; one altered does not
    cam = register(browser, sent[0], "Camera chợ Bến Thành", "10.7725", "106.698")
    assert register(browser, sent[1], "Camera chợ An Đông", "10.7575", "106.6780") > cam
    altered = sent[2][:-1] + ("0" if sent[2][-1] != "0" else "1")
    refused = browser.post("/ward/cameras/new", headers={"X-CSRF-Token": altered},
                           data={"name": "Camera giả", "latitude": "10.7", "longitude": "106.7",
                                 "timezone": "Asia/Ho_Chi_Minh", "retention_days": "30",
                                 "sharing_policy": "owner_approval"})
    assert refused.status_code == 403
    assert "Camera giả" not in browser.get("/ward").text
    # the signed-out sign-in form too: one cookie, a new disguise each time
    visitor = TestClient(client.app)
    first = csrf_of(visitor.get("/sign-in").text)
    cookie = visitor.cookies.get("wardcam_csrf")
    second = csrf_of(visitor.get("/sign-in").text)
    assert first != second and cookie and cookie not in first + second
    assert visitor.cookies.get("wardcam_csrf") == cookie


def test_the_page_showing_an_invitation_link_is_not_compressed(client: TestClient) -> None:
    admin = make_person(client, "admin")
    browser, csrf = as_person(client, admin)
    made = browser.post("/console/users", headers=GZIP, data={
        "csrf_token": csrf, "username": "canbo_moi", "full_name": "Cán bộ mới",
        "role": "auditor"})
    assert made.status_code == 200, made.text
    assert 'id="invitation-url"' in made.text
    assert "content-encoding" not in made.headers
    listed = browser.get("/console/users", headers=GZIP)
    assert "invitation-url" not in listed.text
    assert listed.headers["content-encoding"] == "gzip"


def test_accept_encoding_is_read_as_http_says() -> None:
    assert accepts_gzip("gzip, deflate, br, zstd")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8, *;q=0.1")
    assert accepts_gzip("*")
    assert not accepts_gzip("gzip;q=0, deflate")
    assert not accepts_gzip("identity")
    assert not accepts_gzip("")
    assert not accepts_gzip(None)
    assert not accepts_gzip("*;q=0")
