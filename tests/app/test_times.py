"""One rule for times (app/timewindow.py): ISO 8601 with a UTC offset or `Z` in; UTC with `Z`
out (the camera-local copies of event times excepted, named *_local). Unix timestamps and
dates without a time are refused: both are ambiguous (seconds or milliseconds? midnight
where?)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import World

PURPOSE = "checking the time rule of the API"
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


def _times(body: Any, path: str = "") -> list[tuple[str, str]]:
    """Every value in a JSON body that looks like a date-time, with where it is."""
    out = []
    if isinstance(body, dict):
        for k, v in body.items():
            out += _times(v, f"{path}.{k}")
    elif isinstance(body, list):
        for i, v in enumerate(body):
            out += _times(v, f"{path}[{i}]")
    elif isinstance(body, str) and re.match(r"^\d{4}-\d\d-\d\dT", body):
        out.append((path, body))
    return out


def _assert_utc(body: Any) -> int:
    found = [(p, v) for p, v in _times(body) if not p.endswith("_local")]
    bad = [(p, v) for p, v in found if not ISO_UTC.match(v)]
    assert not bad, bad
    return len(found)


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("1714557600", "unix timestamp"),
        ("1714557600000", "unix timestamp"),
        ("1714557600.5", "unix timestamp"),
        ("2024-05-01", "date without a time"),
        ("2024-05-01T10:00:00", "UTC offset"),
        ("2024-05-01T10:00:00 07:00", "%2B"),  # a '+' not URL-encoded arrives as a space
        ("yesterday", "ISO 8601"),
    ],
)
def test_only_iso_8601_with_an_offset_is_a_time(world: World, value: str, hint: str) -> None:
    c = world.client
    good = "2024-05-01T12:00:00+07:00"
    r = c.get(
        "/events",
        params={"from": value, "to": good, "purpose": PURPOSE},
        headers=world.h("officer"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_window", r.text
    assert hint in r.json()["detail"]
    r = c.get(
        "/events/histogram",
        params={"from": "2024-05-01T00:00:00Z", "to": value, "purpose": PURPOSE},
        headers=world.h("officer"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_window", r.text
    cam = world.camera()
    r = c.get(
        f"/cameras/{cam['id']}/footage",
        params={"from": value, "to": good},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_window", r.text
    r = c.post(
        f"/cameras/{cam['id']}/footage",
        params={"start": value},
        content=b"not even read",
        headers=world.h("ward_a"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_start", r.text
    case = c.post(
        "/cases", json={"number": f"T-{len(value)}", "title": "t"}, headers=world.h("investigator")
    ).json()
    for body in ({"from": value, "to": good}, {"from": "2024-05-01T10:00:00Z", "to": value}):
        r = c.post(
            f"/cases/{case['id']}/extractions",
            json={"camera_ids": [cam["id"]], **body, "reason": "time rule check"},
            headers=world.h("investigator"),
        )
        assert r.status_code == 422 and r.json()["code"] == "invalid_window", r.text
    assert world.count("extraction") == 0 and world.count("segment") == 0


def _soon(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


@pytest.mark.parametrize(
    ("lo", "hi"),
    [
        ("0001-01-01T00:00:00Z", "0001-01-01T01:00:00Z"),
        ("0001-01-01T00:00:00+07:00", "0001-01-01T09:00:00+07:00"),  # not even in UTC
        ("9999-12-31T22:00:00Z", "9999-12-31T23:59:59Z"),
        ("9999-12-31T20:00:00-05:00", "9999-12-31T23:00:00-05:00"),  # year 10000 in UTC
        ("1999-12-31T23:00:00Z", "2000-01-01T00:30:00Z"),
        ("2000-01-01T06:00:00+07:00", "2000-01-01T08:00:00+07:00"),  # starts in 1999 UTC
        ("+0.5d", "+2d"),  # ends two days from now
    ],
)
def test_dates_are_bounded_to_2000_until_tomorrow(world: World, lo: str, hi: str) -> None:
    """Issue 15 item 7: year 1 or 9999 gave 500s or dropped connections, and an extraction
    in year 1 was accepted; every client date of a window lies in 2000-01-01 ... now + 1 day,
    else a 422 `date_out_of_range`."""
    lo, hi = (_soon(float(v[1:-1])) if v.startswith("+") else v for v in (lo, hi))
    c = world.client
    cam = world.camera()
    case = c.post(
        "/cases", json={"number": "T-RANGE", "title": "t"}, headers=world.h("investigator")
    ).json()
    for path, params, who in (
        ("/events", {"purpose": PURPOSE}, "officer"),
        ("/events/histogram", {"purpose": PURPOSE, "bucket": "1m"}, "officer"),
        (f"/cameras/{cam['id']}/footage", {}, "ward_a"),
    ):
        r = c.get(path, params={"from": lo, "to": hi, **params}, headers=world.h(who))
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["code"] == "date_out_of_range", r.text
        assert "2000-01-01T00:00:00Z" in r.json()["detail"], r.text
    r = c.post(
        f"/cases/{case['id']}/extractions",
        json={"camera_ids": [cam["id"]], "from": lo, "to": hi, "reason": "range check"},
        headers=world.h("investigator"),
    )
    assert r.status_code == 422 and r.json()["code"] == "date_out_of_range", r.text
    assert world.count("extraction") == 0


def test_the_date_bounds_themselves_are_accepted(world: World) -> None:
    cam = world.camera()
    early, late = "2000-01-01T00:00:00Z", _soon(0.99)
    r = world.client.get(
        "/events/histogram",
        params={"from": early, "to": "2000-01-01T01:00:00Z", "purpose": PURPOSE, "bucket": "1h"},
        headers=world.h("officer"),
    )
    assert r.status_code == 200, r.text
    r = world.client.get(
        "/events",
        params={"from": _soon(0.5), "to": late, "purpose": PURPOSE},
        headers=world.h("officer"),
    )
    assert r.status_code == 200, r.text
    r = world.client.get(
        f"/cameras/{cam['id']}/footage",
        params={"from": early, "to": "2000-01-02T00:00:00Z"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 200 and r.json()["gaps"][0]["start"] == early, r.text


def test_a_number_in_a_json_body_is_refused_too(world: World) -> None:
    cam = world.camera()
    case = world.client.post(
        "/cases", json={"number": "T-N", "title": "t"}, headers=world.h("investigator")
    ).json()
    r = world.client.post(
        f"/cases/{case['id']}/extractions",
        json={"camera_ids": [cam["id"]], "from": 1714557600, "to": 1714558200, "reason": "numbers"},
        headers=world.h("investigator"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_window", r.text


def test_offsets_in_utc_out(world: World) -> None:
    c = world.client
    cam = world.camera(timezone="Asia/Ho_Chi_Minh")
    case = c.post(
        "/cases", json={"number": "T-UTC", "title": "t"}, headers=world.h("investigator")
    ).json()
    r = c.post(
        f"/cases/{case['id']}/extractions",
        json={
            "camera_ids": [cam["id"]],
            "from": "2024-05-01T17:00:00+07:00",
            "to": "2024-05-01T17:10:00+07:00",
            "reason": "offsets in, UTC out",
        },
        headers=world.h("investigator"),
    )
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["from"] == "2024-05-01T10:00:00Z" and created["to"] == "2024-05-01T10:10:00Z"
    _assert_utc(created)
    again = c.get(f"/extractions/{created['id']}", headers=world.h("investigator")).json()
    assert again["from"] == created["from"] and _assert_utc(again)
    r = c.get(
        f"/cameras/{cam['id']}/footage",
        params={"from": "2024-05-01T07:00:00+07:00", "to": "2024-05-01T09:00:00+07:00"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 200, r.text
    cov = r.json()
    assert cov["start"] == "2024-05-01T00:00:00Z" and cov["gaps"][0]["start"] == cov["start"]
    _assert_utc(cov)
    for window in (
        {"from": "2024-05-01T07:00:00+07:00", "to": "2024-05-01T09:00:00+07:00"},
        {"from": "2024-05-01T00:00:00Z", "to": "2024-05-01T02:00:00z"},
        {"from": "2024-05-01T00:00:00.000+00:00", "to": "2024-05-01T02:00:00-00:00"},
    ):
        r = c.get(
            "/events/histogram",
            params={**window, "purpose": PURPOSE, "bucket": "1h"},
            headers=world.h("officer"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["start"] == "2024-05-01T00:00:00Z" and _assert_utc(r.json())
    for path in ("/users/me", "/cameras", f"/cases/{case['id']}", "/audit"):
        who = "auditor" if path == "/audit" else "investigator"
        assert _assert_utc(c.get(path, headers=world.h(who)).json()) > 0, path
    assert datetime.fromisoformat(created["from"]) == datetime(2024, 5, 1, 10, tzinfo=UTC)
