"""Fixtures for tests in a real browser: one headless Chromium for this package's tests, a page
factory that records what went wrong in the page, and a factory that serves an ASGI app on
loopback.

    def test_search_page(live_server, new_page):
        url = live_server(create_app(settings))          # real uvicorn, free port
        page = new_page(width=360, mobile=True)          # vi-VN, Asia/Ho_Chi_Minh
        page.goto(url + "/search")
        ...
        screenshot(page, "search")                        # search-360.png, search-1280.png
        assert_accessible(page)                           # axe-core: no serious/critical
        settle(page); page_weight(page)["js"]["wire"]     # bytes loaded, by kind

(`screenshot`, `assert_accessible`, `axe_violations`, `settle`, `page_weight` are in
tests/browser/harness.py.) Browser input at machine speed is faster than people and than some
widgets accept: leaflet-draw drops a vertex clicked within ~50 ms of the last, so pause ~300 ms.

At teardown every page made by `new_page` must have had no JavaScript error, no console error,
no failed loopback request and no request leaving loopback; `new_page(strict=False)` (or
`allow_external=True` / `allow_console=True`) relaxes that for a page that is meant to show an
error. `page_log(page)` gives the record during the test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser.harness import (
    CHROMIUM_ARGS,
    DESKTOP_WIDTH,
    LiveServer,
    PageLog,
    attach_log,
    chromium_path,
    is_loopback,
)

# Names resolve to nothing but loopback: a page that reaches for a CDN fails here as it would
# on a closed ward network (the attempt is also recorded in the page log).
BLOCK_DNS = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1"

_LOGS: dict[int, PageLog] = {}


# Package scope, not session: Playwright's sync API keeps an asyncio loop running in the main
# thread while it is open, and tests elsewhere that call asyncio.run() fail under it.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    try:
        executable = chromium_path()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    browser = playwright.chromium.launch(
        executable_path=executable, headless=True, args=[*CHROMIUM_ARGS, BLOCK_DNS]
    )
    yield browser
    browser.close()


def page_log(page: Page) -> PageLog:
    """What has gone wrong in a page made by `new_page` so far."""
    return _LOGS[id(page)]


NewPage = Callable[..., Page]


@pytest.fixture
def new_page(browser: Browser) -> Iterator[NewPage]:
    """Factory: `new_page(width=1280, height=800, mobile=False, locale="vi-VN", strict=True,
    allow_external=False, allow_console=False, **context_options)` returns a Page in a fresh
    context (own cookies). `mobile=True` turns on touch and the mobile viewport meta."""
    made: list[tuple[BrowserContext, Page, dict[str, bool]]] = []

    def make(
        *,
        width: int = DESKTOP_WIDTH,
        height: int = 800,
        mobile: bool = False,
        locale: str = "vi-VN",
        timezone_id: str = "Asia/Ho_Chi_Minh",
        strict: bool = True,
        allow_external: bool = False,
        allow_console: bool = False,
        **context_options: Any,
    ) -> Page:
        context = browser.new_context(
            viewport={"width": width, "height": height},
            is_mobile=mobile,
            has_touch=mobile,
            locale=locale,
            timezone_id=timezone_id,
            **context_options,
        )
        context.set_default_timeout(15_000)
        page = context.new_page()
        log = attach_log(page)
        page.on(
            "request",
            lambda r: None if is_loopback(r.url) else log.external_requests.append(r.url),
        )
        _LOGS[id(page)] = log
        made.append(
            (
                context,
                page,
                {
                    "strict": strict,
                    "allow_external": allow_external,
                    "allow_console": allow_console,
                },
            )
        )
        return page

    yield make

    problems: list[str] = []
    for context, page, rules in made:
        log = _LOGS.pop(id(page))
        if rules["strict"]:
            problems += log.problems(
                allow_external=rules["allow_external"], allow_console=rules["allow_console"]
            )
        context.close()
    assert not problems, "the page had problems:\n" + "\n".join(problems)


@pytest.fixture
def page(new_page: NewPage) -> Page:
    """A desktop page (1280 x 800, vi-VN) with the strict checks of `new_page`."""
    return new_page()


@pytest.fixture
def live_server() -> Iterator[Callable[..., str]]:
    """Factory: `live_server(asgi_app, lifespan="auto")` serves the app with uvicorn on a free
    127.0.0.1 port in a background thread and returns its base URL; stopped at teardown."""
    servers: list[LiveServer] = []

    def serve(app: Any, *, lifespan: str = "auto") -> str:
        server = LiveServer(app, lifespan=lifespan).start()
        servers.append(server)
        return server.url

    yield serve
    for server in reversed(servers):
        server.stop()
