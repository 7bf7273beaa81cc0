"""The authorization matrix: every endpoint x every role x own org / other org / anonymous,
with the exact allow/deny outcome. A route without an entry here fails the test, so nothing
new ships without a decision about who may call it.

"own": the caller's organisation owns the resource (ward A's camera; police 1's case, whose
member the investigator is); "other": the same role from another organisation. Allowed means
the request got past authentication and authorization (any status but 401/403); denied means
403 (401 for anonymous callers).
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import FOOTAGE, World, bootstrap_admin

ROLES = ("admin", "ward", "officer", "investigator", "supervisor", "auditor")
PUBLIC = "public"
T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
_n = itertools.count()


@dataclass
class Ctx:
    camera: int
    segment: int
    event: int
    case: int
    extraction: int
    users: dict[str, int]
    org: int
    """Police 1: the own organisation of the police callers."""
    key: int
    """An API key of `users["target"]`, an officer of police 1 no caller uses."""


Body = Callable[[Ctx], Any]
WINDOW = {"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
SEARCH = {**WINDOW, "purpose": "authorization matrix check"}

# expected: one "own other" pair per role, in ROLES order (y = allowed, n = denied)
MATRIX: dict[tuple[str, str], tuple[str, Callable[[Ctx], tuple[str, dict[str, Any]]]]] = {
    ("GET", "/healthz"): (PUBLIC, lambda c: ("/healthz", {})),
    ("GET", "/readyz"): (PUBLIC, lambda c: ("/readyz", {})),
    ("GET", "/metrics"): (PUBLIC, lambda c: ("/metrics", {})),
    ("GET", "/.well-known/wardcam-signing-key"): (
        PUBLIC,
        lambda c: ("/.well-known/wardcam-signing-key", {}),
    ),
    ("POST", "/orgs"): (
        "yy nn nn nn nn nn",
        lambda c: ("/orgs", {"json": {"name": f"org {next(_n)}", "kind": "ward"}}),
    ),
    ("GET", "/orgs"): ("yy nn nn nn nn nn", lambda c: ("/orgs", {})),
    ("POST", "/users"): (
        "yy nn nn nn nn nn",
        lambda c: ("/users", {"json": {"username": f"user{next(_n)}", "role": "auditor"}}),
    ),
    ("GET", "/users/me"): ("yy yy yy yy yy yy", lambda c: ("/users/me", {})),
    ("GET", "/users"): ("yy nn nn nn yy nn", lambda c: ("/users", {})),
    ("GET", "/users/{user_id}"): (
        "yy nn nn nn yn nn",
        lambda c: (f"/users/{c.users['target']}", {}),
    ),
    ("POST", "/users/{user_id}/deactivate"): (
        "yy nn nn nn yn nn",
        lambda c: (f"/users/{c.users['target']}/deactivate", {}),
    ),
    ("POST", "/users/{user_id}/reactivate"): (
        "yy nn nn nn yn nn",
        lambda c: (f"/users/{c.users['target']}/reactivate", {}),
    ),
    ("GET", "/users/{user_id}/keys"): (
        "yy nn nn nn yn nn",
        lambda c: (f"/users/{c.users['target']}/keys", {}),
    ),
    ("POST", "/users/{user_id}/keys/rotate"): (
        "yy nn nn nn yn nn",
        lambda c: (f"/users/{c.users['target']}/keys/rotate", {}),
    ),
    ("POST", "/users/{user_id}/keys/{key_id}/revoke"): (
        "yy nn nn nn yn nn",
        lambda c: (f"/users/{c.users['target']}/keys/{c.key}/revoke", {}),
    ),
    ("POST", "/users/{user_id}/invitations"): (
        "yy nn nn nn yn nn",
        lambda c: (f"/users/{c.users['target']}/invitations", {}),
    ),
    ("GET", "/invitations"): ("yy nn nn nn yy nn", lambda c: ("/invitations", {})),
    ("POST", "/orgs/{org_id}/units"): (
        "yy nn nn nn nn nn",
        lambda c: (f"/orgs/{c.org}/units", {"json": {"name": f"unit {next(_n)}"}}),
    ),
    ("GET", "/orgs/{org_id}/units"): ("yy nn yn yn yn nn", lambda c: (f"/orgs/{c.org}/units", {})),
    ("GET", "/cases"): ("nn nn yy yy yy nn", lambda c: ("/cases", {})),
    ("POST", "/cameras"): (
        "yy yy nn nn nn nn",
        lambda c: (
            "/cameras",
            {"json": {"name": "m", "latitude": 1, "longitude": 1, "timezone": "UTC"}},
        ),
    ),
    ("GET", "/cameras"): ("yy yy yy yy yy nn", lambda c: ("/cameras", {})),
    ("GET", "/cameras/{camera_id}"): ("yy yn yy yy yy nn", lambda c: (f"/cameras/{c.camera}", {})),
    ("PATCH", "/cameras/{camera_id}"): (
        "yy yn nn nn nn nn",
        lambda c: (f"/cameras/{c.camera}", {"json": {"address": f"a{next(_n)}"}}),
    ),
    ("DELETE", "/cameras/{camera_id}"): (
        "yy yn nn nn nn nn",
        lambda c: (f"/cameras/{c.camera}", {}),
    ),
    ("GET", "/cameras/{camera_id}/access-log"): (
        "yy yn nn nn nn nn",
        lambda c: (f"/cameras/{c.camera}/access-log", {}),
    ),
    ("POST", "/cameras/{camera_id}/footage"): (
        "yy yn nn nn nn nn",
        lambda c: (
            f"/cameras/{c.camera}/footage",
            {"content": b"not a video", "params": {"start": T0.isoformat()}},
        ),
    ),
    ("GET", "/cameras/{camera_id}/footage"): (
        "yy yn yy yy yy nn",
        lambda c: (f"/cameras/{c.camera}/footage", {"params": WINDOW}),
    ),
    ("GET", "/segments/{segment_id}"): (
        "yy yn yy yy yy nn",
        lambda c: (f"/segments/{c.segment}", {}),
    ),
    ("PATCH", "/segments/{segment_id}"): (
        "yy yn nn nn nn nn",
        lambda c: (
            f"/segments/{c.segment}",
            {"json": {"start": T0.isoformat(), "reason": "matrix check correction"}},
        ),
    ),
    ("GET", "/events"): ("nn nn yy yy yy nn", lambda c: ("/events", {"params": SEARCH})),
    ("GET", "/events/histogram"): (
        "nn nn yy yy yy nn",
        lambda c: ("/events/histogram", {"params": {**SEARCH, "bucket": "1h"}}),
    ),
    ("GET", "/events/{event_id}"): (
        "nn nn yy yy yy nn",
        lambda c: (f"/events/{c.event}", {"params": {"purpose": SEARCH["purpose"]}}),
    ),
    ("GET", "/events/{event_id}/thumbnail"): (
        "nn nn yy yy yy nn",
        lambda c: (f"/events/{c.event}/thumbnail", {"params": {"purpose": SEARCH["purpose"]}}),
    ),
    ("POST", "/cases"): (
        "nn nn nn yy yy nn",
        lambda c: ("/cases", {"json": {"number": f"M-{next(_n)}", "title": "matrix"}}),
    ),
    ("GET", "/cases/{case_id}"): ("nn nn nn yn yn nn", lambda c: (f"/cases/{c.case}", {})),
    ("PATCH", "/cases/{case_id}"): (
        "nn nn nn yn yn nn",
        lambda c: (f"/cases/{c.case}", {"json": {"status": "open"}}),
    ),
    ("POST", "/cases/{case_id}/members"): (
        "nn nn nn yn yn nn",
        lambda c: (f"/cases/{c.case}/members", {"json": {"user_id": c.users["inv1"]}}),
    ),
    ("POST", "/cases/{case_id}/extractions"): (
        "nn nn nn yn nn nn",
        lambda c: (
            f"/cases/{c.case}/extractions",
            {"json": {"camera_ids": [c.camera], **WINDOW, "reason": "matrix check request"}},
        ),
    ),
    ("GET", "/extractions"): ("nn yy nn yy yy nn", lambda c: ("/extractions", {})),
    ("GET", "/extractions/{extraction_id}"): (
        "nn yn nn yn yn nn",
        lambda c: (f"/extractions/{c.extraction}", {}),
    ),
    ("POST", "/extractions/{extraction_id}/decision"): (
        "nn yn nn nn nn nn",
        lambda c: (f"/extractions/{c.extraction}/decision", {"json": {"decision": "approve"}}),
    ),
    ("GET", "/extractions/{extraction_id}/package"): (
        "nn nn nn yn yn nn",
        lambda c: (f"/extractions/{c.extraction}/package", {}),
    ),
    ("GET", "/audit"): ("yy nn nn nn nn yy", lambda c: ("/audit", {})),
    ("GET", "/audit/verify"): ("yy nn nn nn nn yy", lambda c: ("/audit/verify", {})),
}
DOCS = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
}


def _routes(app: Any) -> set[tuple[str, str]]:
    """Every operation in the OpenAPI schema, plus the routes kept out of it on purpose."""
    out = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() for m in ops}
    return out | {("GET", "/metrics")}


def _setup(client: TestClient, settings) -> tuple[dict[str, str], Ctx]:  # type: ignore[no-untyped-def]
    from app.db import session_scope
    from app.events.models import Event

    w = World(client)
    w.keys["admin"] = bootstrap_admin(settings)
    orgs = {}
    for name, kind in [("ward_a", "ward"), ("ward_b", "ward"), ("p1", "police"), ("p2", "police")]:
        orgs[name] = client.post(
            "/orgs", json={"name": name, "kind": kind}, headers=w.h("admin")
        ).json()["id"]
    units = {
        org: client.post(
            f"/orgs/{orgs[org]}/units", json={"name": "cid"}, headers=w.h("admin")
        ).json()["id"]
        for org in ("p1", "p2")
    }
    users = {}
    for name, role, org in [
        ("ward_a", "ward", "ward_a"),
        ("ward_b", "ward", "ward_b"),
        ("off1", "officer", "p1"),
        ("off2", "officer", "p2"),
        ("inv1", "investigator", "p1"),
        ("inv2", "investigator", "p2"),
        ("sup1", "supervisor", "p1"),
        ("sup2", "supervisor", "p2"),
        ("auditor", "auditor", None),
        ("target", "officer", "p1"),
    ]:
        r = client.post(
            "/users",
            headers=w.h("admin"),
            json={
                "username": name,
                "role": role,
                "org_id": orgs[org] if org else None,
                "unit_id": units[org] if role in ("investigator", "supervisor") else None,
            },
        )
        w.keys[name] = r.json()["api_key"]
        users[name] = r.json()["id"]
    cam = w.camera("ward_a")
    seg = client.post(
        f"/cameras/{cam['id']}/footage",
        headers=w.h("ward_a"),
        content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
        params={"start": T0.isoformat()},
    ).json()
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    ctx.store.put("thumbs/matrix.jpg", io.BytesIO(b"\xff\xd8\xff\xd9"), length=4)
    with session_scope(ctx.engine) as s:
        ev = Event(
            camera_id=cam["id"],
            segment_id=seg["id"],
            track_id=1,
            label="person",
            color=None,
            start=T0,
            end=T0 + timedelta(seconds=3),
            best_at=T0,
            confidence=0.9,
            box_x1=0.1,
            box_y1=0.1,
            box_x2=0.2,
            box_y2=0.3,
            thumbnail_key="thumbs/matrix.jpg",
        )
        s.add(ev)
        s.flush()
        event_id = ev.id
    case = client.post(
        "/cases", json={"number": "MATRIX-1", "title": "matrix"}, headers=w.h("inv1")
    ).json()
    ex = client.post(
        f"/cases/{case['id']}/extractions",
        headers=w.h("inv1"),
        json={"camera_ids": [cam["id"]], **WINDOW, "reason": "matrix check request"},
    ).json()
    callers = {
        "admin": ("admin", "admin"),
        "auditor": ("auditor", "auditor"),
        "ward": ("ward_a", "ward_b"),
        "officer": ("off1", "off2"),
        "investigator": ("inv1", "inv2"),
        "supervisor": ("sup1", "sup2"),
    }
    keys = {
        f"{role}:{scope}": w.keys[pair[i]]
        for role, pair in callers.items()
        for i, scope in enumerate(("own", "other"))
    }
    assert event_id is not None
    key = client.get(f"/users/{users['target']}/keys", headers=w.h("admin")).json()[0]["id"]
    return keys, Ctx(cam["id"], seg["id"], event_id, case["id"], ex["id"], users, orgs["p1"], key)


@pytest.mark.slow
def test_authorization_matrix(client: TestClient, settings) -> None:  # type: ignore[no-untyped-def]
    routes = _routes(client.app)
    missing = routes - set(MATRIX) - DOCS
    assert not missing, f"endpoints without an authorization-matrix entry: {sorted(missing)}"
    stale = set(MATRIX) - routes
    assert not stale, f"matrix entries for endpoints that no longer exist: {sorted(stale)}"
    keys, c = _setup(client, settings)
    mismatches = []
    checked = 0
    for (method, template), (expected, build) in MATRIX.items():
        cells = expected.split() if expected != PUBLIC else ["yy"] * len(ROLES)
        for role, pair in zip(ROLES, cells, strict=True):
            for scope, want in zip(("own", "other"), pair, strict=True):
                path, kw = build(c)
                r = client.request(
                    method,
                    path,
                    headers={"Authorization": f"Bearer {keys[f'{role}:{scope}']}"},
                    **kw,
                )
                allowed = r.status_code not in (401, 403)
                checked += 1
                if allowed != (want == "y"):
                    mismatches.append(
                        f"{method} {template} as {role}/{scope}: {r.status_code} {r.text[:120]}"
                    )
                if not allowed:
                    assert r.status_code == 403 and r.json()["code"], r.text
        path, kw = build(c)
        r = client.request(method, path, **kw)
        checked += 1
        if expected == PUBLIC:
            if r.status_code in (401, 403):
                mismatches.append(f"{method} {template} anonymous: {r.status_code}")
        elif r.status_code != 401 or not r.json().get("code"):
            mismatches.append(f"{method} {template} anonymous: {r.status_code}")
    assert not mismatches, "\n".join(mismatches)
    print(
        f"authorization matrix: {len(MATRIX)} endpoints x {len(ROLES)} roles x "
        f"own/other + anonymous = {checked} checks"
    )
