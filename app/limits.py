"""What a request may be: headers of bounded size, and an upload as a raw body that keeps
arriving.

Headers: the server (uvicorn with h11, `wardcam serve`) refuses a request line and headers
that have not ended within `WARDCAM_MAX_HEADER_BYTES` with a 400; headers that arrive in one
network read are complete before h11 looks, so `HeaderLimit` counts them again and answers
431 `headers_too_large`.

Footage is uploaded as the request body itself (`--data-binary @clip.mp4`), so it can be
streamed to disk while hashed. A `multipart/form-data` body (a browser form, `curl -F`) would
be stored as a video with MIME boundaries around it; it is refused with 415 saying how to
send the file instead.

A client that stops sending (a phone that lost its signal, a slow-loris) would hold the
request, its spool file and, at shutdown, the server forever: each part of the body must
arrive within `WARDCAM_BODY_TIMEOUT_S` of the previous one, or the request ends with 408
`upload_timeout` and nothing is stored.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from app.errors import ApiError, error_body


class UploadTimeout(ApiError):
    status_code = 408
    code = "upload_timeout"


def refuse_multipart(request: Request) -> None:
    """415 for a form upload: the video must be the body itself."""
    content_type = request.headers.get("content-type", "").lower()
    if content_type.startswith(("multipart/", "application/x-www-form-urlencoded")):
        raise ApiError(
            "send the video file itself as the request body (curl --data-binary @clip.mp4 "
            "-H 'Content-Type: video/mp4'), not as a form (multipart/form-data, curl -F)",
            code="raw_body_required",
            status_code=415,
        )


async def body_chunks(request: Request, timeout_s: float) -> AsyncIterator[bytes]:
    """The body as it arrives; `UploadTimeout` when no bytes come for `timeout_s`."""
    stream = request.stream().__aiter__()
    received = 0
    while True:
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout_s)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise UploadTimeout(
                f"no data for {timeout_s:g} s after {received} bytes; the upload was dropped "
                "and nothing was stored"
            ) from None
        received += len(chunk)
        yield chunk


class HeaderLimit:
    """Plain ASGI: 431 when the request's headers add up to more than `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            size += sum(len(k) + len(v) + 4 for k, v in scope.get("headers", ()))
            if size > self.max_bytes:
                response = JSONResponse(
                    error_body(
                        f"request headers of {size} bytes; the limit is {self.max_bytes}",
                        "headers_too_large",
                    ),
                    status_code=431,
                    headers={"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
