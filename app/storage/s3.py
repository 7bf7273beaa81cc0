"""`S3Store`: MinIO, SeaweedFS or any S3 through the `minio` SDK.

Choices that are not obvious from the SDK:

- Our own urllib3 pool with short connect timeout and few retries: the SDK default
  (5 minute timeouts, 5 retries) turns "server down" into a minute-long hang, and readiness
  checks and jobs need a quick `StoreUnavailable` instead.
- Uploads are sequential multipart (`num_parallel_uploads=1`): memory stays at about three
  copies of one part (default 8 MiB, `part_size_mb=` in the URL), and a failed upload does
  not leave the SDK's worker threads behind (its parallel pool is never shut down on error).
- The bucket is created lazily on first use, so the service can start while the store is
  down and report it through /readyz.
- In a bucket with object lock (always versioned) `delete` removes every version of the key.
  A plain DELETE would only add a delete marker, which object lock does not prevent, and
  the bytes would stay. Removing versions one by one is what legal hold and retention
  actually refuse, and what "deleted" should mean.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import BinaryIO, NoReturn

import certifi
import urllib3
from minio import Minio
from minio.commonconfig import GOVERNANCE
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.retention import Retention

from app.storage.base import (
    ObjectInfo,
    ObjectStore,
    Readable,
    check_content_type,
    check_range,
    check_retention,
)
from app.storage.errors import (
    ObjectLocked,
    ObjectLockUnsupported,
    ObjectNotFound,
    StorageError,
    StoreUnavailable,
)
from app.storage.keys import validate_key, validate_prefix
from app.storage.streams import FillingReader, ResponseReader, buffered
from app.storage.urls import S3Config, parse_s3_url, redacted_url

log = logging.getLogger(__name__)

_NOT_FOUND_CODES = frozenset({"NoSuchKey", "NoSuchVersion", "NoSuchObject"})
_BAD_CREDENTIAL_CODES = frozenset(
    {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidSecurity", "ExpiredToken"}
)
_NO_LOCK_CONFIG_CODES = frozenset(
    {"ObjectLockConfigurationNotFoundError", "NoSuchObjectLockConfiguration"}
)
_MAX_PARTS = 10_000


class S3Store(ObjectStore):
    """An S3 bucket as object store; build it with `make_store("s3://...")`."""

    def __init__(
        self,
        config: S3Config | str,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        retries: int = 2,
    ) -> None:
        if isinstance(config, str):
            self._safe_url = redacted_url(config)
            config = parse_s3_url(config)
        else:
            self._safe_url = f"s3://***:***@{config.endpoint}/{config.bucket}"
        self.config = config
        self.bucket = config.bucket
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=10,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            retries=urllib3.Retry(
                total=retries,
                backoff_factor=0.2,
                status_forcelist=[500, 502, 503, 504],
            ),
        )
        self._client = Minio(
            config.endpoint,
            access_key=config.access_key,
            secret_key=config.secret_key,
            secure=config.secure,
            region=config.region,
            http_client=self._http,
        )
        self._lock = threading.Lock()
        self._ready = False
        self._object_lock = False
        self._versioned = False

    def __repr__(self) -> str:
        return f"S3Store({self._safe_url!r})"

    # -- interface -------------------------------------------------------------------------

    @property
    def supports_object_lock(self) -> bool:
        """Whether the bucket has object lock enabled (asks the server once)."""
        self._ensure_bucket()
        return self._object_lock

    def put(
        self,
        key: str,
        stream: Readable,
        length: int | None = None,
        content_type: str = "application/octet-stream",
        *,
        retain_until: datetime | None = None,
        legal_hold: bool = False,
    ) -> ObjectInfo:
        validate_key(key)
        check_retention(retain_until)
        check_content_type(content_type)
        self._ensure_bucket()
        if (retain_until is not None or legal_hold) and not self._object_lock:
            raise ObjectLockUnsupported(f"bucket {self.bucket!r} has no object lock")
        if self._object_lock:
            self._refuse_if_locked(key)
        retention = None
        if retain_until is not None:
            mode = self.config.lock_mode or GOVERNANCE
            retention = Retention(mode, retain_until.astimezone(UTC))
        reader = FillingReader(stream, length)
        try:
            with self._errors(key):
                self._client.put_object(
                    self.bucket,
                    key,
                    reader,  # type: ignore[arg-type]
                    length=-1 if length is None else length,
                    part_size=self._part_size(length),
                    content_type=content_type,
                    retention=retention,
                    legal_hold=legal_hold,
                    num_parallel_uploads=1,
                )
        except StoreUnavailable:
            if reader.source_failed:  # the caller's stream broke, not the store
                raise reader.source_error from None  # type: ignore[misc]
            raise
        return self.stat(key)

    def open(self, key: str, offset: int = 0, length: int | None = None) -> BinaryIO:
        validate_key(key)
        check_range(offset, length)
        self._ensure_bucket()
        if length == 0:  # the SDK would turn length 0 into "to the end"
            self.stat(key)
            return io.BytesIO(b"")
        try:
            with self._errors(key):
                response = self._client.get_object(
                    self.bucket, key, offset=offset, length=length or 0
                )
        except StorageError as exc:
            if isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "InvalidRange":
                self.stat(key)  # offset past the end of an existing object: no bytes
                return io.BytesIO(b"")
            raise
        return buffered(ResponseReader(response, self._translate_stream_error))

    def stat(self, key: str) -> ObjectInfo:
        validate_key(key)
        self._ensure_bucket()
        with self._errors(key):
            obj = self._client.stat_object(self.bucket, key)
        last_modified = obj.last_modified or datetime.now(UTC)
        if last_modified.tzinfo is None:
            last_modified = last_modified.replace(tzinfo=UTC)
        return ObjectInfo(
            key=key,
            size=int(obj.size or 0),
            etag=(obj.etag or "").strip('"'),
            last_modified=last_modified,
            content_type=obj.content_type or "application/octet-stream",
            version_id=obj.version_id,
        )

    def delete(self, key: str) -> None:
        validate_key(key)
        self._ensure_bucket()
        if not self._versioned:
            with self._errors(key, lock_denial=True):
                self._client.remove_object(self.bucket, key)
            return
        with self._errors(key):
            versions = [
                (obj.version_id, bool(obj.is_delete_marker))
                for obj in self._client.list_objects(self.bucket, prefix=key, include_version=True)
                if obj.object_name == key
            ]
        # Real versions first (the server refuses held/retained ones), markers last, so a
        # refused delete leaves the protected version visible rather than hidden.
        versions.sort(key=lambda item: item[1])
        for version_id, _marker in versions:
            with self._errors(key, lock_denial=True):
                self._client.remove_object(self.bucket, key, version_id=version_id)

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        self._ensure_bucket()
        with self._errors():
            for obj in self._client.list_objects(self.bucket, prefix=prefix, recursive=True):
                if obj.object_name and not obj.is_dir:
                    yield obj.object_name

    def set_legal_hold(self, key: str, on: bool) -> None:
        validate_key(key)
        self._ensure_bucket()
        if not self._object_lock:
            raise ObjectLockUnsupported(f"bucket {self.bucket!r} has no object lock")
        self.stat(key)  # SeaweedFS answers 500, not NoSuchKey, for a missing key
        with self._errors(key):
            if on:
                self._client.enable_object_legal_hold(self.bucket, key)
            else:
                self._client.disable_object_legal_hold(self.bucket, key)

    def set_retention(self, key: str, retain_until: datetime, mode: str | None = None) -> None:
        validate_key(key)
        check_retention(retain_until)
        self._ensure_bucket()
        if not self._object_lock:
            raise ObjectLockUnsupported(f"bucket {self.bucket!r} has no object lock")
        self.stat(key)
        mode = mode or self.config.lock_mode or GOVERNANCE
        with self._errors(key):
            self._client.set_object_retention(
                self.bucket, key, Retention(mode, retain_until.astimezone(UTC))
            )

    def is_legal_hold(self, key: str) -> bool:
        """Whether the current version is under legal hold."""
        validate_key(key)
        self.stat(key)  # as in set_legal_hold: a missing key must be ObjectNotFound
        if not self._object_lock:
            return False
        with self._errors(key):
            return bool(self._client.is_object_legal_hold_enabled(self.bucket, key))

    def ping(self) -> None:
        self._ensure_bucket()
        with self._errors():
            if not self._client.bucket_exists(self.bucket):
                raise StoreUnavailable(f"bucket {self.bucket!r} does not exist")

    def close(self) -> None:
        self._http.clear()

    # -- internals -------------------------------------------------------------------------

    def _ensure_bucket(self) -> None:
        """Create the bucket if missing and learn whether it has object lock, once."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            with self._errors():
                if not self._client.bucket_exists(self.bucket):
                    want_lock = self.config.lock_mode is not None
                    try:
                        self._client.make_bucket(
                            self.bucket, location=self.config.region, object_lock=want_lock
                        )
                        log.info(
                            "created bucket %r (object lock: %s) on %s",
                            self.bucket,
                            want_lock,
                            self._safe_url,
                        )
                    except S3Error as exc:
                        if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise
                self._object_lock = self._bucket_has_lock()
                status = self._client.get_bucket_versioning(self.bucket).status
                self._versioned = self._object_lock or status in ("Enabled", "Suspended")
            if self.config.lock_mode and not self._object_lock:
                log.warning(
                    "bucket %r exists without object lock; lock_mode=%s is ignored",
                    self.bucket,
                    self.config.lock_mode,
                )
            self._ready = True

    def _bucket_has_lock(self) -> bool:
        try:
            self._client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code in _NO_LOCK_CONFIG_CODES:
                return False
            raise
        return True

    def _refuse_if_locked(self, key: str) -> None:
        """Keep S3 in step with LocalStore: a held or retained object is not replaced.

        (S3 would accept the PUT as a new version and keep the old one, but every reader
        here reads the latest version, so to wardcam the original would be gone.)
        """
        try:
            with self._errors(key):
                obj = self._client.stat_object(self.bucket, key)
        except ObjectNotFound:
            return
        headers = {k.lower(): v for k, v in (obj.metadata or {}).items()}
        if str(headers.get("x-amz-object-lock-legal-hold", "")).upper() == "ON":
            raise ObjectLocked(key, "legal hold")
        until_text = headers.get("x-amz-object-lock-retain-until-date")
        if until_text:
            try:
                until = datetime.fromisoformat(str(until_text).replace("Z", "+00:00"))
            except ValueError:
                raise ObjectLocked(key, "retention") from None
            if until > datetime.now(UTC):
                raise ObjectLocked(key, f"retained until {until.isoformat()}")

    def _part_size(self, length: int | None) -> int:
        """The configured part size, grown only if `length` would need > 10 000 parts."""
        size = self.config.part_size
        if length is not None and length > size * _MAX_PARTS:
            mib = 1 << 20
            size = math.ceil(length / _MAX_PARTS / mib) * mib
        return size

    @contextlib.contextmanager
    def _errors(self, key: str | None = None, *, lock_denial: bool = False) -> Iterator[None]:
        """Translate SDK and transport errors into ours, without leaking credentials."""
        try:
            yield
        except S3Error as exc:
            self._raise_s3(exc, key, lock_denial)
        except (ServerError, InvalidResponseError) as exc:
            raise StoreUnavailable(f"S3 server error at {self._endpoint_text()}") from exc
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = getattr(exc, "reason", None) or exc  # MaxRetryError wraps the cause
            raise StoreUnavailable(
                f"S3 endpoint {self._endpoint_text()} unreachable ({type(reason).__name__})"
            ) from exc
        except MinioException as exc:
            raise StorageError(f"S3 client error ({type(exc).__name__})") from exc

    def _raise_s3(self, exc: S3Error, key: str | None, lock_denial: bool) -> NoReturn:
        code = exc.code or ""
        if code in _NOT_FOUND_CODES and key is not None:
            raise ObjectNotFound(key) from exc
        if code == "AccessDenied" and lock_denial and key is not None:
            raise ObjectLocked(key) from exc
        if code in _BAD_CREDENTIAL_CODES or (code == "AccessDenied" and key is None):
            # Bucket-level denial: wrong credentials or policy, the store is unusable.
            raise StoreUnavailable(
                f"S3 credentials rejected by {self._endpoint_text()} ({code})"
            ) from exc
        if code == "NoSuchBucket":
            self._ready = False
            raise StoreUnavailable(f"bucket {self.bucket!r} does not exist") from exc
        where = f" for {key!r}" if key is not None else ""
        raise StorageError(f"S3 error {code}{where}") from exc

    def _translate_stream_error(self, exc: BaseException) -> BaseException:
        if isinstance(exc, StorageError):
            return exc
        return StoreUnavailable(
            f"S3 read from {self._endpoint_text()} failed ({type(exc).__name__})"
        )

    def _endpoint_text(self) -> str:
        scheme = "https" if self.config.secure else "http"
        return f"{scheme}://{self.config.endpoint}"
