"""Static files and the policies around them: a URL that changes with the file's bytes, cache
headers that match, the tile source from WARDCAM_MAP_TILES and the CSP that lets its images in."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.console.assets import (
    IMMUTABLE,
    REVALIDATE,
    STATIC_DIR,
    ConsoleStaticFiles,
    StaticAssets,
    content_security_policy,
    tile_origin,
)
from app.console.maps import DEFAULT_MAP_TILES, map_tiles, tile_attribution


def test_the_url_changes_when_the_bytes_do(tmp_path: Path) -> None:
    (tmp_path / "a.css").write_text("body{color:#111}")
    assets = StaticAssets(tmp_path, prefix="/s/")
    first = assets.url("a.css")
    assert first.startswith("/s/a.css?v=") and len(first.split("=")[1]) == 10
    assert assets.url("/a.css") == first
    (tmp_path / "a.css").write_text("body{color:#222;}")
    assert assets.url("a.css") != first


def test_only_files_inside_the_folder_have_urls(tmp_path: Path) -> None:
    (tmp_path / "inside").mkdir()
    (tmp_path / "secret.txt").write_text("x")
    assets = StaticAssets(tmp_path / "inside")
    for path in ("../secret.txt", "missing.js", ""):
        with pytest.raises(FileNotFoundError):
            assets.url(path)


def test_the_console_files_exist_and_are_small() -> None:
    for name in ("console.css", "map.js", "upload.js", "time.js", "htmx-errors.js", "favicon.svg"):
        assert (STATIC_DIR / name).stat().st_size < 12_000, name
    assert (
        StaticAssets()
        .url("vendor/leaflet-1.9.4/leaflet.js")
        .startswith("/static/vendor/leaflet-1.9.4/leaflet.js?v=")
    )


def test_versioned_urls_are_cached_for_a_year_others_revalidated() -> None:
    app = FastAPI()
    app.mount("/static", ConsoleStaticFiles(), name="static")
    client = TestClient(app)
    url = StaticAssets().url("console.css")
    hit = client.get(url)
    assert hit.status_code == 200
    assert hit.headers["cache-control"] == IMMUTABLE
    assert hit.headers["content-type"].startswith("text/css")
    assert hit.headers["x-content-type-options"] == "nosniff"
    plain = client.get("/static/console.css")
    assert plain.headers["cache-control"] == REVALIDATE
    assert client.get("/static/nope.css?v=1").status_code == 404
    assert "immutable" not in client.get("/static/nope.css?v=1").headers.get("cache-control", "")


def test_tile_source_from_the_environment() -> None:
    assert map_tiles({}) == DEFAULT_MAP_TILES
    assert map_tiles({"WARDCAM_MAP_TILES": ""}) == ""  # set but empty: no tiles at all
    own = "/tiles/{z}/{x}/{y}.png"
    assert map_tiles({"WARDCAM_MAP_TILES": f" {own} "}) == own
    with pytest.raises(ValueError, match=r"\{z\}, \{x\} and \{y\}"):
        map_tiles({"WARDCAM_MAP_TILES": "https://tiles.example.org/{z}/{x}.png"})
    with pytest.raises(ValueError, match="http"):
        map_tiles({"WARDCAM_MAP_TILES": "javascript:alert(1)//{z}/{x}/{y}"})


def test_openstreetmap_tiles_are_credited() -> None:
    assert tile_attribution(DEFAULT_MAP_TILES) == "© OpenStreetMap contributors"
    assert tile_attribution("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") != ""
    assert tile_attribution("https://tiles.ward.example/{z}/{x}/{y}.png") == ""
    assert tile_attribution("") == ""


def test_the_csp_lets_in_images_from_the_tile_server_only() -> None:
    assert tile_origin("") is None
    assert tile_origin("/tiles/{z}/{x}/{y}.png") is None  # same origin: 'self' covers it
    assert tile_origin(DEFAULT_MAP_TILES) == "https://tile.openstreetmap.org"
    assert tile_origin("https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png") == (
        "https://*.tiles.example.org:8443"
    )
    with pytest.raises(ValueError, match="first label"):
        tile_origin("https://tiles.{s}.example.org/{z}/{x}/{y}.png")
    plain = content_security_policy("")
    assert "img-src 'self' data:;" in plain
    assert "script-src 'self';" in plain and "style-src 'self';" in plain
    assert "frame-ancestors 'none'" in plain and "object-src 'none'" in plain
    with_tiles = content_security_policy(DEFAULT_MAP_TILES)
    assert "img-src 'self' data: https://tile.openstreetmap.org;" in with_tiles
    assert "connect-src 'self';" in with_tiles  # tiles are images, never fetched by script
