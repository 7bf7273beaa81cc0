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
    # Same bytes again (a retried upload): 200 with the same segment, nothing duplicated.
    again = _upload(world, cam["id"], data)
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


def test_damaged_packets_are_skipped_and_said(world: World, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A file with damaged packets (a bad sector, a broken copy) is indexed to its end; the
    segment says what was skipped and where, so a gap there is not read as "nothing passed"."""
    from app.jobs.pool import InProcessPool
    from tests.detectors.assets import damaged_copy

    cam = world.camera()
    damaged = damaged_copy(CLIP, tmp_path / "damaged.mp4", at_s=2.0, packets=3)
    seg = _upload(world, cam["id"], damaged.read_bytes()).json()
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    assert InProcessPool(ctx, 0).run_until_idle() == 1
    body = world.client.get(f"/segments/{seg['id']}", headers=world.h("officer")).json()
    assert body["status"] == "indexed" and body["job"]["state"] == "done"
    assert body["job"]["progress_done"] == body["job"]["progress_total"] > 0
    assert body["index_note"].startswith("3 damaged packets skipped (at 2.0-2.2 s)")
    from sqlmodel import select

    from app.db import session_scope
    from app.events.models import Event

    with session_scope(ctx.engine) as s:
        ends = [e.end for e in s.exec(select(Event)).all()]
    start = datetime.fromisoformat(body["start"])
    assert max(ends) - start > timedelta(seconds=6.5)  # indexed past the damage, to the end


def test_recordings_joined_end_to_end_are_said(world: World, settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two exports joined by ``cat``: the second one's timestamps start again from zero. Its
    frames are not indexed onto the first one's times; the segment says so and why."""
    from app.jobs.pool import InProcessPool
    from tests.detectors.assets import joined_copy

    cam = world.camera()
    seg = _upload(world, cam["id"], joined_copy(CLIP, tmp_path / "joined.ts").read_bytes())
    assert seg.status_code == 201, seg.text
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    assert InProcessPool(ctx, 0).run_until_idle() == 1
    body = world.client.get(f"/segments/{seg.json()['id']}", headers=world.h("officer")).json()
    assert body["status"] == "indexed" and body["duration_s"] < 7.3
    assert body["index_note"].startswith("timestamps go back (from 7.1 s to 0.0 s; ")
    assert "upload the recordings one by one" in body["index_note"]


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


def test_reupload_with_another_start_and_correction(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    """Issue 15, item 11: the same bytes with another start are a 409 saying where they are
    and how to correct; PATCH /segments/{id} corrects the start (events move with it,
    audited), not once the segment is in evidence; overlapping segments are flagged."""
    from sqlalchemy import text

    from app.jobs.pool import InProcessPool

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera(clock_offset_s=2.5)
    data = CLIP.read_bytes()
    seg = _upload(world, cam["id"], data).json()
    assert InProcessPool(ctx, 0).run_until_idle() == 1

    def event_starts() -> list[datetime]:
        with ctx.engine.connect() as conn:
            rows = conn.execute(
                text("SELECT id, start FROM event WHERE segment_id = :s ORDER BY id"),
                {"s": seg["id"]},
            ).all()
        return [datetime.fromisoformat(str(t)).replace(tzinfo=UTC) for _, t in rows]

    before = event_starts()
    assert before
    # The same bytes with a corrected start: refused, saying where they are and what to do.
    later = (datetime.fromisoformat(START) + timedelta(hours=1)).isoformat()
    r = _upload(world, cam["id"], data, start=later)
    assert r.status_code == 409 and r.json()["code"] == "duplicate_footage", r.text
    detail = r.json()["detail"]
    assert f"segment {seg['id']}" in detail and f"PATCH /segments/{seg['id']}" in detail
    assert seg["start_raw"].replace("+00:00", "Z")[:19] in detail
    assert world.count("segment") == 1 and len(_objects(settings)) == 1
    assert _upload(world, cam["id"], data).status_code == 200  # a plain retry still is fine
    # The correction: needs a reason; the owner only.
    path = f"/segments/{seg['id']}"
    r = world.client.patch(path, json={"start": later}, headers=world.h("ward_a"))
    assert r.status_code == 422
    fix = {"start": later, "reason": "the NVR clock was an hour behind (DST)"}
    r = world.client.patch(path, json=fix, headers=world.h("ward_b"))
    assert r.status_code == 403 and r.json()["code"] == "not_your_camera"
    r = world.client.patch(path, json=fix, headers=world.h("ward_a"))
    assert r.status_code == 200, r.text
    fixed = r.json()
    assert datetime.fromisoformat(fixed["start_raw"]) == datetime.fromisoformat(later)
    assert datetime.fromisoformat(fixed["start"]) == datetime.fromisoformat(
        later
    ) - timedelta(seconds=2.5)
    assert fixed["start_source"] == "corrected"
    # Its events moved with it, and search finds them at the new time.
    assert event_starts() == [t + timedelta(hours=1) for t in before]
    search = {
        "from": fixed["start"],
        "to": fixed["end"],
        "camera_id": cam["id"],
        "purpose": "checking the corrected segment",
    }
    r = world.client.get("/events", params=search, headers=world.h("officer"))
    assert r.status_code == 200 and len(r.json()["items"]) == len(before), r.text
    old = {**search, "from": seg["start"], "to": seg["end"]}
    assert world.client.get("/events", params=old, headers=world.h("officer")).json()["items"] == []
    assert _upload(world, cam["id"], data, start=later).status_code == 200  # now it matches
    # Audited with the reason, in the camera's access log.
    log = world.client.get(
        f"/cameras/{cam['id']}/access-log", params={"limit": 500}, headers=world.h("ward_a")
    ).json()["items"]
    [entry] = [e for e in log if e["action"] == "segment.correct" and e["outcome"] == "allowed"]
    assert entry["purpose"] == fix["reason"] and entry["details"]["shift_s"] == 3600
    assert entry["details"]["events_moved"] == len(before)
    # Another file starting inside this one: stored, but flagged on both and on coverage.
    other = FOOTAGE / "driveway_ir_night.mp4"
    inside = (datetime.fromisoformat(later) + timedelta(seconds=3)).isoformat()
    r = _upload(world, cam["id"], other.read_bytes(), start=inside)
    assert r.status_code == 201 and r.json()["overlaps"] == [seg["id"]], r.text
    second = r.json()
    r = world.client.get(path, headers=world.h("ward_a"))
    assert r.json()["overlaps"] == [second["id"]]
    window = {"from": fixed["start"], "to": second["end"]}
    cov = world.client.get(
        f"/cameras/{cam['id']}/footage", params=window, headers=world.h("ward_a")
    ).json()
    [pair] = cov["overlaps"]
    assert pair["segment_ids"] == [seg["id"], second["id"]]
    assert pair["seconds"] == pytest.approx(7.2 - 3, abs=0.1)
    assert {s["id"]: s["overlaps"] for s in cov["segments"]} == {
        seg["id"]: [second["id"]],
        second["id"]: [seg["id"]],
    }
    # Once in evidence, its times stay.
    case = world.client.post(
        "/cases", json={"number": "CA-11", "title": "footage"}, headers=world.h("investigator")
    ).json()
    ex = world.client.post(
        f"/cases/{case['id']}/extractions",
        json={
            "camera_ids": [cam["id"]],
            "from": fixed["start"],
            "to": fixed["end"],
            "reason": "the corrected segment as evidence",
        },
        headers=world.h("investigator"),
    ).json()
    r = world.client.post(
        f"/extractions/{ex['id']}/decision", json={"decision": "approve"}, headers=world.h("ward_a")
    )
    assert r.json()["state"] == "approved", r.text
    back = {"start": START, "reason": "on second thought the clock was right"}
    r = world.client.patch(path, json=back, headers=world.h("ward_a"))
    assert r.status_code == 409 and r.json()["code"] == "segment_in_evidence", r.text
    assert str(ex["id"]) in r.json()["detail"]
    assert world.client.get(path, headers=world.h("ward_a")).json()["start"] == fixed["start"]
