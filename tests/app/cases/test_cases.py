"""Cases: only members (and supervisors of the case's unit) see a case."""

from __future__ import annotations

from tests.conftest import World


def test_case_membership_and_visibility(world: World) -> None:
    r = world.client.post(
        "/cases",
        json={"number": "CID/2024/7", "title": "Burglary"},
        headers=world.h("investigator"),
    )
    assert r.status_code == 201, r.text
    case = r.json()
    assert case["unit"] == "cid" and case["members"] == [world.users["investigator"]]
    assert (
        world.client.get(f"/cases/{case['id']}", headers=world.h("investigator")).status_code == 200
    )
    assert (
        world.client.get(f"/cases/{case['id']}", headers=world.h("supervisor")).status_code == 200
    )
    r = world.client.get(f"/cases/{case['id']}", headers=world.h("investigator2"))
    assert r.status_code == 403 and r.json()["code"] == "not_on_case"
    for who in ("ward_a", "auditor"):
        assert world.client.get(f"/cases/{case['id']}", headers=world.h(who)).status_code == 403
    r = world.client.post(
        f"/cases/{case['id']}/members",
        json={"user_id": world.users["investigator2"]},
        headers=world.h("investigator"),
    )
    assert r.status_code == 201 and world.users["investigator2"] in r.json()["members"]
    assert (
        world.client.get(f"/cases/{case['id']}", headers=world.h("investigator2")).status_code
        == 200
    )
    r = world.client.post(
        f"/cases/{case['id']}/members",
        json={"user_id": world.users["ward_a"]},
        headers=world.h("investigator"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_member"
    r = world.client.post(
        "/cases", json={"number": "CID/2024/7", "title": "again"}, headers=world.h("investigator")
    )
    assert r.status_code == 409 and r.json()["code"] == "case_exists"
    r = world.client.post(
        "/cases", json={"number": "", "title": "x"}, headers=world.h("investigator")
    )
    assert r.status_code == 422
    # A closed case takes no new requests.
    world.client.patch(
        f"/cases/{case['id']}", json={"status": "closed"}, headers=world.h("investigator")
    )
    cam = world.camera()
    r = world.client.post(
        f"/cases/{case['id']}/extractions",
        headers=world.h("investigator"),
        json={
            "camera_ids": [cam["id"]],
            "from": "2024-01-01T00:00:00Z",
            "to": "2024-01-01T00:10:00Z",
            "reason": "closed case test",
        },
    )
    assert r.status_code == 409 and r.json()["code"] == "case_closed"
    denied = world.count("audit_entry", "outcome = 'denied' AND action = 'case.read'")
    assert denied == 3
