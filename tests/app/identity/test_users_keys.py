"""A user's life cycle: deactivate/reactivate, revoke and rotate keys (API and CLI), audited,
and refused at once on every server process."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.conftest import World
from tests.helpers import process_env, served_api


def _audit(world: World, action: str) -> list[dict]:
    r = world.client.get(
        "/audit", params={"action": action, "limit": 1000}, headers=world.h("auditor")
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_deactivated_user_is_refused_at_once_and_can_come_back(world: World) -> None:
    c, officer = world.client, world.users["officer"]
    assert c.get("/cameras", headers=world.h("officer")).status_code == 200
    r = c.post(f"/users/{officer}/deactivate", headers=world.h("admin"))
    assert r.status_code == 200 and r.json()["active"] is False
    r = c.get("/cameras", headers=world.h("officer"))
    assert r.status_code == 401 and r.json()["code"] == "invalid_api_key"
    # Listing shows it; filtering by state works.
    r = c.get("/users", params={"active": "false"}, headers=world.h("admin"))
    assert [u["username"] for u in r.json()["items"]] == ["officer"]
    r = c.post(f"/users/{officer}/reactivate", headers=world.h("admin"))
    assert r.status_code == 200 and r.json()["active"] is True
    assert c.get("/cameras", headers=world.h("officer")).status_code == 200
    admin = c.get("/users/me", headers=world.h("admin")).json()["id"]
    (off,) = _audit(world, "user.deactivate")
    (on,) = _audit(world, "user.reactivate")
    for entry in (off, on):
        assert entry["target_id"] == str(officer) and entry["outcome"] == "allowed"
        assert entry["actor_user_id"] == admin
    # Doing it twice changes nothing and writes nothing.
    assert c.post(f"/users/{officer}/reactivate", headers=world.h("admin")).status_code == 200
    assert len(_audit(world, "user.reactivate")) == 1


def test_rotate_and_revoke_keys(world: World) -> None:
    c, inv = world.client, world.users["investigator"]
    old = world.keys["investigator"]
    r = c.post(f"/users/{inv}/keys/rotate", headers=world.h("admin"))
    assert r.status_code == 201, r.text
    body = r.json()
    new = body["api_key"]
    assert new != old and new.startswith("wc_")
    assert [k["prefix"] for k in body["revoked"]] == [old.split("_")[1]]
    assert c.get("/users/me", headers={"Authorization": f"Bearer {old}"}).status_code == 401
    me = c.get("/users/me", headers={"Authorization": f"Bearer {new}"})
    assert me.status_code == 200 and me.json()["username"] == "investigator"
    keys = c.get(f"/users/{inv}/keys", headers=world.h("admin")).json()
    assert [(k["prefix"], k["active"]) for k in keys] == [
        (old.split("_")[1], False),
        (new.split("_")[1], True),
    ]
    assert old not in str(keys) and new not in str(keys)  # prefixes only, never a key
    r = c.post(f"/users/{inv}/keys/{body['key']['id']}/revoke", headers=world.h("admin"))
    assert r.status_code == 200 and r.json()["active"] is False and r.json()["revoked_at"]
    r = c.get("/users/me", headers={"Authorization": f"Bearer {new}"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_api_key"
    r = c.post(f"/users/{inv}/keys/999999/revoke", headers=world.h("admin"))
    assert r.status_code == 404 and r.json()["code"] == "key_not_found"
    (rot,) = _audit(world, "key.rotate")
    (rev,) = _audit(world, "key.revoke")
    assert rot["details"]["revoked"] == [old.split("_")[1]]
    assert rev["details"]["prefix"] == new.split("_")[1]
    assert new not in str(rot) + str(rev) and old not in str(rot) + str(rev)


def test_supervisor_manages_own_officers_and_investigators_only(world: World) -> None:
    c = world.client
    sup = world.h("supervisor")
    r = c.get("/users", headers=sup)
    names = {u["username"] for u in r.json()["items"]}
    assert names == {"officer", "investigator", "investigator2", "supervisor"}
    r = c.post(f"/users/{world.users['officer']}/deactivate", headers=sup)
    assert r.status_code == 200 and r.json()["active"] is False
    r = c.post(f"/users/{world.users['investigator2']}/keys/rotate", headers=sup)
    assert r.status_code == 201
    # Not a ward's user, not an auditor, not a supervisor (themselves included).
    r = c.post(f"/users/{world.users['ward_a']}/deactivate", headers=sup)
    assert r.status_code == 403 and r.json()["code"] == "not_your_user"
    r = c.post(f"/users/{world.users['supervisor']}/keys/rotate", headers=sup)
    assert r.status_code == 403 and r.json()["code"] == "user_not_managed"
    assert c.get("/cameras", headers=sup).status_code == 200  # their key still works
    denied = [e for e in _audit(world, "user.deactivate") if e["outcome"] == "denied"]
    assert [e["target_id"] for e in denied] == [str(world.users["ward_a"])]
    # Others may not manage users at all.
    for who in ("officer", "investigator", "ward_a", "auditor"):
        r = c.post(f"/users/{world.users['investigator2']}/deactivate", headers=world.h(who))
        assert r.status_code in (401, 403), who


def test_no_self_deactivation_and_never_the_last_admin(world: World) -> None:
    c = world.client
    me = c.get("/users/me", headers=world.h("admin")).json()["id"]
    r = c.post(f"/users/{me}/deactivate", headers=world.h("admin"))
    assert r.status_code == 409 and r.json()["code"] == "cannot_deactivate_self"
    r = c.post("/users", json={"username": "admin2", "role": "admin"}, headers=world.h("admin"))
    second = {"Authorization": f"Bearer {r.json()['api_key']}"}
    assert c.post(f"/users/{me}/deactivate", headers=second).status_code == 200
    r = c.post(f"/users/{r.json()['id']}/deactivate", headers=world.h("auditor"))
    assert r.status_code == 403


def test_revocation_reaches_every_process(
    world: World,
    settings,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    """Two app instances in this process and a `wardcam serve` with two worker processes, one
    database: a key revoked or a user deactivated through any of them (or the command line)
    is refused by all of them on the very next request (no per-process cache)."""
    from app.main import create_app

    env = process_env(settings)
    with (
        TestClient(create_app(settings)) as other,
        served_api(env, tmp_path / "server.log", "--workers", "2") as (port, _),
    ):
        api = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        officer = world.h("officer")
        for _ in range(6):  # both server processes have served this key
            assert api.get("/users/me", headers=officer).status_code == 200
        assert other.get("/users/me", headers=officer).status_code == 200
        r = world.client.post(
            f"/users/{world.users['officer']}/keys/rotate", headers=world.h("admin")
        )
        new = {"Authorization": f"Bearer {r.json()['api_key']}"}
        for _ in range(6):
            assert api.get("/users/me", headers=officer).status_code == 401
            assert api.get("/users/me", headers=new).status_code == 200
        assert other.get("/users/me", headers=officer).status_code == 401
        # The command line, from yet another process.
        out = subprocess.run(
            [sys.executable, "-m", "app", "admin", "users", "deactivate", "officer"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        for _ in range(6):
            assert api.get("/users/me", headers=new).status_code == 401
        assert other.get("/users/me", headers=new).status_code == 401
        assert world.client.get("/users/me", headers=new).status_code == 401


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", "admin", "users", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_users_life_cycle(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    env = process_env(settings)
    c = world.client
    listing = _cli(env, "list")
    assert listing.returncode == 0, listing.stderr
    assert re.search(r"\binvestigator\s+investigator\s+\d+\s+cid\s+active\s+\w{12}", listing.stdout)
    assert world.keys["officer"] not in listing.stdout
    rot = _cli(env, "rotate-key", "investigator")
    assert rot.returncode == 0, rot.stderr
    token = re.search(r"API key \(shown once, store it now\): (\S+)", rot.stdout)
    assert token and "revoked 1 key(s)" in rot.stdout
    assert c.get("/users/me", headers=world.h("investigator")).status_code == 401
    new = {"Authorization": f"Bearer {token.group(1)}"}
    assert c.get("/users/me", headers=new).status_code == 200
    prefix = token.group(1).split("_")[1]
    rev = _cli(env, "revoke-key", "investigator", "--key", prefix)
    assert rev.returncode == 0 and prefix in rev.stdout, rev.stderr
    assert c.get("/users/me", headers=new).status_code == 401
    assert _cli(env, "revoke-key", "investigator", "--key", "nosuchprefix").returncode == 2
    assert _cli(env, "revoke-key", "officer").returncode == 0
    assert c.get("/users/me", headers=world.h("officer")).status_code == 401
    assert _cli(env, "deactivate", "supervisor").returncode == 0
    assert c.get("/users/me", headers=world.h("supervisor")).status_code == 401
    inactive = _cli(env, "list", "--inactive")
    assert "supervisor" in inactive.stdout and "officer " not in inactive.stdout
    assert _cli(env, "reactivate", "supervisor").returncode == 0
    assert c.get("/users/me", headers=world.h("supervisor")).status_code == 200
    assert _cli(env, "deactivate", "nobody").returncode == 2
    last = _cli(env, "deactivate", "admin")
    assert last.returncode == 1 and "last_admin" in last.stderr
    entries = c.get("/audit", params={"limit": 1000}, headers=world.h("auditor")).json()["items"]
    via_cli = [e["action"] for e in entries if e["details"].get("via") == "cli"]
    assert via_cli == [
        "user.create",  # the admin, bootstrapped
        "key.rotate",
        "key.revoke",
        "key.revoke",
        "user.deactivate",
        "user.reactivate",
    ]
    assert all(e["actor_user_id"] is None for e in entries if e["details"].get("via") == "cli")
    assert token.group(1) not in str(entries)


@pytest.mark.parametrize("who", ["ward_a", "auditor"])
def test_units_and_users_need_the_right_org(world: World, who: str) -> None:
    r = world.client.get(f"/orgs/{world.orgs['police']}/units", headers=world.h(who))
    assert r.status_code == 403
