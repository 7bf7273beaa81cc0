"""What the browser tests need besides fixtures: Debian's Chromium, a real uvicorn server in a
thread, screenshots at phone and desktop widths, and axe-core's accessibility verdict.

The console is tested the way its users meet it: a real Chromium talking HTTP to a real server
on loopback, with nothing fetched from outside (closed ward networks have no CDN). Playwright is
only the remote control; its own browser downloads (`playwright install`) are never used.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn
from playwright.sync_api import Page, Request

HERE = Path(__file__).resolve().parent
AXE_JS = HERE / "vendor" / "axe-core-4.14.1" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("WARDCAM_SCREENSHOTS", HERE / "screenshots"))

# Phone first: the narrowest width the console must work at, then a desktop.
PHONE_WIDTH = 360
DESKTOP_WIDTH = 1280
WIDTHS = (PHONE_WIDTH, DESKTOP_WIDTH)

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def chromium_path() -> str:
    """The system Chromium, or an error that says how to get it (never a silent skip)."""
    wanted = os.environ.get("WARDCAM_CHROMIUM", "/usr/bin/chromium")
    found = shutil.which(wanted)
    if found is None:
        raise RuntimeError(
            f"Chromium not found at {wanted!r}: run scripts/browser.sh (apt-get install chromium) "
            "or set WARDCAM_CHROMIUM to a Chromium binary"
        )
    return found


# --- a real server -----------------------------------------------------------------------------


class LiveServer:
    """An ASGI app served by uvicorn on a free loopback port, in a background thread.

    The socket is bound before uvicorn starts, so the port is known without a race and nothing
    else can take it. `stop()` asks uvicorn to exit and waits for the thread.
    """

    def __init__(self, app: Any, *, lifespan: str = "auto", start_timeout: float = 30.0) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            app,
            lifespan=lifespan,  # type: ignore[arg-type]
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=3,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._sock]},
            name=f"uvicorn-{self.port}",
            daemon=True,
        )
        self._start_timeout = start_timeout

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"uvicorn exited before serving on {self.url}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url} in {self._start_timeout}s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()
        if self._thread.is_alive():
            raise RuntimeError(f"uvicorn on {self.url} did not stop")

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --- what a page did wrong ---------------------------------------------------------------------


@dataclass
class PageLog:
    """JavaScript errors, failed requests and requests that tried to leave the machine.

    Off-loopback requests are aborted (a closed network has no CDN, and a test must not pass only
    because the internet happened to answer) and recorded here.
    """

    js_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)

    def problems(self, *, allow_external: bool = False, allow_console: bool = False) -> list[str]:
        out = [f"JS error: {e}" for e in self.js_errors]
        if not allow_console:
            out += [f"console error: {e}" for e in self.console_errors]
        if not allow_external:
            out += [f"request left loopback: {u}" for u in self.external_requests]
            out += [f"request failed: {u}" for u in self.failed_requests]
        return out


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return (parts.hostname or "") in LOOPBACK_HOSTS or parts.netloc in LOOPBACK_HOSTS


def attach_log(page: Page) -> PageLog:
    log = PageLog()
    page.on("pageerror", lambda exc: log.js_errors.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            log.console_errors.append(f"{msg.text} @ {msg.location.get('url', '')}")
            if msg.type == "error"
            else None
        ),
    )

    def failed(request: Request) -> None:
        # The browser fetches the tab's icon on its own and cancels that fetch when the page
        # navigates on (a click that signs out, a redirect): not a failure of the page.
        if request.failure == "net::ERR_ABORTED" and Path(
            urlsplit(request.url).path
        ).name.startswith("favicon"):
            return
        if is_loopback(request.url):
            log.failed_requests.append(f"{request.method} {request.url}: {request.failure}")

    page.on("requestfailed", failed)
    return log


# --- screenshots -------------------------------------------------------------------------------


def settle(page: Page) -> None:
    """Wait for pending layout: two animation frames after the network goes idle."""
    page.wait_for_load_state("networkidle")
    page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(null))))"
    )


def screenshot(
    page: Page,
    name: str,
    *,
    widths: Sequence[int] = WIDTHS,
    folder: Path | None = None,
    full_page: bool = True,
) -> list[Path]:
    """Save `<name>-<width>.png` for each width and return the paths.

    The viewport is resized in place (the page keeps its state: a drawn shape, an open result)
    and put back afterwards. Leaflet re-lays itself out on the window's resize event.
    """
    folder = folder or SCREENSHOTS
    folder.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    height = original["height"] if original else 800
    paths: list[Path] = []
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": height})
            settle(page)
            path = folder / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=full_page)
            paths.append(path)
    finally:
        if original:
            page.set_viewport_size(original)
    return paths


# --- page weight -------------------------------------------------------------------------------


def page_weight(page: Page) -> dict[str, dict[str, int]]:
    """Bytes the page has loaded so far, by kind (html, js, css, img, xhr, other): `wire` as sent
    (compressed when the server compressed it), `raw` after decoding. From the browser's Resource
    Timing entries, so cached files count as 0 on the wire. Call after `settle(page)`."""
    entries: list[dict[str, Any]] = page.evaluate(
        """() => performance.getEntriesByType('navigation')
                 .concat(performance.getEntriesByType('resource'))
                 .map(e => ({name: e.name, type: e.initiatorType, entry: e.entryType,
                             wire: e.encodedBodySize, raw: e.decodedBodySize}))"""
    )
    out: dict[str, dict[str, int]] = {}
    for e in entries:
        path = urlsplit(e["name"]).path
        if e["entry"] == "navigation":
            kind = "html"
        elif e["type"] in ("fetch", "xmlhttprequest"):
            kind = "xhr"
        elif path.endswith((".js", ".mjs")) or e["type"] == "script":
            kind = "js"
        elif path.endswith(".css"):
            kind = "css"
        elif e["type"] in ("img", "css", "image") or path.endswith((".png", ".svg", ".jpg")):
            kind = "img"
        else:
            kind = "other"
        total = out.setdefault(kind, {"wire": 0, "raw": 0, "files": 0})
        total["wire"] += int(e["wire"])
        total["raw"] += int(e["raw"])
        total["files"] += 1
    return out


# --- accessibility -----------------------------------------------------------------------------

SERIOUS = ("serious", "critical")


def inject_axe(page: Page) -> None:
    """Put axe-core into the page unless it is already there.

    Evaluated through the DevTools protocol rather than added as a <script>, so a page with a
    strict Content-Security-Policy (script-src 'self', as the console should have) still gets it.
    """
    if not AXE_JS.is_file():
        raise RuntimeError(f"axe-core missing at {AXE_JS}")
    if page.evaluate("() => typeof window.axe === 'object'"):
        return
    page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    if not page.evaluate("() => typeof window.axe === 'object'"):
        raise RuntimeError("axe-core did not load into the page")


def axe_violations(
    page: Page,
    *,
    impacts: Iterable[str] = SERIOUS,
    include: str | None = None,
    disable_rules: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """Run axe-core on the page (or on the `include` selector) and return the violations whose
    impact is in `impacts`: each with id, impact, help, helpUrl and the offending nodes."""
    inject_axe(page)
    options = {
        "resultTypes": ["violations"],
        "rules": {rule: {"enabled": False} for rule in disable_rules},
    }
    violations: list[dict[str, Any]] = page.evaluate(
        """async ([include, options]) => {
            const result = await window.axe.run(include ? document.querySelector(include)
                                                        : document, options);
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map(n => ({target: n.target, html: n.html.slice(0, 300),
                                          summary: n.failureSummary}))
            }));
        }""",
        [include, options],
    )
    wanted = set(impacts)
    return [v for v in violations if v["impact"] in wanted]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """A readable assertion message: rule, impact, what to do, where."""
    lines = []
    for v in violations:
        lines.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"][:5]:
            lines.append(f"    {json.dumps(node['target'])}: {node['html']}")
    return "\n".join(lines)


def assert_accessible(page: Page, **kwargs: Any) -> None:
    """Fail with axe's own words if the page has any serious or critical violation."""
    violations = axe_violations(page, **kwargs)
    assert not violations, "axe-core found serious/critical violations:\n" + describe_violations(
        violations
    )
