"""Password hashing: argon2id with argon2-cffi's defaults (RFC 9106's second recommended
profile: 64 MiB, 3 passes, 4 lanes), re-hashed at sign-in when the parameters change."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 200

_hasher = PasswordHasher()  # argon2id by default


@functools.cache
def _dummy() -> str:
    """A hash to check against when a name has no password: that costs as much as a real
    check, so the time of an answer does not tell which names exist. Made on first use, not
    at import (every process imports this; few sign anyone in)."""
    return _hasher.hash("wardcam: no such user, no such password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
