"""What the console's pages share: the Console object, rendering a page for a signed-in
person, refusals and invalid input as pages, and form times in a camera's zone.

A service error (`ApiError`) inside a console page is handled as `app.deps.get_session`
handles it for the API: the request's transaction is rolled back and the refusal's own audit
entry, if it carries one, is written; the page then answers with the error's status and its
detail, so a console refusal leaves the same single trace as its API twin.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from fastapi import Request
from sqlmodel import Session
from starlette.responses import HTMLResponse

from app.audit.service import DENIED, record
from app.auth.policy import Action, role_may
from app.auth.principal import Principal
from app.console.i18n import default_language, i18n, parse_datetime_local
from app.console.maps import map_tiles
from app.console.session import page_context
from app.console.templating import Console, Flash
from app.db import rollback
from app.errors import ApiError, Forbidden

T = TypeVar("T")

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"


@lru_cache(maxsize=1)
def _default_console() -> Console:
    return Console(default_language=default_language(), map_tiles=map_tiles())


def console_of(request: Request) -> Console:
    """The app's Console (`app.state.console`) when it has one, else one built from the
    environment (`WARDCAM_LANGUAGE`, `WARDCAM_MAP_TILES`)."""
    found = getattr(request.app.state, "console", None)
    return found if isinstance(found, Console) else _default_console()


def context_for(request: Request, person: Principal) -> dict[str, Any]:
    """base.html's variables for this person (name, role, navigation, CSRF token, language)."""
    return dict(page_context(request, person))


def lang_of(request: Request, person: Principal) -> str:
    ctx = context_for(request, person)
    lang = ctx.get("lang")
    return lang if isinstance(lang, str) else console_of(request).language(request)


def page(
    request: Request,
    person: Principal,
    template: str,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A full console page for a signed-in person."""
    base = context_for(request, person)
    lang = base.pop("lang", None) or console_of(request).language(request)
    return console_of(request).response(
        request, template, lang=lang, status_code=status_code, **{**base, **values}
    )


def fragment(request: Request, person: Principal, template: str, **values: Any) -> HTMLResponse:
    """A piece of a page for htmx (no layout); the same headers as a page."""
    base = context_for(request, person)
    lang = base.pop("lang", None) or console_of(request).language(request)
    con = console_of(request)
    body = con.render(template, lang=lang, **{**base, **values})
    out = HTMLResponse(body)
    out.headers["Content-Security-Policy"] = con.csp
    out.headers["Content-Language"] = lang
    out.headers["X-Content-Type-Options"] = "nosniff"
    out.headers["Cache-Control"] = "no-store"
    out.headers["Vary"] = "Accept-Language, Cookie"
    return out


def settle_error(session: Session, exc: ApiError) -> None:
    """Roll back what the service began and audit the refusal, as `app.deps.get_session`
    does for the API (the request still commits once: the refusal's record)."""
    rollback(session)
    if exc.audit is not None:
        args = dict(exc.audit)
        record(session, args.pop("actor", None), args.pop("action"), outcome=DENIED, **args)


def attempt(session: Session, work: Callable[[], T]) -> T | ApiError:
    """The service call's result, or its error once settled (see `settle_error`)."""
    try:
        return work()
    except ApiError as exc:
        settle_error(session, exc)
        return exc


def error_page(request: Request, person: Principal, exc: ApiError) -> HTMLResponse:
    """A refusal or a missing object as a page with the API's status and detail."""
    tr = i18n(lang_of(request, person))
    titles = {
        403: tr.gettext("Not allowed"),
        404: tr.gettext("Not found"),
        409: tr.gettext("Not possible now"),
    }
    return page(
        request,
        person,
        "pages/error.html",
        status_code=exc.status_code,
        title=titles.get(exc.status_code, tr.gettext("Something is wrong")),
        error=exc,
    )


def error_flash(exc: ApiError) -> Flash:
    return Flash(exc.detail, "error")


def require_role(person: Principal, action: Action) -> None:
    """The role gate of `app.auth.deps.require`, for pages (audited the same way)."""
    if not role_may(person.role, action):
        raise Forbidden(
            f"role '{person.role.value}' may not {action.value}",
            code="role_not_allowed",
            audit={"action": action.value, "actor": person, "details": {"console": True}},
        )


def form_time(text: str | None, zone: str) -> datetime | None:
    """A `datetime-local` value typed in the camera's zone; None when empty, ValueError when
    not a time."""
    if not text or not text.strip():
        return None
    return parse_datetime_local(text, zone)


MAX_FORM_BYTES = 256 * 1024


class FormValues:
    """An urlencoded form body: `get(name)` the first value ("" if absent), `all(name)`."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self.values = values

    def get(self, name: str, default: str = "") -> str:
        found = self.values.get(name)
        return found[0] if found else default

    def all(self, name: str) -> list[str]:
        return list(self.values.get(name, []))


async def read_form(request: Request) -> FormValues:
    """The posted form (application/x-www-form-urlencoded); the body is read once and
    cached by Starlette, so the CSRF check can read it too."""
    from urllib.parse import parse_qs

    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError("the form is too large", code="too_large", status_code=413)
    text = body.decode("utf-8", errors="replace")
    return FormValues(parse_qs(text, keep_blank_values=True))
