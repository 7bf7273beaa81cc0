"""The OpenAPI document says which errors each operation can answer, in their real shape.

FastAPI documents only the success and its own 422. Every wardcam error is
`{"detail", "code"}` (`app.errors`), so the document gets one `Error` schema and, per
operation: 401 and 403 where a key is required, 404 where the path names an object, 409 and
413/415/408 where the operation can conflict or takes an upload, 422 in wardcam's shape, and
503 wherever the database or the object store is used (everything but /healthz).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string", "description": "for people"},
        "code": {"type": "string", "description": "for programs: see the README's list"},
        "errors": {
            "type": "array",
            "items": {"type": "object"},
            "description": "422 only: one entry per invalid field",
        },
    },
}
CONFLICTS = {
    ("post", "/orgs"): "org_exists",
    ("post", "/orgs/{org_id}/units"): "unit_exists",
    ("post", "/users"): "user_exists",
    ("post", "/users/{user_id}/deactivate"): "cannot_deactivate_self, last_admin",
    ("post", "/users/{user_id}/invitations"): "user_inactive",
    ("post", "/cases"): "case_exists",
    ("post", "/cases/{case_id}/members"): "already_member",
    ("post", "/cases/{case_id}/extractions"): "case_closed",
    ("post", "/extractions/{extraction_id}/decision"): "already_decided",
    ("get", "/extractions/{extraction_id}/package"): "package_not_ready",
    ("post", "/cameras/{camera_id}/footage"): "duplicate_footage",
    ("patch", "/segments/{segment_id}"): "segment_in_evidence",
}
"""Operations that can answer 409, with the codes."""
UPLOADS = {("post", "/cameras/{camera_id}/footage")}
NO_DEPENDENCIES = {("get", "/healthz")}


def _response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def document_errors(schema: dict[str, Any]) -> dict[str, Any]:
    """Add wardcam's error responses to a generated OpenAPI document (in place)."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR
    for path, operations in schema.get("paths", {}).items():
        for method, op in operations.items():
            responses = op.setdefault("responses", {})
            extra: dict[str, dict[str, Any]] = {}
            if op.get("security"):
                extra["401"] = _response(
                    "no API key (`missing_api_key`), or not a valid one: unknown, revoked, "
                    "or its user deactivated (`invalid_api_key`)"
                )
                extra["403"] = _response(
                    "your role may not (`role_not_allowed`), or not on this object "
                    "(`not_your_camera`, `not_on_case`, ...)"
                )
            if "{" in path:
                extra["404"] = _response("the object named in the path does not exist")
            if (method, path) in CONFLICTS:
                extra["409"] = _response(
                    f"conflicts with the current state: {CONFLICTS[method, path]}"
                )
            if (method, path) in UPLOADS:
                extra["408"] = _response("the body stopped arriving (`upload_timeout`)")
                extra["413"] = _response("larger than WARDCAM_MAX_UPLOAD_BYTES (`too_large`)")
                extra["415"] = _response("a form upload; send the file as the body")
            if "422" in responses:
                extra["422"] = _response("invalid input (`invalid_input` or a specific code)")
            if (method, path) not in NO_DEPENDENCIES:
                extra["503"] = _response(
                    "the database or the object store is unavailable or read-only; retry "
                    "after Retry-After (`database_unavailable`, `database_read_only`, "
                    "`store_unavailable`)"
                )
            for status, body in extra.items():
                if status == "422" or status not in responses:
                    responses[status] = body
    schemas = schema["components"]["schemas"]
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return schema


def install(app: FastAPI) -> None:
    """Generate the document once, with the errors added."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_errors(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    summary=app.summary,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
