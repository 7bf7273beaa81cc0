"""API keys and encryption of secrets at rest.

API keys are 256-bit random tokens, so a plain SHA-256 is enough to store them (no password
stretching is needed for secrets nobody chose). Stream URLs carry camera passwords; they are
encrypted with a Fernet key derived from the service secret and only decrypted by recorders.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_PREFIX = "wc"


@dataclass(frozen=True)
class NewApiKey:
    prefix: str
    token: str
    key_hash: str


def new_api_key() -> NewApiKey:
    prefix = secrets.token_hex(6)
    token = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(prefix=prefix, token=token, key_hash=hash_api_key(token))


def hash_api_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def split_api_key(token: str) -> str | None:
    """The lookup prefix of a well-formed key, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def api_key_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(token), stored_hash)


def derive_key(secret: bytes, purpose: str, length: int = 32) -> bytes:
    """A sub-key for one purpose, so one root secret never serves two uses directly."""
    return HKDF(
        algorithm=hashes.SHA256(), length=length, salt=b"wardcam", info=purpose.encode()
    ).derive(secret)


class SecretBox:
    """Encrypts small secrets (stream URLs) at rest."""

    def __init__(self, secret: bytes) -> None:
        key = base64.urlsafe_b64encode(derive_key(secret, "stream-credentials v1"))
        self._fernet = Fernet(key)

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("stream URL cannot be decrypted with this secret key") from exc
