"""Opaque keyset cursors: the position of the last row returned, bound to the query that
produced it and to the user who ran it, and signed so that nobody can forge or alter one.

A cursor is `base64url(payload) "." base64url(HMAC-SHA256(key, payload)[:16])`; the key is
derived from the service secret (`derive_key(secret, "cursor v1")`), so a cursor from another
deployment, another query or another user is refused.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from app.security import derive_key

MAX_CURSOR_LENGTH = 512
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class CursorError(ValueError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class Position:
    start: datetime
    id: int


def query_fingerprint(query: dict[str, Any]) -> str:
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    def __init__(self, secret: bytes) -> None:
        self._key = derive_key(secret, "cursor v1")

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()[:16]

    def encode(self, pos: Position, *, fingerprint: str, user_id: int) -> str:
        micros = _exact_micros(pos.start)
        payload = json.dumps(
            {"v": 1, "q": fingerprint, "u": user_id, "s": micros, "i": pos.id},
            separators=(",", ":"),
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def decode(self, token: str, *, fingerprint: str, user_id: int) -> Position:
        if len(token) > MAX_CURSOR_LENGTH or token.count(".") != 1:
            raise CursorError("cursor is malformed")
        body, mac = token.split(".")
        try:
            payload, sig = _unb64(body), _unb64(mac)
        except (ValueError, TypeError):
            raise CursorError("cursor is malformed") from None
        if not hmac.compare_digest(sig, self._mac(payload)):
            raise CursorError("cursor signature does not match: it was altered or not issued here")
        try:
            data = json.loads(payload)
            start = EPOCH + timedelta(microseconds=int(data["s"]))
            pos = Position(start=start, id=int(data["i"]))
            version, q, u = data["v"], data["q"], data["u"]
        except (ValueError, KeyError, TypeError, OverflowError):
            raise CursorError("cursor is malformed") from None
        if version != 1:
            raise CursorError("cursor version is not supported")
        if u != user_id:
            raise CursorError("cursor was issued to another user")
        if q != fingerprint:
            raise CursorError("cursor belongs to a different query: repeat the same filters")
        return pos


def _exact_micros(dt: datetime) -> int:
    delta = dt.astimezone(UTC) - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
