"""`wardcam demo`: the whole story on the embedded default, through the real HTTP API.

Set in a Vietnamese ward: a fresh data directory, the ward committee (Ủy ban nhân dân
phường Sài Gòn) and its camera at an intersection in the city centre, footage recorded
from the camera's stream (a sample file, stamped by its own clock) and indexed, a ward police
officer's purpose-bound search, a case, an extraction request approved by the ward
committee, a signed package, and its offline verification (and a tampered copy failing it).
Printed step by step.

The API is served by uvicorn on a free loopback port, in a thread of this process, and the
story talks to it over HTTP like any client.
"""

from __future__ import annotations

import secrets
import shlex
import socket
import sys
import threading
import time
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import uvicorn
from fastapi import FastAPI
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from app.db import read_session, session_scope, utcnow
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


# The story, as it happens in a Vietnamese ward: the ward committee owns the camera at a
# city-centre intersection, the ward police investigate a motorbike theft. Every text goes in
# as a phone keyboard may type it (decomposed, NFD) and must come back composed (NFC).
WARD = "Ủy ban nhân dân phường Sài Gòn"
POLICE = "Công an phường Sài Gòn"
UNIT = "Đội Cảnh sát hình sự"
PEOPLE = [
    # username, full name, role, org, in the unit
    ("ubnd.saigon", "Lê Thị Hồng Nhung", "ward", "ward", False),
    ("cb.phamminhtuan", "Phạm Minh Tuấn", "officer", "police", False),
    ("dtv.tranquoctrung", "Trần Quốc Trung", "investigator", "police", True),
]
CAMERA = {
    "name": "Ngã tư Lê Lợi - Nguyễn Huệ",
    "latitude": 10.77362,
    "longitude": 106.70183,
    "address": "Ngã tư Lê Lợi - Nguyễn Huệ, phường Sài Gòn, TP. Hồ Chí Minh",
    "timezone": "Asia/Ho_Chi_Minh",
}
PURPOSE = "Điều tra vụ trộm xe máy tại ngã tư Lê Lợi - Nguyễn Huệ"
CASE_NUMBER = "CAP-BN-2026-001"
CASE_TITLE = "Trộm cắp xe máy tại phường Sài Gòn"
REASON = "Xe máy nghi vấn đi qua ngã tư vào thời điểm xảy ra vụ việc"
NOTE = "UBND phường Sài Gòn đồng ý cung cấp đoạn trích"
LEAD = timedelta(minutes=10)
"""How long before the demo's start the footage is stamped to begin: recorded footage is in
the past, so the extraction window can never start in the future, however fast the machine."""


def _typed(text: str) -> str:
    """Text as a phone keyboard may send it: decomposed (NFD)."""
    return unicodedata.normalize("NFD", text)


def _same_text(sent: str, got: str, what: str) -> None:
    """The API must hand back the composed (NFC) form of what was sent, diacritics intact."""
    if got != unicodedata.normalize("NFC", sent):
        raise DemoFailed(f"{what} came back as {got!r}, not {unicodedata.normalize('NFC', sent)!r}")


def run_demo(
    data_dir: Path,
    footage: Path,
    settings_overrides: dict[str, Any] | None = None,
    console: Console | None = None,
    segment_seconds: float = 5,
) -> Path:
    """Runs the demo; returns the path of the verified package (the service's public key is
    written beside it, `signing-key.pem`, for `wardcam verify --trusted-key`)."""
    from app.footage.recording import record_camera
    from app.jobs.pool import InProcessPool
    from app.main import create_app
    from evidence.verify import format_report, verify_package
    from ingest.probe import probe

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
    zone = ZoneInfo(str(CAMERA["timezone"]))
    say(f"Fresh data directory {data_dir} (SQLite, local object store, in-process jobs)")
    app = create_app(settings)
    with _served(app) as client:
        ctx = app.state.ctx
        with session_scope(ctx.engine) as session:
            _, admin_key = create_user(session, None, UserCreate(username="admin", role=Role.admin))

        def h(key: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {key}"}

        say("Admin creates the ward committee, the ward police and its team, and their users")
        orgs = {}
        for key, name, kind in (("ward", WARD, "ward"), ("police", POLICE, "police")):
            orgs[key] = _ok(
                client.post(
                    "/orgs", json={"name": _typed(name), "kind": kind}, headers=h(admin_key)
                ),
                201,
            )
            _same_text(name, orgs[key]["name"], "the organisation's name")
            con.print(f"   {kind:<12} {orgs[key]['name']}")
        unit = _ok(
            client.post(
                f"/orgs/{orgs['police']['id']}/units",
                json={"name": _typed(UNIT)},
                headers=h(admin_key),
            ),
            201,
        )
        _same_text(UNIT, unit["name"], "the unit's name")
        keys = {}
        for username, full_name, role, org, in_unit in PEOPLE:
            u = _ok(
                client.post(
                    "/users",
                    json={
                        "username": username,
                        "full_name": _typed(full_name),
                        "role": role,
                        "org_id": orgs[org]["id"],
                        "unit_id": unit["id"] if in_unit else None,
                    },
                    headers=h(admin_key),
                ),
                201,
            )
            _same_text(full_name, u["full_name"], "a user's full name")
            keys[role] = u["api_key"]
            con.print(
                f"   {role:<12} {u['full_name']:<18} ({username}) key {u['api_key'][:12]}… "
                "(shown once, stored hashed)"
            )

        say("The ward registers its camera (owner approval required for extractions)")
        cam = _ok(
            client.post(
                "/cameras",
                headers=h(keys["ward"]),
                json={
                    **CAMERA,
                    "name": _typed(str(CAMERA["name"])),
                    "address": _typed(str(CAMERA["address"])),
                    "clock_offset_s": 0,
                    "retention_days": 30,
                    "sharing_policy": "owner_approval",
                    "stream_url": footage.resolve().as_uri(),
                },
            ),
            201,
        )
        _same_text(str(CAMERA["name"]), cam["name"], "the camera's name")
        _same_text(str(CAMERA["address"]), cam["address"], "the camera's address")
        con.print(
            f"   camera {cam['id']} '{cam['name']}' at {cam['latitude']},"
            f"{cam['longitude']} ({cam['timezone']}); stream URL stored encrypted"
        )
        con.print(f"   {cam['address']}")

        # The sample file stands in for the camera's stream. It is stamped by its own clock
        # (`file_start`), as footage recorded LEAD ago, and read as fast as it decodes: a
        # file read faster than real time but stamped by the wall clock would lie in the
        # future, and the extraction below would be refused (issue 15 item 1).
        file_start = (
            utcnow().replace(microsecond=0) - LEAD - timedelta(seconds=probe(footage).duration_s)
        )
        say(
            f"Recording the camera's stream into {segment_seconds:g} s segments "
            f"({footage.name}, stamped from {file_start.astimezone(zone):%H:%M:%S} local)"
        )
        segs: list[Any] = []

        def got(segment: Any) -> None:
            segs.append(segment)
            con.print(
                f"   segment {segment.id}: {segment.start.astimezone(zone):%H:%M:%S} "
                f"{segment.duration_s:5.1f}s sha256 {segment.sha256[:16]}…"
                + (" (stream ended)" if segment.truncated else "")
            )

        record_camera(
            ctx,
            cam["id"],
            stop=threading.Event(),
            segment_seconds=segment_seconds,
            max_segments=4,
            on_segment=got,
            file_start=file_start,
        )
        if not segs:
            raise DemoFailed("no segment was recorded")
        if segs[-1].end > utcnow():
            raise DemoFailed(f"footage stamped in the future: it ends {segs[-1].end}")

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

        say("An officer searches: what passed within 300 m of the intersection? (purpose logged)")
        r = _ok(
            client.get(
                "/events",
                headers=h(keys["officer"]),
                params={
                    "from": (first - timedelta(minutes=1)).isoformat(),
                    "to": (last + timedelta(minutes=1)).isoformat(),
                    "near": f"{CAMERA['latitude']},{CAMERA['longitude']}",
                    "radius_m": 300,
                    "limit": 500,
                    "purpose": _typed(PURPOSE),
                },
            )
        )
        counts = Counter(e["label"] for e in r["items"])
        con.print(
            "   " + ", ".join(f"{n} {label}" for label, n in counts.most_common())
            if counts
            else "   no sightings"
        )
        con.print(f"   purpose: “{unicodedata.normalize('NFC', PURPOSE)}”")

        # A window inside the footage that spans the cut between the first two segments.
        start = first + min(timedelta(seconds=5), (segs[0].end - first) * 0.6)
        end = min(start + timedelta(seconds=15), last - timedelta(seconds=0.5))
        if end <= start:
            raise DemoFailed(f"the footage is too short ({(last - first).total_seconds():.1f} s)")
        say(
            f"The investigator opens a case and requests {(end - start).total_seconds():.1f} s "
            "of footage across segments"
        )
        case = _ok(
            client.post(
                "/cases",
                headers=h(keys["investigator"]),
                json={"number": CASE_NUMBER, "title": _typed(CASE_TITLE)},
            ),
            201,
        )
        _same_text(CASE_TITLE, case["title"], "the case's title")
        ex = _ok(
            client.post(
                f"/cases/{case['id']}/extractions",
                headers=h(keys["investigator"]),
                json={
                    "camera_ids": [cam["id"]],
                    "from": start.astimezone(zone).isoformat(),
                    "to": end.astimezone(zone).isoformat(),
                    "reason": _typed(REASON),
                },
            ),
            201,
        )
        con.print(
            f"   request {ex['id']} under case {case['number']} “{case['title']}”: {ex['state']}"
        )
        con.print(
            f"   {start.astimezone(zone):%H:%M:%S} to {end.astimezone(zone):%H:%M:%S} "
            f"{CAMERA['timezone']} (sent with +07:00, stored and returned as UTC: "
            f"{ex['from']} … {ex['to']})"
        )

        say("The ward committee reviews and approves it")
        pending = _ok(
            client.get("/extractions", params={"state": "pending"}, headers=h(keys["ward"]))
        )
        _same_text(REASON, pending[0]["reason"], "the request's reason")
        con.print(
            f"   ward sees: case {pending[0]['case_number']}, by "
            f"{pending[0]['requested_by_name']}: “{pending[0]['reason']}”"
        )
        d = _ok(
            client.post(
                f"/extractions/{ex['id']}/decision",
                headers=h(keys["ward"]),
                json={"decision": "approve", "note": _typed(NOTE)},
            )
        )
        con.print(f"   decision recorded: {d['state']} (“{unicodedata.normalize('NFC', NOTE)}”)")

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
        key_file = data_dir / "signing-key.pem"
        key_file.write_text(trusted)
        report = verify_package(pkg, trusted.encode())
        lines = format_report(report).splitlines()
        shown = [ln for ln in lines if "originals/" in ln or "clips/" in ln or "manifest" in ln][:6]
        for ln in [*shown, f"… {len(report.items)} checks in all", lines[-1]]:
            con.print("   " + ln, markup=False, highlight=False)
        if not report.ok:
            raise DemoFailed("the package did not verify")
        con.print(f"   offline: wardcam verify {pkg} --trusted-key {key_file}")

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
        people = _console_passwords(ctx, ["admin", *(p[0] for p in PEOPLE)])
        serve = serve_command(data_dir)
        con.print(
            f"\n[bold green]Demo complete.[/] Admin key for `{serve}`: {admin_key}",
            soft_wrap=True,  # a command and a key to copy: never broken across lines
        )
        con.print(
            f"\n[bold]The console[/]: run `{serve}` and open "
            f"{CONSOLE_URL} (Vietnamese; English from the language switch). Sign in as:",
            soft_wrap=True,
        )
        roles = {"admin": "admin", **{p[0]: p[2] for p in PEOPLE}}
        for username, password in people.items():
            con.print(
                f"   {roles[username]:<12} user name {username:<20} password {password}",
                markup=False,
                highlight=False,
                soft_wrap=True,
            )
    return pkg


CONSOLE_URL = "http://127.0.0.1:8000/"
"""Where `wardcam serve` listens by default."""


def serve_command(data_dir: Path) -> str:
    """The command that serves the demo's data as the demo did: in dev mode, whose secret is the
    data directory's `dev-secret.key` (the API key and the sessions depend on it; without
    `WARDCAM_DEV=1` serve refuses to start for want of `WARDCAM_SECRET_KEY`), through the
    `wardcam` of this environment (`.venv/bin/wardcam` after `scripts/demo.sh`: not on PATH)."""
    script = Path(sys.executable).with_name("wardcam")
    if script.is_file():
        try:
            program = str(script.relative_to(Path.cwd()))
        except ValueError:
            program = str(script)
    else:
        program = "wardcam"
    data = shlex.quote(str(data_dir))
    return f"WARDCAM_DEV=1 WARDCAM_DATA_DIR={data} {shlex.quote(program)} serve"


def _console_passwords(ctx: Any, usernames: list[str]) -> dict[str, str]:
    """A fresh random password for each demo person (people otherwise set theirs through a
    one-time invitation link); printed once, stored as argon2id hashes, audited."""
    from app.identity import repository as identity
    from app.signin.service import set_password

    out: dict[str, str] = {}
    with session_scope(ctx.engine) as session:
        for username in usernames:
            user = identity.user_named(session, username)
            if user is None or user.id is None:
                raise DemoFailed(f"demo user {username} is missing")
            out[username] = secrets.token_urlsafe(12)
            set_password(session, user.id, out[username])
    return out


def _tamper_copy(src: Path, dst: Path) -> None:
    """Copy the package with one byte of its first clip flipped."""
    data = bytearray(src.read_bytes())
    with zipfile.ZipFile(src) as z:
        info = next(i for i in z.infolist() if i.filename.endswith("clip.mp4"))
    at = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + 500
    data[at] ^= 0xFF
    dst.write_bytes(bytes(data))
