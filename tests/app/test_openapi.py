"""/openapi.json documents the errors each operation can answer, in wardcam's shape."""

from __future__ import annotations

from fastapi.testclient import TestClient

ERROR_REF = "#/components/schemas/Error"


def _ref(response: dict) -> str:
    return response["content"]["application/json"]["schema"]["$ref"]


def test_error_responses_are_documented(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    assert doc["components"]["schemas"]["Error"]["required"] == ["detail", "code"]
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    ops = [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]
    assert len(ops) > 40
    for method, path, op in ops:
        responses = op["responses"]
        where = f"{method.upper()} {path}"
        if op.get("security"):
            for status in ("401", "403"):
                assert _ref(responses[status]) == ERROR_REF, (where, status)
        if "{" in path:
            assert _ref(responses["404"]) == ERROR_REF, where
        if "422" in responses:
            assert _ref(responses["422"]) == ERROR_REF, where
        if path != "/healthz":
            assert _ref(responses["503"]) == ERROR_REF, where
    paths = doc["paths"]
    for method, path in (
        ("post", "/orgs"),
        ("post", "/users"),
        ("post", "/cases"),
        ("post", "/orgs/{org_id}/units"),
        ("post", "/users/{user_id}/deactivate"),
        ("post", "/extractions/{extraction_id}/decision"),
    ):
        assert "409" in paths[path][method]["responses"], (method, path)
    upload = paths["/cameras/{camera_id}/footage"]["post"]["responses"]
    assert {"408", "413", "415"} <= set(upload)
    assert "401" not in paths["/healthz"]["get"]["responses"]


def test_a_documented_409_is_what_the_api_answers(client: TestClient, settings) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import bootstrap_admin

    admin = {"Authorization": f"Bearer {bootstrap_admin(settings)}"}
    assert (
        client.post("/orgs", json={"name": "a", "kind": "ward"}, headers=admin).status_code == 201
    )
    r = client.post("/orgs", json={"name": "A", "kind": "ward"}, headers=admin)
    documented = client.get("/openapi.json").json()["paths"]["/orgs"]["post"]["responses"]
    assert str(r.status_code) in documented and r.json()["code"] in documented["409"]["description"]
