"""Signing in, the auditor's and admin's pages, the transparency page and /docs, in a real
Chromium against the real app (uvicorn, SQLite): for each role, an admin's invitation ->
the person sets a password -> signs in -> signs out; the auditor filters the audit log and
checks the chain; axe-core on every page; screenshots at 360 and 1280 px into docs/screenshots/.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import NewPage
from tests.browser.harness import assert_accessible, screenshot
from tests.console.conftest import make_person

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "Mật khẩu thật dài 2026"
ADMIN_PASSWORD = "quản trị viên 2026!"


@pytest.fixture
def console(
    live_server: Callable[..., str], tmp_path: Path, sqlite_template: Path
) -> tuple[str, Any]:
    """The whole app on a fresh SQLite database, with one admin who has a password."""
    from app.main import create_app
    from app.settings import Settings
    from tests.conftest import DETECTOR_MODEL
    from tests.helpers import TEST_SECRET

    db = tmp_path / "wardcam.db"
    shutil.copy(sqlite_template, db)
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite:///{db}",
        storage_url=f"file://{tmp_path / 'objects'}",
        secret_key=TEST_SECRET,
        job_workers=0,
        detector_model=DETECTOR_MODEL,
    )
    app = create_app(settings)
    make_person(
        app, "admin", username="quantri", password=ADMIN_PASSWORD, full_name="Trần Thị Quản Trị"
    )
    return live_server(app), app


def sign_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(url + "/sign-in")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    page.locator("main form button[type=submit]").click()
    expect(page.locator("main h1")).to_contain_text("Xin chào")


def sign_out(page: Page) -> None:
    page.locator("form.sign-out button").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    expect(page.locator("main h1")).to_have_text("Đăng nhập")


def create_org(page: Page, name: str, kind: str) -> None:
    page.fill("#f-name", name)
    page.select_option("#f-kind", kind)
    page.locator("#org-form button[type=submit]").click()
    expect(page.locator(".flash--success")).to_contain_text(name)


def invite(
    page: Page, url: str, username: str, role: str, org: str | None, unit: str | None
) -> str:
    """As the signed-in admin: create the user on the Users page; returns the link shown."""
    page.goto(url + "/console/users")
    page.locator("details.form").evaluate("d => d.open = true")
    page.fill("#f-username", username)
    page.fill("#f-full_name", f"Nguyễn Văn {role}")
    page.select_option("#f-role", role)
    if org:
        page.select_option("#f-org_id", label=org)
    if unit:
        page.select_option("#f-unit_id", label=unit)
    page.locator("#user-form button[type=submit]").click()
    expect(page.locator(".flash--success")).to_contain_text(username)
    return page.locator("#invitation-url").inner_text().strip()


def test_invitation_password_sign_in_sign_out_for_each_role(
    console: tuple[str, Any], new_page: NewPage
) -> None:
    url, _ = console
    admin = new_page()
    sign_in(admin, url, "quantri", ADMIN_PASSWORD)
    screenshot(admin, "console-home-admin", folder=SHOTS)
    assert_accessible(admin)

    admin.goto(url + "/console/orgs")
    create_org(admin, "Phường Bến Nghé", "ward")
    create_org(admin, "Công an Quận 1", "police")
    admin.locator("form[action$='/units'] input[name=name]").fill("Đội Cảnh sát hình sự")
    admin.locator("form[action$='/units'] button").click()
    expect(admin.locator(".flash--success")).to_contain_text("Đội Cảnh sát hình sự")
    screenshot(admin, "console-orgs", folder=SHOTS)
    assert_accessible(admin)

    unit = "Công an Quận 1 · Đội Cảnh sát hình sự"
    people = [
        ("phuong", "ward", "Phường Bến Nghé", None),
        ("canbo", "officer", "Công an Quận 1", None),
        ("dieutra", "investigator", "Công an Quận 1", unit),
        ("chihuy", "supervisor", "Công an Quận 1", unit),
        ("kiemtoan", "auditor", None, None),
        ("quantri2", "admin", None, None),
    ]
    for username, role, org, unit_label in people:
        link = invite(admin, url, username, role, org, unit_label)
        assert link.startswith(url + "/invitation/")
        if role == "ward":
            screenshot(admin, "console-users", folder=SHOTS)
            assert_accessible(admin)

        person = new_page(width=360, mobile=True)
        person.goto(link)
        expect(person.locator("main")).to_contain_text(username)
        if role == "ward":
            screenshot(person, "console-invitation", folder=SHOTS)
            assert_accessible(person)
        person.fill("#f-password", PASSWORD)
        person.fill("#f-password_repeat", PASSWORD)
        person.locator("main form button[type=submit]").click()
        expect(person.locator(".flash--success")).to_contain_text("Mật khẩu của bạn đã được đặt")
        expect(person.locator("#f-username")).to_have_value(username)
        person.fill("#f-password", PASSWORD)
        person.locator("main form button[type=submit]").click()
        expect(person.locator("main h1")).to_contain_text(f"Nguyễn Văn {role}")
        assert_accessible(person)
        # The same link does not work twice.
        other = new_page(strict=False)
        response = other.goto(link)
        assert response is not None and response.status == 410
        expect(other.locator(".flash--error")).to_contain_text("đã được sử dụng")
        sign_out(person)
        person.goto(url + "/console/audit")
        expect(person).to_have_url(re.compile(r"/sign-in\?next=%2Fconsole%2Faudit$"))

    admin.goto(url + "/console/invitations")
    expect(admin.locator("#invitations tbody tr")).to_have_count(len(people))
    screenshot(admin, "console-invitations", folder=SHOTS)
    assert_accessible(admin)
    admin.goto(url + "/console/holds")
    screenshot(admin, "console-holds", folder=SHOTS)
    assert_accessible(admin)


def test_auditor_filters_the_log_and_checks_the_chain(
    console: tuple[str, Any], new_page: NewPage
) -> None:
    url, app = console
    auditor = make_person(app, "auditor", username="kiemtoan", password=PASSWORD)
    make_person(app, "ward", username="phuong", password=PASSWORD)
    page = new_page()
    sign_in(page, url, auditor.username, PASSWORD)
    page.goto(url + "/console/audit")
    expect(page.locator("#audit-entries tbody tr").first).to_be_visible()
    page.select_option("#f-action", "user.create")
    page.locator("#audit-filters button[type=submit]").click()
    cells = page.locator("#audit-entries tbody td:nth-child(4)")
    assert cells.all_inner_texts() and set(cells.all_inner_texts()) == {
        "Đã tạo người dùng\nuser.create"  # the action in the reader's language, its code below
    }
    page.fill("#f-actor", "kiemtoan")
    page.select_option("#f-action", "")
    page.locator("#audit-filters button[type=submit]").click()
    actions = page.locator("#audit-entries tbody td:nth-child(4) code").all_inner_texts()
    assert "signin" in actions and "user.create" not in actions
    page.locator("#chain-form button").click()
    expect(page.locator("#chain-result")).to_contain_text("Chuỗi còn nguyên vẹn")
    screenshot(page, "console-audit", folder=SHOTS)
    assert_accessible(page)
    # A ward user who opens the auditor's page gets the 403 page.
    ward = new_page(strict=False)
    sign_in(ward, url, "phuong", PASSWORD)
    response = ward.goto(url + "/console/audit")
    assert response is not None and response.status == 403
    expect(ward.locator("main h1")).to_have_text("Không được phép")
    screenshot(ward, "console-403", folder=SHOTS)
    assert_accessible(ward)


def test_sign_in_page_and_transparency_signed_out(
    console: tuple[str, Any], new_page: NewPage
) -> None:
    url, app = console
    with app.state.ctx.transaction() as session:
        from app.identity.models import Organisation, OrgKind

        session.add(Organisation(name="Phường Bến Nghé", kind=OrgKind.ward))
    # A refused password answers 401, which Chromium logs as a console error.
    page = new_page(width=360, mobile=True, allow_console=True)
    page.goto(url + "/")
    expect(page.locator("main h1")).to_have_text("Đăng nhập")
    screenshot(page, "console-sign-in", folder=SHOTS)
    assert_accessible(page)
    page.fill("#f-username", "quantri")
    page.fill("#f-password", "sai mật khẩu rồi")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".flash--error")).to_have_text("Sai tên đăng nhập hoặc mật khẩu.")
    assert_accessible(page)
    page.get_by_role("button", name="English").click()
    expect(page.locator("main h1")).to_have_text("Sign in")
    page.goto(url + "/transparency")
    assert_accessible(page)
    page.get_by_role("link", name="Phường Bến Nghé").click()
    expect(page.locator("main h1")).to_have_text("Phường Bến Nghé")
    expect(page.locator("#months tbody tr")).to_have_count(12)
    expect(page.locator("#chain-hash")).not_to_be_empty()
    screenshot(page, "console-transparency", folder=SHOTS)
    assert_accessible(page)


def test_docs_load_offline(console: tuple[str, Any], new_page: NewPage) -> None:
    """Swagger UI from the vendored copy: the harness blocks and records any request that
    leaves loopback, so the page passing its teardown proves none was made."""
    url, _ = console
    page = new_page()
    page.goto(url + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("wardcam")
    expect(page.locator(".opblock").first).to_be_visible()
