"""The console inside the API's app: its pages, static files, offline /docs, and its errors
as pages.

`install(app)` is called by `app.main.create_app`. Console routes carry the `mark_console`
dependency (or `Person`/`CsrfChecked`, which mark the request too); an error raised in one is
answered with a page in the reader's language, while the API's routes keep their JSON.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.openapi.docs import get_swagger_ui_oauth2_redirect_html
from fastapi.responses import JSONResponse
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.console import admin_pages, signin_pages, transparency
from app.console import pages as role_pages
from app.console.api_errors import MESSAGES
from app.console.assets import ConsoleStaticFiles
from app.console.i18n import I18n, default_language, i18n
from app.console.maps import map_tiles
from app.console.session import (
    SignInRequired,
    clear_session_cookie,
    console_of,
    finish,
    language_of,
    page_context,
    public_context,
    sign_in_url,
)
from app.console.templating import Console
from app.errors import ApiError, error_body

SWAGGER = "vendor/swagger-ui-5.35.0"


def install(app: FastAPI) -> None:
    console = Console(default_language=default_language(), map_tiles=map_tiles())
    app.state.console = console
    # gzip for the static files only: the search page's Leaflet, leaflet-draw and htmx are
    # ~300 KB raw, ~80 KB compressed (API bodies, packages and clip ranges stay as they are).
    app.mount("/static", GZipMiddleware(ConsoleStaticFiles(), minimum_size=500), name="static")
    for module in (signin_pages, admin_pages, transparency):
        app.include_router(module.router)
    for router in role_pages.routers():
        app.include_router(router)
    _install_docs(app, console)
    _install_handlers(app)


def _install_docs(app: FastAPI, console: Console) -> None:
    """Swagger UI from the vendored copy, so /docs works on a closed network (FastAPI's own
    /docs and /redoc load it from a CDN; create_app turns those off), under the console's
    Content-Security-Policy: the start-up is static/docs.js, not FastAPI's inline script."""

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return console.response(
            request,
            "docs.html",
            lang="en",
            swagger=SWAGGER,
            openapi_url=app.openapi_url or "/openapi.json",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()


def _path_of(url: str | None) -> str:
    """The path and query of htmx's current page (a full URL), to come back to after sign-in."""
    parts = urlsplit(url or "/")
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _is_console(request: Request) -> bool:
    return bool(getattr(request.state, "console", False))


def _said(tr: I18n, status_code: int, code: str) -> tuple[str, str]:
    """An error's title and sentence for a person: which refusal it is where the code says."""
    if status_code == 403 and code == "csrf_failed":
        title = tr.gettext("The form has expired")
        text = tr.gettext(
            "The page was open too long or you signed out meanwhile. Reload the page and try again."
        )
    elif status_code == 403 and code in MESSAGES and code != "role_not_allowed":
        title = tr.gettext("Not allowed")  # e.g. not on the case, another ward's camera
        text = " ".join(
            (tr.gettext(MESSAGES[code]), tr.gettext("The refusal was recorded in the audit log."))
        )
    elif status_code == 403:
        title = tr.gettext("Not allowed")
        text = tr.gettext(
            "Your role does not give access to this page. "
            "The refusal was recorded in the audit log."
        )
    elif status_code == 404:
        title = tr.gettext("Not found")
        text = (
            tr.gettext(MESSAGES[code])
            if code in MESSAGES
            else tr.gettext("There is nothing at this address, or it is not yours to see.")
        )
    else:
        title = tr.gettext("This did not work")
        text = tr.gettext("The request was refused. Nothing was changed.")
        if code in MESSAGES:
            text = f"{tr.gettext(MESSAGES[code])} {text}"
    return title, text


def _context(request: Request) -> dict[str, Any]:
    person = getattr(request.state, "principal", None)
    return page_context(request, person) if person is not None else public_context(request)


def error_page(request: Request, status_code: int, code: str, detail: str) -> Response:
    """An error as a page: the 403 page for refusals, a short explanation otherwise."""
    ctx = _context(request)
    title, text = _said(i18n(ctx["lang"]), status_code, code)
    response = console_of(request).response(
        request,
        "error.html",
        title=title,
        heading=title,
        text=text,
        detail=detail,
        code=code,
        status_code=status_code,
        **ctx,
    )
    return finish(request, response)


def error_fragment(request: Request, status_code: int, code: str) -> Response:
    """An error answered to htmx: the sentence, swapped in where the answer was to go (base.html
    has htmx swap a 4xx; it swapped only a 2xx, so a refused "load more", histogram or state
    poll changed nothing on the page, and a poll refused every 2 s went on, each refusal an
    audit entry). A polling section replaced by it polls no more."""
    lang = _context(request)["lang"]
    return console_of(request).response(
        request,
        "error_fragment.html",
        lang=lang,
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
        text=_said(i18n(lang), status_code, code)[1],
        code=code,
    )


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _: SignInRequired) -> Response:
        if request.headers.get("hx-request"):
            return JSONResponse(
                error_body("sign in first", "signin_required"),
                status_code=401,
                headers={
                    "HX-Redirect": sign_in_url(_path_of(request.headers.get("hx-current-url")))
                },
            )
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = RedirectResponse(sign_in_url(path if request.method == "GET" else "/"), 303)
        clear_session_cookie(request, response)  # it has ended: let the browser forget it
        return response

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if _is_console(request):
            if request.headers.get("hx-request") and exc.status_code < 500:
                return error_fragment(request, exc.status_code, exc.code)
            return error_page(request, exc.status_code, exc.code, exc.detail)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            error_body(exc.detail, exc.code), status_code=exc.status_code, headers=headers
        )


__all__ = ["error_page", "install", "language_of"]
