"""The camera registry: wards manage their own cameras, police list them by place."""

from __future__ import annotations

import json
import math

import pytest

from tests.conftest import World


def _audit(world: World, action: str) -> list[dict]:
    r = world.client.get(
        "/audit", params={"action": action, "limit": 1000}, headers=world.h("auditor")
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_ward_registers_and_reads_back_its_camera(world: World) -> None:
    cam = world.camera(stream_url="rtsp://admin:hunter2@10.0.0.5:554/stream1")
    assert cam["org_id"] == world.orgs["ward_a"]
    assert cam["timezone"] == "Asia/Kathmandu" and cam["clock_offset_s"] == 2.5
    assert cam["has_stream"] is True
    assert "hunter2" not in json.dumps(cam) and "stream_url" not in cam
    r = world.client.get(f"/cameras/{cam['id']}", headers=world.h("ward_a"))
    assert r.status_code == 200 and r.json()["name"] == "Chowk north"
    assert "hunter2" not in r.text
    # Stored encrypted, not in clear.
    assert world.count("camera", "stream_url_encrypted LIKE '%hunter2%'") == 0
    assert world.count("camera", "stream_url_encrypted IS NOT NULL") == 1
    # The change is in the audit log and in the camera's access log, without the secret.
    entries = _audit(world, "camera.create")
    assert len(entries) == 1 and entries[0]["details"]["camera_ids"] == [cam["id"]]
    assert "hunter2" not in json.dumps(entries)
    log = world.client.get(f"/cameras/{cam['id']}/access-log", headers=world.h("ward_a"))
    assert [e["action"] for e in log.json()["items"]] == ["camera.create"]


def test_the_access_log_leaves_out_recorded_segments_unless_asked(world: World) -> None:
    """A live camera records a segment a minute per stream, each an audit entry of the
    service's: the access log is read for searches, requests and downloads, so it leaves
    them out unless `recorded=true`; the cursor pages through either."""
    from app.audit.service import record

    cam = world.camera()
    with world.client.app.state.ctx.transaction() as session:  # type: ignore[attr-defined]
        for n in range(5):
            record(session, None, "footage.record", target_type="segment", target_id=n + 1,
                   camera_ids=[cam["id"]])
    url = f"/cameras/{cam['id']}/access-log"
    log = world.client.get(url, headers=world.h("ward_a")).json()
    assert [e["action"] for e in log["items"]] == ["camera.create"]
    page = world.client.get(url, params={"recorded": "true", "limit": 3},
                            headers=world.h("ward_a")).json()
    assert [e["action"] for e in page["items"]] == ["footage.record"] * 3
    rest = world.client.get(url, params={"recorded": "true", "cursor": page["next_cursor"]},
                            headers=world.h("ward_a")).json()
    assert [e["action"] for e in rest["items"]] == ["footage.record"] * 2 + ["camera.create"]


def test_ward_updates_and_retires_its_camera(world: World) -> None:
    cam = world.camera()
    r = world.client.patch(
        f"/cameras/{cam['id']}",
        json={"retention_days": 60, "sharing_policy": "auto"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 200 and r.json()["retention_days"] == 60
    assert r.json()["sharing_policy"] == "auto"
    r = world.client.delete(f"/cameras/{cam['id']}", headers=world.h("ward_a"))
    assert r.status_code == 200 and r.json()["status"] == "retired"
    assert world.count("camera") == 1  # retired, not erased
    actions = [
        e["action"]
        for e in world.client.get(
            f"/cameras/{cam['id']}/access-log", headers=world.h("ward_a")
        ).json()["items"]
    ]
    assert actions == ["camera.retire", "camera.update", "camera.create"]


def test_admin_registers_for_a_ward_and_must_name_it(world: World) -> None:
    r = world.client.post(
        "/cameras",
        json={"name": "x", "latitude": 1, "longitude": 1, "timezone": "UTC"},
        headers=world.h("admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "org_required"
    r = world.client.post(
        "/cameras",
        json={
            "name": "x",
            "latitude": 1,
            "longitude": 1,
            "timezone": "UTC",
            "org_id": world.orgs["police"],
        },
        headers=world.h("admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_org"
    cam = world.camera("admin", org_id=world.orgs["ward_b"])
    assert cam["org_id"] == world.orgs["ward_b"]


def test_ward_never_reads_or_changes_another_wards_camera(world: World) -> None:
    cam = world.camera("ward_a")
    before = world.count("audit_entry", "outcome = 'denied'")
    for method, path, body in [
        ("GET", f"/cameras/{cam['id']}", None),
        ("PATCH", f"/cameras/{cam['id']}", {"name": "mine now"}),
        ("DELETE", f"/cameras/{cam['id']}", None),
        ("GET", f"/cameras/{cam['id']}/access-log", None),
    ]:
        r = world.client.request(method, path, json=body, headers=world.h("ward_b"))
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["code"] == "not_your_camera" and r.json()["detail"]
    listed = world.client.get("/cameras", headers=world.h("ward_b")).json()["items"]
    assert listed == []
    assert (
        world.client.get(f"/cameras/{cam['id']}", headers=world.h("ward_a")).json()["name"]
        == "Chowk north"
    )
    # Every refusal is itself audited and shows in the owner's access log.
    assert world.count("audit_entry", "outcome = 'denied'") == before + 4
    log = world.client.get(f"/cameras/{cam['id']}/access-log", headers=world.h("ward_a"))
    denied = [e for e in log.json()["items"] if e["outcome"] == "denied"]
    assert len(denied) == 4
    assert {e["actor_user_id"] for e in denied} == {world.users["ward_b"]}


def test_police_may_list_but_not_change(world: World) -> None:
    cam = world.camera()
    assert world.client.get(f"/cameras/{cam['id']}", headers=world.h("officer")).status_code == 200
    r = world.client.patch(f"/cameras/{cam['id']}", json={"name": "x"}, headers=world.h("officer"))
    assert r.status_code == 403 and r.json()["code"] == "role_not_allowed"
    r = world.client.post(
        "/cameras",
        json={"name": "x", "latitude": 1, "longitude": 1, "timezone": "UTC"},
        headers=world.h("investigator"),
    )
    assert r.status_code == 403
    assert world.count("camera") == 1


def test_near_and_bbox(world: World) -> None:
    a = world.camera(name="A", latitude=27.7172, longitude=85.3240)
    b = world.camera(name="B", latitude=27.7200, longitude=85.3300)  # ~680 m from A
    c = world.camera(name="C", latitude=27.6000, longitude=85.3000)  # ~13 km away
    r = world.client.get(
        "/cameras", params={"near": "27.7172,85.3240", "radius_m": 1000}, headers=world.h("officer")
    )
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [a["id"], b["id"]]
    assert items[0]["distance_m"] == pytest.approx(0, abs=1)
    assert 500 < items[1]["distance_m"] < 800
    r = world.client.get(
        "/cameras", params={"bbox": "85.29,27.59,85.31,27.61"}, headers=world.h("officer")
    )
    assert [i["id"] for i in r.json()["items"]] == [c["id"]]
    # An officer's place search is audited and shows in each touched camera's access log.
    log = world.client.get(f"/cameras/{a['id']}/access-log", headers=world.h("ward_a")).json()
    assert log["items"][0]["action"] == "camera.search"
    assert log["items"][0]["actor_user_id"] == world.users["officer"]


def test_near_across_the_antimeridian_and_a_pole(world: World) -> None:
    east = world.camera(
        "admin",
        org_id=world.orgs["ward_a"],
        name="Fiji E",
        latitude=-16.5,
        longitude=179.999,
        timezone="Pacific/Fiji",
    )
    west = world.camera(
        "admin",
        org_id=world.orgs["ward_a"],
        name="Fiji W",
        latitude=-16.5,
        longitude=-179.999,
        timezone="Pacific/Fiji",
    )
    pole = world.camera(
        "admin",
        org_id=world.orgs["ward_a"],
        name="Pole",
        latitude=89.9999,
        longitude=120.0,
        timezone="UTC",
    )
    near_pole = world.camera(
        "admin",
        org_id=world.orgs["ward_a"],
        name="Pole 2",
        latitude=89.9995,
        longitude=-60.0,
        timezone="UTC",
    )
    r = world.client.get(
        "/cameras", params={"near": "-16.5,179.9995", "radius_m": 500}, headers=world.h("officer")
    )
    assert {i["id"] for i in r.json()["items"]} == {east["id"], west["id"]}
    r = world.client.get(
        "/cameras", params={"bbox": "179.9,-17,-179.9,-16"}, headers=world.h("officer")
    )
    assert {i["id"] for i in r.json()["items"]} == {east["id"], west["id"]}
    # Across the pole: 120°E and 60°W at 89.999x° are ~70 m apart.
    r = world.client.get(
        "/cameras", params={"near": "89.9999,120", "radius_m": 200}, headers=world.h("officer")
    )
    assert {i["id"] for i in r.json()["items"]} == {pole["id"], near_pole["id"]}


BAD_CAMERAS = [
    ({"latitude": 91}, "invalid_input"),
    ({"longitude": 181}, "invalid_input"),
    ({"latitude": math.nan}, "invalid_input"),
    ({"timezone": "Mars/Olympus_Mons"}, "invalid_input"),
    ({"timezone": "../../etc/passwd"}, "invalid_input"),
    ({"retention_days": 0}, "invalid_input"),
    ({"retention_days": 100_000}, "invalid_input"),
    ({"stream_url": "ftp://cam.example/stream"}, "invalid_stream_url"),
    ({"stream_url": "javascript:alert(1)"}, "invalid_stream_url"),
    ({"sharing_policy": "everyone"}, "invalid_input"),
    ({"name": "x" * 201}, "invalid_input"),
    ({"address": "y" * 501}, "invalid_input"),
    ({"name": ""}, "invalid_input"),
    ({"clock_offset_s": 1e9}, "invalid_input"),
    ({"unexpected": 1}, "invalid_input"),
]


@pytest.mark.parametrize(("override", "code"), BAD_CAMERAS)
def test_bad_camera_is_refused_and_nothing_written(world: World, override: dict, code: str) -> None:
    body = {"name": "Chowk", "latitude": 27.7, "longitude": 85.3, "timezone": "Asia/Kathmandu"}
    body.update(override)
    payload = json.dumps(body, allow_nan=True)
    r = world.client.post(
        "/cameras",
        content=payload,
        headers={**world.h("ward_a"), "Content-Type": "application/json"},
    )
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["code"] == code and r.json()["detail"]
    assert world.count("camera") == 0
    assert world.count("audit_entry", "action = 'camera.create'") == 0


def test_bad_patch_changes_nothing(world: World) -> None:
    cam = world.camera()
    for body in (
        {"latitude": -91},
        {"timezone": "Nowhere/Land"},
        {"retention_days": None},
        {},
        {"stream_url": "gopher://x"},
    ):
        r = world.client.patch(f"/cameras/{cam['id']}", json=body, headers=world.h("ward_a"))
        assert 400 <= r.status_code < 500 and r.json()["code"], (body, r.text)
    after = world.client.get(f"/cameras/{cam['id']}", headers=world.h("ward_a")).json()
    assert after == cam
    assert world.count("audit_entry", "action = 'camera.update'") == 0


@pytest.mark.parametrize(
    "params",
    [
        {"near": "91,0", "radius_m": 10},
        {"near": "abc", "radius_m": 10},
        {"near": "1,2"},
        {"near": "1,2", "radius_m": 0},
        {"near": "1,2", "radius_m": 60_000},
        {"radius_m": 10},
        {"bbox": "1,2,3"},
        {"bbox": "0,10,1,5"},
        {"bbox": "0,0,1,1", "near": "0,0", "radius_m": 5},
        {"cursor": "abc"},
    ],
)
def test_malformed_place_queries(world: World, params: dict) -> None:
    r = world.client.get("/cameras", params=params, headers=world.h("officer"))
    assert r.status_code == 422, r.text
    assert r.json()["code"].startswith("invalid_") and r.json()["detail"]


def test_unknown_camera(world: World) -> None:
    r = world.client.get("/cameras/999999", headers=world.h("officer"))
    assert r.status_code == 404 and r.json()["code"] == "camera_not_found"
