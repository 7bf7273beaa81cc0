"""The registry's streams: record and detect URLs, or a vendor source that builds both; kept
encrypted, never returned; and the health of a camera no worker records yet."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import text

from tests.conftest import World

PASSWORD = "Ph@t#1:/%x"


def _stored(world: World, camera_id: int) -> tuple[str | None, str | None, str | None, int | None]:
    engine = world.client.app.state.ctx.engine  # type: ignore[attr-defined]
    with engine.connect() as c:
        row = c.execute(
            text(
                "SELECT stream_url_encrypted, detect_url_encrypted, vendor, channel "
                "FROM camera WHERE id = :i"
            ),
            {"i": camera_id},
        ).one()
    return row[0], row[1], row[2], row[3]


def _plain(world: World, token: str | None) -> str | None:
    box = world.client.app.state.ctx.secret_box  # type: ignore[attr-defined]
    return None if token is None else box.decrypt(token)


@pytest.mark.parametrize(
    ("vendor", "main", "sub"),
    [
        ("hikvision", "/Streaming/Channels/301", "/Streaming/Channels/302"),
        (
            "kbvision",
            "/cam/realmonitor?channel=3&subtype=0",
            "/cam/realmonitor?channel=3&subtype=1",
        ),
        ("imou", "/cam/realmonitor?channel=3&subtype=0", "/cam/realmonitor?channel=3&subtype=1"),
        ("ezviz", "/h264/ch3/main/av_stream", "/h264/ch3/sub/av_stream"),
    ],
)
def test_vendor_source_builds_both_streams_encrypted(
    world: World, vendor: str, main: str, sub: str
) -> None:
    cam = world.camera(
        source={
            "vendor": vendor,
            "host": "192.168.1.108",
            "channel": 3,
            "user": "admin",
            "password": PASSWORD,
        }
    )
    assert cam["has_stream"] and cam["has_detect_stream"]
    assert (cam["vendor"], cam["channel"]) == (vendor, 3)
    got = world.client.get(f"/cameras/{cam['id']}", headers=world.h("ward_a")).text
    for body in (str(cam), got):
        assert PASSWORD not in body and quote(PASSWORD, safe="") not in body
    enc_main, enc_sub, _, _ = _stored(world, cam["id"])
    assert enc_main and quote(PASSWORD, safe="") not in enc_main  # encrypted at rest
    cred = f"admin:{quote(PASSWORD, safe='')}@192.168.1.108:554"
    assert _plain(world, enc_main) == f"rtsp://{cred}{main}"
    assert _plain(world, enc_sub) == f"rtsp://{cred}{sub}"
    audit = world.client.get("/audit", headers=world.h("admin")).text
    assert PASSWORD not in audit and quote(PASSWORD, safe="") not in audit


def test_stream_urls_and_their_rules(world: World) -> None:
    h = world.h("ward_a")
    cam = world.camera(
        stream_url="rtsp://u:p@10.0.0.5/main", detect_stream_url="rtsp://u:p@10.0.0.5/sub"
    )
    assert cam["has_detect_stream"] and cam["vendor"] is None
    # '' removes the detect stream; the record stream stays.
    r = world.client.patch(f"/cameras/{cam['id']}", json={"detect_stream_url": ""}, headers=h)
    assert r.status_code == 200 and not r.json()["has_detect_stream"] and r.json()["has_stream"]
    # A detect stream alone is no camera to record.
    r = world.client.patch(f"/cameras/{cam['id']}", json={"stream_url": ""}, headers=h)
    assert r.status_code == 200 and not r.json()["has_stream"]
    r = world.client.patch(
        f"/cameras/{cam['id']}", json={"detect_stream_url": "rtsp://10.0.0.5/sub"}, headers=h
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_stream_url"
    # A source replaces both; a source and a URL together are refused.
    src = {"vendor": "dahua", "host": "cam.local", "user": "admin", "password": "x"}
    r = world.client.patch(f"/cameras/{cam['id']}", json={"source": src}, headers=h)
    assert r.status_code == 200 and r.json()["vendor"] == "dahua"
    r = world.client.patch(
        f"/cameras/{cam['id']}", json={"source": src, "stream_url": "rtsp://a/b"}, headers=h
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_stream_url"
    for bad in (
        {**src, "vendor": "acme"},
        {**src, "host": "bad host!"},
        {**src, "channel": 0},
        {**src, "vendor": "generic"},  # needs a path
    ):
        r = world.client.patch(f"/cameras/{cam['id']}", json={"source": bad}, headers=h)
        assert r.status_code == 422, bad
    r = world.client.patch(
        f"/cameras/{cam['id']}",
        json={
            "source": {
                "vendor": "generic",
                "host": "10.0.0.9",
                "path": "/live{stream_no}",
                "detect_stream": False,
            }
        },
        headers=h,
    )
    assert r.status_code == 200 and not r.json()["has_detect_stream"]
    assert _plain(world, _stored(world, cam["id"])[0]) == "rtsp://10.0.0.9:554/live1"


def test_health_before_any_worker_records(world: World) -> None:
    h = world.h("ward_a")
    bare = world.camera()
    got = world.client.get(f"/cameras/{bare['id']}/health", headers=h).json()
    assert got["state"] == "unconfigured" and got["streams"] == []
    assert got["gaps_24h"]["gaps"] == 1 and got["gaps_24h"]["recorded_s"] == 0
    assert got["index"] == {"backlog": 0, "lag_s": None}
    live = world.camera(stream_url="rtsp://10.0.0.5/main")
    assert world.client.get(f"/cameras/{live['id']}/health", headers=h).json()["state"] == (
        "unassigned"
    )
    r = world.client.patch(f"/cameras/{live['id']}", json={"status": "maintenance"}, headers=h)
    assert r.status_code == 200
    assert world.client.get(f"/cameras/{live['id']}/health", headers=h).json()["state"] == (
        "inactive"
    )
    assert world.client.get("/cameras/999999/health", headers=h).status_code == 404


def test_gaps_over_a_window() -> None:
    from app.fleet.service import gaps

    t = datetime(2026, 1, 1, tzinfo=UTC)
    s = timedelta(seconds=1)
    spans = [(t - 5 * s, t + 10 * s), (t + 10 * s, t + 20 * s), (t + 50 * s, t + 60 * s)]
    g = gaps(spans, t, t + 100 * s)
    assert (g.window_s, g.recorded_s, g.gap_s, g.gaps, g.longest_gap_s) == (100, 30, 70, 2, 40)
    assert gaps([], t, t + 10 * s).gaps == 1
