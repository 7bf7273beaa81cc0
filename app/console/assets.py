"""The console's static files: URLs that change when a file's bytes change, the ASGI app that
serves them with matching cache headers, and the Content-Security-Policy the pages need.

A file's URL carries a digest of its contents (`/static/console.css?v=3f2a9c01be`), so browsers
keep it for a year and still get a new version the moment it changes: phones on slow ward
uplinks load the 300 KB of a map page once, not on every visit.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from urllib.parse import urlsplit

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).resolve().parent / "static"
VERSION_PARAM = "v"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


class StaticAssets:
    """Cache-busting URLs for the files under `directory`, served at `prefix`."""

    def __init__(self, directory: Path = STATIC_DIR, prefix: str = "/static") -> None:
        self.directory = directory.resolve()
        self.prefix = prefix.rstrip("/")
        self._digests: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def digest(self, path: str) -> str:
        """The first 10 hex digits of the file's SHA-256 (recomputed when it changes on disk);
        FileNotFoundError for a file that is not there, so a typo fails at render time."""
        file = (self.directory / path).resolve()
        if not file.is_relative_to(self.directory) or not file.is_file():
            raise FileNotFoundError(f"no static file {path!r} in {self.directory}")
        stat = file.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            found = self._digests.get(key)
        if found is None:
            found = hashlib.sha256(file.read_bytes()).hexdigest()[:10]
            with self._lock:
                self._digests[key] = found
        return found

    def url(self, path: str) -> str:
        return f"{self.prefix}/{path.lstrip('/')}?{VERSION_PARAM}={self.digest(path.lstrip('/'))}"


class ConsoleStaticFiles(StaticFiles):
    """Starlette's StaticFiles, plus: a versioned URL is cached for a year, any other is
    revalidated every time (its content may change under the same URL)."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        super().__init__(directory=directory)

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code in (200, 304):
            query = scope.get("query_string", b"").decode("latin-1")
            versioned = any(p.startswith(f"{VERSION_PARAM}=") for p in query.split("&"))
            response.headers["Cache-Control"] = IMMUTABLE if versioned else REVALIDATE
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def tile_origin(tiles: str) -> str | None:
    """The origin a tile URL template loads from, as a CSP source (`{s}` subdomains become a
    wildcard); None for tiles served by the console's own origin or no tiles at all."""
    if not tiles:
        return None
    parts = urlsplit(tiles.replace("{s}", "__sub__"))
    if not parts.scheme or not parts.netloc:
        return None
    host = parts.netloc.split("@")[-1]
    labels = host.split(".")
    if any("__sub__" in label for label in labels):
        host = ".".join("*" if "__sub__" in label else label for label in labels)
        if not host.startswith("*."):
            raise ValueError(f"a tile subdomain must be the first label of the host: {tiles!r}")
    if "{" in host:
        raise ValueError(f"the tile host may only vary in its first label ({{s}}): {tiles!r}")
    return f"{parts.scheme}://{host}"


def content_security_policy(tiles: str = "") -> str:
    """Scripts, styles, fonts and connections from this origin only, no inline script or style,
    no framing; images also from the tile server when there is one."""
    img = "'self' data:"
    origin = tile_origin(tiles)
    if origin:
        img += f" {origin}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {img}; media-src 'self' blob:; connect-src 'self'; font-src 'self'; "
        "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
