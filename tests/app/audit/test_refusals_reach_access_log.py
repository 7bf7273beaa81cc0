"""Issue 15, item 14: every refusal concerning a camera (403, 404, 409 on its footage,
segments, events, thumbnails, requests and decisions; a refused key on its paths) is in
that camera's access log, as its owner reads it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import httpx

from tests.conftest import FOOTAGE, World

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
CLIP = FOOTAGE / "street_crossing_day.mp4"
PURPOSE = {"purpose": "checking who may see this camera"}


def _event(world: World, cam: int, seg: int) -> int:
    """An event of the segment whose thumbnail is gone from the store."""
    from app.db import session_scope
    from app.events.models import Event

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    with session_scope(ctx.engine) as s:
        ev = Event(
            camera_id=cam,
            segment_id=seg,
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
            thumbnail_key="thumbnails/gone.jpg",
        )
        s.add(ev)
        s.flush()
        assert ev.id is not None
        return ev.id


def test_every_refusal_concerning_a_camera_is_in_its_access_log(world: World) -> None:
    c = world.client
    cam = world.camera()["id"]
    data = CLIP.read_bytes()
    seg = c.post(
        f"/cameras/{cam}/footage",
        params={"start": T0.isoformat()},
        content=data,
        headers=world.h("ward_a"),
    ).json()["id"]
    event = _event(world, cam, seg)
    case = c.post(
        "/cases", json={"number": "R-14", "title": "refusals"}, headers=world.h("investigator")
    ).json()["id"]
    window = {"from": T0.isoformat(), "to": (T0 + timedelta(minutes=5)).isoformat()}
    ask = {"camera_ids": [cam], **window, "reason": "who may see this camera"}
    ex = c.post(f"/cases/{case}/extractions", json=ask, headers=world.h("investigator")).json()
    closed = c.post(
        "/cases", json={"number": "R-14b", "title": "closed"}, headers=world.h("investigator")
    ).json()["id"]
    assert c.patch(
        f"/cases/{closed}", json={"status": "closed"}, headers=world.h("investigator")
    ).status_code == 200

    def log() -> list[dict]:
        r = c.get(f"/cameras/{cam}/access-log", params={"limit": 500}, headers=world.h("ward_a"))
        assert r.status_code == 200, r.text
        items: list[dict] = r.json()["items"]
        return items

    Call = Callable[[], httpx.Response]
    refusals: list[tuple[str, int, str, Call]] = [
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.get(f"/cameras/{cam}", headers=world.h("ward_b")),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.patch(f"/cameras/{cam}", json={"name": "mine"}, headers=world.h("ward_b")),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.delete(f"/cameras/{cam}", headers=world.h("ward_b")),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.post(
                f"/cameras/{cam}/footage",
                params={"start": T0.isoformat()},
                content=data,
                headers=world.h("ward_b"),
            ),
        ),
        (
            "auditor",
            403,
            "role_not_allowed",
            lambda: c.post(
                f"/cameras/{cam}/footage",
                params={"start": T0.isoformat()},
                content=data,
                headers=world.h("auditor"),
            ),
        ),
        (
            "ward_a",
            409,
            "duplicate_footage",
            lambda: c.post(
                f"/cameras/{cam}/footage",
                params={"start": (T0 + timedelta(hours=1)).isoformat()},
                content=data,
                headers=world.h("ward_a"),
            ),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.get(f"/cameras/{cam}/footage", params=window, headers=world.h("ward_b")),
        ),
        (
            "auditor",
            403,
            "role_not_allowed",
            lambda: c.get(f"/cameras/{cam}/footage", params=window, headers=world.h("auditor")),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.get(f"/segments/{seg}", headers=world.h("ward_b")),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.patch(
                f"/segments/{seg}",
                json={"start": T0.isoformat(), "reason": "that is not my camera"},
                headers=world.h("ward_b"),
            ),
        ),
        (
            "ward_a",
            403,
            "role_not_allowed",
            lambda: c.get(f"/events/{event}", params=PURPOSE, headers=world.h("ward_a")),
        ),
        (
            "investigator2",
            403,
            "not_on_case",
            lambda: c.get(
                f"/events/{event}", params={"case_id": case}, headers=world.h("investigator2")
            ),
        ),
        (
            "officer",
            404,
            "thumbnail_not_found",
            lambda: c.get(f"/events/{event}/thumbnail", params=PURPOSE, headers=world.h("officer")),
        ),
        (
            "investigator2",
            403,
            "not_on_case",
            lambda: c.get(
                f"/events/{event}/thumbnail",
                params={"case_id": case},
                headers=world.h("investigator2"),
            ),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.get(f"/cameras/{cam}/access-log", headers=world.h("ward_b")),
        ),
        (
            "investigator2",
            403,
            "not_on_case",
            lambda: c.post(
                f"/cases/{case}/extractions", json=ask, headers=world.h("investigator2")
            ),
        ),
        (
            "investigator",
            409,
            "case_closed",
            lambda: c.post(
                f"/cases/{closed}/extractions", json=ask, headers=world.h("investigator")
            ),
        ),
        (
            "investigator2",
            403,
            "not_on_case",
            lambda: c.get(f"/extractions/{ex['id']}", headers=world.h("investigator2")),
        ),
        (
            "ward_b",
            403,
            "not_on_case",
            lambda: c.get(f"/extractions/{ex['id']}", headers=world.h("ward_b")),
        ),
        (
            "ward_b",
            403,
            "not_your_camera",
            lambda: c.post(
                f"/extractions/{ex['id']}/decision",
                json={"decision": "approve"},
                headers=world.h("ward_b"),
            ),
        ),
        (
            "officer",
            403,
            "role_not_allowed",
            lambda: c.post(
                f"/extractions/{ex['id']}/decision",
                json={"decision": "approve"},
                headers=world.h("officer"),
            ),
        ),
        (
            "investigator",
            409,
            "package_not_ready",
            lambda: c.get(f"/extractions/{ex['id']}/package", headers=world.h("investigator")),
        ),
        (
            "investigator2",
            403,
            "not_on_case",
            lambda: c.get(f"/extractions/{ex['id']}/package", headers=world.h("investigator2")),
        ),
    ]
    for who, status, code, call in refusals:
        before = {e["seq"] for e in log()}
        r = call()
        assert (r.status_code, r.json()["code"]) == (status, code), (who, code, r.text)
        new = [e for e in log() if e["seq"] not in before]
        assert [e["outcome"] for e in new] == ["denied"], (who, code, new)
        assert new[0]["actor_user_id"] == world.users[who], (who, code, new)
    # Decided, then decided again; then the segment, now in evidence, cannot move.
    later = {"start": (T0 + timedelta(hours=1)).isoformat(), "reason": "the clock was wrong"}
    ok = c.post(
        f"/extractions/{ex['id']}/decision", json={"decision": "approve"}, headers=world.h("ward_a")
    )
    assert ok.status_code == 200 and ok.json()["state"] == "approved", ok.text
    late: list[tuple[str, int, str, Call]] = [
        (
            "ward_a",
            409,
            "already_decided",
            lambda: c.post(
                f"/extractions/{ex['id']}/decision",
                json={"decision": "deny"},
                headers=world.h("ward_a"),
            ),
        ),
        (
            "ward_a",
            409,
            "segment_in_evidence",
            lambda: c.patch(
                f"/segments/{seg}",
                json=later,
                headers=world.h("ward_a"),
            ),
        ),
    ]
    for who, status, code, call in late:
        before = {e["seq"] for e in log()}
        r = call()
        assert (r.status_code, r.json()["code"]) == (status, code), (who, code, r.text)
        new = [e for e in log() if e["seq"] not in before]
        assert [e["outcome"] for e in new] == ["denied"], (who, code, new)
        assert new[0]["actor_user_id"] == world.users[who], (who, code, new)
    # A refused key on the camera's paths is there too (without a user).
    before = {e["seq"] for e in log()}
    r = c.get(f"/segments/{seg}", headers={"Authorization": "Bearer wc_nottherightkey_x"})
    assert r.status_code == 401
    new = [e for e in log() if e["seq"] not in before]
    assert [(e["action"], e["outcome"]) for e in new] == [("auth.reject", "denied")]
    # What the owner reads names the refusal: for an entry no service wrote, the code.
    entries = log()
    thumb = [e for e in entries if e["details"].get("code") == "thumbnail_not_found"]
    assert thumb and thumb[0]["target_type"] == "event" and thumb[0]["target_id"] == str(event)
    # Another ward's camera log has none of it; nothing leaks across cameras.
    other = world.camera("ward_b")["id"]
    r = c.get(f"/cameras/{other}/access-log", headers=world.h("ward_b")).json()["items"]
    assert [e["action"] for e in r] == ["camera.create"]
    assert c.get("/audit/verify", headers=world.h("auditor")).json()["ok"]
