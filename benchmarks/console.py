"""The console's search-results fragment at scale: the synthetic city of `benchmarks.search`
(10 M events on SQLite by default), an officer signed in with a console session, and the
query mix of that benchmark sent as the search form sends it.

    .venv/bin/python -m benchmarks.console                      # 10 M events, SQLite
    .venv/bin/python -m benchmarks.console --events 1000000
    .venv/bin/python -m benchmarks.console --db /tmp/x/wardcam.db   # reuse a kept database

Timed, in process (httpx's ASGI transport, no network), each request from the request to
the last byte of the body:
- `GET /search/results?...` with `HX-Request`: the fragment htmx swaps in when the officer
  presses search (first page: 48 thumbnails' markup, the audit entry, the "load more" link,
  the histogram placeholder);
- deep pages: `GET /search/results?...&cursor=...` (the "load more" of page 2 to 10, only the
  deep page timed), as the grid loads more;
- `GET /search/histogram?...`: the histogram fragment htmx fetches after the thumbnails;
- `GET /events` with the same first-page searches (limit 48), for comparison under the same
  machine load (the session cookie works for the API's reads too).
The windows are typed in the cameras' zone (Asia/Kathmandu here), as the form sends them.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from benchmarks import search as city_bench

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "benchmark password 2026"  # noqa: S105  (a throwaway database)
ZONE = ZoneInfo("Asia/Kathmandu")
MORE = re.compile(r'hx-get="(/search/results\?[^"]*cursor=[^"]+)"')


def form_params(spec: city_bench.Spec) -> list[tuple[str, Any]]:
    """The search form's query string for a spec of `benchmarks.search`."""
    out: list[tuple[str, Any]] = [
        ("go", "1"),
        ("from", spec.start.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")),
        ("to", spec.end.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")),
        ("purpose", "benchmark: routine patrol review"),
    ]
    out += list(spec.place.items())
    out += [("label", v) for v in spec.labels]
    out += [("color", v) for v in spec.colors]
    out += [("camera_id", v) for v in spec.camera_ids]
    return out


def session_token(url: str, user_id: int, settings: Any) -> str:
    """A console session for the benchmark's officer (a password, then the sign-in rule)."""
    from sqlmodel import Session

    from app.db import make_engine
    from app.signin import service as signin

    engine = make_engine(url, pool=False)
    with Session(engine) as s:
        signin.set_password(s, user_id, PASSWORD)
        s.commit()
        got = signin.sign_in(s, settings, "officer", PASSWORD, "127.0.0.1")
        s.commit()
    engine.dispose()
    assert got.outcome == "ok" and got.token, got.outcome
    return got.token


def run(
    url: str, user_id: int, specs: list[city_bench.Spec], data_dir: Path, histograms: int
) -> dict[str, list[float]]:
    import httpx

    from app.main import create_app
    from app.settings import Settings
    from app.signin.service import SESSION_COOKIE

    settings = Settings(
        data_dir=data_dir,
        database_url=url,
        storage_url=f"file://{data_dir / 'objects'}",
        secret_key=city_bench.SECRET,
        job_workers=0,
    )
    token = session_token(url, user_id, settings)
    app = create_app(settings)
    out: dict[str, list[float]] = {
        "first": [],
        "deep": [],
        "histogram": [],
        "api": [],
        "rows": [],
    }
    headers = {"HX-Request": "true"}

    async def go() -> None:
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=transport, base_url="http://wardcam", cookies={SESSION_COOKIE: token}
            ) as client,
        ):
            for i, spec in enumerate(specs):
                params = form_params(spec)
                path: str | None = None
                for _ in range(spec.page - 1):  # walk to the deep page, untimed
                    r = await client.get(
                        path or "/search/results", params=None if path else params, headers=headers
                    )
                    found = MORE.search(r.text)
                    if found is None:
                        break
                    path = html.unescape(found.group(1))
                t = time.perf_counter()
                if path:
                    r = await client.get(path, headers=headers)
                else:
                    r = await client.get("/search/results", params=params, headers=headers)
                body = r.content
                elapsed = (time.perf_counter() - t) * 1000
                assert r.status_code == 200 and b'role="alert"' not in body, body[:800]
                out["deep" if path else "first"].append(elapsed)
                out["rows"].append(body.count(b'class="thumb"'))
                if not path:  # the same search through the API, for comparison
                    api = [(k, v) for k, v in params if k not in ("go", "from", "to")]
                    api += [("from", spec.start.isoformat()), ("to", spec.end.isoformat())]
                    api += [("limit", 48)]
                    t = time.perf_counter()
                    a = await client.get("/events", params=api)
                    _ = a.content
                    out["api"].append((time.perf_counter() - t) * 1000)
                    assert a.status_code == 200, a.text[:500]
                if i < histograms and not path:
                    t = time.perf_counter()
                    h = await client.get("/search/histogram", params=params, headers=headers)
                    _ = h.content
                    out["histogram"].append((time.perf_counter() - t) * 1000)
                    assert h.status_code == 200, h.text[:500]
                if (i + 1) % 100 == 0:
                    done = out["first"] + out["deep"]
                    city_bench.log(
                        f"  {i + 1} queries, p95 so far {city_bench.pct(done, 95):.1f} ms"
                    )

    asyncio.run(go())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=10_000_000)
    ap.add_argument("--cameras", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--histograms", type=int, default=200, help="first pages also timed so")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--db", type=Path, help="a database kept by --keep (skips loading)")
    ap.add_argument("--keep", action="store_true", help="keep the database (prints where)")
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    city = city_bench.make_city(np.random.default_rng(args.seed), args.cameras)
    if args.db:
        url, cleanup = f"sqlite:///{args.db}", None
        user_id = 1
        from sqlalchemy import create_engine, text

        with create_engine(url).connect() as con:
            user_id = con.execute(
                text("SELECT id FROM user_account WHERE username='officer'")
            ).scalar_one()
            cam_ids = [r[0] for r in con.execute(text("SELECT id FROM camera ORDER BY id"))]
        size = sum(p.stat().st_size for p in args.db.parent.iterdir())
        loaded = city_bench.Loaded(url, cam_ids, user_id, "", 0.0, {}, size, lambda: None)
    else:
        city_bench.log(f"sqlite: loading {args.events:,} events ({args.cameras} cameras)")
        loaded = city_bench.load_sqlite(city, args.events, args.seed)
        city_bench.log(
            f"sqlite: loaded in {loaded.load_s:.0f} s, {loaded.size_bytes / 2**30:.2f} GiB"
        )
        cleanup = loaded.cleanup
    try:
        city_bench.warm(loaded)
        specs = city_bench.make_specs(
            np.random.default_rng(args.seed + 1), city, loaded.cam_ids, args.queries
        )
        warmup = city_bench.make_specs(
            np.random.default_rng(args.seed + 9), city, loaded.cam_ids, 20
        )
        for s in warmup:
            s.page = 1
        data_dir = Path(tempfile.mkdtemp(prefix="wardcam_bench_console_"))
        try:
            city_bench.log(
                f"{len(specs)} searches through the console (load {city_bench.load_avg()})"
            )
            got = run(loaded.url, loaded.user_id, warmup + specs, data_dir, args.histograms + 20)
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
        first, deep = got["first"][20:], got["deep"]
        hist = got["histogram"][20:]
        print(f"load average at the end: {city_bench.load_avg()}")
        print(f"console search-results fragment, {args.events / 1e6:g} M events, SQLite:")
        print(f"  first page (48)  {city_bench.summary(first)}")
        print(f"  deep page        {city_bench.summary(deep)}")
        print(f"  all              {city_bench.summary(first + deep)}")
        print(f"  histogram        {city_bench.summary(hist)}")
        print(f"  GET /events, same first pages (limit 48) {city_bench.summary(got['api'][20:])}")
        print(f"  thumbnails per fragment: mean {statistics.mean(got['rows'][20:]):.1f}")
    finally:
        if args.keep and cleanup is not None:
            city_bench.log(f"kept at {loaded.url}")
        elif cleanup is not None:
            cleanup()


if __name__ == "__main__":
    main()
