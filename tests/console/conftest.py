"""Helpers for console tests: people with passwords, and signing them in.

    person = make_person(client, "auditor", password="correct horse battery")
    csrf = sign_in(client, "", person.username, person.password)     # TestClient
    sign_in(page, base_url, person.username, person.password)         # Playwright page

`make_person(session_or_ctx, role, org_id=None, username=..., password=...)` takes a
`Session` (the caller commits), an `AppContext`, a FastAPI app or a `TestClient`; a role
that belongs to an organisation without `org_id` gets a new one (police: with a unit).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

import pytest

DEFAULT_PASSWORD = "mật khẩu đủ dài 2026"
_n = itertools.count(1)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class MadePerson:
    user_id: int
    username: str
    password: str
    role: str
    org_id: int | None
    unit_id: int | None


def _make_in_session(
    session: Any, role: str, org_id: int | None, username: str, password: str, full_name: str
) -> MadePerson:
    from app.identity import repository
    from app.identity.models import ROLE_ORG_KIND, UNIT_ROLES, Organisation, Role, Unit
    from app.identity.schemas import UserCreate
    from app.identity.service import create_user
    from app.signin.service import set_password

    r = Role(role)
    kind = ROLE_ORG_KIND[r]
    unit_id = None
    if kind is not None and org_id is None:
        org = Organisation(name=f"{kind.value} of {username}", kind=kind)
        repository.add(session, org)
        org_id = org.id
    if r in UNIT_ROLES and org_id is not None:
        units = list(repository.list_units(session, org_id))
        if not units:
            unit = Unit(org_id=org_id, name="Đội điều tra")
            repository.add(session, unit)
            units = [unit]
        unit_id = units[0].id
    user, _ = create_user(
        session,
        None,
        UserCreate(username=username, role=r, org_id=org_id, unit_id=unit_id, full_name=full_name),
    )
    assert user.id is not None
    set_password(session, user.id, password)
    return MadePerson(user.id, username, password, role, org_id, unit_id)


def make_person(
    session_or_ctx: Any,
    role: str,
    org_id: int | None = None,
    username: str | None = None,
    password: str = DEFAULT_PASSWORD,
    full_name: str = "",
) -> MadePerson:
    from sqlmodel import Session

    username = username or f"{role}{next(_n)}"
    if isinstance(session_or_ctx, Session):
        return _make_in_session(session_or_ctx, role, org_id, username, password, full_name)
    ctx = session_or_ctx
    if hasattr(ctx, "app") and hasattr(ctx.app, "state"):  # TestClient
        ctx = ctx.app
    if hasattr(ctx, "state"):  # FastAPI app
        ctx = ctx.state.ctx
    with ctx.transaction() as session:
        return _make_in_session(session, role, org_id, username, password, full_name)


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


def sign_in(page_or_client: Any, base_url: str, username: str, password: str) -> str:
    """Sign in through the sign-in form; returns the session's CSRF token (TestClient) or ""
    (a Playwright page, left on the page signing in leads to)."""
    if hasattr(page_or_client, "goto"):
        page = page_or_client
        page.goto(base_url + "/sign-in")
        page.fill("#f-username", username)
        page.fill("#f-password", password)
        page.click("form.form button[type=submit]")
        page.wait_for_load_state("domcontentloaded")
        assert "/sign-in" not in page.url, f"sign-in failed for {username}"
        return ""
    client = page_or_client
    form = client.get(base_url + "/sign-in")
    r = client.post(
        base_url + "/sign-in",
        data={"csrf_token": csrf_of(form.text), "username": username, "password": password},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return csrf_of(client.get(base_url + "/").text)


@pytest.fixture
def person_factory(client: Any) -> Any:
    def make(role: str, **kw: Any) -> MadePerson:
        return make_person(client, role, **kw)

    return make
