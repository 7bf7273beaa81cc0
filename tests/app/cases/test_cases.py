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


def test_cases_only_under_a_real_unit_of_ones_own(world: World) -> None:
    """An investigator cannot open a case under a made-up unit (no supervisor would see it and
    the case would stand in for a purpose in searches): the unit must exist and be their own;
    a supervisor may open one for another unit of their organisation."""
    c, admin = world.client, world.h("admin")
    r = c.post(
        "/cases",
        json={"number": "X-1", "title": "t", "unit": "made-up"},
        headers=world.h("investigator"),
    )
    assert r.status_code == 422, r.text
    traffic = c.post(
        f"/orgs/{world.orgs['police']}/units", json={"name": "Giao thông"}, headers=admin
    ).json()
    other_police = c.post("/orgs", json={"name": "police 2", "kind": "police"}, headers=admin)
    foreign = c.post(
        f"/orgs/{other_police.json()['id']}/units", json={"name": "cid"}, headers=admin
    ).json()
    for unit_id in (traffic["id"], foreign["id"], 999_999):
        r = c.post(
            "/cases",
            json={"number": f"X-{unit_id}", "title": "t", "unit_id": unit_id},
            headers=world.h("investigator"),
        )
        assert r.status_code == 403 and r.json()["code"] == "not_your_unit", r.text
    r = c.post(
        "/cases",
        json={"number": "X-2", "title": "t", "unit_id": world.units["cid"]},
        headers=world.h("investigator"),
    )
    assert r.status_code == 201 and r.json()["unit"] == "cid"
    for unit_id in (foreign["id"], 999_999):
        r = c.post(
            "/cases",
            json={"number": f"S-{unit_id}", "title": "t", "unit_id": unit_id},
            headers=world.h("supervisor"),
        )
        assert r.status_code == 422 and r.json()["code"] == "unknown_unit", r.text
    r = c.post(
        "/cases",
        json={"number": "S-1", "title": "t", "unit_id": traffic["id"]},
        headers=world.h("supervisor"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["unit_id"] == traffic["id"] and r.json()["unit"] == "Giao thông"
    assert world.count("case_file") == 2
    refused = world.count("audit_entry", "action = 'case.create' AND outcome = 'denied'")
    assert refused == 3


def test_users_get_real_units(world: World) -> None:
    c, admin = world.client, world.h("admin")
    police = world.orgs["police"]
    r = c.post(
        "/users", json={"username": "inv3", "role": "investigator", "org_id": police}, headers=admin
    )
    assert r.status_code == 422 and r.json()["code"] == "unit_required"
    r = c.post(
        "/users",
        json={"username": "inv3", "role": "investigator", "org_id": police, "unit": "made-up"},
        headers=admin,
    )
    assert r.status_code == 422
    r = c.post(
        "/users",
        json={
            "username": "w9",
            "role": "ward",
            "org_id": world.orgs["ward_a"],
            "unit_id": world.units["cid"],
        },
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["code"] == "unit_not_allowed"
    r = c.post(f"/orgs/{world.orgs['ward_a']}/units", json={"name": "x"}, headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "unit_needs_police_org"
    r = c.post(f"/orgs/{police}/units", json={"name": "CID"}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "unit_exists"
    r = c.post(
        "/users",
        json={
            "username": "inv3",
            "role": "investigator",
            "org_id": police,
            "unit_id": world.units["cid"],
        },
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["unit"] == "cid"
    units = c.get(f"/orgs/{police}/units", headers=world.h("investigator")).json()
    assert [u["name"] for u in units] == ["cid"]


def test_list_cases_is_scoped(world: World) -> None:
    c = world.client
    ids = []
    for n in range(3):
        r = c.post(
            "/cases", json={"number": f"L-{n}", "title": "t"}, headers=world.h("investigator")
        )
        ids.append(r.json()["id"])
    c.patch(f"/cases/{ids[0]}", json={"status": "closed"}, headers=world.h("investigator"))
    mine = c.get("/cases", headers=world.h("investigator")).json()
    assert [x["id"] for x in mine["items"]] == ids[::-1] and mine["next_cursor"] is None
    assert c.get("/cases", headers=world.h("investigator2")).json()["items"] == []
    assert c.get("/cases", headers=world.h("officer")).json()["items"] == []
    seen = c.get("/cases", params={"status": "open"}, headers=world.h("supervisor")).json()
    assert [x["id"] for x in seen["items"]] == ids[:0:-1]
    page = c.get("/cases", params={"limit": 2}, headers=world.h("investigator")).json()
    rest = c.get(
        "/cases",
        params={"limit": 2, "cursor": page["next_cursor"]},
        headers=world.h("investigator"),
    ).json()
    assert [x["id"] for x in page["items"] + rest["items"]] == ids[::-1]
    for who in ("ward_a", "auditor", "admin"):
        assert c.get("/cases", headers=world.h(who)).status_code == 403
