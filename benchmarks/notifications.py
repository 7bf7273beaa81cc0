"""Notification delivery latency: from the event to the webhook's receipt.

A served wardcam (`python -m app serve`, the embedded default: the in-process job pool)
and a webhook receiver on loopback (a real HTTP server in a thread, checking every
signature). A ward subscribes its webhook to "extraction awaiting"; an investigator files
extraction requests on the ward's camera, one at a time at a steady pace, then a burst of
them at once. Latency is the receipt time at the receiver minus the notification's
`occurred_at` (written in the request's transaction: the event), on one clock.

    .venv/bin/python -m benchmarks.notifications            # 100 paced + 50 in a burst
    .venv/bin/python -m benchmarks.notifications --paced 300 --burst 100

The last line is the headline: the p95 of the paced run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from app.notifications.senders import verify
from benchmarks._common import Served, served
from tests.servers.webhook import WebhookReceiver

ENV = {"WARDCAM_LOG_LEVEL": "WARNING", "WARDCAM_NOTIFY_ALLOW_PRIVATE_TARGETS": "1"}
"""The receiver listens on loopback, which webhooks may not reach by default."""


def _setup(s: Served, hook_url: str) -> tuple[str, int, int, str]:
    """A ward with a camera and a webhook; police with an investigator and a case. Returns
    (investigator key, case id, camera id, webhook secret)."""

    def post(path: str, body: dict[str, object], key: str | None = None) -> dict[str, object]:
        r = httpx.post(f"{s.base}{path}", json=body, headers=s.h(key), timeout=30)
        r.raise_for_status()
        return dict(r.json())

    ward = post("/orgs", {"name": "Phường Hàng Bài", "kind": "ward"})
    police = post("/orgs", {"name": "Công an quận", "kind": "police"})
    unit = post(f"/orgs/{police['id']}/units", {"name": "Đội điều tra"})
    wu = post("/users", {"username": "phuong", "role": "ward", "org_id": ward["id"]})
    inv = post(
        "/users",
        {
            "username": "dieutra",
            "role": "investigator",
            "org_id": police["id"],
            "unit_id": unit["id"],
        },
    )
    ward_key, inv_key = str(wu["api_key"]), str(inv["api_key"])
    cam = post(
        "/cameras",
        {"name": "Ngã tư", "latitude": 21.02, "longitude": 105.85, "timezone": "Asia/Ho_Chi_Minh"},
        ward_key,
    )
    ch = post(
        f"/orgs/{ward['id']}/notifications/channels",
        {"kind": "webhook", "name": "trực ban", "url": hook_url, "events": ["extraction_awaiting"]},
        ward_key,
    )
    case = post("/cases", {"number": "BENCH-1", "title": "bench"}, inv_key)
    return inv_key, int(str(case["id"])), int(str(cam["id"])), str(ch["secret"])


def _request(s: Served, key: str, case_id: int, cam: int) -> None:
    t = datetime.now(UTC) - timedelta(hours=1)
    r = httpx.post(
        f"{s.base}/cases/{case_id}/extractions",
        json={
            "camera_ids": [cam],
            "from": t.isoformat(),
            "to": (t + timedelta(minutes=5)).isoformat(),
            "reason": "benchmark of notification latency",
        },
        headers=s.h(key),
        timeout=30,
    )
    r.raise_for_status()


def _latencies(
    hook: WebhookReceiver, secret: str, first: int, n: int, timeout: float
) -> list[float]:
    deadline = time.monotonic() + timeout
    while len(hook.received) < first + n and time.monotonic() < deadline:
        with hook.arrived:
            hook.arrived.wait(0.5)
    got = hook.received[first : first + n]
    if len(got) < n:
        raise SystemExit(f"only {len(got)} of {n} notifications arrived within {timeout:.0f} s")
    out = []
    for x in got:
        if not verify(
            secret, x.headers["X-Wardcam-Timestamp"], x.body, x.headers["X-Wardcam-Signature"]
        ):
            raise SystemExit("a notification arrived with a bad signature")
        body = json.loads(x.body)
        at = datetime.fromisoformat(body["occurred_at"].replace("Z", "+00:00")).timestamp()
        out.append((x.at - at) * 1000)
    return out


def _summary(name: str, ms: list[float]) -> str:
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return (
        f"{name}: n={len(ms)} p50 {statistics.median(ms):.1f} ms, p95 {q[94]:.1f} ms, "
        f"max {max(ms):.1f} ms"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paced", type=int, default=100, help="events one at a time")
    ap.add_argument("--rate", type=float, default=5.0, help="paced events per second")
    ap.add_argument("--burst", type=int, default=50, help="events filed at once")
    args = ap.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="wardcam-bench-notify-") as tmp,
        WebhookReceiver() as hook,
        served(
            Path(tmp), {"WARDCAM_LOG_LEVEL": "WARNING", "WARDCAM_NOTIFY_ALLOW_PRIVATE_TARGETS": "1"}
        ) as s,
    ):
        key, case_id, cam, secret = _setup(s, hook.url)
        _request(s, key, case_id, cam)  # warm-up (connections, first job)
        _latencies(hook, secret, 0, 1, 60)
        start = len(hook.received)
        for _ in range(args.paced):
            t0 = time.monotonic()
            _request(s, key, case_id, cam)
            time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - t0)))
        paced = _latencies(hook, secret, start, args.paced, 120)
        start = len(hook.received)
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: _request(s, key, case_id, cam), range(args.burst)))
        burst = _latencies(hook, secret, start, args.burst, 300)
    print(_summary(f"burst ({args.burst} requests from 8 threads)", burst))
    print(
        "notification delivery latency, event to webhook receipt (in-process pool, loopback "
        "receiver, signature checked): " + _summary(f"paced {args.rate:g}/s", paced)
    )


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
