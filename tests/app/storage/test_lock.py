"""Legal hold and retention: what keeps evidence from being deleted or replaced."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime, timedelta

import pytest
from minio import Minio
from minio.error import S3Error

from app.storage import (
    ObjectLocked,
    ObjectLockUnsupported,
    ObjectNotFound,
    ObjectStore,
    make_store,
)

from .conftest import PLAIN_BUCKET
from .seaweed import SeaweedServer


def test_supports_object_lock(locking_store: ObjectStore) -> None:
    assert locking_store.supports_object_lock is True


def test_legal_hold_on_put_blocks_delete_until_released(
    locking_store: ObjectStore, key_prefix: str
) -> None:
    key = f"{key_prefix}evidence.mp4"
    locking_store.put(key, io.BytesIO(b"original footage"), legal_hold=True)
    assert locking_store.is_legal_hold(key)
    with pytest.raises(ObjectLocked):
        locking_store.delete(key)
    assert locking_store.exists(key)
    with pytest.raises(ObjectLocked):
        locking_store.put(key, io.BytesIO(b"tampered"))
    with locking_store.open(key) as reader:
        assert reader.read() == b"original footage"

    locking_store.set_legal_hold(key, False)
    assert not locking_store.is_legal_hold(key)
    locking_store.delete(key)
    assert not locking_store.exists(key)


def test_set_legal_hold_later(locking_store: ObjectStore, key_prefix: str) -> None:
    key = f"{key_prefix}seg.ts"
    locking_store.put(key, io.BytesIO(b"bytes"))
    locking_store.set_legal_hold(key, True)
    with pytest.raises(ObjectLocked):
        locking_store.delete(key)
    locking_store.set_legal_hold(key, False)
    locking_store.delete(key)
    assert not locking_store.exists(key)


def test_legal_hold_on_missing_object(locking_store: ObjectStore, key_prefix: str) -> None:
    with pytest.raises(ObjectNotFound):
        locking_store.set_legal_hold(f"{key_prefix}missing", True)
    with pytest.raises(ObjectNotFound):
        locking_store.is_legal_hold(f"{key_prefix}missing")


def test_retention_blocks_delete_until_it_expires(
    locking_store: ObjectStore, key_prefix: str
) -> None:
    key = f"{key_prefix}retained.mp4"
    until = datetime.now(UTC) + timedelta(seconds=2)
    locking_store.put(key, io.BytesIO(b"keep me"), retain_until=until)
    with pytest.raises(ObjectLocked):
        locking_store.delete(key)
    with pytest.raises(ObjectLocked):
        locking_store.put(key, io.BytesIO(b"replace me"))
    assert locking_store.exists(key)
    time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1.1)
    locking_store.delete(key)
    assert not locking_store.exists(key)


def test_naive_retain_until_is_refused(locking_store: ObjectStore, key_prefix: str) -> None:
    with pytest.raises(ValueError, match="timezone"):
        locking_store.put(f"{key_prefix}x", io.BytesIO(b"x"), retain_until=datetime(2030, 1, 1))


def test_past_retain_until_is_refused(locking_store: ObjectStore, key_prefix: str) -> None:
    with pytest.raises(ValueError, match="future"):
        locking_store.put(
            f"{key_prefix}x", io.BytesIO(b"x"), retain_until=datetime.now(UTC) - timedelta(days=1)
        )
    assert not locking_store.exists(f"{key_prefix}x")


def test_plain_bucket_has_no_object_lock(seaweed: SeaweedServer, key_prefix: str) -> None:
    store = make_store(seaweed.url_for(PLAIN_BUCKET))
    assert store.supports_object_lock is False
    key = f"{key_prefix}x"
    with pytest.raises(ObjectLockUnsupported):
        store.put(key, io.BytesIO(b"x"), legal_hold=True)
    with pytest.raises(ObjectLockUnsupported):
        store.put(key, io.BytesIO(b"x"), retain_until=datetime.now(UTC) + timedelta(days=1))
    assert not store.exists(key)
    store.put(key, io.BytesIO(b"x"))
    with pytest.raises(ObjectLockUnsupported):
        store.set_legal_hold(key, True)


def test_seaweedfs_enforces_object_lock_itself(seaweed: SeaweedServer, key_prefix: str) -> None:
    """Not just our wrapper: the server refuses to delete a held version via the raw SDK."""
    store = make_store(seaweed.url_for("wardcam-rawlock", lock_mode="COMPLIANCE"))
    assert store.supports_object_lock
    key = f"{key_prefix}held"
    info = store.put(key, io.BytesIO(b"held bytes"), legal_hold=True)
    assert info.version_id

    raw = Minio(
        seaweed.endpoint,
        access_key=seaweed.access_key,
        secret_key=seaweed.secret_key,
        secure=False,
        region="us-east-1",
    )
    with pytest.raises(S3Error) as denied:
        raw.remove_object("wardcam-rawlock", key, version_id=info.version_id)
    assert denied.value.code == "AccessDenied"
    assert raw.stat_object("wardcam-rawlock", key, version_id=info.version_id).size == 10

    # COMPLIANCE retention is refused even after the hold is lifted.
    retained = f"{key_prefix}retained"
    until = datetime.now(UTC) + timedelta(minutes=5)
    info = store.put(retained, io.BytesIO(b"r"), retain_until=until)
    retention = raw.get_object_retention("wardcam-rawlock", retained)
    assert retention is not None
    assert retention.mode == "COMPLIANCE"
    with pytest.raises(S3Error) as denied:
        raw.remove_object("wardcam-rawlock", retained, version_id=info.version_id)
    assert denied.value.code == "AccessDenied"
