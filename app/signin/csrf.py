"""A CSRF token disguised afresh for each page, and the check that sees through it.

Console pages are sent gzip-compressed (phones on mobile networks). A secret that appears
unchanged in compressed pages which also echo what someone else typed (a camera's name, a
search's purpose) can be read from their compressed sizes, one guessed character at a time
(BREACH). So a page never carries the token itself: each carries it XOR-ed with a random
mask of its own, the mask beside it, and the check undoes the mask. The token sent as it is
(the API's `X-CSRF-Token` for a script that derived it) still passes."""

from __future__ import annotations

import hmac
import secrets


def disguised(token: str) -> str:
    """`token` under a fresh random mask: hex of mask + (token XOR mask)."""
    raw = token.encode()
    mask = secrets.token_bytes(len(raw))
    return (mask + bytes(a ^ b for a, b in zip(raw, mask, strict=True))).hex()


def _revealed(sent: str) -> bytes | None:
    try:
        both = bytes.fromhex(sent)
    except ValueError:
        return None
    half = len(both) // 2
    if not half or len(both) % 2:
        return None
    return bytes(a ^ b for a, b in zip(both[half:], both[:half], strict=True))


def matches(sent: str | None, expected: str | None) -> bool:
    """Whether `sent` (a disguise from a page, or the token itself) is `expected`."""
    if not sent or not expected:
        return False
    want = expected.encode()
    if hmac.compare_digest(sent.encode(), want):
        return True
    revealed = _revealed(sent)
    return revealed is not None and hmac.compare_digest(revealed, want)
