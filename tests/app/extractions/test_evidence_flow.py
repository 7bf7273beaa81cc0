"""Evidence end to end: a ward registers a camera, footage is uploaded and indexed, an officer
searches, an investigator opens a case and requests footage, the ward approves, a signed
package is built, `wardcam verify` passes on it and fails on a tampered copy."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import FOOTAGE, World
from tests.evidence.footage import BuiltSegment, build_segments

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
OFFSET = 2.0  # the camera's clock runs 2 s fast


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> list[BuiltSegment]:
    return build_segments(
        FOOTAGE / "intersection_cctv_day.mp4", tmp_path_factory.mktemp("segs"), 3, 10.0, T0
    )


def _run_jobs(world: World) -> int:
    from app.jobs.pool import InProcessPool

    return InProcessPool(world.client.app.state.ctx, 0).run_until_idle()  # type: ignore[attr-defined]


def _upload_all(world: World, cam: int, segments: list[BuiltSegment]) -> list[dict]:
    out = []
    for seg in segments:
        start = seg.start + timedelta(seconds=OFFSET)
        r = world.client.post(
            f"/cameras/{cam}/footage",
            content=seg.path.read_bytes(),
            params={"start": start.isoformat()},
            headers=world.h("ward_a"),
        )
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _case(world: World, number: str = "CID-2024-0042") -> dict:
    r = world.client.post(
        "/cases",
        json={"number": number, "title": "Chain snatching"},
        headers=world.h("investigator"),
    )
    assert r.status_code == 201, r.text
    return r.json()


def _request(
    world: World,
    case_id: int,
    cams: list[int],
    start: datetime,
    end: datetime,
    who: str = "investigator",
    **extra: object,
):  # type: ignore[no-untyped-def]
    body = {
        "camera_ids": cams,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "reason": "suspect seen fleeing on a motorcycle",
        **extra,
    }
    return world.client.post(f"/cases/{case_id}/extractions", json=body, headers=world.h(who))


def _verify(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "verify", str(path), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "WARDCAM_DEV": "1"},
    )


@pytest.mark.slow
def test_end_to_end(world: World, segments: list[BuiltSegment], tmp_path: Path) -> None:
    cam = world.camera(clock_offset_s=OFFSET)
    _upload_all(world, cam["id"], segments)
    assert _run_jobs(world) == 3
    # An officer searches the index (purpose-bound).
    r = world.client.get(
        "/events",
        headers=world.h("officer"),
        params={
            "from": T0.isoformat(),
            "to": (T0 + timedelta(seconds=30)).isoformat(),
            "near": f"{cam['latitude']},{cam['longitude']}",
            "radius_m": 500,
            "label": "car",
            "purpose": "hit and run near the chowk, 10:00",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["items"] and all(e["label"] == "car" for e in r.json()["items"])
    # The investigator opens a case and asks for 20 s across all three segments.
    case = _case(world)
    start, end = T0 + timedelta(seconds=5), T0 + timedelta(seconds=25)
    r = _request(world, case["id"], [cam["id"]], start, end)
    assert r.status_code == 201, r.text
    ex = r.json()
    assert ex["state"] == "pending" and ex["cameras"][0]["decision"] == "pending"
    # The ward sees the request (case number, requester, reason, window) and approves.
    r = world.client.get("/extractions", params={"state": "pending"}, headers=world.h("ward_a"))
    [seen] = r.json()
    assert seen["case_number"] == "CID-2024-0042" and seen["requested_by_name"] == "investigator"
    assert seen["reason"].startswith("suspect seen") and seen["package_sha256"] is None
    assert (
        world.client.post(
            f"/extractions/{ex['id']}/decision",
            json={"decision": "approve"},
            headers=world.h("ward_b"),
        ).status_code
        == 403
    )
    r = world.client.post(
        f"/extractions/{ex['id']}/decision",
        json={"decision": "approve", "note": "ok for CID"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    assert _run_jobs(world) == 1
    r = world.client.get(f"/extractions/{ex['id']}", headers=world.h("investigator"))
    assert r.json()["state"] == "ready", r.json()
    assert r.json()["cameras"][0]["outcome"] == "packaged"
    # Download; it verifies offline, against the service's published key too.
    r = world.client.get(f"/extractions/{ex['id']}/package", headers=world.h("investigator"))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    pkg = tmp_path / "package.zip"
    pkg.write_bytes(r.content)
    key = world.client.get("/.well-known/wardcam-signing-key").json()
    (tmp_path / "key.pem").write_text(key["public_key_pem"])
    ok = _verify(pkg, "--trusted-key", str(tmp_path / "key.pem"))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    with zipfile.ZipFile(pkg) as z:
        names = set(z.namelist())
        manifest = json.loads(z.read("manifest.json"))
    assert {"manifest.json", "manifest.sig", "events.json", "custody.json", "README.txt"} <= names
    overlapping = [g for g in segments
                   if g.start < end and g.start + timedelta(seconds=g.duration_s) > start]
    assert len(overlapping) >= 2  # the window really crosses a segment boundary
    assert sum(n.startswith("originals/") for n in names) == len(overlapping)
    assert any(n.endswith("clip.mp4") for n in names)
    assert manifest["case"]["number"] == "CID-2024-0042"
    assert manifest["cameras"][0]["clock_offset_s"] == OFFSET
    clip = next(f for f in manifest["files"] if f["name"].endswith("clip.mp4"))
    derivation = json.dumps(clip)
    assert "actual_start" in derivation or "actual" in derivation
    custody = json.loads(zipfile.ZipFile(pkg).read("custody.json"))
    steps = [(c["action"], c["outcome"]) for c in custody]
    assert steps[0] == ("extraction.request", "allowed")
    assert ("extraction.decide", "denied") in steps  # ward B's attempt is on the record
    assert steps.index(("extraction.approve", "allowed")) > 0
    assert all(c["hash"] and c["prev_hash"] for c in custody)
    # A tampered copy fails, naming the file.
    data = bytearray(pkg.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        info = z.getinfo(next(n for n in z.namelist() if n.endswith("clip.mp4")))
    at = info.header_offset + 30 + len(info.filename) + len(info.extra) + 1000
    data[at] ^= 0xFF
    bad = tmp_path / "tampered.zip"
    bad.write_bytes(bytes(data))
    out = _verify(bad)
    assert out.returncode == 1 and "clip.mp4" in out.stdout
    # Someone not on the case gets nothing; the owner sees every step in the access log.
    r = world.client.get(f"/extractions/{ex['id']}/package", headers=world.h("investigator2"))
    assert r.status_code == 403 and r.json()["code"] == "not_on_case"
    log = world.client.get(
        f"/cameras/{cam['id']}/access-log", params={"limit": 500}, headers=world.h("ward_a")
    ).json()["items"]
    actions = [e["action"] for e in log]
    for action in (
        "extraction.request",
        "extraction.approve",
        "extraction.package_built",
        "extraction.download",
        "event.search",
    ):
        assert action in actions, (action, actions)
    assert world.client.get("/audit/verify", headers=world.h("auditor")).json()["ok"]


def test_auto_policy_redaction_and_no_footage(
    world: World, segments: list[BuiltSegment], tmp_path: Path
) -> None:
    cam = world.camera(clock_offset_s=OFFSET, sharing_policy="auto")
    _upload_all(world, cam["id"], segments[:1])
    case = _case(world)
    r = _request(
        world,
        case["id"],
        [cam["id"]],
        T0 + timedelta(seconds=2),
        T0 + timedelta(seconds=8),
        redact=True,
    )
    assert r.status_code == 201 and r.json()["state"] == "approved", r.text
    assert r.json()["cameras"][0]["by_policy"] is True
    _run_jobs(world)
    r = world.client.get(f"/extractions/{r.json()['id']}/package", headers=world.h("investigator"))
    assert r.status_code == 200
    (tmp_path / "p.zip").write_bytes(r.content)
    with zipfile.ZipFile(tmp_path / "p.zip") as z:
        assert any(n.endswith("clip_redacted.mp4") for n in z.namelist())
    fingerprint = world.client.get("/.well-known/wardcam-signing-key").json()["fingerprint_sha256"]
    assert _verify(tmp_path / "p.zip", "--trusted-fingerprint", fingerprint).returncode == 0
    # Without a pinned key the same package is not called verified (issue 15, item 9).
    unpinned = _verify(tmp_path / "p.zip")
    assert unpinned.returncode == 1 and "NOT PINNED" in unpinned.stdout + unpinned.stderr
    # A window with no footage completes explicitly, with no empty zip.
    r = _request(
        world, case["id"], [cam["id"]], T0 - timedelta(hours=1), T0 - timedelta(minutes=30)
    )
    _run_jobs(world)
    ex = world.client.get(f"/extractions/{r.json()['id']}", headers=world.h("investigator"))
    assert ex.json()["state"] == "no_footage"
    assert ex.json()["cameras"][0]["outcome"] == "no_footage"
    r = world.client.get(f"/extractions/{r.json()['id']}/package", headers=world.h("investigator"))
    assert r.status_code == 409 and r.json()["code"] == "package_not_ready"


def test_bad_requests_and_decisions(world: World, segments: list[BuiltSegment]) -> None:
    cam = world.camera()
    other = world.camera("ward_b")
    case = _case(world)
    for start, end, code in [
        (T0, T0 + timedelta(hours=3), "window_too_long"),
        (T0, T0 - timedelta(minutes=1), "invalid_window"),
    ]:
        r = _request(world, case["id"], [cam["id"]], start, end)
        assert r.status_code == 422 and r.json()["code"] == code, r.text
    r = _request(world, case["id"], [4242], T0, T0 + timedelta(minutes=1))
    assert r.status_code == 422 and r.json()["code"] == "camera_not_found"
    r = world.client.post(
        f"/cases/{case['id']}/extractions",
        headers=world.h("investigator"),
        json={
            "camera_ids": [cam["id"]],
            "from": T0.isoformat(),
            "to": (T0 + timedelta(minutes=1)).isoformat(),
            "reason": "x",
        },
    )
    assert r.status_code == 422  # a reason of at least 10 characters
    assert world.count("extraction") == 0
    # Not on the case: no request, and the refusal is audited.
    r = _request(world, case["id"], [cam["id"]], T0, T0 + timedelta(minutes=1), who="investigator2")
    assert r.status_code == 403 and r.json()["code"] == "not_on_case"
    # Two wards: one denies, one approves -> approved with the denied camera left out.
    r = _request(world, case["id"], [cam["id"], other["id"]], T0, T0 + timedelta(minutes=1))
    ex = r.json()
    r = world.client.post(
        f"/extractions/{ex['id']}/decision",
        json={"decision": "deny", "note": "no"},
        headers=world.h("ward_b"),
    )
    assert r.status_code == 200 and r.json()["state"] == "pending"
    assert [c["camera_id"] for c in r.json()["cameras"]] == [other["id"]]  # only its own
    r = world.client.post(
        f"/extractions/{ex['id']}/decision", json={"decision": "deny"}, headers=world.h("ward_b")
    )
    assert r.status_code == 409 and r.json()["code"] == "already_decided"
    # A request only for the denying ward's camera ends denied; no package.
    r = _request(world, case["id"], [other["id"]], T0, T0 + timedelta(minutes=1))
    denied = r.json()
    world.client.post(
        f"/extractions/{denied['id']}/decision",
        json={"decision": "deny"},
        headers=world.h("ward_b"),
    )
    r = world.client.get(f"/extractions/{denied['id']}", headers=world.h("investigator"))
    assert r.json()["state"] == "denied"
    r = world.client.get(f"/extractions/{denied['id']}/package", headers=world.h("investigator"))
    assert r.status_code == 409
    # Ward A never sees ward B's request.
    r = world.client.get(f"/extractions/{denied['id']}", headers=world.h("ward_a"))
    assert r.status_code == 403


def test_tampered_original_fails_the_job_loudly(
    world: World, segments: list[BuiltSegment], settings
) -> None:  # type: ignore[no-untyped-def]
    cam = world.camera(sharing_policy="auto", clock_offset_s=OFFSET)
    [seg] = _upload_all(world, cam["id"], segments[1:2])
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    from sqlalchemy import text

    with ctx.engine.connect() as conn:
        key = conn.execute(
            text("SELECT object_key FROM segment WHERE id = :i"), {"i": seg["id"]}
        ).scalar_one()
    path = Path(settings.storage_url.removeprefix("file://")) / key
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))  # someone with disk access edits the original
    case = _case(world)
    r = _request(
        world, case["id"], [cam["id"]], T0 + timedelta(seconds=11), T0 + timedelta(seconds=15)
    )
    _run_jobs(world)
    ex = world.client.get(f"/extractions/{r.json()['id']}", headers=world.h("investigator"))
    assert ex.json()["state"] == "failed" and "tamper" in ex.json()["error"]
    assert ex.json()["failure"] == {
        "step": "package",
        "camera_id": cam["id"],
        "segment_id": seg["id"],
        "code": "tamper_suspected",
    }
    assert f"(segment {seg['id']} of camera {cam['id']})" in ex.json()["error"]
    log = world.client.get(f"/cameras/{cam['id']}/access-log", headers=world.h("ward_a")).json()[
        "items"
    ]
    assert any(e["action"] == "evidence.tamper_suspected" for e in log)
    # The investigator reads it in the console in Vietnamese (it was the job's English text),
    # the English account kept under "Chi tiết" for whoever mends it.
    page = _console_page(world, "investigator", f"/casework/extractions/{ex.json()['id']}")
    assert "Một bản gốc đã lưu không còn khớp với mã SHA-256 ghi lại khi tiếp nhận" in page
    assert 'data-code="tamper_suspected"' in page and f"Camera: {cam['name']}." in page
    assert "Chi tiết:" in page and "SHA-256 mismatch" in page


def _console_page(world: World, who: str, path: str) -> str:
    """A page of the console as `who` sees it, signed in with a password set for the test."""
    from fastapi.testclient import TestClient

    from app.db import session_scope
    from app.signin.service import set_password
    from tests.console.conftest import sign_in

    password = "mật khẩu thử nghiệm 2026"
    with session_scope(world.client.app.state.ctx.engine) as session:  # type: ignore[attr-defined]
        set_password(session, world.users[who], password)
    browser = TestClient(world.client.app)
    username = browser.get("/users/me", headers=world.h(who)).json()["username"]
    sign_in(browser, "", username, password)
    r = browser.get(path)
    assert r.status_code == 200, r.text[-2000:]
    return r.text


def _decide(world: World, ex_id: int, who: str, **body: object):  # type: ignore[no-untyped-def]
    return world.client.post(f"/extractions/{ex_id}/decision", json=body, headers=world.h(who))


def _access_log(world: World, cam: int, who: str = "ward_a") -> list[dict]:
    r = world.client.get(
        f"/cameras/{cam}/access-log", params={"limit": 500}, headers=world.h(who)
    )
    assert r.status_code == 200, r.text
    items: list[dict] = r.json()["items"]
    return items


@pytest.mark.slow
def test_a_ward_decides_each_of_its_cameras(
    world: World, segments: list[BuiltSegment], tmp_path: Path
) -> None:
    """Issue 15, item 4: a ward owning two cameras of one request approves one and denies
    the other; the package holds the approved camera only."""
    north = world.camera(clock_offset_s=OFFSET, name="North gate")
    south = world.camera(clock_offset_s=OFFSET, name="South gate")
    other = world.camera("ward_b")
    _upload_all(world, north["id"], segments[:2])
    _upload_all(world, south["id"], segments[2:])
    case = _case(world)
    start, end = T0, T0 + timedelta(seconds=30)
    ex = _request(world, case["id"], [north["id"], south["id"], other["id"]], start, end).json()
    # Refusals: a camera of someone else, a camera not in the request (both audited).
    r = _decide(world, ex["id"], "ward_a", decision="approve", camera_ids=[other["id"]])
    assert r.status_code == 403 and r.json()["code"] == "not_your_camera", r.text
    spare = world.camera(name="Spare")
    r = _decide(world, ex["id"], "ward_a", decision="approve", camera_ids=[spare["id"]])
    assert r.status_code == 422 and r.json()["code"] == "camera_not_in_request", r.text
    # Approve one camera: the other stays undecided, the request pending.
    r = _decide(
        world, ex["id"], "ward_a", decision="approve", note="the gate", camera_ids=[north["id"]]
    )
    assert r.status_code == 200, r.text
    decided = {c["camera_id"]: c["decision"] for c in r.json()["cameras"]}
    assert decided == {north["id"]: "approved", south["id"]: "pending"}
    assert r.json()["state"] == "pending"
    r = _decide(world, ex["id"], "ward_a", decision="deny", camera_ids=[north["id"]])
    assert r.status_code == 409 and r.json()["code"] == "already_decided", r.text
    assert str(north["id"]) in r.json()["detail"]
    # Deny the other (without camera_ids: all of ward A's undecided cameras, i.e. south).
    r = _decide(world, ex["id"], "ward_a", decision="deny", note="private yard")
    assert r.status_code == 200, r.text
    decided = {c["camera_id"]: c["decision"] for c in r.json()["cameras"]}
    assert decided == {north["id"]: "approved", south["id"]: "denied"}
    assert r.json()["state"] == "pending"  # ward B has not decided yet
    r = _decide(world, ex["id"], "ward_a", decision="approve")
    assert r.status_code == 409 and r.json()["code"] == "already_decided"
    r = _decide(world, ex["id"], "ward_b", decision="deny")
    assert r.status_code == 200 and r.json()["state"] == "approved", r.text
    # Each camera's access log shows its own decision (and the refusals that named it).
    north_log = [(e["action"], e["outcome"]) for e in _access_log(world, north["id"])]
    south_log = [(e["action"], e["outcome"]) for e in _access_log(world, south["id"])]
    assert ("extraction.approve", "allowed") in north_log
    assert ("extraction.deny", "allowed") not in north_log
    assert ("extraction.deny", "allowed") in south_log
    assert ("extraction.approve", "allowed") not in south_log
    assert ("extraction.decide", "denied") in north_log  # the second, refused decision
    spare_log = [(e["action"], e["outcome"]) for e in _access_log(world, spare["id"])]
    assert ("extraction.decide", "denied") in spare_log
    other_log = [(e["action"], e["outcome"]) for e in _access_log(world, other["id"], "ward_b")]
    assert ("extraction.decide", "denied") in other_log  # ward A tried to decide it
    # Fulfilled with the approved camera only.
    _run_jobs(world)
    r = world.client.get(f"/extractions/{ex['id']}", headers=world.h("investigator"))
    assert r.json()["state"] == "ready", r.json()
    outcomes = {c["camera_id"]: c["outcome"] for c in r.json()["cameras"]}
    assert outcomes == {north["id"]: "packaged", south["id"]: None, other["id"]: None}
    r = world.client.get(f"/extractions/{ex['id']}/package", headers=world.h("investigator"))
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        manifest = json.loads(z.read("manifest.json"))
        names = z.namelist()
    assert sorted(manifest["denied"]) == sorted([south["id"], other["id"]])
    assert any(f"cam{north['id']}" in n for n in names)
    assert not any(f"cam{south['id']}/" in n for n in names)


def test_a_failed_fulfilment_says_why_and_where(
    world: World, segments: list[BuiltSegment], settings, caplog: pytest.LogCaptureFixture
) -> None:  # type: ignore[no-untyped-def]
    """Issue 15, item 6: an original missing from the store fails the request at once, with
    the reason, the step, camera and segment; audited, logged at ERROR, counted."""
    cam = world.camera(sharing_policy="auto", clock_offset_s=OFFSET)
    [_, second] = _upload_all(world, cam["id"], segments[:2])
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    from sqlalchemy import text

    with ctx.engine.connect() as conn:
        key = conn.execute(
            text("SELECT object_key FROM segment WHERE id = :i"), {"i": second["id"]}
        ).scalar_one()
    (Path(settings.storage_url.removeprefix("file://")) / key).unlink()  # lost on disk
    case = _case(world)
    r = _request(
        world, case["id"], [cam["id"]], T0 + timedelta(seconds=5), T0 + timedelta(seconds=15)
    )
    assert r.status_code == 201 and r.json()["state"] == "approved", r.text
    with caplog.at_level("ERROR"):
        _run_jobs(world)
    ex = world.client.get(f"/extractions/{r.json()['id']}", headers=world.h("investigator")).json()
    assert ex["state"] == "failed", ex
    assert "missing" in ex["error"] and key in ex["error"], ex["error"]
    assert f"segment {second['id']} of camera {cam['id']}" in ex["error"]
    assert ex["failure"] == {
        "step": "read_original",
        "camera_id": cam["id"],
        "segment_id": second["id"],
        "code": "original_missing",
    }
    # One attempt (retrying cannot bring the original back), the job failed with the reason.
    with ctx.engine.connect() as conn:
        state, attempts, error = conn.execute(
            text("SELECT state, attempts, error FROM job WHERE id = :i"), {"i": ex["job_id"]}
        ).one()
    assert (state, attempts) == ("failed", 1) and "missing" in error
    # Not silent: an ERROR line, the audit log and the owner's access log, the metric.
    assert any(
        rec.levelname == "ERROR" and f"extraction {ex['id']}" in rec.getMessage()
        for rec in caplog.records
    ), [rec.getMessage() for rec in caplog.records]
    log = _access_log(world, cam["id"])
    [failed] = [e for e in log if e["action"] == "extraction.failed"]
    assert failed["outcome"] == "failed" and failed["details"]["step"] == "read_original"
    assert failed["details"]["segment_id"] == second["id"]
    metrics = world.client.get("/metrics").text
    assert 'wardcam_extractions{state="failed"} 1.0' in metrics
    r = world.client.get(f"/extractions/{ex['id']}/package", headers=world.h("investigator"))
    assert r.status_code == 409 and r.json()["code"] == "package_not_ready"
    assert "failed" in r.json()["detail"]
    page = _console_page(world, "investigator", f"/casework/extractions/{ex['id']}")
    assert f"Một bản gốc đã lưu bị thiếu trong kho lưu trữ. Camera: {cam['name']}." in page
    # The ward sees the state, not the store's internals.
    seen = world.client.get(f"/extractions/{ex['id']}", headers=world.h("ward_a")).json()
    assert seen["state"] == "failed" and seen["error"] is None and seen["failure"] is None


def test_a_failing_store_is_retried_then_fails_the_request(
    world: World, segments: list[BuiltSegment], settings
) -> None:  # type: ignore[no-untyped-def]
    """Issue 15, item 6: a store that cannot take the package (here: a file where its folder
    must go) is retried, the request saying so meanwhile; after the last attempt it fails
    with the step that failed."""
    from sqlalchemy import text

    cam = world.camera(sharing_policy="auto", clock_offset_s=OFFSET)
    _upload_all(world, cam["id"], segments[:1])
    case = _case(world)
    r = _request(
        world, case["id"], [cam["id"]], T0 + timedelta(seconds=2), T0 + timedelta(seconds=6)
    )
    ex_id = r.json()["id"]
    blocker = Path(settings.storage_url.removeprefix("file://")) / "evidence"
    blocker = blocker / f"case{case['id']}" / f"extraction{ex_id}"
    blocker.parent.mkdir(parents=True)
    blocker.write_bytes(b"in the way")
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    _run_jobs(world)
    ex = world.client.get(f"/extractions/{ex_id}", headers=world.h("investigator")).json()
    assert ex["state"] == "approved" and ex["failure"] is None, ex
    assert ex["error"].startswith("attempt 1 of 3 failed, retrying: storing the package"), ex
    for _ in range(2):  # the backoff, skipped
        with ctx.engine.begin() as conn:
            due = text("UPDATE job SET run_after = created_at WHERE id = :i")
            conn.execute(due, {"i": ex["job_id"]})
        _run_jobs(world)
    ex = world.client.get(f"/extractions/{ex_id}", headers=world.h("investigator")).json()
    assert ex["state"] == "failed" and ex["failure"]["step"] == "store_package", ex
    assert ex["failure"]["code"] == "job_failed"
    assert ex["error"].startswith("storing the package failed: StorageError"), ex["error"]
    log = _access_log(world, cam["id"])
    [failed] = [e for e in log if e["action"] == "extraction.failed"]
    assert failed["details"]["attempts"] == 3


def test_every_failure_has_a_code_and_a_sentence_in_vietnamese() -> None:
    """Each error the evidence library raises is told apart (a cut that fails on a corrupt
    source is still a failed cut, whatever finer code it carries), and the console has a
    sentence, translated, for every failure code."""
    from app.console.i18n import i18n
    from app.console.pages.casework import FAILURES
    from app.extractions.jobs import FAILURE_CODES, Step, failure_code
    from app.storage import ObjectNotFound
    from evidence import errors

    kinds = [
        cls
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.EvidenceError)
    ]
    said = {cls: failure_code(cls.__new__(cls), Step("package")) for cls in kinds}
    assert said[errors.EvidenceError] == "evidence_error"
    assert [cls for cls, code in said.items() if cls is not errors.EvidenceError
            and code == "evidence_error"] == []
    assert failure_code(errors.CutError("x", code="corrupt_source"), Step()) == "cut_failed"
    assert failure_code(ObjectNotFound("k"), Step("read_original")) == "original_missing"
    assert failure_code(RuntimeError("x"), Step()) == "job_failed"
    assert set(said.values()) <= set(FAILURE_CODES)
    assert set(FAILURES) == set(FAILURE_CODES)
    vi = i18n("vi")
    assert [m for m in FAILURES.values() if vi.gettext(m) == m] == []
