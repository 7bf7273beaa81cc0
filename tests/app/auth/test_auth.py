"""API keys: shown once, stored hashed, and nothing without a valid one."""

from __future__ import annotations

import pytest

from tests.conftest import World


def test_keys_are_stored_hashed(world: World) -> None:
    from sqlalchemy import text

    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        stored = [r[0] for r in conn.execute(text("SELECT key_hash FROM api_key"))]
    assert len(stored) == len(world.keys)
    for key in world.keys.values():
        assert key not in stored and all(key not in s for s in stored)


def test_whoami(world: World) -> None:
    r = world.client.get("/users/me", headers=world.h("officer"))
    assert r.status_code == 200 and r.json()["role"] == "officer"
    assert "api_key" not in r.json()


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Bearer "}, "missing_api_key"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "missing_api_key"),
        ({"Authorization": "Bearer not-a-key"}, "invalid_api_key"),
        ({"Authorization": "Bearer wc_000000000000_forged"}, "invalid_api_key"),
    ],
)
def test_missing_or_wrong_key(world: World, headers: dict, code: str) -> None:
    before = world.count("camera")
    r = world.client.post(
        "/cameras",
        json={"name": "x", "latitude": 1, "longitude": 1, "timezone": "UTC"},
        headers=headers,
    )
    assert r.status_code == 401 and r.json()["code"] == code and r.json()["detail"]
    assert world.count("camera") == before


def test_tampered_real_key_is_refused_and_audited(world: World) -> None:
    key = world.keys["officer"]
    forged = key[:-2] + ("AA" if not key.endswith("AA") else "BB")
    r = world.client.get("/cameras", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_api_key"
    entries = world.client.get(
        "/audit", params={"action": "auth.reject"}, headers=world.h("auditor")
    ).json()["items"]
    assert len(entries) == 1 and entries[0]["outcome"] == "denied"
    assert entries[0]["details"]["key_prefix"] == key.split("_")[1]
    assert forged not in str(entries)


def test_role_gate_denies_by_default_and_audits(world: World) -> None:
    for who in ("ward_a", "officer", "investigator", "supervisor", "auditor"):
        r = world.client.post(
            "/orgs", json={"name": f"rogue-{who}", "kind": "ward"}, headers=world.h(who)
        )
        assert r.status_code == 403 and r.json()["code"] == "role_not_allowed", who
        r = world.client.post(
            "/users", json={"username": f"x{who}", "role": "admin"}, headers=world.h(who)
        )
        assert r.status_code == 403, who
    assert world.count("organisation") == 3
    denied = world.client.get(
        "/audit", params={"action": "org.create", "limit": 100}, headers=world.h("auditor")
    ).json()["items"]
    assert sum(e["outcome"] == "denied" for e in denied) == 5
    for who in ("ward_a", "officer", "investigator"):
        assert world.client.get("/audit", headers=world.h(who)).status_code == 403


def test_role_must_match_org_kind(world: World) -> None:
    r = world.client.post(
        "/users",
        json={"username": "bad", "role": "officer", "org_id": world.orgs["ward_a"]},
        headers=world.h("admin"),
    )
    assert r.status_code == 422 and r.json()["code"] == "role_org_mismatch"
    r = world.client.post(
        "/users", json={"username": "bad", "role": "ward"}, headers=world.h("admin")
    )
    assert r.status_code == 422 and r.json()["code"] == "org_required"
    r = world.client.post(
        "/users", json={"username": "officer", "role": "auditor"}, headers=world.h("admin")
    )
    assert r.status_code == 409 and r.json()["code"] == "user_exists"
