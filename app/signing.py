"""The service's evidence signing key: from WARDCAM_SIGNING_KEY_FILE, else derived from the
secret key (so it survives restarts without another secret to manage)."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from app.settings import Settings
from evidence.signing import derive_signing_key, load_signing_key


def signing_key(settings: Settings) -> Ed25519PrivateKey:
    if settings.signing_key_file is not None:
        return load_signing_key(settings.signing_key_file)
    return derive_signing_key(settings.secret_bytes)
