"""Who is using the console: the session cookie, CSRF, and what every page's layout needs.

For the console's endpoints:

    @router.get("/console/audit")
    def audit_page(request: Request, person: Person, session: SessionDep) -> Response:
        ensure(request, person, Action.audit_read)            # else the 403 page (audited)
        return console_of(request).response(
            request, "audit.html", **page_context(request, person), ...)

    @router.post("/console/users/{user_id}/deactivate", dependencies=[CsrfChecked])
    def deactivate(...): ...

- `Person` is the same `app.auth.principal.Principal` the API's keys give, so a console action
  calls the same service and writes the same audit entry as its API twin. Without a live
  session a full page gets a 303 to `/sign-in?next=<path>`, an htmx request (`HX-Request`) a
  401.
- `CsrfChecked` refuses (403 page, code `csrf_failed`) a request whose `csrf_token` form field
  or `X-CSRF-Token` header is not the session's token (an HMAC of the cookie); before signing
  in (the sign-in and invitation forms, the language switch) the token is the one in the
  `wardcam_csrf` cookie (double submit).
- `page_context(request, person)` fills base.html: lang, nav (`app.console.nav`), user, role,
  csrf_token, sign_out_url, language_url; `public_context(request)` the same for pages shown
  signed out.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request
from starlette.responses import Response

from app.auth.policy import Action, role_may
from app.auth.principal import Principal
from app.console.i18n import LANGUAGES, i18n
from app.console.nav import nav_for
from app.console.templating import CSRF_FIELD, CSRF_HEADER, Console
from app.db import read_session
from app.deps import ContextDep, SessionDep
from app.errors import Forbidden
from app.signin import csrf
from app.signin import service as signin
from app.signin.models import WebSession
from app.signin.service import SESSION_COOKIE

PRE_SESSION_COOKIE = "wardcam_csrf"
SIGN_IN_URL = "/sign-in"
SIGN_OUT_URL = "/sign-out"
LANGUAGE_URL = "/language"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_FORM_BYTES = 256 * 1024


class SignInRequired(Exception):
    """No live session: the handler redirects a page to the sign-in page, answers htmx 401."""


class ConsoleForbidden(Forbidden):
    """A person whose role may not open a page or do an action: the 403 page, audited like the
    API's `role_not_allowed` (the request's transaction is rolled back first)."""


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


def client_ip(request: Request) -> str:
    return request.client.host if request.client else ""


def is_secure(request: Request) -> bool:
    """Cookies are Secure on https, or when the service says people reach it over https
    (`WARDCAM_PUBLIC_URL`), as behind a proxy that ends TLS."""
    public_url: str = request.app.state.ctx.settings.public_url
    return request.url.scheme == "https" or public_url.lower().startswith("https://")


# --- forms -------------------------------------------------------------------------------------


class Form:
    """An `application/x-www-form-urlencoded` body (the console's forms post nothing else)."""

    def __init__(self, values: dict[str, list[str]]) -> None:
        self._values = values

    def get(self, name: str, default: str = "") -> str:
        found = self._values.get(name)
        return found[0] if found else default

    def getall(self, name: str) -> list[str]:
        return list(self._values.get(name, []))


async def read_form(request: Request) -> Form:
    """The request's form, parsed once (CSRF checking reads it before the endpoint does)."""
    cached: Form | None = getattr(request.state, "console_form", None)
    if cached is not None:
        return cached
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    values: dict[str, list[str]] = {}
    if ctype == "application/x-www-form-urlencoded":
        body = await request.body()
        if len(body) > MAX_FORM_BYTES:
            raise Forbidden("the form is too large", code="csrf_failed")
        values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
    form = Form(values)
    request.state.console_form = form
    return form


# --- the person --------------------------------------------------------------------------------


async def mark_console(request: Request) -> None:
    """Router dependency of every console route: errors become pages, not JSON."""
    request.state.console = True


def signed_in_person(request: Request, ctx: ContextDep, session: SessionDep) -> Principal:
    """The person of the session cookie; SignInRequired when there is no live session.

    The session is read in a short transaction of its own (as API keys are), then its last use
    is noted in the request's unit of work (at most once a minute)."""
    request.state.console = True
    token = request.cookies.get(SESSION_COOKIE, "")
    with read_session(ctx.engine) as lookup:
        found = signin.live_session(lookup, ctx.settings, token)
        language = signin.language_of(lookup, found[1].id or 0) if found else None
    if found is None:
        raise SignInRequired()
    web, user = found
    fresh = session.get(WebSession, web.id)
    if fresh is not None:
        signin.touch(session, fresh)
    person = signin.principal_of(user)
    request.state.principal = person
    request.state.person_name = user.full_name or user.username
    request.state.person_language = language
    request.state.csrf_token = signin.csrf_token_for(token, ctx.settings.secret_bytes)
    return person


Person = Annotated[Principal, Depends(signed_in_person)]


def optional_person(request: Request, ctx: ContextDep, session: SessionDep) -> Principal | None:
    """The signed-in person, or None (pages that are shown either way, such as `/`)."""
    try:
        return signed_in_person(request, ctx, session)
    except SignInRequired:
        return None


MaybePerson = Annotated[Principal | None, Depends(optional_person)]


def ensure(request: Request, person: Principal, action: Action) -> None:
    """The 403 page (audited as the API's refusal) unless the person's role may `action`."""
    if not role_may(person.role, action):
        raise ConsoleForbidden(
            f"role '{person.role.value}' may not {action.value}",
            code="role_not_allowed",
            audit={
                "action": action.value,
                "actor": person,
                "details": {"path": request.url.path, "method": request.method, "via": "console"},
            },
        )


def person_may(action: Action) -> Any:
    """Dependency: the signed-in person, whose role may `action` (else the 403 page)."""

    def dependency(request: Request, person: Person) -> Principal:
        ensure(request, person, action)
        return person

    dependency.__name__ = f"person_may_{action.name}"
    return Depends(dependency)


# --- CSRF --------------------------------------------------------------------------------------


def pre_session_token(request: Request) -> str:
    """The signed-out visitor's CSRF token (from the `wardcam_csrf` cookie, or a new one that
    `finish` sets)."""
    token = getattr(request.state, "pre_session_token", None)
    if token is None and request.cookies.get(SESSION_COOKIE):
        # A session cookie that has ended (idle, signed out elsewhere): `expected_csrf` goes
        # by it, so the sign-in form must too, or nobody could sign in again with it set.
        token = expected_csrf(request)
        request.state.pre_session_token = token
    if token is None:
        token = request.cookies.get(PRE_SESSION_COOKIE, "")
        if not (20 <= len(token) <= 100):
            token = secrets.token_urlsafe(32)
            request.state.new_pre_session_token = True
        request.state.pre_session_token = token
    return str(token)


def expected_csrf(request: Request) -> str | None:
    """The session's token when a session cookie is sent, else the pre-session cookie's."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        return signin.csrf_token_for(token, request.app.state.ctx.settings.secret_bytes)
    return request.cookies.get(PRE_SESSION_COOKIE) or None


async def check_csrf(request: Request) -> None:
    """Refuse a state-changing request without the right CSRF token (header or form field)."""
    request.state.console = True
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(CSRF_HEADER)
    if not sent:
        sent = (await read_form(request)).get(CSRF_FIELD)
    expected = expected_csrf(request)
    if not csrf.matches(sent, expected):
        raise Forbidden(
            "the form's security token is missing or out of date; reload the page",
            code="csrf_failed",
        )


CsrfChecked = Depends(check_csrf)


def _disguised(token: str | None) -> str | None:
    """The token as a page carries it: under a mask of its own (`app.signin.csrf`)."""
    return csrf.disguised(token) if token else None


# --- what pages need ---------------------------------------------------------------------------


def language_of(request: Request) -> str:
    """The person's setting (signed in), else the language cookie, Accept-Language, default."""
    setting = getattr(request.state, "person_language", None)
    return console_of(request).language(request, user_setting=setting)


def page_context(request: Request, person: Principal) -> dict[str, Any]:
    """base.html's variables for a signed-in person."""
    lang = language_of(request)
    return {
        "lang": lang,
        "nav": nav_for(person.role, i18n(lang), request.url.path),
        "user": getattr(request.state, "person_name", person.username),
        "role": person.role.value,
        "csrf_token": _disguised(getattr(request.state, "csrf_token", None)),
        "sign_out_url": SIGN_OUT_URL,
        "language_url": LANGUAGE_URL,
    }


def public_context(request: Request) -> dict[str, Any]:
    """base.html's variables for a page shown signed out (the CSRF token of its forms is the
    pre-session cookie's: pass the response through `finish`)."""
    return {
        "lang": language_of(request),
        "nav": (),
        "user": None,
        "role": None,
        "csrf_token": _disguised(pre_session_token(request)),
        "sign_out_url": None,
        "language_url": LANGUAGE_URL,
    }


def finish(request: Request, response: Response) -> Response:
    """Set the pre-session CSRF cookie if this request made one."""
    if getattr(request.state, "new_pre_session_token", False):
        response.set_cookie(
            PRE_SESSION_COOKIE,
            pre_session_token(request),
            httponly=True,
            samesite="lax",
            secure=is_secure(request),
            path="/",
        )
    return response


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """HttpOnly, SameSite=Lax, Secure behind https; no Max-Age (the server ends it)."""
    response.set_cookie(
        SESSION_COOKIE, token, httponly=True, samesite="lax", secure=is_secure(request), path="/"
    )
    response.delete_cookie(PRE_SESSION_COOKIE, path="/")


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=is_secure(request)
    )


def sign_in_url(next_path: str) -> str:
    return f"{SIGN_IN_URL}?next={quote(next_path, safe='')}"


def safe_next(value: str | None) -> str:
    """A redirect target after sign-in: a path on this site only (never `//evil` or a URL)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def supported(lang: str) -> str | None:
    return lang if lang in LANGUAGES else None
