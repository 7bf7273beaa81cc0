"""`wardcam demo`: the whole story on the embedded default, through the real HTTP API.

A fresh data directory, a ward and its camera, footage recorded from the camera's stream
(a sample file here) and indexed, an officer's purpose-bound search, a case, an extraction
request approved by the ward, a signed package, and its offline verification (and a tampered
copy failing it). Printed step by step.

The API is served by uvicorn on a free loopback port, in a thread of this process, and the
story talks to it over HTTP like any client.
"""

from __future__ import annotations

import socket
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from app.db import read_session, session_scope
from app.identity.models import Role
from app.identity.schemas import UserCreate
from app.identity.service import create_user
from app.jobs import repository as jobs
from app.jobs.models import JobState
from app.settings import Settings


class DemoFailed(RuntimeError):
    pass


@contextmanager
def _served(app: FastAPI, start_timeout: float = 120.0) -> Iterator[httpx.Client]:
    """The app behind a real uvicorn server on a free loopback port; a client for it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="wardcam-demo-api", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise DemoFailed("the API did not start (see the log above)")
            time.sleep(0.05)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120.0) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=60)
        sock.close()


def _ok(r: Any, status: int = 200) -> Any:
    if r.status_code != status:
        raise DemoFailed(f"{r.request.method} {r.request.url.path} -> {r.status_code}: {r.text}")
    return r.json() if r.headers.get("content-type", "").startswith("application/json") else r


def run_demo(
    data_dir: Path,
    footage: Path,
    settings_overrides: dict[str, Any] | None = None,
    console: Console | None = None,
) -> Path:
    """Runs the demo; returns the path of the verified package."""
    from app.footage.recording import record_camera
    from app.jobs.pool import InProcessPool
    from app.main import create_app
    from evidence.verify import format_report, verify_package

    con = console or Console()
    step = iter(range(1, 100))

    def say(text: str) -> None:
        con.print(f"\n[bold cyan]{next(step)}.[/] [bold]{text}[/]")

    settings = Settings(
        data_dir=data_dir,
        dev=True,
        allow_file_streams=True,
        job_workers=0,
        **(settings_overrides or {}),
    )
    say(f"Fresh data directory {data_dir} (SQLite, local object store, in-process jobs)")
    app = create_app(settings)
    with _served(app) as client:
        ctx = app.state.ctx
        with session_scope(ctx.engine) as session:
            _, admin_key = create_user(session, None, UserCreate(username="admin", role=Role.admin))

        def h(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        say("Admin creates a ward committee, a police unit and their users")
        ward = _ok(
            client.post(
                "/orgs", json={"name": "Ward 4 committee", "kind": "ward"}, headers=h(admin_key)
            ),
            201,
        )
        police = _ok(
            client.post(
                "/orgs", json={"name": "Metro police", "kind": "police"}, headers=h(admin_key)
            ),
            201,
        )
        cid = _ok(
            client.post(
                f"/orgs/{police['id']}/units", json={"name": "CID"}, headers=h(admin_key)
            ),
            201,
        )
        keys = {}
        for name, role, org, unit in [
            ("ward4", "ward", ward, None),
            ("officer.rai", "officer", police, None),
            ("inspector.kc", "investigator", police, cid["id"]),
        ]:
            u = _ok(
                client.post(
                    "/users",
                    json={"username": name, "role": role, "org_id": org["id"], "unit_id": unit},
                    headers=h(admin_key),
                ),
                201,
            )
            keys[role] = u["api_key"]
            con.print(
                f"   {role:<12} {name:<13} key {u['api_key'][:16]}… (shown once, stored hashed)"
            )

        say("The ward registers its camera (owner approval required for extractions)")
        cam = _ok(
            client.post(
                "/cameras",
                headers=h(keys["ward"]),
                json={
                    "name": "Chowk north",
                    "latitude": 27.7172,
                    "longitude": 85.3240,
                    "address": "Ward 4 chowk",
                    "timezone": "Asia/Kathmandu",
                    "clock_offset_s": 0,
                    "retention_days": 30,
                    "sharing_policy": "owner_approval",
                    "stream_url": footage.resolve().as_uri(),
                },
            ),
            201,
        )
        con.print(
            f"   camera {cam['id']} '{cam['name']}' at {cam['latitude']},"
            f"{cam['longitude']} ({cam['timezone']}); stream URL stored encrypted"
        )

        say(f"Recording the camera's stream into 10 s segments ({footage.name})")
        segs: list[Any] = []

        def got(segment: Any) -> None:
            segs.append(segment)
            con.print(
                f"   segment {segment.id}: {segment.start:%H:%M:%S}Z "
                f"{segment.duration_s:5.1f}s sha256 {segment.sha256[:16]}…"
                + (" (stream ended)" if segment.truncated else "")
            )

        record_camera(
            ctx,
            cam["id"],
            stop=threading.Event(),
            segment_seconds=10,
            max_segments=3,
            on_segment=got,
        )
        if not segs:
            raise DemoFailed("no segment was recorded")

        say("Indexing: motion-gated YOLO + tracking, one event per tracked object")
        pool = InProcessPool(ctx, 0)
        with read_session(ctx.engine) as session:
            total = jobs.count(session)
        with Progress(
            TextColumn("   {task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total} jobs"),
            TimeElapsedColumn(),
            console=con,
        ) as progress:
            task = progress.add_task("indexing", total=total)
            while pool.run_until_idle(max_jobs=1):
                progress.advance(task)
        for s in segs:
            seg = _ok(client.get(f"/segments/{s.id}", headers=h(keys["ward"])))
            if seg["job"]["state"] != JobState.done:
                raise DemoFailed(f"segment {s.id} job {seg['job']['state']}: {seg['job']['error']}")
        first, last = segs[0].start, segs[-1].end

        say("An officer searches: what passed within 300 m of the chowk? (purpose logged)")
        r = _ok(
            client.get(
                "/events",
                headers=h(keys["officer"]),
                params={
                    "from": (first - timedelta(minutes=1)).isoformat(),
                    "to": (last + timedelta(minutes=1)).isoformat(),
                    "near": "27.7172,85.3240",
                    "radius_m": 300,
                    "limit": 500,
                    "purpose": "demo: vehicle theft reported near Ward 4 chowk",
                },
            )
        )
        counts = Counter(e["label"] for e in r["items"])
        con.print(
            "   " + ", ".join(f"{n} {label}" for label, n in counts.most_common())
            if counts
            else "   no sightings"
        )

        say("The investigator opens a case and requests 15 s of footage across segments")
        case = _ok(
            client.post(
                "/cases",
                headers=h(keys["investigator"]),
                json={"number": "CID-DEMO-001", "title": "Vehicle theft, Ward 4"},
            ),
            201,
        )
        start = first + timedelta(seconds=5)
        ex = _ok(
            client.post(
                f"/cases/{case['id']}/extractions",
                headers=h(keys["investigator"]),
                json={
                    "camera_ids": [cam["id"]],
                    "from": start.isoformat(),
                    "to": (start + timedelta(seconds=15)).isoformat(),
                    "reason": "suspect vehicle seen at the chowk",
                },
            ),
            201,
        )
        con.print(f"   request {ex['id']} under case {case['number']}: {ex['state']}")

        say("The ward committee reviews and approves it")
        pending = _ok(
            client.get("/extractions", params={"state": "pending"}, headers=h(keys["ward"]))
        )
        con.print(
            f"   ward sees: case {pending[0]['case_number']}, by "
            f"{pending[0]['requested_by_name']}: “{pending[0]['reason']}”"
        )
        d = _ok(
            client.post(
                f"/extractions/{ex['id']}/decision",
                headers=h(keys["ward"]),
                json={"decision": "approve", "note": "approved by committee"},
            )
        )
        con.print(f"   decision recorded: {d['state']}")

        say("Fulfilment: re-hash originals, cut by stream copy, package, sign")
        pool.run_until_idle()
        done = _ok(client.get(f"/extractions/{ex['id']}", headers=h(keys["investigator"])))
        if done["state"] != "ready":
            raise DemoFailed(f"extraction ended {done['state']}: {done['error']}")
        r = client.get(f"/extractions/{ex['id']}/package", headers=h(keys["investigator"]))
        _ok(r)
        pkg = data_dir / f"evidence-{case['number']}-{ex['id']}.zip"
        pkg.write_bytes(r.content)
        con.print(f"   {pkg} ({len(r.content)} bytes, sha256 {done['package_sha256'][:16]}…)")

        say("Anyone can verify the package offline (wardcam verify)")
        trusted = _ok(client.get("/.well-known/wardcam-signing-key"))["public_key_pem"]
        report = verify_package(pkg, trusted.encode())
        lines = format_report(report).splitlines()
        shown = [ln for ln in lines if "originals/" in ln or "clips/" in ln or "manifest" in ln][:6]
        for ln in [*shown, f"… {len(report.items)} checks in all", lines[-1]]:
            con.print("   " + ln, markup=False, highlight=False)
        if not report.ok:
            raise DemoFailed("the package did not verify")

        say("A tampered copy fails verification")
        bad = data_dir / "tampered.zip"
        _tamper_copy(pkg, bad)
        report = verify_package(bad, trusted.encode())
        failed = [v for v in report.items if not v.ok]
        con.print(
            f"   verdict: {'OK' if report.ok else 'FAILED'} — "
            + "; ".join(f"{v.name}: {v.message}" for v in failed[:2])
        )
        if report.ok:
            raise DemoFailed("tampering went unnoticed")

        say("The ward reads every access to its camera; the audit chain is intact")
        log = _ok(
            client.get(
                f"/cameras/{cam['id']}/access-log", params={"limit": 500}, headers=h(keys["ward"])
            )
        )["items"]
        for e in reversed(log[:8]):
            con.print(
                f"   {e['ts'][:19]} {e['action']:<26} user {e['actor_user_id']} "
                f"{e['purpose'] or ''}"[:100]
            )
        chain = _ok(client.get("/audit/verify", headers=h(admin_key)))
        con.print(
            f"   audit chain: {'intact' if chain['ok'] else 'BROKEN'}, {chain['entries']} entries"
        )
        con.print(
            f"\n[bold green]Demo complete.[/] Admin key for `wardcam serve` with "
            f"WARDCAM_DATA_DIR={data_dir}: {admin_key}"
        )
    return pkg


def _tamper_copy(src: Path, dst: Path) -> None:
    """Copy the package with one byte of its first clip flipped."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("clip.mp4"))
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 500
    data[at] ^= 0xFF
    dst.write_bytes(bytes(data))
