"""Event search on real events: the shared footage is uploaded and indexed by the real detector
(once per clip per test session), then every filter, the cursor, the histogram, the purpose
rule, authorization and the audit trail are checked on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from tests.conftest import DETECTOR_MODEL, FOOTAGE, TEST_SECRET, World, make_world

T0 = datetime(2024, 5, 1, 4, 15, tzinfo=UTC)  # 10:00 in Kathmandu (+05:45)
# (camera, clip, start): two cameras of ward_a close together, one of ward_b across town.
UPLOADS = [
    ("a1", "street_crossing_day.mp4", T0),
    ("a1", "driveway_ir_night.mp4", T0 + timedelta(hours=2)),
    ("a2", "intersection_cctv_day.mp4", T0 + timedelta(minutes=30)),
    ("b1", "motorcycles_cctv_day.mp4", T0 + timedelta(minutes=10)),
]
CAMERAS = {
    "a1": ("ward_a", "Chowk north", 27.7172, 85.3240),
    "a2": ("ward_a", "Chowk east", 27.7180, 85.3300),  # ~600 m east of a1
    "b1": ("ward_b", "Ring road", 27.6900, 85.3500),  # ~4 km south-east
}
PURPOSE = "burglary at chowk, looking for the getaway vehicle"

_pipeline_cache: dict[str, Any] = {}


def _cached_pipeline(real: Any) -> Any:
    """The real pipeline, run once per clip per session (both databases reuse its output);
    each run's events are handed to its `on_event` as the pipeline would."""

    def run(path: Path, *args: Any, on_event: Any = None, **kwargs: Any) -> Any:
        key = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if key not in _pipeline_cache:
            _pipeline_cache[key] = real(path, *args, **kwargs)
        found = _pipeline_cache[key]
        if on_event is None:
            return found
        return replace(found, events=[on_event(e) for e in found.events])

    return run


@dataclass
class Setup:
    world: World
    cams: dict[str, int]
    events: list[dict[str, Any]]  # straight from the table

    @property
    def client(self) -> TestClient:
        return self.world.client

    def get(self, path: str, who: str = "officer", **params: Any) -> Any:
        if "/events" in path and "purpose" not in params and "case_id" not in params:
            params["purpose"] = PURPOSE
        return self.client.get(path, params=params, headers=self.world.h(who))

    def search(self, who: str = "officer", **params: Any) -> Any:
        params.setdefault("from", (T0 - timedelta(hours=1)).isoformat())
        params.setdefault("to", (T0 + timedelta(hours=3)).isoformat())
        params.setdefault("limit", 500)
        return self.get("/events", who, **params)

    def ids(self, **params: Any) -> list[int]:
        r = self.search(**params)
        assert r.status_code == 200, r.text
        return [e["id"] for e in r.json()["items"]]

    def audit(self, action: str) -> list[dict[str, Any]]:
        r = self.client.get(
            "/audit", params={"action": action, "limit": 1000}, headers=self.world.h("auditor")
        )
        assert r.status_code == 200, r.text
        return r.json()["items"]


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def setup(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_template: Path,
) -> Iterator[Setup]:
    from app.events import jobs as handlers
    from app.jobs.pool import InProcessPool
    from app.main import create_app
    from app.settings import Settings

    tmp = tmp_path_factory.mktemp(f"search-{request.param}")
    if request.param == "sqlite":
        shutil.copy(sqlite_template, tmp / "wardcam.db")
        url = f"sqlite:///{tmp / 'wardcam.db'}"
    else:
        url = request.getfixturevalue("pg_templates").fresh()
    settings = Settings(
        data_dir=tmp / "data",
        database_url=url,
        storage_url=f"file://{tmp / 'objects'}",
        secret_key=TEST_SECRET,
        job_workers=0,
        detector_model=DETECTOR_MODEL,
        detector_device="cpu",
    )
    mp = pytest.MonkeyPatch()
    mp.setattr(handlers, "run_pipeline", _cached_pipeline(handlers.run_pipeline))
    with TestClient(create_app(settings)) as client:
        world = make_world(client, settings)
        cams: dict[str, int] = {}
        for key, (ward, name, lat, lon) in CAMERAS.items():
            cams[key] = world.camera(
                ward, name=name, latitude=lat, longitude=lon, clock_offset_s=0
            )["id"]
        for cam, clip, start in UPLOADS:
            r = client.post(
                f"/cameras/{cams[cam]}/footage",
                params={"start": start.isoformat()},
                content=(FOOTAGE / clip).read_bytes(),
                headers={**world.h(CAMERAS[cam][0]), "Content-Type": "video/mp4"},
            )
            assert r.status_code == 201, r.text
        ctx = client.app.state.ctx  # type: ignore[attr-defined]
        assert InProcessPool(ctx, 0).run_until_idle() == len(UPLOADS)
        from sqlmodel import Session, select

        from app.events.models import Event

        with Session(ctx.engine) as s:
            events = [e.model_dump() for e in s.exec(select(Event).order_by(Event.id)).all()]
        assert len(events) > 20
        yield Setup(world, cams, events)
    mp.undo()


def _overlaps(e: dict[str, Any], start: datetime, end: datetime) -> bool:
    return e["start"] < end and e["end"] >= start


def _expected(s: Setup, **f: Any) -> list[int]:
    start = f.get("start", T0 - timedelta(hours=1))
    end = f.get("end", T0 + timedelta(hours=3))
    out = []
    for e in s.events:
        if not _overlaps(e, start, end):
            continue
        if "cams" in f and e["camera_id"] not in f["cams"]:
            continue
        if "labels" in f and e["label"] not in f["labels"]:
            continue
        if "colors" in f and e["color"] not in f["colors"]:
            continue
        if "min_conf" in f and e["confidence"] < f["min_conf"]:
            continue
        out.append(e)
    out.sort(key=lambda e: (e["start"], e["id"]))
    return [e["id"] for e in out]


# --- every filter, on real events ----------------------------------------------------------


def test_real_events_cover_the_classes_and_cameras(setup: Setup) -> None:
    labels = {e["label"] for e in setup.events}
    assert {"car", "person", "motorcycle"} <= labels
    assert {e["camera_id"] for e in setup.events} == set(setup.cams.values())
    assert any(e["color"] not in (None, "unknown") for e in setup.events)


def test_window_alone_finds_everything_in_time_order(setup: Setup) -> None:
    assert setup.ids() == _expected(setup)
    r = setup.search(order="desc")
    assert [e["id"] for e in r.json()["items"]] == list(reversed(_expected(setup)))
    # Only the night clip (uploaded 2 h later) in a window around it.
    start, end = T0 + timedelta(hours=2), T0 + timedelta(hours=2, minutes=1)
    got = setup.ids(**{"from": start.isoformat(), "to": end.isoformat()})
    assert got == _expected(setup, start=start, end=end) and got


def test_near_radius_bbox_and_polygon_resolve_to_cameras(setup: Setup) -> None:
    a1, a2, b1 = setup.cams["a1"], setup.cams["a2"], setup.cams["b1"]
    assert setup.ids(near="27.7172,85.3240", radius_m=100) == _expected(setup, cams={a1})
    assert setup.ids(near="27.7172,85.3240", radius_m=1000) == _expected(setup, cams={a1, a2})
    assert setup.ids(near="27.7172,85.3240", radius_m=10_000) == _expected(setup)
    assert setup.ids(bbox="85.34,27.68,85.36,27.70") == _expected(setup, cams={b1})
    ward_a = {
        "type": "Polygon",
        "coordinates": [
            [
                [85.320, 27.715],
                [85.335, 27.715],
                [85.335, 27.722],
                [85.320, 27.722],
                [85.320, 27.715],
            ]
        ],
    }
    assert setup.ids(polygon=json.dumps(ward_a)) == _expected(setup, cams={a1, a2})
    # A hole around a2 leaves a1 only.
    ward_a["coordinates"].append(
        [[85.329, 27.717], [85.331, 27.717], [85.331, 27.719], [85.329, 27.719], [85.329, 27.717]]
    )
    assert setup.ids(polygon=json.dumps(ward_a)) == _expected(setup, cams={a1})
    assert setup.ids(near="0,0", radius_m=1000) == []


def test_label_color_camera_and_confidence_filters(setup: Setup) -> None:
    a1, b1 = setup.cams["a1"], setup.cams["b1"]
    got = setup.ids(label=["car", "motorcycle"])
    assert got == _expected(setup, labels={"car", "motorcycle"}) and got
    color = next(e["color"] for e in setup.events if e["color"] not in (None, "unknown"))
    got = setup.ids(color=[color])
    assert got == _expected(setup, colors={color}) and got
    got = setup.ids(camera_id=[a1, b1])
    assert got == _expected(setup, cams={a1, b1}) and got
    confs = sorted(e["confidence"] for e in setup.events)
    median = confs[len(confs) // 2]
    got = setup.ids(min_confidence=median)
    assert got == _expected(setup, min_conf=median) and len(got) < len(setup.events)
    # All together, and matching labels case-insensitively.
    got = setup.ids(label=["CAR"], color=[color], camera_id=[a1], min_confidence=0.1)
    assert got == _expected(setup, labels={"car"}, colors={color}, cams={a1}, min_conf=0.1)


def test_an_event_overlapping_the_window_edge_is_found(setup: Setup) -> None:
    e = max(setup.events, key=lambda e: e["end"] - e["start"])
    assert e["end"] - e["start"] > timedelta(seconds=1)
    mid = e["start"] + (e["end"] - e["start"]) / 2
    # Started before `from`, still visible at `from`: found.
    assert e["id"] in setup.ids(
        **{"from": mid.isoformat(), "to": (mid + timedelta(seconds=1)).isoformat()}
    )
    # Ends exactly at `from`: found (it is visible at that instant).
    assert e["id"] in setup.ids(
        **{"from": e["end"].isoformat(), "to": (e["end"] + timedelta(minutes=1)).isoformat()}
    )
    # Starts exactly at `to`: the window is half-open, not found.
    got = setup.ids(
        **{"from": (e["start"] - timedelta(minutes=1)).isoformat(), "to": e["start"].isoformat()}
    )
    assert e["id"] not in got
    got = setup.ids(
        **{
            "from": (e["end"] + timedelta(microseconds=1)).isoformat(),
            "to": (e["end"] + timedelta(minutes=5)).isoformat(),
        }
    )
    assert e["id"] not in got


def test_cursor_pages_through_everything_both_ways(setup: Setup) -> None:
    for order, expected in (("asc", _expected(setup)), ("desc", list(reversed(_expected(setup))))):
        seen: list[int] = []
        cursor = None
        for _ in range(100):
            params: dict[str, Any] = {"limit": 7, "order": order}
            if cursor:
                params["cursor"] = cursor
            r = setup.search(**params)
            assert r.status_code == 200, r.text
            page = r.json()
            seen += [e["id"] for e in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == expected


def test_results_carry_camera_local_time_and_thumbnail(setup: Setup) -> None:
    from app.events.schemas import EventPage

    r = setup.search(camera_id=[setup.cams["a1"]], limit=1)
    EventPage.model_validate(r.json())  # the hand-built body has the documented shape
    item = r.json()["items"][0]
    assert item["camera"] == {
        "id": setup.cams["a1"],
        "name": "Chowk north",
        "latitude": 27.7172,
        "longitude": 85.324,
        "timezone": "Asia/Kathmandu",
    }
    start = datetime.fromisoformat(item["start"])
    local = datetime.fromisoformat(item["start_local"])
    assert start.utcoffset() == timedelta(0) and local.utcoffset() == timedelta(hours=5, minutes=45)
    assert start == local
    assert item["label"] and 0 < item["confidence"] <= 1 and "color" in item
    assert item["thumbnail_url"].startswith(f"/events/{item['id']}/thumbnail?purpose=")
    thumb = setup.get(item["thumbnail_url"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    assert thumb.content[:2] == b"\xff\xd8"
    one = setup.get(f"/events/{item['id']}")
    assert one.status_code == 200 and one.json() == item
    assert setup.get("/events/999999").json()["code"] == "event_not_found"
    # Reading an event and its thumbnail is audited for the camera's owner.
    log = setup.get(f"/cameras/{setup.cams['a1']}/access-log", "ward_a").json()["items"]
    assert [e["action"] for e in log[:2]] == ["event.read", "event.thumbnail"]
    assert log[1]["target_id"] == str(item["id"])


def test_reading_one_event_needs_a_case_or_purpose_like_a_search(setup: Setup) -> None:
    """Event ids are sequential: without this rule, walking /events/1, /events/2, ... would be
    a search with no stated reason. Reading one event or its thumbnail takes the same case_id
    or purpose as a search, and is audited with it and the camera touched."""
    from urllib.parse import parse_qs, urlsplit

    first = setup.events[0]
    officer = setup.world.h("officer")
    for path in (f"/events/{first['id']}", f"/events/{first['id']}/thumbnail"):
        r = setup.client.get(path, headers=officer)
        assert r.status_code == 422 and r.json()["code"] == "purpose_required", r.text
        r = setup.client.get(path, params={"purpose": "curious"}, headers=officer)
        assert r.status_code == 422 and r.json()["code"] == "purpose_too_short"
    for event_id in range(1, 30):  # walking the ids yields nothing
        r = setup.client.get(f"/events/{event_id}", headers=officer)
        assert r.status_code == 422, event_id
    purpose = "sighting check for report 12/24"
    r = setup.client.get(f"/events/{first['id']}", params={"purpose": purpose}, headers=officer)
    assert r.status_code == 200
    entry = setup.audit("event.read")[-1]
    assert entry["purpose"] == purpose and entry["target_id"] == str(first["id"])
    assert entry["details"]["camera_ids"] == [first["camera_id"]]
    case = _case(setup, "officer")
    r = setup.client.get(
        f"/events/{first['id']}/thumbnail", params={"case_id": case}, headers=officer
    )
    assert r.status_code == 200 and r.content[:2] == b"\xff\xd8"
    entry = setup.audit("event.thumbnail")[-1]
    assert entry["case_id"] == case and entry["details"]["camera_ids"] == [first["camera_id"]]
    other = _case(setup, "investigator")
    r = setup.client.get(f"/events/{first['id']}", params={"case_id": other}, headers=officer)
    assert r.status_code == 403 and r.json()["code"] == "not_on_case"
    # The thumbnail links a search returns carry its case or purpose, so they just work.
    for params in ({"purpose": purpose}, {"case_id": case}):
        r = setup.search(camera_id=[first["camera_id"]], limit=1, **params)
        link = r.json()["items"][0]["thumbnail_url"]
        assert {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()} == {
            k: str(v) for k, v in params.items()
        }
        thumb = setup.client.get(link, headers=officer)
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"


# --- histogram -------------------------------------------------------------------------------


def _expected_hist(s: Setup, start: datetime, end: datetime, bucket: timedelta, **f: Any):  # type: ignore[no-untyped-def]
    out: dict[int, dict[int, int]] = {}
    for e in s.events:
        if not start <= e["start"] < end:
            continue
        if "colors" in f and e["color"] not in f["colors"]:
            continue
        if "labels" in f and e["label"] not in f["labels"]:
            continue
        idx = int((e["start"] - start) / bucket)
        out.setdefault(e["camera_id"], {}).setdefault(idx, 0)
        out[e["camera_id"]][idx] += 1
    return out


def _hist(s: Setup, **params: Any) -> dict[int, dict[int, int]]:
    r = s.get("/events/histogram", **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == sum(c["total"] for c in body["cameras"])
    return {c["camera_id"]: {i: n for i, n in enumerate(c["counts"]) if n} for c in body["cameras"]}


def test_histogram_counts_per_camera_per_bucket(setup: Setup) -> None:
    start, end = T0.replace(minute=0), T0.replace(minute=0) + timedelta(hours=4)
    window = {"from": start.isoformat(), "to": end.isoformat()}
    # Hour buckets from the hourly roll-up; 15-minute buckets and colours from the events.
    assert _hist(setup, **window, bucket="1h") == _expected_hist(
        setup, start, end, timedelta(hours=1)
    )
    assert _hist(setup, **window, bucket="15m") == _expected_hist(
        setup, start, end, timedelta(minutes=15)
    )
    got = _hist(setup, **window, bucket="1h", label=["car"])
    assert got == _expected_hist(setup, start, end, timedelta(hours=1), labels={"car"}) and got
    color = next(e["color"] for e in setup.events if e["color"] not in (None, "unknown"))
    got = _hist(setup, **window, bucket="2h", color=[color])
    assert got == _expected_hist(setup, start, end, timedelta(hours=2), colors={color}) and got
    got = _hist(setup, **window, bucket="1h", near="27.7172,85.3240", radius_m=100)
    assert set(got) == {setup.cams["a1"]}
    assert setup.audit("event.histogram")[-1]["purpose"] == PURPOSE


def test_hourly_rollup_follows_reindexing(setup: Setup) -> None:
    """The roll-up is kept by triggers: deleting and re-adding events keeps it exact."""
    ctx = setup.client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.engine.begin() as conn:
        total = conn.execute(text("SELECT sum(n_all) FROM event_hourly")).scalar_one()
        cars = conn.execute(text("SELECT sum(n_car) FROM event_hourly")).scalar_one()
        longest = conn.execute(text("SELECT max(max_duration_s) FROM event_bound")).scalar_one()
    assert total == len(setup.events)
    assert cars == sum(e["label"] == "car" for e in setup.events)
    real = max((e["end"] - e["start"]).total_seconds() for e in setup.events)
    assert real == pytest.approx(longest, abs=0.01)


# --- purpose, cases, authorization, audit ----------------------------------------------------


def _case(s: Setup, *members: str, status: str = "open") -> int:
    from sqlmodel import Session

    from app.cases.models import Case, CaseMember, CaseStatus

    ctx = s.client.app.state.ctx  # type: ignore[attr-defined]
    with Session(ctx.engine) as session:
        n = session.execute(text("SELECT count(*) FROM case_file")).scalar_one()
        case = Case(
            number=f"CID-{n + 1}",
            title="Burglary",
            unit_id=s.world.units["cid"],
            org_id=s.world.orgs["police"],
            status=CaseStatus(status),
            created_by=s.world.users["investigator"],
        )
        session.add(case)
        session.flush()
        assert case.id is not None
        for m in members:
            session.add(CaseMember(case_id=case.id, user_id=s.world.users[m]))
        session.commit()
        return case.id


def test_search_is_audited_with_purpose_and_seen_by_camera_owners(setup: Setup) -> None:
    a1, b1 = setup.cams["a1"], setup.cams["b1"]
    purpose = "hit and run on ring road, white car"
    r = setup.search(camera_id=[a1], label=["car"], purpose=purpose)
    assert r.status_code == 200
    n = len(r.json()["items"])
    entry = setup.audit("event.search")[-1]
    assert entry["purpose"] == purpose and entry["outcome"] == "allowed"
    assert entry["details"]["results"] == n and n > 0
    assert entry["details"]["query"]["label"] == ["car"]
    assert entry["details"]["query"]["camera_id"] == [a1]
    assert entry["details"]["camera_ids"] == [a1]
    # ward_a sees the search on its camera; ward_b's camera was not touched.
    log = setup.get(f"/cameras/{a1}/access-log", "ward_a").json()["items"]
    assert log[0]["action"] == "event.search" and log[0]["purpose"] == purpose
    assert log[0]["actor_user_id"] == setup.world.users["officer"]
    log_b = setup.get(f"/cameras/{b1}/access-log", "ward_b").json()["items"]
    assert all(e["purpose"] != purpose for e in log_b)


def test_case_search_needs_membership(setup: Setup) -> None:
    case_id = _case(setup, "investigator")
    r = setup.search("investigator", case_id=case_id)
    assert r.status_code == 200, r.text
    entry = setup.audit("event.search")[-1]
    assert (
        entry["case_id"] == case_id and entry["actor_user_id"] == setup.world.users["investigator"]
    )
    assert set(entry["details"]["camera_ids"]) == set(setup.cams.values())
    r = setup.search("investigator2", case_id=case_id)
    assert r.status_code == 403 and r.json()["code"] == "not_on_case"
    denied = setup.audit("event.search")[-1]
    assert (
        denied["outcome"] == "denied"
        and denied["actor_user_id"] == setup.world.users["investigator2"]
    )
    closed = _case(setup, "investigator", status="closed")
    r = setup.search("investigator", case_id=closed)
    assert r.status_code == 403 and r.json()["code"] == "case_closed"


def test_officers_search_wards_do_not(setup: Setup) -> None:
    a1 = setup.cams["a1"]
    event_id = setup.events[0]["id"]
    for who in ("ward_a", "ward_b", "auditor"):
        for path in (
            "/events",
            "/events/histogram",
            f"/events/{event_id}",
            f"/events/{event_id}/thumbnail",
        ):
            r = setup.get(
                path, who, **{"from": T0.isoformat(), "to": (T0 + timedelta(hours=1)).isoformat()}
            )
            assert r.status_code == 403 and r.json()["code"] == "role_not_allowed", (who, path)
    assert setup.search("investigator").status_code == 200
    assert setup.get("/events").status_code != 401
    assert setup.client.get("/events").status_code == 401
    # A ward reads its own camera's access log, not another ward's.
    assert setup.get(f"/cameras/{a1}/access-log", "ward_a").status_code == 200
    r = setup.get(f"/cameras/{a1}/access-log", "ward_b")
    assert r.status_code == 403 and r.json()["code"] == "not_your_camera"


# --- bad input -------------------------------------------------------------------------------

_W = {"from": "2024-05-01T00:00:00+00:00", "to": "2024-05-02T00:00:00+00:00"}
_SELF_CROSSING = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
_UNCLOSED = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}
_TOO_FEW = {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}
_OUT_OF_RANGE = {"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to": _W["to"]}, "missing_window"),
        ({"from": _W["from"]}, "missing_window"),
        ({"from": _W["to"], "to": _W["from"]}, "invalid_window"),
        ({"from": _W["from"], "to": _W["from"]}, "invalid_window"),
        ({"from": "2024-05-01T00:00:00", "to": "2024-05-02T00:00:00"}, "invalid_window"),
        ({**_W, "to": "2024-06-05T00:00:00+00:00"}, "window_too_long"),
        ({**_W, "near": "27.7,85.3", "radius_m": 0}, "invalid_radius"),
        ({**_W, "near": "27.7,85.3", "radius_m": -5}, "invalid_radius"),
        ({**_W, "near": "27.7,85.3", "radius_m": 50_001}, "invalid_radius"),
        ({**_W, "near": "27.7,85.3"}, "invalid_radius"),
        ({**_W, "near": "97.7,85.3", "radius_m": 10}, "invalid_coordinates"),
        ({**_W, "bbox": "1,2,3"}, "invalid_bbox"),
        ({**_W, "near": "27.7,85.3", "radius_m": 10, "bbox": "1,2,3,4"}, "invalid_place"),
        ({**_W, "polygon": "{not json"}, "invalid_polygon"),
        (
            {**_W, "polygon": json.dumps({"type": "Point", "coordinates": [0, 0]})},
            "invalid_polygon",
        ),
        ({**_W, "polygon": json.dumps(_SELF_CROSSING)}, "invalid_polygon"),
        ({**_W, "polygon": json.dumps(_UNCLOSED)}, "invalid_polygon"),
        ({**_W, "polygon": json.dumps(_TOO_FEW)}, "invalid_polygon"),
        ({**_W, "polygon": json.dumps(_OUT_OF_RANGE)}, "invalid_polygon"),
        ({**_W, "label": "unicorn"}, "invalid_label"),
        ({**_W, "label": ["car", "tank"]}, "invalid_label"),
        ({**_W, "color": "mauve"}, "invalid_color"),
        ({**_W, "min_confidence": 1.5}, "invalid_confidence"),
        ({**_W, "camera_id": 987654}, "unknown_camera"),
        ({**_W, "limit": 0}, "invalid_limit"),
        ({**_W, "limit": 10_000}, "invalid_limit"),
        ({**_W, "order": "sideways"}, "invalid_order"),
        ({**_W, "cursor": "garbage"}, "invalid_cursor"),
    ],
)
def test_bad_search_input_is_refused(setup: Setup, params: dict[str, Any], code: str) -> None:
    r = setup.get("/events", **params)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["code"] == code, r.text
    assert r.json()["detail"]


def test_missing_or_short_purpose_is_refused(setup: Setup) -> None:
    h = setup.world.h("officer")
    r = setup.client.get("/events", params=_W, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "purpose_required"
    r = setup.client.get("/events", params={**_W, "purpose": "   because  "}, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "purpose_too_short"
    r = setup.client.get("/events/histogram", params=_W, headers=h)
    assert r.status_code == 422 and r.json()["code"] == "purpose_required"
    r = setup.get("/events/histogram", **_W, bucket="7s")
    assert r.status_code == 422 and r.json()["code"] == "invalid_bucket"
    r = setup.get("/events/histogram", **{**_W, "to": "2024-05-31T00:00:00+00:00"}, bucket="1m")
    assert r.status_code == 422 and r.json()["code"] == "too_many_buckets"


def test_tampered_and_foreign_cursors_are_refused(setup: Setup) -> None:
    from app.events.cursor import CursorCodec

    r = setup.search(limit=3)
    cursor = r.json()["next_cursor"]
    assert cursor
    body, mac = cursor.split(".")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    for bad in (f"{flipped}.{mac}", f"{body}.{mac[:-1]}", cursor + "x", "a.b"):
        r = setup.search(limit=3, cursor=bad)
        assert r.status_code == 422 and r.json()["code"] == "invalid_cursor", bad
    # The same cursor with other filters, or by another user, is refused.
    r = setup.search(limit=3, cursor=cursor, label=["car"])
    assert r.status_code == 422 and "different query" in r.json()["detail"]
    r = setup.search("investigator", limit=3, cursor=cursor)
    assert r.status_code == 422 and "another user" in r.json()["detail"]
    # A cursor from another deployment (another secret) is refused.
    from app.events.cursor import Position

    foreign = CursorCodec(b"another deployment's secret key, 40 chars!").encode(
        Position(T0, 1), fingerprint="x", user_id=setup.world.users["officer"]
    )
    r = setup.search(limit=3, cursor=foreign)
    assert r.status_code == 422 and r.json()["code"] == "invalid_cursor"
    # The genuine cursor still works.
    assert setup.search(limit=3, cursor=cursor).status_code == 200
