"""Signing people in, over real HTTP against the real app (SQLite and PostgreSQL): invitations,
sessions, CSRF, throttling, deactivation, the 403 page, escaping, languages, the API's use of
a console session, and /docs without a CDN."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from app.signin.csrf import matches as csrf_matches
from app.signin.service import SESSION_COOKIE, csrf_token_for
from tests.conftest import World
from tests.console.conftest import DEFAULT_PASSWORD, csrf_of, make_person, sign_in

PASSWORD = "một mật khẩu dài 2026"


def _engine(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.ctx.engine  # type: ignore[attr-defined]


def _settings(client: TestClient):  # type: ignore[no-untyped-def]
    return client.app.state.ctx.settings  # type: ignore[attr-defined]


def _sql(client: TestClient, sql: str, **params: object) -> list[tuple]:
    with _engine(client).begin() as conn:
        result = conn.execute(text(sql), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def _audit(client: TestClient, action: str) -> list[dict]:
    rows = _sql(
        client,
        "SELECT actor_user_id, outcome, details FROM audit_entry WHERE action = :a ORDER BY seq",
        a=action,
    )
    return [{"actor": a, "outcome": o, "details": json.loads(d)} for a, o, d in rows]


def _give_password(client: TestClient, user_id: int, password: str = PASSWORD) -> None:
    from app.signin.service import set_password

    with client.app.state.ctx.transaction() as session:  # type: ignore[attr-defined]
        set_password(session, user_id, password)


def _uid(world: World, who: str) -> int:
    return int(world.client.get("/users/me", headers=world.h(who)).json()["id"])


def _fresh(client: TestClient) -> TestClient:
    """Another browser: the same app, its own cookies."""
    return TestClient(client.app)


def _invite(world: World, who: str, user: str) -> str:
    r = world.client.post(f"/users/{world.users[user]}/invitations", headers=world.h(who))
    assert r.status_code == 201, r.text
    return str(r.json()["url"])


def _accept(browser: TestClient, url: str, password: str = PASSWORD, repeat: str | None = None):  # type: ignore[no-untyped-def]
    path = urlsplit(url).path
    page = browser.get(path)  # a used or expired link's page has a CSRF token too
    return browser.post(
        path,
        data={
            "csrf_token": csrf_of(page.text),
            "password": password,
            "password_repeat": password if repeat is None else repeat,
        },
        follow_redirects=False,
    )


# --- invitations -------------------------------------------------------------------------------


def test_invitation_sets_a_password_once(world: World) -> None:
    url = _invite(world, "admin", "officer")
    assert url.startswith("http://testserver/invitation/")
    token = url.rsplit("/", 1)[1]
    stored = _sql(world.client, "SELECT token_hash FROM invitation")
    assert stored and token not in {h for (h,) in stored}, "only the token's hash is stored"

    browser = _fresh(world.client)
    page = browser.get(urlsplit(url).path)
    assert "officer" in page.text and 'autocomplete="new-password"' in page.text
    mismatch = _accept(browser, url, repeat="something else entirely")
    assert mismatch.status_code == 422 and "Hai mật khẩu không khớp nhau" in mismatch.text
    short = _accept(browser, url, password="ngắn")
    assert short.status_code == 422 and "ít nhất 10 ký tự" in short.text
    done = _accept(browser, url)
    assert done.status_code == 303 and done.headers["location"].startswith("/sign-in?welcome=1")

    again = _accept(_fresh(world.client), url, password="another long password")
    assert again.status_code == 410
    assert "đã được sử dụng" in again.text
    sign_in(_fresh(world.client), "", "officer", PASSWORD)  # the first password holds
    [accepted] = _audit(world.client, "invitation.accept")
    assert accepted["actor"] == world.users["officer"]
    [created] = _audit(world.client, "invitation.create")
    assert created["details"]["username"] == "officer"


def test_invitation_expires_and_a_new_one_replaces_the_old(world: World) -> None:
    first = _invite(world, "admin", "officer")
    second = _invite(world, "admin", "officer")
    r = _fresh(world.client).get(urlsplit(first).path)
    assert r.status_code == 410 and "đã hết hạn" in r.text
    _sql(world.client, "UPDATE invitation SET expires_at = :t", t="2020-01-01 00:00:00")
    r = _fresh(world.client).get(urlsplit(second).path)
    assert r.status_code == 410
    assert _fresh(world.client).get("/invitation/not-a-token").status_code == 404


def test_who_may_invite_whom(world: World) -> None:
    # A supervisor invites the officers and investigators of their own organisation only.
    assert _invite(world, "supervisor", "investigator")
    for target in ("ward_a", "auditor"):
        r = world.client.post(
            f"/users/{world.users[target]}/invitations", headers=world.h("supervisor")
        )
        assert r.status_code == 403, r.text
    r = world.client.post(
        f"/users/{world.users['officer']}/invitations", headers=world.h("officer")
    )
    assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"
    world.client.post(f"/users/{world.users['officer']}/deactivate", headers=world.h("admin"))
    r = world.client.post(f"/users/{world.users['officer']}/invitations", headers=world.h("admin"))
    assert r.status_code == 409 and r.json()["code"] == "user_inactive"
    listed = world.client.get("/invitations", headers=world.h("supervisor")).json()
    assert [i["username"] for i in listed] == ["investigator"]
    assert listed[0]["state"] == "open"


# --- sessions ----------------------------------------------------------------------------------


def test_session_cookie_is_httponly_lax_and_hashed(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    browser = _fresh(world.client)
    form = browser.get("/sign-in")
    r = browser.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "username": "Auditor", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("wardcam_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    assert (
        _sql(world.client, "SELECT count(*) FROM web_session WHERE token_hash = :t", t=token)[0][0]
        == 0
    )
    [entry] = _audit(world.client, "signin")
    assert entry["actor"] == world.users["auditor"]
    # Behind https (the public URL says so), the cookie is Secure.
    _settings(world.client).public_url = "https://wardcam.example.vn"
    browser = TestClient(world.client.app, base_url="https://testserver")  # as the proxy
    form = browser.get("/sign-in")
    r = browser.post(
        "/sign-in",
        data={"csrf_token": csrf_of(form.text), "username": "auditor", "password": PASSWORD},
        follow_redirects=False,
    )
    cookie = next(c for c in r.headers.get_list("set-cookie") if c.startswith("wardcam_session="))
    assert "Secure" in cookie


def test_signed_out_cookie_is_refused(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    browser = _fresh(world.client)
    csrf = sign_in(browser, "", "auditor", PASSWORD)
    cookie = browser.cookies["wardcam_session"]
    page = browser.get("/console/audit")
    assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
    r = browser.post("/sign-out", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    thief = _fresh(world.client)
    thief.cookies.set("wardcam_session", cookie)
    r = thief.get("/console/audit", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/sign-in?next=%2Fconsole%2Faudit"
    r = thief.get(
        "/console/audit",
        headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/console/audit?x=1"},
        follow_redirects=False,
    )
    assert r.status_code == 401
    assert r.headers["HX-Redirect"] == "/sign-in?next=%2Fconsole%2Faudit%3Fx%3D1"
    r = thief.get("/audit")
    assert r.status_code == 401 and r.json()["code"] == "signin_required"
    assert len(_audit(world.client, "signout")) == 1


def test_deactivated_persons_session_ends_at_once(world: World) -> None:
    _give_password(world.client, world.users["officer"])
    browser = _fresh(world.client)
    sign_in(browser, "", "officer", PASSWORD)
    assert "Xin chào" in browser.get("/").text
    r = world.client.post(f"/users/{world.users['officer']}/deactivate", headers=world.h("admin"))
    assert r.status_code == 200
    r = browser.get("/", follow_redirects=False)
    assert r.status_code == 200 and 'action="/sign-in"' in r.text  # signed out: the form
    r = browser.get("/console/audit", follow_redirects=False)
    assert r.status_code == 303
    # Nor can they sign in again, even with the right password.
    form = _fresh(world.client)
    page = form.get("/sign-in")
    r = form.post(
        "/sign-in",
        data={"csrf_token": csrf_of(page.text), "username": "officer", "password": PASSWORD},
    )
    assert r.status_code == 401
    assert _audit(world.client, "signin.fail")[-1]["details"]["reason"] == "inactive"


def test_idle_and_absolute_expiry(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    browser = _fresh(world.client)
    sign_in(browser, "", "auditor", PASSWORD)
    stale_cookie = browser.cookies["wardcam_session"]
    idle = _settings(world.client).session_idle_minutes
    _sql(world.client, "UPDATE web_session SET last_seen_at = :t", t="2020-01-01 00:00:00")
    assert browser.get("/console/audit", follow_redirects=False).status_code == 303
    assert idle == 30
    # The browser still holding the ended session's cookie can sign in again.
    browser.cookies.set("wardcam_session", stale_cookie)  # as a browser that ignored the reset
    page = browser.get("/sign-in")
    r = browser.post(
        "/sign-in",
        data={"csrf_token": csrf_of(page.text), "username": "auditor", "password": PASSWORD},
        follow_redirects=False,
    )
    assert r.status_code == 303
    browser = _fresh(world.client)
    sign_in(browser, "", "auditor", PASSWORD)
    _sql(
        world.client,
        "UPDATE web_session SET expires_at = :t WHERE ended_at IS NULL",
        t="2020-01-01 00:00:00",
    )
    assert browser.get("/console/audit", follow_redirects=False).status_code == 303
    # Sessions long over are removed at the next sign-in (the audit log keeps their story).
    sign_in(_fresh(world.client), "", "auditor", PASSWORD)
    assert _sql(world.client, "SELECT count(*) FROM web_session")[0][0] == 1


def test_next_stays_on_this_site(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    for target, expected in (
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/console/audit", "/console/audit"),
    ):
        browser = _fresh(world.client)
        page = browser.get("/sign-in", params={"next": target})
        r = browser.post(
            "/sign-in",
            data={
                "csrf_token": csrf_of(page.text),
                "username": "auditor",
                "password": PASSWORD,
                "next": target,
            },
            follow_redirects=False,
        )
        assert r.headers["location"] == expected


# --- CSRF --------------------------------------------------------------------------------------


def test_missing_or_wrong_csrf_is_refused(world: World) -> None:
    _give_password(world.client, _uid(world, "admin"))
    browser = _fresh(world.client)
    csrf = sign_in(browser, "", "admin", PASSWORD)
    target = world.users["officer"]
    for data in ({}, {"csrf_token": "0" * 64}):
        r = browser.post(f"/console/users/{target}/deactivate", data=data)
        assert r.status_code == 403
        assert "Biểu mẫu đã hết hạn" in r.text
    r = browser.post("/sign-out", data={}, follow_redirects=False)
    assert r.status_code == 403
    assert world.client.get(f"/users/{target}", headers=world.h("admin")).json()["active"]
    # Another signed-in person's token does not do either.
    _give_password(world.client, world.users["supervisor"])
    other = sign_in(_fresh(world.client), "", "supervisor", PASSWORD)
    r = browser.post(f"/console/users/{target}/deactivate", data={"csrf_token": other})
    assert r.status_code == 403
    # The right one does; the header works as the field does.
    r = browser.post(f"/console/users/{target}/deactivate", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    assert not world.client.get(f"/users/{target}", headers=world.h("admin")).json()["active"]
    # Signing in needs the pre-session token too (no login CSRF).
    r = _fresh(world.client).post(
        "/sign-in", data={"username": "admin", "password": PASSWORD}, follow_redirects=False
    )
    assert r.status_code == 403


def test_api_accepts_a_console_session_with_its_csrf_header(world: World) -> None:
    _give_password(world.client, _uid(world, "admin"))
    browser = _fresh(world.client)
    csrf = sign_in(browser, "", "admin", PASSWORD)
    assert browser.get("/users/me").json()["username"] == "admin"
    r = browser.post("/orgs", json={"name": "Phường Bến Nghé", "kind": "ward"})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = browser.post(
        "/orgs", json={"name": "Phường Bến Nghé", "kind": "ward"}, headers={"X-CSRF-Token": csrf}
    )
    assert r.status_code == 201, r.text
    # API keys keep working as before.
    assert world.client.get("/users/me", headers=world.h("officer")).status_code == 200


# --- throttling --------------------------------------------------------------------------------


def _try(client: TestClient, username: str, password: str) -> int:
    browser = _fresh(client)
    page = browser.get("/sign-in")
    r = browser.post(
        "/sign-in",
        data={"csrf_token": csrf_of(page.text), "username": username, "password": password},
        follow_redirects=False,
    )
    return r.status_code


def test_failed_sign_ins_are_throttled_per_name_and_audited(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    limit = _settings(world.client).signin_max_failures
    for _ in range(limit):
        assert _try(world.client, "auditor", "wrong password 123") == 401
    assert _try(world.client, "auditor", PASSWORD) == 429  # even the right one, for now
    failures = _audit(world.client, "signin.fail")
    assert len(failures) == limit
    assert {f["details"]["reason"] for f in failures} == {"wrong_password"}
    assert all(f["outcome"] == "denied" for f in failures)
    [throttled] = _audit(world.client, "signin.throttled")
    assert throttled["details"]["failures_for_username"] == limit
    # Another name is not locked by these; the window passing unlocks this one.
    _give_password(world.client, world.users["officer"])
    assert _try(world.client, "officer", PASSWORD) == 303
    _sql(world.client, "UPDATE sign_in_failure SET at = :t", t="2020-01-01 00:00:00")
    assert _try(world.client, "auditor", PASSWORD) == 303


def test_failed_sign_ins_are_throttled_per_address(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    _settings(world.client).signin_max_failures_ip = 3
    for name in ("nobody1", "nobody2", "nobody3"):
        assert _try(world.client, name, "whatever it is 123") == 401
    assert _try(world.client, "auditor", PASSWORD) == 429
    assert _audit(world.client, "signin.fail")[0]["details"]["reason"] == "no_such_user"


# --- pages -------------------------------------------------------------------------------------


def test_ward_user_opening_an_auditor_page_gets_the_403_page(world: World) -> None:
    _give_password(world.client, world.users["ward_a"])
    browser = _fresh(world.client)
    sign_in(browser, "", "ward_a", PASSWORD)
    for path in ("/console/audit", "/console/users", "/console/orgs", "/console/holds"):
        r = browser.get(path)
        assert r.status_code == 403, path
        assert "Không được phép" in r.text and "text/html" in r.headers["content-type"]
    denied = [e for e in _audit(world.client, "audit.read") if e["outcome"] == "denied"]
    assert denied and denied[0]["actor"] == world.users["ward_a"]
    assert denied[0]["details"]["via"] == "console"


def test_names_are_rendered_as_text(world: World) -> None:
    evil = "<script>alert(1)</script>"
    r = world.client.post("/orgs", json={"name": evil, "kind": "ward"}, headers=world.h("admin"))
    assert r.status_code == 201
    r = world.client.post(
        "/users",
        json={"username": "xss", "full_name": evil, "role": "ward", "org_id": r.json()["id"]},
        headers=world.h("admin"),
    )
    assert r.status_code == 201
    _give_password(world.client, _uid(world, "admin"))
    browser = _fresh(world.client)
    sign_in(browser, "", "admin", PASSWORD)
    for path in ("/console/orgs", "/console/users", "/transparency"):
        body = browser.get(path).text
        assert evil not in body, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, path
    _give_password(world.client, r.json()["id"])
    xss = _fresh(world.client)
    sign_in(xss, "", "xss", PASSWORD)
    body = xss.get("/").text
    assert evil not in body and "&lt;script&gt;" in body


def test_language_setting_beats_accept_language(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    anonymous = _fresh(world.client)
    assert 'lang="en"' in anonymous.get("/", headers={"Accept-Language": "en-GB"}).text
    assert 'lang="vi"' in anonymous.get("/").text  # WARDCAM_LANGUAGE's default
    browser = _fresh(world.client)
    csrf = sign_in(browser, "", "auditor", PASSWORD)
    r = browser.post(
        "/language",
        data={"csrf_token": csrf, "language": "en", "next": "/console/audit"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/console/audit"
    # Stored for the person: another browser of theirs, asking for Vietnamese, gets English.
    other = _fresh(world.client)
    sign_in(other, "", "auditor", PASSWORD)
    page = other.get("/console/audit", headers={"Accept-Language": "vi"})
    assert 'lang="en"' in page.text and "Audit log" in page.text
    assert _sql(world.client, "SELECT language FROM user_login")[0][0] == "en"


def test_home_lists_the_pages_of_the_role(world: World) -> None:
    expectations = {
        "auditor": ({"/console/audit", "/console/holds"}, {"/console/users"}),
        "admin": ({"/console/audit", "/console/users", "/console/orgs"}, set()),
        "supervisor": ({"/console/users", "/console/invitations"}, {"/console/audit"}),
    }
    for who, (shown, hidden) in expectations.items():
        _give_password(world.client, _uid(world, who))
        browser = _fresh(world.client)
        sign_in(browser, "", who, PASSWORD)
        links = set(re.findall(r'href="(/[^"]*)"', browser.get("/").text))
        assert shown <= links, (who, links)
        assert not (hidden & links), who


def test_audit_page_filters_and_checks_the_chain(world: World) -> None:
    _give_password(world.client, world.users["auditor"])
    browser = _fresh(world.client)
    sign_in(browser, "", "auditor", PASSWORD)
    cam = world.camera("ward_a")
    page = browser.get("/console/audit", params={"action": "camera.create"})
    rows = re.findall(r"<code>([a-z._]+)</code>", page.text)
    assert rows == ["camera.create"]
    # each action named in the reader's language, its code beside it (as the filter takes it)
    assert "Camera đã được đăng ký<br><code>camera.create</code>" in page.text
    assert '<option value="camera.create" selected>Camera đã được đăng ký (camera.create)' in (
        page.text
    )
    assert ">Đã đăng nhập (signin)</option>" in page.text
    signins = browser.get("/console/audit", params={"action": "signin"}).text
    assert re.search(r'data-label="Đối tượng">Người dùng \d+</td>', signins)
    page = browser.get("/console/audit", params={"camera": str(cam["id"])})
    assert set(re.findall(r"<code>([a-z._]+)</code>", page.text)) == {"camera.create"}
    page = browser.get("/console/audit", params={"actor": "ward_a"})
    assert set(re.findall(r"<code>([a-z._]+)</code>", page.text)) == {"camera.create"}
    page = browser.get("/console/audit", params={"from": "2999-01-01T00:00"})
    assert "Không có mục nào phù hợp" in page.text
    page = browser.get("/console/audit", params={"verify": "1"})
    assert "Chuỗi còn nguyên vẹn" in page.text
    _sql(world.client, "UPDATE audit_entry SET action = 'x.y' WHERE seq = 2")
    page = browser.get("/console/audit", params={"verify": "1"})
    assert "Chuỗi đã bị phá vỡ" in page.text and "2" in page.text


def test_transparency_page_counts_without_personal_data(world: World) -> None:
    from datetime import UTC, datetime

    cam = world.camera("ward_a", name="Camera Hẻm 42")
    r = world.client.post(
        "/cases",
        json={"number": "VV-2026-7", "title": "Trộm xe máy"},
        headers=world.h("investigator"),
    )
    case = r.json()
    now = datetime.now(UTC).replace(microsecond=0)
    for decision in ("approve", "deny"):
        r = world.client.post(
            f"/cases/{case['id']}/extractions",
            json={
                "camera_ids": [cam["id"]],
                "from": (now - timedelta(hours=2)).isoformat(),
                "to": (now - timedelta(hours=1)).isoformat(),
                "reason": "Nguyễn Văn A báo mất xe trước nhà",
            },
            headers=world.h("investigator"),
        )
        assert r.status_code == 201, r.text
        r = world.client.post(
            f"/extractions/{r.json()['id']}/decision",
            json={"decision": decision, "note": "ok"},
            headers=world.h("ward_a"),
        )
        assert r.status_code == 200, r.text
    # A search whose results included this camera (the audit entry names it).
    from app.audit.service import record
    from app.auth.principal import Principal
    from app.identity.models import Role

    officer = Principal(world.users["officer"], "officer", Role.officer, world.orgs["police"])
    with world.client.app.state.ctx.transaction() as session:  # type: ignore[attr-defined]
        record(session, officer, "event.search", purpose="tìm xe", camera_ids=[cam["id"]])
    page = _fresh(world.client).get(f"/transparency/{world.orgs['ward_a']}")
    assert page.status_code == 200
    month = f"{now.month:02d}/{now.year:04d}"
    row = re.search(rf"<td[^>]*>{month}</td>(.*?)</tr>", page.text, re.S)
    assert row is not None
    assert re.findall(r"<td[^>]*>(\d+)</td>", row.group(1)) == ["1", "2", "1", "1"]
    head = _sql(world.client, "SELECT seq, hash FROM audit_head")[0]
    assert head[1] in page.text
    for private in ("Nguyễn Văn A", "VV-2026-7", "Camera Hẻm 42", "investigator", "tìm xe"):
        assert private not in page.text
    index = _fresh(world.client).get("/transparency").text
    assert f'href="/transparency/{world.orgs["ward_a"]}"' in index
    assert f'href="/transparency/{world.orgs["police"]}"' not in index
    assert _fresh(world.client).get(f"/transparency/{world.orgs['police']}").status_code == 404


def test_docs_load_swagger_ui_from_this_server(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    urls = re.findall(r"(?:src|href|url)\s*[:=]\s*['\"]([^'\"]+)['\"]", page.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    for u in urls:
        assert client.get(u).status_code == 200, u
    assert "<script>" not in page.text  # no inline start-up: the console's CSP holds
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/redoc").status_code == 404


@pytest.mark.parametrize(
    "role", ["ward", "officer", "investigator", "supervisor", "auditor", "admin"]
)
def test_make_person_signs_in(client: TestClient, role: str) -> None:
    person = make_person(client, role)
    assert person.password == DEFAULT_PASSWORD
    browser = _fresh(client)
    csrf = sign_in(browser, "", person.username, person.password)
    session = browser.cookies[SESSION_COOKIE]
    assert csrf_matches(csrf, csrf_token_for(session, client.app.state.ctx.settings.secret_bytes))


def test_first_admin_gets_into_the_console_through_the_command_line(
    settings,
    tmp_path,  # type: ignore[no-untyped-def]
) -> None:
    """`wardcam admin bootstrap` prints the link with the admin's key; `wardcam admin users
    invite admin` prints a newer one, which replaces it."""
    import os
    import subprocess
    import sys

    from app.main import create_app
    from tests.conftest import TEST_SECRET

    env = {
        **os.environ,
        "WARDCAM_DATABASE_URL": settings.database_url,
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(tmp_path),
        "WARDCAM_PUBLIC_URL": "https://wardcam.example.vn",
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "admin", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    boot = run("bootstrap")
    assert boot.returncode == 0, boot.stderr
    first = boot.stdout.strip().splitlines()[-1]  # printed with the key
    assert first.startswith("https://wardcam.example.vn/invitation/")
    out = run("users", "invite", "admin")
    assert out.returncode == 0, out.stderr
    link = out.stdout.strip().splitlines()[-1]
    assert link.startswith("https://wardcam.example.vn/invitation/") and link != first
    assert run("users", "invite", "nobody").returncode == 2
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        assert _accept(client, first).status_code == 410  # the newer link replaced it
        done = _accept(client, link)
        assert done.status_code == 303
        sign_in(client, "", "admin", PASSWORD)
        assert "Xin chào, admin" in client.get("/").text
        created = _audit(client, "invitation.create")
        assert len(created) == 2
        assert all(c["actor"] is None and c["details"]["via"] == "cli" for c in created)
