"""A throwaway site for the console's browser tests: the console's own static files, base layout
and macros rendered through its Jinja2 environment (app.console.templating.Console), a few
demo pages (tests/browser/templates/), and just enough endpoints behind them: a language switch,
a form echo, "load more", map tiles, and a footage upload that takes the raw body as
`POST /cameras/{id}/footage?start=ISO` does. No domain service: the console's groundwork only.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request, Response
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.requests import ClientDisconnect

from app.console.assets import ConsoleStaticFiles
from app.console.i18n import LANGUAGES, nfc
from app.console.maps import MapCamera
from app.console.templating import LANGUAGE_COOKIE, Console, Flash, NavItem

TEMPLATES = Path(__file__).resolve().parent / "templates"
CSRF = "demo-csrf-token-3f9a"
XSS = "<script>alert(1)</script>"

# Three cameras of a ward in District 1, Hồ Chí Minh City; one named like an attack.
CAMERAS = [
    MapCamera(1, "Camera ngã tư Lê Lợi, Nguyễn Huệ", 10.7735, 106.7010, "/cameras/1", "Đang ghi"),
    MapCamera(2, "Camera chợ Bến Thành", 10.7725, 106.6980, "/cameras/2"),
    MapCamera(3, XSS, 10.7750, 106.7035, "/cameras/3"),
]
CENTER = (10.7737, 106.7008)

NAV = {
    "ward": [("Camera", "/"), ("Bản đồ", "/map"), ("Yêu cầu trích xuất", "/requests")],
    "officer": [("Tìm kiếm", "/map"), ("Kết quả", "/results")],
    "auditor": [("Nhật ký kiểm toán", "/audit")],
}

# A 1 x 1 grey PNG, stretched by Leaflet to a 256 px tile.
TILE_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGO4c+cOAATOAmWuFq8fAAAAAElFTkSuQmCC"
)


@dataclass
class Upload:
    camera_id: int
    sha256: str
    size: int
    query: dict[str, str]
    content_type: str
    csrf: str


@dataclass
class SiteState:
    uploads: list[Upload] = field(default_factory=list)
    disconnected: int = 0


def _form(body: bytes) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()}


def make_site(*, tiles: str = "", gzip: bool = False) -> tuple[FastAPI, SiteState]:
    console = Console(default_language="vi", map_tiles=tiles, template_dirs=[TEMPLATES])
    state = SiteState()
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    if gzip:
        app.add_middleware(GZipMiddleware, minimum_size=500)
    app.mount("/static", ConsoleStaticFiles(), name="static")

    def page(request: Request, template: str, *, role: str = "ward", **context: Any) -> Response:
        here = request.url.path
        nav = [NavItem(label, url, current=url == here) for label, url in NAV[role]]
        context.setdefault("title", "Bảng điều khiển")
        return console.response(
            request,
            template,
            nav=nav,
            user="Trần Thị Bích",
            role=role,
            csrf_token=CSRF,
            sign_out_url="/sign-out",
            language_url="/language",
            **context,
        )

    def home(request: Request, echoed: str | None = None, name: str = "") -> Response:
        rows = [
            [c.name, "Phường Bến Nghé, Quận 1", "03/12/2026 14:05:09 (UTC+07:00)"] for c in CAMERAS
        ]
        return page(
            request,
            "console_home.html",
            role=request.query_params.get("role", "ward"),
            flashes=[Flash("Đã lưu camera.", "success"), Flash("Thiếu lý do.", "error")],
            rows=rows,
            items=[f"Sự kiện {i}" for i in range(1, 4)],
            echoed=echoed,
            name=name,
        )

    @app.get("/")
    def index(request: Request) -> Response:
        return home(request)

    @app.post("/echo")
    async def echo(request: Request) -> Response:
        form = _form(await request.body())
        if form.get("csrf_token") != CSRF:
            return Response("CSRF token missing or wrong", status_code=403)
        name = nfc(form.get("name", ""))
        return home(request, echoed=name, name=name)

    @app.get("/more")
    def more(request: Request) -> Response:
        page_no = int(request.query_params.get("page", "2"))
        start = 3 * (page_no - 1) + 1
        items = [f"Sự kiện {i}" for i in range(start, start + 3)]
        next_url = f"/more?page={page_no + 1}" if page_no < 3 else None
        html = console.render(
            "console_more.html", lang=console.language(request), items=items, next_url=next_url
        )
        return Response(html, media_type="text/html")

    @app.post("/language")
    async def language(request: Request) -> Response:
        form = _form(await request.body())
        if form.get("csrf_token") != CSRF:
            return Response("CSRF token missing or wrong", status_code=403)
        lang = form.get("language", "")
        target = form.get("next", "/")
        if not target.startswith("/") or target.startswith("//"):
            target = "/"
        out = RedirectResponse(target, status_code=303)
        if lang in LANGUAGES:
            out.set_cookie(
                LANGUAGE_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True
            )
        return out

    @app.get("/map")
    def search_map(request: Request) -> Response:
        q = request.query_params
        place = {k: q.get(k, "") for k in ("near", "radius_m", "bbox", "polygon")}
        return page(
            request,
            "console_map.html",
            role="officer",
            title="Tìm kiếm",
            cameras=[c.as_json() for c in CAMERAS],
            place=place,
            purpose=q.get("purpose", ""),
            open=q.get("open"),
        )

    @app.get("/pick")
    def pick(request: Request) -> Response:
        return page(
            request,
            "console_pick.html",
            title="Đăng ký camera",
            cameras=[CAMERAS[0].as_json()],
            center=CENTER,
        )

    @app.get("/upload")
    def upload_page(request: Request) -> Response:
        camera_id = int(request.query_params.get("camera", "1"))
        return page(
            request,
            "console_upload.html",
            title="Tải video lên",
            camera_name=CAMERAS[0].name,
            url=f"/cameras/{camera_id}/footage",
        )

    @app.post("/cameras/{camera_id}/footage")
    async def footage(camera_id: int, request: Request) -> Response:
        if request.headers.get("x-csrf-token") != CSRF:
            return JSONResponse({"detail": "CSRF token missing", "code": "csrf"}, 403)
        if camera_id not in {c.id for c in CAMERAS}:
            return JSONResponse(
                {"detail": f"camera {camera_id} not found", "code": "not_found"}, 404
            )
        digest, size = hashlib.sha256(), 0
        try:
            async for chunk in request.stream():
                digest.update(chunk)
                size += len(chunk)
        except ClientDisconnect:
            state.disconnected += 1  # nothing half-stored
            return Response(status_code=400)
        sha = digest.hexdigest()
        duplicate = any(u.sha256 == sha and u.camera_id == camera_id for u in state.uploads)
        state.uploads.append(
            Upload(
                camera_id,
                sha,
                size,
                dict(request.query_params),
                request.headers.get("content-type", ""),
                request.headers["x-csrf-token"],
            )
        )
        body = {"id": len(state.uploads), "camera_id": camera_id, "sha256": sha, "size": size}
        return JSONResponse(body, status_code=200 if duplicate else 201)

    @app.get("/tiles/{z}/{x}/{y}.png")
    def tile(z: int, x: int, y: int) -> Response:
        return Response(TILE_PNG, media_type="image/png")

    return app, state
