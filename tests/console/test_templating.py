"""Pages through the console's Jinja2 environment: what a user-supplied string becomes
(text, never markup), the layout's landmarks and forms, translation inside imported macros,
and no inline script or style for the Content-Security-Policy to refuse."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jinja2
import pytest
from starlette.requests import Request

from app.console.maps import MapCamera
from app.console.templating import Console, Flash, NavItem, active_i18n, speaking

XSS = "<script>alert(1)</script>"
VIETNAMESE = "Camera ngã tư Lê Lợi, Nguyễn Huệ, Phường Bến Nghé"

DEMO = """{% extends "base.html" %}
{% import "_macros.html" as ui %}
{% block content %}
<h1>{{ title }}</h1>
<p id="name">{{ name }}</p>
{{ ui.field("name", _("Video file"), value=name, help="Tên hiển thị", error=error) }}
{{ ui.choices("label", "Loại", [("car", "Ô tô"), ("person", "Người")], selected=["car"]) }}
{{ ui.table("Camera", ["Tên", "Trạng thái"], [[name, "ok"]]) }}
{{ ui.empty_state("Chưa có camera", "Hãy đăng ký camera đầu tiên.", "/cameras/new", "Đăng ký") }}
<ul>{{ ui.load_more("/more?page=2", tag="li") }}</ul>
{{ ui.map("m", "Bản đồ", cameras=cameras, draw="search") }}
<form id="search">{{ ui.hidden_place_fields(near="10.7,106.7", radius_m="250") }}</form>
<p id="when">{{ when|local_datetime("Asia/Ho_Chi_Minh") }}</p>
<p id="size">{{ 1733881|size }} {{ 1234567.5|number }}</p>
<p id="trans">{% trans n=3 %}{{ n }} of them{% endtrans %}</p>
{% endblock %}
"""


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.script_text: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.script_text.append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [
            a
            for t, a in self.tags
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def parse(html: str) -> Tags:
    tags = Tags()
    tags.feed(html)
    return tags


@pytest.fixture
def console(tmp_path: Path) -> Console:
    (tmp_path / "demo.html").write_text(DEMO, encoding="utf-8")
    return Console(template_dirs=[tmp_path])


def render(console: Console, lang: str = "vi", **context: Any) -> str:
    values: dict[str, Any] = {
        "title": "Bảng điều khiển",
        "nav": [NavItem("Bản đồ", "/map", current=True), NavItem("Tìm kiếm", "/search")],
        "user": "Trần Thị Bích",
        "role": "ward",
        "csrf_token": "tok-123",
        "sign_out_url": "/sign-out",
        "language_url": "/language",
        "current_url": "/demo?x=1",
        "flashes": [Flash("Đã lưu", "success")],
        "name": VIETNAMESE,
        "error": None,
        "cameras": [MapCamera(7, VIETNAMESE, 10.7769, 106.7009, url="/cameras/7").as_json()],
        "when": datetime(2026, 12, 3, 7, 5, 9, tzinfo=UTC),
    }
    values.update(context)
    return console.render("demo.html", lang=lang, **values)


def test_user_text_is_escaped_everywhere_it_appears(console: Console) -> None:
    html = render(
        console,
        name=XSS,
        error=XSS,
        flashes=[Flash(XSS, "error")],
        user=XSS,
        title=XSS,
        cameras=[MapCamera(1, XSS, 10.0, 106.0, detail=XSS).as_json()],
        nav=[NavItem(XSS, "/x")],
    )
    assert XSS not in html
    assert "alert(1)</script>" not in html
    # As text in elements and attributes; as \u003c in the JSON the map reads.
    assert '<p id="name">&lt;script&gt;alert(1)&lt;/script&gt;</p>' in html
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in html
    assert '<p class="flash flash--error" role="alert">&lt;script&gt;' in html
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt; · wardcam</title>" in html
    cameras = parse(html).find("div", id="m")[0]["data-cameras"]
    assert cameras is not None
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in cameras
    assert parse(html).script_text == []


def test_vietnamese_text_round_trips_unchanged(console: Console) -> None:
    html = render(console)
    assert f'<p id="name">{VIETNAMESE}</p>' in html
    assert f'value="{VIETNAMESE}"' in html
    # Raw UTF-8 in the JSON attribute too (shorter than \\u escapes, same text for the script).
    assert f'"name": "{VIETNAMESE}"' in html


def test_layout_has_landmarks_skip_link_and_role_navigation(console: Console) -> None:
    tags = parse(render(console))
    assert tags.tags[0][0] == "html" and tags.tags[0][1]["lang"] == "vi"
    body_index = next(i for i, (t, _) in enumerate(tags.tags) if t == "body")
    first_in_body = tags.tags[body_index + 1]
    assert first_in_body == ("a", {"class": "skip-link", "href": "#main"})
    assert tags.find("main", id="main", tabindex="-1")
    assert tags.find("header", **{"class": "site-header"})
    assert tags.find("footer", **{"class": "site-footer"})
    assert tags.find("nav", aria_label="Menu chính")
    assert tags.find("a", href="/map", aria_current="page")
    assert tags.find("a", href="/search")[0].get("aria-current") is None
    assert tags.find("meta", name="viewport")[0]["content"] == "width=device-width, initial-scale=1"


def test_forms_carry_the_callers_csrf_token(console: Console) -> None:
    html = render(console)
    tags = parse(html)
    tokens = tags.find("input", type="hidden", name="csrf_token")
    assert [t["value"] for t in tokens] == ["tok-123", "tok-123"]  # language + sign-out
    assert tags.find("body")[0]["hx-headers"] == '{"X-CSRF-Token": "tok-123"}'
    assert tags.find("input", type="hidden", name="next")[0]["value"] == "/demo?x=1"
    assert tags.find("button", name="language", value="en", lang="en")
    assert tags.find("span", lang="vi", aria_current="true")


def test_a_form_without_a_token_is_a_rendering_error(console: Console) -> None:
    with pytest.raises(ValueError, match="CSRF token"):
        render(console, csrf_token=None)  # the sign-out form needs one


def test_signed_out_layout_has_no_user_forms(console: Console) -> None:
    html = render(console, user=None, csrf_token=None, nav=())
    tags = parse(html)
    assert not tags.find("form", action="/sign-out")
    assert not tags.find("nav")
    assert tags.find("form", action="/language")  # the language switch stays


def test_fields_tie_help_and_errors_to_the_input(console: Console) -> None:
    tags = parse(render(console, error="Tên quá dài"))
    field = tags.find("input", id="f-name")[0]
    assert field["aria-describedby"] == "f-name-help f-name-error"
    assert field["aria-invalid"] == "true"
    assert tags.find("label", **{"for": "f-name"})
    quiet = parse(render(console))
    assert quiet.find("input", id="f-name")[0]["aria-describedby"] == "f-name-help"
    assert "aria-invalid" not in quiet.find("input", id="f-name")[0]


def test_cards_table_labels_every_cell_with_its_column(console: Console) -> None:
    tags = parse(render(console))
    assert [c["data-label"] for c in tags.find("td")] == ["Tên", "Trạng thái"]


def test_no_inline_script_or_style_for_the_csp_to_refuse(console: Console) -> None:
    for lang in ("vi", "en"):
        tags = parse(render(console, lang=lang, error="x"))
        assert tags.script_text == []
        assert all(a.get("src") for t, a in tags.tags if t == "script")
        assert not [t for t, _ in tags.tags if t == "style"]
        assert not [(t, a) for t, a in tags.tags if "style" in a]
        assert not [(t, k) for t, a in tags.tags for k in a if k.startswith("on")]
        meta = tags.find("meta", name="htmx-config")[0]["content"]
        assert meta and '"includeIndicatorStyles": false' in meta and '"allowEval": false' in meta
        handling = json.loads(meta)["responseHandling"]  # a refusal is swapped in, shown
        assert {"code": "4..", "swap": True, "error": True} in handling


def test_static_urls_carry_a_content_digest(console: Console) -> None:
    tags = parse(render(console))
    css = tags.find("link", rel="stylesheet")[0]["href"]
    assert css is not None and css.startswith("/static/console.css?v=")
    assert css == console.assets.url("console.css")
    assert tags.find("link", rel="icon")[0]["href"] == console.assets.url("favicon.svg")
    bad = Console(template_dirs=[])
    bad.env.loader = jinja2.DictLoader({"x.html": "{{ static_url('nope.css') }}"})
    with pytest.raises(FileNotFoundError, match=r"nope\.css"):
        bad.render("x.html", lang="vi")


def test_macros_imported_without_context_speak_the_pages_language(console: Console) -> None:
    """Jinja caches an imported template: its strings must still follow each page."""
    for _ in range(2):
        vi, en = render(console, lang="vi"), render(console, lang="en")
        assert ">Tải thêm</a>" in vi and ">Load more</a>" in en
        assert "Chuyển đến nội dung chính" in vi and "Skip to main content" in en
        assert "1 camera trên bản đồ này" in vi and "1 camera on this map" in en
        assert "Ủy ban phường" in vi and "Ward committee" in en


def test_filters_write_times_numbers_and_sizes_for_the_reader(console: Console) -> None:
    vi, en = render(console, lang="vi"), render(console, lang="en")
    stamp = '<time datetime="2026-12-03T07:05:09Z">'
    assert f"{stamp}03/12/2026 14:05:09 (UTC+07:00)</time>" in vi
    assert f"{stamp}Dec 3, 2026, 2:05:09\u202fPM (UTC+07:00)</time>" in en
    assert '<p id="size">1,7\u00a0MB 1.234.567,5</p>' in vi
    assert '<p id="size">1.7\u00a0MB 1,234,567.5</p>' in en
    assert '<p id="trans">3 of them</p>' in vi  # no translation: the source text, formatted


def test_a_typo_in_a_template_fails_instead_of_rendering_nothing(console: Console) -> None:
    console.env.loader = jinja2.ChoiceLoader(
        [jinja2.DictLoader({"typo.html": "{{ camra.name }}"}), console.env.loader]  # type: ignore[list-item]
    )
    with pytest.raises(jinja2.UndefinedError, match="camra"):
        console.render("typo.html", lang="vi")


def test_gettext_outside_a_page_is_an_error() -> None:
    with pytest.raises(LookupError, match="no page is being rendered"):
        active_i18n()
    with speaking("en") as active:
        assert active.gettext("Sign out") == "Sign out"
        assert active_i18n() is active
    with pytest.raises(LookupError):
        active_i18n()


def request(headers: dict[str, str] | None = None, cookie: str = "") -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    if cookie:
        raw.append((b"cookie", cookie.encode()))
    scope = {"type": "http", "method": "GET", "path": "/p", "query_string": b"a=1", "headers": raw}
    return Request(scope)


def test_language_of_a_request() -> None:
    console = Console(default_language="en")
    assert console.language(request()) == "en"
    assert console.language(request({"Accept-Language": "vi-VN,vi;q=0.9"})) == "vi"
    # A choice made with the language switch (cookie) beats the browser's header...
    both = request({"Accept-Language": "vi"}, cookie="wardcam_lang=en")
    assert console.language(both) == "en"
    # ...and a signed-in user's setting beats both.
    assert console.language(both, user_setting="vi") == "vi"
    assert console.language(request(cookie="wardcam_lang=xx")) == "en"
    with pytest.raises(ValueError):
        Console(default_language="fr")


def test_response_headers(console: Console) -> None:
    response = console.response(
        request({"Accept-Language": "en"}),
        "demo.html",
        name="x",
        error=None,
        cameras=[],
        when=datetime(2026, 1, 1, tzinfo=UTC),
        language_url="/language",
    )
    assert response.headers["content-language"] == "en"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "style-src 'self';" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert b'<html lang="en">' in response.body
    # current_url defaults to the request's path and query (for the language switch's `next`).
    assert b'name="next" value="/p?a=1"' in response.body
