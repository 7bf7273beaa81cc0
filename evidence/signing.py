"""Ed25519 signing of package manifests.

The service either derives its signing key from ``WARDCAM_SECRET_KEY`` (HKDF-SHA256 with a fixed
info string, so the same secret always gives the same key) or loads a PEM key file.
"""

from __future__ import annotations

import hashlib
import os

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

HKDF_INFO = b"wardcam evidence signing v1"
HKDF_SALT = b"wardcam"


def derive_signing_key(secret: bytes) -> Ed25519PrivateKey:
    """Deterministic Ed25519 key from a service secret (HKDF-SHA256, 32-byte seed)."""
    if not secret:
        raise ValueError("empty secret: cannot derive a signing key")
    seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT, info=HKDF_INFO).derive(
        secret
    )
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_signing_key(pem_path: str | os.PathLike[str], password: bytes | None = None) -> (
    Ed25519PrivateKey
):
    """Load an Ed25519 private key from a PEM file (PKCS#8, as ``openssl genpkey`` writes)."""
    with open(pem_path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=password)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{pem_path}: not an Ed25519 private key")
    return key


def private_key_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _public(key: Ed25519PrivateKey | Ed25519PublicKey) -> Ed25519PublicKey:
    return key.public_key() if isinstance(key, Ed25519PrivateKey) else key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    """SubjectPublicKeyInfo PEM of the (public half of the) key; ``openssl pkeyutl`` reads it."""
    return _public(key).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def load_public_key(pub_pem: bytes) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pub_pem)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def sign(key: Ed25519PrivateKey, data: bytes) -> bytes:
    """Raw 64-byte Ed25519 signature."""
    return key.sign(data)


def verify(pub_pem: bytes, data: bytes, sig: bytes) -> bool:
    """True only if ``sig`` is a valid Ed25519 signature of ``data`` by the key in ``pub_pem``.

    A malformed key or signature gives False, not an exception.
    """
    try:
        load_public_key(pub_pem).verify(sig, data)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def key_fingerprint(pub: Ed25519PrivateKey | Ed25519PublicKey | bytes) -> str:
    """SHA-256 hex of the raw 32-byte public key (``pub`` may be a key object or PEM bytes)."""
    key = load_public_key(pub) if isinstance(pub, bytes) else _public(pub)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()
