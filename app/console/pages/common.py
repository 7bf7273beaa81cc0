"""What the console's role pages share: rendering a page or an htmx fragment for a signed-in
person, service errors on forms, and form times in a camera's zone.

A refusal or a missing object on a page is simply raised: `app.deps.get_session` rolls the
request back and writes the refusal's audit entry exactly as for the API, and the console's
error handler (`app.console.web`) answers with the error page. A form that must be shown
again with the service's message uses `attempt`, which does the same rollback and audit
before the page is rendered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import Request
from sqlmodel import Session
from starlette.responses import HTMLResponse

from app.auth.principal import Principal
from app.console.api_errors import explain
from app.console.i18n import I18n, i18n, parse_datetime_local
from app.console.session import console_of, page_context
from app.console.templating import Flash, html_response
from app.db import rollback
from app.errors import ApiError
from app.identity import repository as identity
from app.refusals import record_refusal

T = TypeVar("T")

DEFAULT_ZONE = "Asia/Ho_Chi_Minh"


def tr_of(request: Request, person: Principal) -> I18n:
    """The person's language (their setting, else the browser's)."""
    return i18n(page_context(request, person)["lang"])


def page(
    request: Request,
    person: Principal,
    template: str,
    *,
    status_code: int = 200,
    **values: Any,
) -> HTMLResponse:
    """A full console page for a signed-in person."""
    base = page_context(request, person)
    return console_of(request).response(
        request, template, status_code=status_code, **{**base, **values}
    )


def fragment(request: Request, person: Principal, template: str, **values: Any) -> HTMLResponse:
    """A piece of a page for htmx (no layout), with a page's security headers."""
    base = page_context(request, person)
    lang = base.pop("lang")
    con = console_of(request)
    out = html_response(request, con.render(template, lang=lang, **{**base, **values}))
    out.headers["Content-Security-Policy"] = con.csp
    out.headers["Content-Language"] = lang
    out.headers["X-Content-Type-Options"] = "nosniff"
    out.headers["Cache-Control"] = "no-store"
    out.headers["Vary"] = "Accept-Language, Cookie, Accept-Encoding"
    return out


def settle_error(request: Request, session: Session, exc: ApiError) -> None:
    """Roll back what the service began and audit the refusal exactly as
    `app.deps.get_session` does for the API (its own entry, or the cameras its path names:
    `app.refusals`); the request still commits once, with the refusal's record."""
    rollback(session)
    record_refusal(request, session, exc)


def attempt(request: Request, session: Session, work: Callable[[], T]) -> T | ApiError:
    """The service call's result, or its error once settled (see `settle_error`), for a
    form that is shown again with the error."""
    try:
        return work()
    except ApiError as exc:
        settle_error(request, session, exc)
        return exc


def error_flash(request: Request, person: Principal, exc: ApiError) -> Flash:
    """A service's refusal as the form's error, in the person's language."""
    return Flash(refusal_text(request, person, exc), "error")


def refusal_text(request: Request, person: Principal, exc: ApiError) -> str:
    return explain(exc, tr_of(request, person).lang)


def form_time(text: str | None, zone: str) -> datetime | None:
    """A `datetime-local` value typed in the camera's zone; None when empty, ValueError when
    not a time."""
    if not text or not text.strip():
        return None
    return parse_datetime_local(text, zone)


def people_named(session: Session, ids: list[int]) -> dict[int, str]:
    """How a page names people: "Trần Quốc Trung (dtv.tranquoctrung)", the name a colleague
    knows beside the user name a member is added by; the user name alone when no full name
    was given."""
    out = {}
    for uid in ids:
        user = identity.get_user(session, uid)
        if user is None:
            out[uid] = "?"
        elif user.full_name.strip():
            out[uid] = f"{user.full_name} ({user.username})"
        else:
            out[uid] = user.username
    return out
