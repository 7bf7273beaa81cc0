"""Uploading footage: originals stored unchanged, one segment per distinct file, a job each,
and every kind of bad upload refused with nothing left behind."""

from __future__ import annotations

import hashlib
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import cv2
import httpx
import pytest

from tests.conftest import FOOTAGE, World
from tests.helpers import process_env, served_api
from tests.ingest.media import first_frame_bgr, make_audio_only

CLIP = FOOTAGE / "street_crossing_day.mp4"
START = "2024-05-01T10:00:00+05:45"


def _upload(
    world: World, cam: int, data: bytes, who: str = "ward_a", **params: str
) -> httpx.Response:
    params.setdefault("start", START)
    return world.client.post(
        f"/cameras/{cam}/footage",
        params=params,
        content=data,
        headers={**world.h(who), "Content-Type": "video/mp4"},
    )


def _objects(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    root = Path(settings.storage_url.removeprefix("file://"))
    return [p for p in root.rglob("*") if p.is_file() and "footage" in p.parts]


def _spool_leftovers(settings) -> list[Path]:  # type: ignore[no-untyped-def]
    spool = settings.data_dir / "spool"
    return list(spool.iterdir()) if spool.exists() else []


def test_upload_stores_original_unchanged(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    cam = world.camera(clock_offset_s=2.5)
    data = CLIP.read_bytes()
    r = _upload(world, cam["id"], data)
    assert r.status_code == 201, r.text
    seg = r.json()
    assert seg["sha256"] == hashlib.sha256(data).hexdigest() and seg["size"] == len(data)
    assert seg["video_codec"] == "h264" and (seg["width"], seg["height"]) == (640, 360)
    assert seg["fps"] == pytest.approx(23.98, abs=0.01)
    assert seg["duration_s"] == pytest.approx(7.2, abs=0.1)
    raw = datetime.fromisoformat(START)
    assert datetime.fromisoformat(seg["start_raw"]) == raw
    # The camera's clock runs 2.5 s fast: the corrected start is 2.5 s earlier.
    assert datetime.fromisoformat(seg["start"]) == raw - timedelta(seconds=2.5)
    assert seg["start_source"] == "request" and seg["source"] == "upload"
    assert seg["job"]["kind"] == "index_segment" and seg["job"]["state"] == "pending"
    [obj] = _objects(settings)
    assert obj.read_bytes() == data
    assert f"cam{cam['id']}" in str(obj) and "20240501T041457Z" in obj.name
    # Same bytes again: 200 with the same segment, nothing duplicated.
    again = _upload(world, cam["id"], data, start="2024-05-02T00:00:00Z")
    assert again.status_code == 200 and again.json()["id"] == seg["id"]
    assert len(_objects(settings)) == 1 and world.count("segment") == 1
    assert world.count("job") == 1
    assert _spool_leftovers(settings) == []
    # The upload is in the camera's access log.
    log = world.client.get(f"/cameras/{cam['id']}/access-log", headers=world.h("ward_a"))
    assert log.json()["items"][0]["action"] == "footage.upload"


def test_start_from_metadata_or_clear_error(world: World, tmp_path: Path) -> None:
    import av

    cam = world.camera()
    src = FOOTAGE / "driveway_ir_night.mp4"
    stamped = tmp_path / "stamped.mp4"
    with av.open(str(src)) as i, av.open(str(stamped), "w") as o:
        o.metadata["creation_time"] = "2023-03-04T05:06:07.000000Z"
        s = o.add_stream_from_template(i.streams.video[0])
        for pkt in i.demux(i.streams.video[0]):
            if pkt.dts is None:
                continue
            pkt.stream = s
            o.mux(pkt)
    r = world.client.post(
        f"/cameras/{cam['id']}/footage", content=stamped.read_bytes(), headers=world.h("ward_a")
    )
    assert r.status_code == 201, r.text
    assert r.json()["start_source"] == "metadata"
    assert r.json()["start_raw"].startswith("2023-03-04T05:06:07")
    # The shared clip has no creation time: no start → a clear error.
    r = world.client.post(
        f"/cameras/{cam['id']}/footage", content=CLIP.read_bytes(), headers=world.h("ward_a")
    )
    assert r.status_code == 422 and r.json()["code"] == "no_start_time"


def test_job_runs_and_segment_shows_state(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    from app.jobs.pool import InProcessPool

    cam = world.camera()
    seg = _upload(world, cam["id"], CLIP.read_bytes()).json()
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    assert InProcessPool(ctx, 0).run_until_idle() == 1
    r = world.client.get(f"/segments/{seg['id']}", headers=world.h("officer"))
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "indexed" and body["job"]["state"] == "done"
    assert body["job"]["attempts"] == 1 and body["job"]["progress_total"] > 0
    assert body["job"]["progress_done"] == body["job"]["progress_total"]
    # The street-crossing clip: cars, a bus, motorcycles and people, each with a thumbnail.
    from sqlalchemy import text

    with ctx.engine.connect() as conn:
        rows = conn.execute(text("SELECT label, thumbnail_key FROM event")).all()
    assert {"car", "bus", "motorcycle", "person"} <= {label for label, _ in rows}
    for _, key in rows:
        assert b"".join(ctx.store.iter_chunks(key))[:2] == b"\xff\xd8"  # JPEG
    # Indexing again replaces the events, never duplicates them.
    from app.db import session_scope
    from app.jobs import repository as jobs
    from app.jobs.models import Job

    with session_scope(ctx.engine) as s:
        job = s.get(Job, body["job"]["id"])
        assert job is not None
        jobs.reset(s, job)
    assert InProcessPool(ctx, 0).run_until_idle() == 1
    assert world.count("event") == len(rows)


def test_coverage_lists_segments_and_gaps(world: World) -> None:
    cam = world.camera(clock_offset_s=0)
    base = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    clips = [FOOTAGE / "street_crossing_day.mp4", FOOTAGE / "driveway_ir_night.mp4"]
    starts = [base, base + timedelta(seconds=60)]
    for clip, start in zip(clips, starts, strict=True):
        r = _upload(world, cam["id"], clip.read_bytes(), start=start.isoformat())
        assert r.status_code == 201
    r = world.client.get(
        f"/cameras/{cam['id']}/footage",
        headers=world.h("officer"),
        params={
            "from": (base - timedelta(seconds=30)).isoformat(),
            "to": (base + timedelta(seconds=120)).isoformat(),
        },
    )
    assert r.status_code == 200, r.text
    cov = r.json()
    assert len(cov["segments"]) == 2
    gaps = [(g["start"], g["seconds"]) for g in cov["gaps"]]
    assert len(gaps) == 3
    assert gaps[0][1] == pytest.approx(30)
    assert gaps[1][1] == pytest.approx(60 - 7.2, abs=0.1)
    assert cov["covered_seconds"] == pytest.approx(7.2 + 11.9, abs=0.2)
    # An officer's look at coverage is audited for the camera's owner.
    log = world.client.get(f"/cameras/{cam['id']}/access-log", headers=world.h("ward_a")).json()
    assert log["items"][0]["action"] == "footage.list"
    for bad in (
        {"from": base.isoformat(), "to": (base - timedelta(1)).isoformat()},
        {"from": base.isoformat(), "to": (base + timedelta(days=40)).isoformat()},
        {"from": "2024-06-01T12:00:00", "to": "2024-06-01T13:00:00"},
    ):
        r = world.client.get(
            f"/cameras/{cam['id']}/footage", params=bad, headers=world.h("officer")
        )
        assert r.status_code == 422 and r.json()["code"], bad


@pytest.fixture(scope="module")
def bad_uploads(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    d = tmp_path_factory.mktemp("bad-uploads")
    data = CLIP.read_bytes()
    ok, jpg = cv2.imencode(".jpg", first_frame_bgr(CLIP))
    assert ok
    return {
        "text": b"minutes of the ward committee meeting\n" * 100,
        "jpeg": jpg.tobytes(),
        "empty": b"",
        "truncated": data[: len(data) // 2],
        "audio_only": make_audio_only(d / "tone.m4a").read_bytes(),
    }


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("text", 422, "not_video"),
        ("jpeg", 422, "not_video"),
        ("empty", 422, "empty_file"),
        ("truncated", 422, "truncated_video"),
        ("audio_only", 422, "no_video_stream"),
    ],
)
def test_bad_files_leave_nothing(  # type: ignore[no-untyped-def]
    world: World, settings, bad_uploads: dict[str, bytes], kind: str, status: int, code: str
) -> None:
    cam = world.camera()
    r = _upload(world, cam["id"], bad_uploads[kind])
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["detail"]
    assert world.count("segment") == 0 and world.count("job") == 0
    assert _objects(settings) == [] and _spool_leftovers(settings) == []


@pytest.mark.parametrize(
    ("start", "code"),
    [
        ("2999-01-01T00:00:00Z", "start_time_out_of_range"),
        ("1999-12-31T23:59:59Z", "start_time_out_of_range"),
        ("2024-05-01T10:00:00", "invalid_start"),
        ("yesterday", "invalid_start"),  # one rule for times: app/timewindow.py
    ],
)
def test_bad_start_times(world: World, settings, start: str, code: str) -> None:  # type: ignore[no-untyped-def]
    cam = world.camera()
    r = _upload(world, cam["id"], CLIP.read_bytes(), start=start)
    assert r.status_code == 422 and r.json()["code"] == code, r.text
    assert world.count("segment") == 0 and _objects(settings) == []


def test_wrong_cameras_and_size_limit(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    data = CLIP.read_bytes()
    r = _upload(world, 4242, data)
    assert r.status_code == 404 and r.json()["code"] == "camera_not_found"
    theirs = world.camera("ward_b")
    r = _upload(world, theirs["id"], data, who="ward_a")
    assert r.status_code == 403 and r.json()["code"] == "not_your_camera"
    r = _upload(world, theirs["id"], data, who="officer")
    assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"
    retired = world.camera()
    world.client.delete(f"/cameras/{retired['id']}", headers=world.h("ward_a"))
    r = _upload(world, retired["id"], data)
    assert r.status_code == 422 and r.json()["code"] == "camera_retired"
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    ctx.settings.max_upload_bytes = len(data) - 1
    mine = world.camera()
    r = _upload(world, mine["id"], data)
    assert r.status_code == 413 and r.json()["code"] == "too_large"

    def chunks():  # no Content-Length: the limit is enforced while streaming
        yield data[: len(data) // 2]
        yield data[len(data) // 2 :]

    r = world.client.post(
        f"/cameras/{mine['id']}/footage",
        params={"start": START},
        content=chunks(),
        headers=world.h("ward_a"),
    )
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert world.count("segment") == 0 and _objects(settings) == []
    assert _spool_leftovers(settings) == []
    denied = world.count("audit_entry", "outcome = 'denied' AND action = 'footage.upload'")
    assert denied == 2


@pytest.mark.slow
def test_upload_that_stops_half_way_leaves_nothing(  # type: ignore[no-untyped-def]
    world: World, settings, tmp_path: Path
) -> None:
    cam = world.camera()
    env = process_env(settings, WARDCAM_JOB_WORKERS="0")
    with served_api(env, tmp_path / "server.log") as (port, _):
        data = CLIP.read_bytes()
        head = (
            f"POST /cameras/{cam['id']}/footage?start=2024-05-01T10:00:00Z HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {world.keys['ward_a']}\r\n"
            f"Content-Type: video/mp4\r\nContent-Length: {len(data)}\r\n\r\n"
        ).encode()
        with socket.create_connection(("127.0.0.1", port)) as s:
            s.sendall(head + data[: len(data) // 2])
            time.sleep(0.5)
        time.sleep(1.0)
        assert world.count("segment") == 0 and _objects(settings) == []
        assert _spool_leftovers(settings) == []
        # The same upload afterwards succeeds.
        r = httpx.post(
            f"http://127.0.0.1:{port}/cameras/{cam['id']}/footage",
            params={"start": "2024-05-01T10:00:00Z"},
            content=data,
            headers=world.h("ward_a"),
            timeout=60,
        )
        assert r.status_code == 201, r.text
    assert world.count("segment") == 1 and len(_objects(settings)) == 1
