"""The console's Jinja2 environment and the one call an endpoint makes to answer with a page.

    console = Console(default_language=default_language(), map_tiles=map_tiles())
    lang = console.language(request, user_setting=user.language)   # setting > A-L > default
    return console.response(request, "cameras.html", lang=lang, title=..., nav=..., ...)

Everything a template prints is escaped unless it is already `Markup`; `_`, `gettext`,
`ngettext` (and `{% trans %}`) speak the language of the page being rendered. That language is
held in a context variable for the duration of `render`, not in the template context, so macros
imported without context (`{% import "_macros.html" as ui %}`) are translated too; the same
holds for the `local_datetime`, `number` and `size` filters.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import jinja2
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from app.console.api_errors import UPLOAD_CODES, sentences
from app.console.assets import StaticAssets, content_security_policy
from app.console.compression import compressed
from app.console.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGE_NAMES,
    LANGUAGES,
    N_,
    I18n,
    TimePart,
    as_utc,
    i18n,
    negotiate_language,
)
from app.console.maps import DEFAULT_CENTER, DEFAULT_ZOOM, map_strings, tile_attribution

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LANGUAGE_COOKIE = "wardcam_lang"

# Labels of the roles, for the header ("Đăng nhập với vai trò Cán bộ phường").
ROLE_LABELS: Mapping[str, str] = {
    "ward": N_("Ward committee"),
    "officer": N_("Officer"),
    "investigator": N_("Investigator"),
    "supervisor": N_("Supervisor"),
    "auditor": N_("Auditor"),
    "admin": N_("Administrator"),
}

_ACTIVE: contextvars.ContextVar[I18n] = contextvars.ContextVar("console_i18n")


@dataclass(frozen=True)
class NavItem:
    """One link of the navigation; `current` marks the page being shown (aria-current)."""

    label: str
    url: str
    current: bool = False


@dataclass(frozen=True)
class Flash:
    """A message at the top of a page: errors are announced at once, the rest politely."""

    text: str
    kind: Literal["info", "success", "warning", "error"] = "info"


def active_i18n() -> I18n:
    """The language of the page being rendered; LookupError outside `Console.render`."""
    try:
        return _ACTIVE.get()
    except LookupError:
        raise LookupError("no page is being rendered: use Console.render") from None


@contextmanager
def speaking(lang: str) -> Iterator[I18n]:
    """Make `lang` the active language (for rendering fragments outside `Console.render`)."""
    token = _ACTIVE.set(i18n(lang))
    try:
        yield _ACTIVE.get()
    finally:
        _ACTIVE.reset(token)


# --- what templates can call -------------------------------------------------------------------


def _gettext(message: str) -> str:
    return active_i18n().gettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return active_i18n().ngettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return active_i18n().pgettext(context, message)


def _npgettext(context: str, singular: str, plural: str, n: int) -> str:
    return active_i18n().npgettext(context, singular, plural, n)


# The filters take the context only so that Jinja never folds them into a constant when the
# template is compiled: `{{ 1500|size }}` would otherwise keep the first page's language.


@jinja2.pass_context
def local_datetime(
    _context: jinja2.runtime.Context,
    value: datetime | None,
    tz: str | tzinfo,
    part: TimePart = "datetime",
) -> Markup:
    """`<time datetime="2026-12-03T07:05:09Z">03/12/2026 14:05:09 (UTC+07:00)</time>`: the
    reader's format in the camera's zone, the exact instant for machines; "" for None."""
    if value is None:
        return Markup("")
    instant = as_utc(value).isoformat().replace("+00:00", "Z")
    text = active_i18n().datetime(value, tz, part=part)
    return Markup('<time datetime="{}">{}</time>').format(instant, text)


@jinja2.pass_context
def number(
    _context: jinja2.runtime.Context, value: float | Decimal | None, digits: int | None = None
) -> str:
    return "" if value is None else active_i18n().number(value, digits=digits)


@jinja2.pass_context
def size(_context: jinja2.runtime.Context, n_bytes: int | None) -> str:
    return "" if n_bytes is None else active_i18n().size(n_bytes)


def role_label(role: str | None) -> str:
    return active_i18n().gettext(ROLE_LABELS[role]) if role else ""


@jinja2.pass_context
def csrf_field(context: jinja2.runtime.Context, token: str | None = None) -> Markup:
    """The hidden CSRF input of a form. The token comes from the caller (`csrf_token` in the
    page's context, or passed in); a form rendered without one is a bug, so it raises."""
    token = token if token is not None else context.get(CSRF_FIELD)
    if not token:
        raise ValueError("a form needs a CSRF token: pass csrf_token to the page")
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


# --- the environment ---------------------------------------------------------------------------


def create_environment(
    assets: StaticAssets, template_dirs: Sequence[Path] = ()
) -> jinja2.Environment:
    """Autoescaping, undefined names are errors (a typo must not render as nothing), gettext
    in the active language, and the console's filters and globals."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([*template_dirs, TEMPLATES_DIR]),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.policies["ext.i18n.trimmed"] = True
    # Vietnamese stays readable (and shorter) in JSON attributes; <, >, &, ' are still escaped.
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _gettext, _ngettext, newstyle=True, pgettext=_pgettext, npgettext=_npgettext
    )
    env.filters.update(local_datetime=local_datetime, number=number, size=size)
    env.globals.update(
        static_url=assets.url,
        csrf_field=csrf_field,
        role_label=role_label,
        map_strings=lambda draw=True: map_strings(active_i18n(), draw=draw),
        upload_refusals=lambda: sentences(active_i18n().lang, UPLOAD_CODES),
        LANGUAGES=LANGUAGES,
        LANGUAGE_NAMES=LANGUAGE_NAMES,
        CSRF_FIELD=CSRF_FIELD,
        CSRF_HEADER=CSRF_HEADER,
        DEFAULT_CENTER=DEFAULT_CENTER,
        DEFAULT_ZOOM=DEFAULT_ZOOM,
    )
    return env


# What base.html reads; a page passes what it has, the rest is empty.
LAYOUT_DEFAULTS: Mapping[str, Any] = {
    "title": "",
    "nav": (),
    "user": None,
    "role": None,
    "csrf_token": None,
    "sign_out_url": None,
    "language_url": None,
    "current_url": None,
    "flashes": (),
    "htmx": True,
}


class Console:
    """The templates, the static files and the language rules of the console, for endpoints.

    `default_language` is `WARDCAM_LANGUAGE` (see `i18n.default_language`); `map_tiles` is
    `WARDCAM_MAP_TILES` (see `maps.map_tiles`), "" for none. `template_dirs` come before the
    console's own (pages of another package, or a test's).
    """

    def __init__(
        self,
        *,
        default_language: str = DEFAULT_LANGUAGE,
        map_tiles: str = "",
        static_prefix: str = "/static",
        template_dirs: Sequence[Path] = (),
    ) -> None:
        if default_language not in LANGUAGES:
            raise ValueError(f"default_language must be one of {', '.join(LANGUAGES)}")
        self.default_language = default_language
        self.map_tiles = map_tiles
        self.assets = StaticAssets(prefix=static_prefix)
        self.env = create_environment(self.assets, template_dirs)
        self.env.globals.update(MAP_TILES=map_tiles, MAP_ATTRIBUTION=tile_attribution(map_tiles))
        self.csp = content_security_policy(map_tiles)

    def language(self, request: Request, user_setting: str | None = None) -> str:
        """The signed-in user's setting, else this browser's choice (the language cookie, for
        people not signed in), else Accept-Language, else the configured default."""
        return negotiate_language(
            user_setting=user_setting or request.cookies.get(LANGUAGE_COOKIE),
            accept_language=request.headers.get("accept-language"),
            default=self.default_language,
        )

    def render(self, template: str, *, lang: str, **context: Any) -> str:
        """The template rendered in `lang`; `context` fills base.html's variables (title, nav,
        user, role, csrf_token, sign_out_url, language_url, current_url, flashes, htmx) and
        the page's own."""
        with speaking(lang) as active:
            values = {**LAYOUT_DEFAULTS, **context, "lang": lang, "i18n": active}
            return self.env.get_template(template).render(values)

    def response(
        self,
        request: Request,
        template: str,
        *,
        lang: str | None = None,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
        compress: bool = True,
        **context: Any,
    ) -> HTMLResponse:
        """An HTML response with the console's security headers and `Content-Language`;
        `lang` defaults to `language(request)` (pass it when the user has a setting).
        Compressed for a browser that accepts gzip unless `compress` is False (a page that
        shows a one-time secret: `app.console.compression`)."""
        lang = lang or self.language(request)
        context.setdefault("current_url", _path_and_query(request))
        body = self.render(template, lang=lang, **context)
        out = html_response(
            request, body, status_code=status_code, headers=headers, compress=compress
        )
        out.headers.setdefault("Content-Security-Policy", self.csp)
        out.headers.setdefault("Content-Language", lang)
        out.headers.setdefault("X-Content-Type-Options", "nosniff")
        out.headers.setdefault("Referrer-Policy", "same-origin")
        out.headers.setdefault("Vary", "Accept-Language, Cookie, Accept-Encoding")
        if context.get("user"):
            # A signed-in page is nobody else's: not kept by a shared phone's browser or a
            # proxy (the back button after signing out asks the server, which refuses).
            out.headers.setdefault("Cache-Control", "private, no-store")
        return out


def html_response(
    request: Request,
    body: str,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
    compress: bool = True,
) -> HTMLResponse:
    """`body` as an HTML response, gzip-compressed where the browser accepts it."""
    raw = body.encode("utf-8")
    packed = compressed(raw, request.headers.get("accept-encoding")) if compress else None
    out_headers = dict(headers or {})
    if packed is not None:
        out_headers["Content-Encoding"] = "gzip"
    return HTMLResponse(packed or raw, status_code=status_code, headers=out_headers)


def _path_and_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
