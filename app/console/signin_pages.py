"""The pages around signing in: `/` (the sign-in page or the role's home), sign-in,
sign-out, the invitation link (set a password), the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from app.console.api_errors import INVITATION_ERRORS, PASSWORD_ERRORS
from app.console.i18n import N_, i18n
from app.console.nav import entries_for
from app.console.session import (
    CsrfChecked,
    MaybePerson,
    clear_session_cookie,
    client_ip,
    console_of,
    finish,
    language_of,
    mark_console,
    page_context,
    public_context,
    read_form,
    safe_next,
    set_session_cookie,
    supported,
)
from app.console.templating import LANGUAGE_COOKIE, Flash
from app.deps import ContextDep, SessionDep
from app.errors import ApiError
from app.signin import service as signin
from app.signin.service import SESSION_COOKIE
from app.text import CleanStr

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_console)])

SIGNIN_REFUSED = N_("Wrong user name or password.")
SIGNIN_THROTTLED = N_(
    "Too many failed attempts. Wait a few minutes before trying again, or ask your "
    "administrator for a new invitation."
)


@router.get("/")
def home(request: Request, person: MaybePerson) -> Response:
    """Signed out: the sign-in page. Signed in: the pages of the person's role."""
    if person is None:
        return _sign_in_page(request, next_path="/")
    ctx = page_context(request, person)
    tr = i18n(ctx["lang"])
    cards = [
        {"label": tr.gettext(e.label), "url": e.url, "description": tr.gettext(e.description)}
        for e in entries_for(person.role)
        if e.url != "/"
    ]
    return console_of(request).response(
        request, "home.html", title=tr.gettext("Home"), cards=cards, **ctx
    )


def _sign_in_page(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    flashes: list[Flash] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = public_context(request)
    tr = i18n(ctx["lang"])
    response = console_of(request).response(
        request,
        "sign_in.html",
        title=tr.gettext("Sign in"),
        next_path=safe_next(next_path),
        username=username,
        flashes=flashes or [],
        status_code=status_code,
        **ctx,
    )
    return finish(request, response)


@router.get("/sign-in")
def sign_in_form(
    request: Request,
    person: MaybePerson,
    next_path: Annotated[CleanStr, Query(alias="next", max_length=2000)] = "/",
    username: Annotated[CleanStr, Query(max_length=100)] = "",
    welcome: Annotated[bool, Query()] = False,
) -> Response:
    if person is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    flashes = []
    if welcome:
        tr = i18n(language_of(request))
        flashes.append(Flash(tr.gettext("Your password is set. Sign in with it."), "success"))
    return _sign_in_page(request, next_path=next_path, username=username, flashes=flashes)


@router.post("/sign-in", dependencies=[CsrfChecked])
async def sign_in(request: Request, ctx: ContextDep, session: SessionDep) -> Response:
    form = await read_form(request)
    username = form.get("username").strip()[:100]
    password = form.get("password")[:1000]
    next_path = safe_next(form.get("next"))
    result = signin.sign_in(session, ctx.settings, username, password, client_ip(request))
    if result.outcome != "ok" or result.token is None:
        tr = i18n(language_of(request))
        message = SIGNIN_THROTTLED if result.outcome == "throttled" else SIGNIN_REFUSED
        return _sign_in_page(
            request,
            next_path=next_path,
            username=username,
            flashes=[Flash(tr.gettext(message), "error")],
            status_code=429 if result.outcome == "throttled" else 401,
        )
    response = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, response, result.token)
    return response


@router.post("/sign-out", dependencies=[CsrfChecked])
def sign_out(request: Request, session: SessionDep) -> Response:
    signin.sign_out(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/sign-in", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.post("/language", dependencies=[CsrfChecked])
async def set_language(request: Request, session: SessionDep, person: MaybePerson) -> Response:
    """The language switch: the person's setting when signed in, else a cookie."""
    form = await read_form(request)
    lang = supported(form.get("language"))
    response = RedirectResponse(safe_next(form.get("next")), status_code=303)
    if lang is None:
        return response
    if person is not None:
        signin.set_language(session, person.user_id, lang)
    response.set_cookie(
        LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, samesite="lax", httponly=True, path="/"
    )
    return response


TokenPath = Annotated[str, Path(min_length=1, max_length=200)]


def _invitation_page(
    request: Request,
    token: str,
    *,
    username: str | None,
    flashes: list[Flash],
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    ctx = public_context(request)
    tr = i18n(ctx["lang"])
    response = console_of(request).response(
        request,
        "invitation.html",
        compress=False,  # the link's secret is in the page: see app.console.compression
        title=tr.gettext("Set your password"),
        token=token,
        invitee=username,
        password_error=error,
        flashes=flashes,
        status_code=status_code,
        **ctx,
    )
    return finish(request, response)


def _invitation_refused(request: Request, token: str, exc: ApiError) -> Response:
    """The invitation page saying why the link no longer works (unknown, used, expired)."""
    message = i18n(language_of(request)).gettext(
        INVITATION_ERRORS.get(exc.code, INVITATION_ERRORS["invitation_not_found"])
    )
    return _invitation_page(
        request,
        token,
        username=None,
        flashes=[Flash(message, "error")],
        status_code=exc.status_code,
    )


@router.get("/invitation/{token}")
def invitation_form(
    request: Request, ctx: ContextDep, session: SessionDep, token: TokenPath
) -> Response:
    try:
        _, user = signin.open_invitation(session, token)
    except ApiError as exc:
        return _invitation_refused(request, token, exc)
    return _invitation_page(request, token, username=user.username, flashes=[])


@router.post("/invitation/{token}", dependencies=[CsrfChecked])
async def accept_invitation(request: Request, session: SessionDep, token: TokenPath) -> Response:
    tr = i18n(language_of(request))
    form = await read_form(request)
    password = form.get("password")[:1000]
    repeat = form.get("password_repeat")[:1000]
    try:
        _, user = signin.open_invitation(session, token)
    except ApiError as exc:
        return _invitation_refused(request, token, exc)
    if password != repeat:
        error = tr.gettext("The two passwords differ.")
        return _invitation_page(
            request,
            token,
            username=user.username,
            flashes=[Flash(error, "error")],
            error=error,
            status_code=422,
        )
    try:
        signin.check_password_rules(user.username, password)
    except ApiError as exc:
        error = tr.gettext(PASSWORD_ERRORS.get(exc.code, PASSWORD_ERRORS["password_too_short"]))
        return _invitation_page(
            request,
            token,
            username=user.username,
            flashes=[Flash(error, "error")],
            error=error,
            status_code=422,
        )
    signin.accept_invitation(session, token, password)
    query = urlencode({"welcome": 1, "username": user.username})
    return RedirectResponse(f"/sign-in?{query}", status_code=303)
