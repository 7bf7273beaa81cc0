"""S3Store specifics against a real SeaweedFS: outages, secrets."""

from __future__ import annotations

import io
import logging
import socket
import time

import pytest

from app.storage import S3Store, StoreUnavailable, make_store, redacted_url

from .conftest import LOCK_BUCKET
from .seaweed import SeaweedServer


def _dead_endpoint_url(bucket: str = "wardcam") -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"s3://AKID:TOPSECRET@127.0.0.1:{port}/{bucket}?secure=false&region=us-east-1"


def test_bucket_is_created_lazily(seaweed: SeaweedServer, key_prefix: str) -> None:
    bucket = "wardcam-lazy"
    store = make_store(seaweed.url_for(bucket))  # nothing contacted yet
    store.ping()  # creates it
    store.put(f"{key_prefix}x", io.BytesIO(b"x"))
    again = make_store(seaweed.url_for(bucket))
    assert again.exists(f"{key_prefix}x")


def test_lock_mode_on_existing_plain_bucket_is_reported(
    seaweed: SeaweedServer, caplog: pytest.LogCaptureFixture
) -> None:
    make_store(seaweed.url_for("wardcam-nolock")).ping()
    with caplog.at_level(logging.INFO, logger="app.storage"):
        store = make_store(seaweed.url_for("wardcam-nolock", lock_mode="COMPLIANCE"))
        assert store.supports_object_lock is False
    assert "without object lock" in caplog.text
    assert seaweed.secret_key not in caplog.text


def test_unreachable_endpoint_is_store_unavailable_quickly() -> None:
    url = _dead_endpoint_url()
    store = make_store(url)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as err:
        store.ping()
    assert time.monotonic() - started < 5
    for call in (
        lambda: store.stat("k"),
        lambda: store.put("k", io.BytesIO(b"x")),
        lambda: store.supports_object_lock,
        lambda: list(store.list()),
    ):
        with pytest.raises(StoreUnavailable):
            call()
    assert "TOPSECRET" not in str(err.value)
    assert "TOPSECRET" not in repr(err.value.__cause__)


def test_wrong_credentials_are_store_unavailable(seaweed: SeaweedServer) -> None:
    url = seaweed.url_for("wardcam").replace(seaweed.secret_key, "not-the-secret")
    with pytest.raises(StoreUnavailable, match="credentials rejected") as err:
        make_store(url).ping()
    assert "not-the-secret" not in str(err.value)


def test_secrets_never_in_repr() -> None:
    url = _dead_endpoint_url()
    store = make_store(url)
    assert isinstance(store, S3Store)
    assert "TOPSECRET" not in repr(store)
    assert "AKID" not in repr(store)
    assert "TOPSECRET" not in repr(store.config)
    assert "***" in redacted_url(url)


def test_outage_and_recovery(seaweed: SeaweedServer, key_prefix: str) -> None:
    """The server stops: every call says StoreUnavailable; it comes back with the data."""
    store = make_store(seaweed.url_for(LOCK_BUCKET, lock_mode="GOVERNANCE"))
    key = f"{key_prefix}survives"
    store.put(key, io.BytesIO(b"before the outage"), legal_hold=True)
    reader = store.open(key, 0, 6)  # an open response, then the server goes away

    seaweed.stop()
    try:
        assert not seaweed.running
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            store.ping()
        assert time.monotonic() - started < 5
        with pytest.raises(StoreUnavailable):
            store.stat(key)
        with pytest.raises(StoreUnavailable):
            store.put(f"{key_prefix}new", io.BytesIO(b"x"))
        with pytest.raises(StoreUnavailable):
            store.open(key)
        with pytest.raises(StoreUnavailable):
            store.delete(key)
        reader.close()
    finally:
        seaweed.start()

    store.ping()
    with store.open(key) as again:
        assert again.read() == b"before the outage"
    assert store.is_legal_hold(key)
