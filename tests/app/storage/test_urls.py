"""Storage URL parsing and redaction."""

from __future__ import annotations

import pytest

from app.storage import InvalidStoreURL, redacted_url
from app.storage.urls import DEFAULT_PART_SIZE, parse_s3_url


def test_parse_s3_url() -> None:
    cfg = parse_s3_url(
        "s3://AK:se%2Fcr%2Bet@minio:9000/footage?secure=false&region=eu-west-1"
        "&lock_mode=compliance&part_size_mb=16"
    )
    assert cfg.endpoint == "minio:9000"
    assert cfg.bucket == "footage"
    assert (cfg.access_key, cfg.secret_key) == ("AK", "se/cr+et")
    assert cfg.secure is False
    assert cfg.region == "eu-west-1"
    assert cfg.lock_mode == "COMPLIANCE"
    assert cfg.part_size == 16 * 1024 * 1024
    assert "se/cr+et" not in repr(cfg)


def test_parse_s3_url_defaults() -> None:
    cfg = parse_s3_url("s3://AK:SK@s3.example.org/b")
    assert cfg.secure is True
    assert cfg.region is None
    assert cfg.lock_mode is None
    assert cfg.part_size == DEFAULT_PART_SIZE


@pytest.mark.parametrize(
    "url",
    [
        "s3://host:9000/bucket",
        "s3://AK@host:9000/bucket",
        "s3://AK:SK@host:9000/",
        "s3://AK:SK@host:9000/a/b",
        "s3://AK:SK@host:9000/b?secure=maybe",
        "s3://AK:SK@host:9000/b?lock_mode=FOREVER",
        "s3://AK:SK@host:9000/b?part_size_mb=1",
        "s3://AK:SK@host:9000/b?colour=blue",
        "http://AK:SK@host:9000/b",
    ],
)
def test_bad_s3_urls(url: str) -> None:
    with pytest.raises(InvalidStoreURL) as err:
        parse_s3_url(url)
    assert ":SK@" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://AK:SK@h:1/b?secure=false", "s3://***:***@h:1/b?secure=false"),
        ("s3://h:1/b", "s3://h:1/b"),
        ("rtsp://admin:pw@10.0.0.5:554/stream", "rtsp://***:***@10.0.0.5:554/stream"),
        ("https://h/x?X-Amz-Signature=abc&a=1", "https://h/x?X-Amz-Signature=***&a=1"),
        ("file:///data/objects", "file:///data/objects"),
    ],
)
def test_redacted_url(url: str, expected: str) -> None:
    assert redacted_url(url) == expected


def test_redacted_url_never_raises() -> None:
    assert "pw" not in redacted_url("s3://u:pw@[bad")
