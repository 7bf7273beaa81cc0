"""Errors the API returns: every one is `{"detail": ..., "code": ...}` with a 4xx/5xx status."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from app.db import is_read_only_error

log = logging.getLogger(__name__)
CLIENT_CLOSED = 499

VALIDATION_CODES = frozenset(
    {"invalid_text", "invalid_time", "invalid_window", "invalid_start", "date_out_of_range"}
)
"""Error types of wardcam's own validators (`app.text`, `app.timewindow`) that become the
`code` of a 422, so a client can tell them from other invalid input."""


class ApiError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        audit: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.audit = audit
        """Keyword arguments for an audit entry recording this refusal (written after the
        request's own transaction has been rolled back)."""
        if code:
            self.code = code
        if status_code:
            self.status_code = status_code


class BadRequest(ApiError):
    status_code = 400
    code = "bad_request"


class Unauthorized(ApiError):
    status_code = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status_code = 403
    code = "forbidden"


class NotFound(ApiError):
    status_code = 404
    code = "not_found"


class Conflict(ApiError):
    status_code = 409
    code = "conflict"


class Unprocessable(ApiError):
    status_code = 422
    code = "invalid_input"


class ServiceUnavailable(ApiError):
    status_code = 503
    code = "unavailable"


def error_body(detail: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"detail": detail, "code": code, **extra}


def _describe_validation(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    errors = []
    parts = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "request"
        msg = str(err.get("msg", "invalid"))
        parts.append(f"{where}: {msg}")
        errors.append({"loc": loc, "msg": msg, "type": err.get("type")})
    return "; ".join(parts) or "invalid request", errors


def _unavailable(what: str, code: str) -> JSONResponse:
    """503: a dependency is down; the client may retry."""
    return JSONResponse(
        error_body(f"{what} is unavailable; retry later", code),
        status_code=503,
        headers={"Retry-After": "5"},
    )


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse(
            error_body(exc.detail, exc.code), status_code=exc.status_code, headers=headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = _describe_validation(exc)
        # A validator of ours names its own code (e.g. `invalid_text`); else invalid_input.
        code = next((e["type"] for e in errors if e["type"] in VALIDATION_CODES), "invalid_input")
        return JSONResponse(error_body(detail, code, errors=errors), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(str(exc.detail), code), status_code=exc.status_code, headers=exc.headers
        )

    from app.storage import StoreUnavailable

    @app.exception_handler(ClientDisconnect)
    async def _hung_up(request: Request, _: ClientDisconnect) -> Response:
        # Nobody is left to read a response; 499 (nginx's "client closed request") is for
        # the metrics and the access log, and it is not a server error.
        log.info("client hung up during %s %s", request.method, request.url.path)
        return Response(status_code=CLIENT_CLOSED)

    @app.exception_handler(StoreUnavailable)
    async def _store_down(_: Request, exc: StoreUnavailable) -> JSONResponse:
        log.warning("object store unavailable: %s", exc)
        return _unavailable("the object store", "store_unavailable")

    @app.exception_handler(OperationalError)
    async def _db_down(_: Request, exc: OperationalError) -> JSONResponse:
        if is_read_only_error(exc):
            log.warning("database is read-only")
            return _unavailable("writing to the database", "database_read_only")
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return _unavailable("the database", "database_unavailable")

    @app.exception_handler(DBAPIError)
    async def _db_error(_: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return _unavailable("the database", "database_unavailable")
        if is_read_only_error(exc):
            log.warning("database is read-only")
            return _unavailable("writing to the database", "database_read_only")
        log.exception("database error")
        return JSONResponse(error_body("internal database error", "internal_error"), 500)
