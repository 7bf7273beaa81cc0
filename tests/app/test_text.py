"""Free text: NFC, no control or invisible formatting characters, in every field of every
input schema; names unique in their normalised form; Vietnamese round-trips."""

from __future__ import annotations

import types
import typing
import unicodedata
from typing import Annotated, Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter, ValidationError

from tests.conftest import World

BAD = ["a\x00b", "ab\u202ecd", "ab\u2066cd", "a\u200bb", "a\x1bb", "a\x85b", "a\ufeffb"]
VIET = "Ủy ban nhân dân phường Bến Nghé"
VIET_NFD = unicodedata.normalize("NFD", VIET)
PARSED_QUERY = {
    # Query strings that are not free text: each has its own parser, which refuses anything
    # else (coordinates, GeoJSON, vocabularies, cursors, bucket sizes, audit action names).
    "near",
    "bbox",
    "polygon",
    "label",
    "color",
    "order",
    "cursor",
    "bucket",
    "action",
}
"""Every other `str` query parameter must be a `CleanStr`."""


def _is_str(annotation: Any) -> bool:
    if annotation is str:
        return True
    if typing.get_origin(annotation) is Annotated:
        return _is_str(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_str(a) for a in typing.get_args(annotation) if a is not type(None))
    if typing.get_origin(annotation) is list:
        return _is_str(typing.get_args(annotation)[0])
    return False


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if typing.get_origin(annotation) is Annotated:
        return _is_list(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def _adapter(annotation: Any, metadata: list[Any]) -> TypeAdapter[Any]:
    if metadata:
        return TypeAdapter(Annotated[annotation, *metadata])  # type: ignore[valid-type]
    return TypeAdapter(annotation)


def _has_pattern(metadata: list[Any], annotation: Any = None) -> bool:
    """A field limited by a pattern (a secret of printable ASCII, say) refuses the bad
    characters by that pattern, not as free text. The pattern may sit on the field or in its
    annotated type (also inside `X | None`)."""
    if any(getattr(m, "pattern", None) for m in metadata):
        return True
    if typing.get_origin(annotation) is Annotated:
        return _has_pattern(list(typing.get_args(annotation)[1:]), typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_has_pattern([], a) for a in typing.get_args(annotation))
    return False


def api_routes(routes: Any) -> list[APIRoute]:
    """Every APIRoute of the app, through the routers it includes (FastAPI keeps included
    routers as `_IncludedRouter` entries holding the original router)."""
    out: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            out.append(route)
        elif hasattr(route, "original_router"):
            out += api_routes(route.original_router.routes)
    return out


def _models(app: Any) -> dict[str, type[BaseModel]]:
    out = {}
    for route in api_routes(app.routes):
        if route.body_field is not None:
            model = route.body_field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                out[model.__name__] = model
    return out


def test_every_free_text_field_of_every_input_schema_is_clean(client) -> None:  # type: ignore[no-untyped-def]
    models = _models(client.app)
    assert {"OrgCreate", "UserCreate", "CameraCreate", "CaseCreate", "DecisionIn"} <= set(models)
    checked = []
    for name, model in sorted(models.items()):
        for field_name, field in model.model_fields.items():
            if not _is_str(field.annotation):
                continue
            adapter = _adapter(field.annotation, field.metadata)
            for bad in BAD:
                with pytest.raises(ValidationError) as info:
                    adapter.validate_python([bad] if _is_list(field.annotation) else bad)
                if not _has_pattern(field.metadata, field.annotation) and field_name != "timezone":
                    assert info.value.errors()[0]["type"] == "invalid_text", (name, field_name)
            checked.append(f"{name}.{field_name}")
    assert len(checked) >= 15, checked


def _query_params(dependant: Any) -> list[Any]:
    out = list(dependant.query_params)
    for sub in dependant.dependencies:
        out += _query_params(sub)
    return out


def test_every_free_text_query_parameter_is_clean(client) -> None:  # type: ignore[no-untyped-def]
    free = []
    for route in api_routes(client.app.routes):
        for param in _query_params(route.dependant):
            if not _is_str(param.field_info.annotation) or param.alias in PARSED_QUERY:
                continue
            adapter = TypeAdapter(
                Annotated[param.field_info.annotation, *param.field_info.metadata]
            )  # type: ignore[valid-type]
            for bad in BAD:
                with pytest.raises(ValidationError) as info:
                    adapter.validate_python(bad)
                assert info.value.errors()[0]["type"] == "invalid_text", (route.path, param.alias)
            free.append(f"{route.path}?{param.alias}")
    assert {"/events?purpose", "/cameras/{camera_id}/footage?filename"} <= set(free), free


@pytest.mark.parametrize("bad", BAD)
def test_names_with_controls_are_refused_with_a_code(world: World, bad: str) -> None:
    before = world.count("organisation")
    r = world.client.post("/orgs", json={"name": bad, "kind": "ward"}, headers=world.h("admin"))
    assert r.status_code == 422 and r.json()["code"] == "invalid_text", r.text
    assert world.count("organisation") == before
    r = world.client.post(
        "/cameras",
        json={"name": f"Cam {bad}", "latitude": 1, "longitude": 1, "timezone": "UTC"},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_text"
    r = world.client.get(
        "/events",
        params={
            "from": "2024-05-01T00:00:00Z",
            "to": "2024-05-01T01:00:00Z",
            "purpose": f"looking for {bad} something",
        },
        headers=world.h("officer"),
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_text"
    assert world.count("camera") == 0


def test_vietnamese_round_trips_and_names_are_unique_when_normalised(world: World) -> None:
    c, admin = world.client, world.h("admin")
    r = c.post("/orgs", json={"name": VIET_NFD, "kind": "ward"}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == VIET and unicodedata.is_normalized("NFC", r.json()["name"])
    listed = [o["name"] for o in c.get("/orgs", headers=admin).json()]
    assert VIET in listed
    for twin in (VIET, VIET.upper(), f"  {VIET.replace(' ', '  ')} ", VIET_NFD.lower()):
        r = c.post("/orgs", json={"name": twin, "kind": "police"}, headers=admin)
        assert r.status_code == 409 and r.json()["code"] == "org_exists", twin
    cam = world.camera(name="Ngã tư Lê Lợi - Nguyễn Huệ", address="Số 1 Lê Lợi, Quận 1")
    assert cam["name"] == "Ngã tư Lê Lợi - Nguyễn Huệ"
    r = c.post(
        f"/orgs/{world.orgs['police']}/units",
        json={"name": unicodedata.normalize("NFD", "Đội Cảnh sát hình sự")},
        headers=admin,
    )
    assert r.status_code == 201 and r.json()["name"] == "Đội Cảnh sát hình sự"
    r = c.post(
        f"/orgs/{world.orgs['police']}/units", json={"name": "ĐỘI CẢNH SÁT HÌNH SỰ"}, headers=admin
    )
    assert r.status_code == 409 and r.json()["code"] == "unit_exists"
    r = c.post("/users", json={"username": "OFFICER", "role": "auditor"}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "user_exists"


def test_multiline_fields_keep_line_breaks(world: World) -> None:
    cam = world.camera()
    case = world.client.post(
        "/cases", json={"number": "ML-1", "title": "Trộm xe máy"}, headers=world.h("investigator")
    ).json()
    r = world.client.post(
        f"/cases/{case['id']}/extractions",
        headers=world.h("investigator"),
        json={
            "camera_ids": [cam["id"]],
            "from": "2024-05-01T10:00:00Z",
            "to": "2024-05-01T10:10:00Z",
            "reason": "Dòng một\r\nDòng hai\tcó tab",
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["reason"] == "Dòng một\nDòng hai\tcó tab"
    r = world.client.post(
        f"/cases/{case['id']}/extractions",
        headers=world.h("investigator"),
        json={
            "camera_ids": [cam["id"]],
            "from": "2024-05-01T10:00:00Z",
            "to": "2024-05-01T10:10:00Z",
            "reason": "ten chars \u202e reversed",
        },
    )
    assert r.status_code == 422 and r.json()["code"] == "invalid_text"
