"""Build a signed evidence package (zip).

Layout::

    originals/...        the stored segments, byte for byte
    clips/...            clip.mp4 (stream copy) and clip_redacted.mp4 (re-encoded), per camera
    events.json          the events in the window (+ thumbnails/...)
    custody.json         the audit entries of the request
    signing_key.pem      the Ed25519 public key that signed the manifest
    README.txt           how to verify, for the recipient
    SHA256SUMS           `sha256sum -c` list of every file above
    manifest.json        case, request, cameras, every file's SHA-256/size/derivation
    manifest.sig         raw 64-byte Ed25519 signature over the exact bytes of manifest.json

Every byte is hashed once, while it is written into the zip; originals are compared with their
acquisition hash on the way in (a mismatch aborts the package: possible tampering). The zip is
written sequentially (data descriptors, no seeking back), so its own SHA-256 is taken on the fly.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import posixpath
import threading
import zipfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import signing
from evidence.cut import iso, tool_versions
from evidence.errors import PackageError, SourceMissingError, TamperError

FORMAT = "wardcam-evidence-package/1"
MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
PUBLIC_KEY = "signing_key.pem"
README = "README.txt"
SUMS = "SHA256SUMS"
EVENTS = "events.json"
CUSTODY = "custody.json"
RESERVED = frozenset({MANIFEST, SIGNATURE, PUBLIC_KEY, README, SUMS, EVENTS, CUSTODY})
RESERVED_META = frozenset({"format", "created_at", "generator", "files", "signature"})
CHUNK = 1 << 20
#: extensions written without compression (already compressed media)
STORED_EXT = frozenset({".mp4", ".mov", ".mkv", ".ts", ".h264", ".jpg", ".jpeg", ".png", ".avi"})


@dataclass(frozen=True)
class PackageFile:
    """A local file to put in the package.

    ``expected_sha256`` (originals: the acquisition hash) is checked against the bytes as they
    are written; a mismatch raises :class:`TamperError` and no package is left behind.
    ``info`` adds fields to the file's manifest entry (camera, segment id, start time, ...).
    """

    arcname: str
    path: Path
    role: str
    derivation: dict[str, Any] | None = None
    expected_sha256: str | None = None
    info: dict[str, Any] | None = None


@dataclass(frozen=True)
class FileEntry:
    name: str
    role: str
    sha256: str
    size: int


@dataclass
class PackageResult:
    path: Path
    sha256: str
    size: int
    manifest_sha256: str
    key_fingerprint: str
    files: list[FileEntry] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def canonical_json(obj: Any) -> bytes:
    """Stable JSON bytes: sorted keys, UTF-8, 2-space indent, trailing newline."""
    return (
        json.dumps(obj, sort_keys=True, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    ).encode("utf-8")


def check_arcname(name: str) -> None:
    """Reject names that are unsafe or ambiguous inside a zip."""
    bad = (
        not name
        or name.startswith("/")
        or "\\" in name
        or "\x00" in name
        or (len(name) > 1 and name[1] == ":")
        or name.endswith("/")
        or any(part in ("", ".", "..") for part in name.split("/"))
        or posixpath.normpath(name) != name
    )
    if bad:
        raise PackageError(f"unsafe file name in package: {name!r}", code="bad_name")


class _HashingSink(io.RawIOBase):
    """Write-only, non-seekable file object that hashes and counts what passes through.

    Because it cannot seek, zipfile writes data descriptors instead of patching headers, so
    the hash of the finished zip is known without reading it back. (Hashing in a thread of
    its own was measured: no faster on 2 cores, because of the copies it needs.)
    """

    def __init__(self, raw: IO[bytes]) -> None:
        super().__init__()
        self._raw = raw
        self._hash = hashlib.sha256()
        self.pos = 0

    def writable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def write(self, b: Any) -> int:
        n = len(b)
        self._hash.update(b)
        self._raw.write(b)
        self.pos += n
        return n

    def tell(self) -> int:
        return self.pos

    def flush(self) -> None:
        self._raw.flush()

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class _Writer:
    def __init__(self, zf: zipfile.ZipFile, when: tuple[int, int, int, int, int, int]) -> None:
        self.zf = zf
        self.when = when
        self.names: set[str] = set()
        self.entries: list[dict[str, Any]] = []
        self.pool = ThreadPoolExecutor(max_workers=1)

    def _info(self, name: str, size: int) -> zipfile.ZipInfo:
        check_arcname(name)
        if name in self.names:
            raise PackageError(f"duplicate file name in package: {name}", code="bad_name")
        self.names.add(name)
        zi = zipfile.ZipInfo(name, date_time=self.when)
        ext = os.path.splitext(name)[1].lower()
        zi.compress_type = zipfile.ZIP_STORED if ext in STORED_EXT else zipfile.ZIP_DEFLATED
        zi.file_size = size
        zi.external_attr = 0o644 << 16
        return zi

    def add_bytes(
        self, name: str, data: bytes, role: str, *, listed: bool = True, **extra: Any
    ) -> str:
        zi = self._info(name, len(data))
        with self.zf.open(zi, "w") as dst:
            dst.write(data)
        digest = hashlib.sha256(data).hexdigest()
        if listed:
            self.entries.append(
                {"name": name, "role": role, "sha256": digest, "size": len(data), **extra}
            )
        return digest

    def add_file(self, pf: PackageFile) -> str:
        path = Path(pf.path)
        try:
            size = path.stat().st_size
            src = open(path, "rb", buffering=0)  # noqa: SIM115
        except FileNotFoundError as exc:
            raise SourceMissingError(f"{path}: file for {pf.arcname} is missing") from exc
        zi = self._info(pf.arcname, size)
        h = hashlib.sha256()
        # two buffers: the hash of one chunk runs in a thread (hashlib drops the GIL) while
        # the main thread CRCs and writes it into the zip and reads the next
        bufs = (bytearray(CHUNK), bytearray(CHUNK))
        total = 0
        i = 0
        fut = None
        with src, self.zf.open(zi, "w", force_zip64=size > (1 << 31)) as dst:
            while True:
                buf = bufs[i & 1]
                n = src.readinto(buf)
                if not n:
                    break
                view = memoryview(buf)[:n]
                if fut is not None:
                    fut.result()
                fut = self.pool.submit(h.update, view)
                dst.write(view)
                total += n
                i += 1
            if fut is not None:
                fut.result()
        digest = h.hexdigest()
        if total != size:
            raise PackageError(f"{path}: changed size while being packaged", code="source_changed")
        if pf.expected_sha256 is not None and digest != pf.expected_sha256.lower():
            raise TamperError(path, pf.expected_sha256.lower(), digest)
        entry: dict[str, Any] = {"name": pf.arcname, "role": pf.role, "sha256": digest,
                                 "size": size}
        if pf.derivation is not None:
            entry["derivation"] = pf.derivation
        if pf.info:
            clash = set(pf.info) & set(entry)
            if clash:
                raise PackageError(f"{pf.arcname}: info may not override {sorted(clash)}")
            entry.update(pf.info)
        self.entries.append(entry)
        return digest


def readme_text(fingerprint: str, meta: dict[str, Any]) -> str:
    case = meta.get("case")
    case_ref = ""
    if isinstance(case, dict):
        case_ref = str(case.get("reference") or case.get("id") or "")
    elif case is not None:
        case_ref = str(case)
    return f"""wardcam evidence package
========================

Case: {case_ref or "(see manifest.json)"}

This package holds CCTV footage extracted for the case above: the original recordings exactly
as stored (originals/), playable clips of the requested window (clips/), the detected events
(events.json, thumbnails/), the chain of custody (custody.json) and a manifest (manifest.json)
that lists every file with its SHA-256 and size and says how each derived file was made.
manifest.sig is an Ed25519 signature over the exact bytes of manifest.json.

Signing key fingerprint (SHA-256 of the raw 32-byte Ed25519 public key):
    {fingerprint}
Compare it with the one the issuing service publishes at GET /.well-known/wardcam-signing-key
(or that you received separately). A valid signature proves nothing if the key is not theirs.

How to verify
-------------
1. With wardcam installed, pinning the issuer's key by the fingerprint they publish:
        wardcam verify PACKAGE.zip --trusted-fingerprint <their fingerprint>
   (exit status 0 = all good; without a pinned key the verdict is NOT VERIFIED, exit 1)

2. By hand, after unzipping, in the unzipped folder:
   a) the signature over the manifest (OpenSSL 3):
        openssl pkeyutl -verify -pubin -inkey {PUBLIC_KEY} -rawin \\
            -in {MANIFEST} -sigfile {SIGNATURE}
      must print "Signature Verified Successfully";
   b) the key:  openssl pkey -pubin -in {PUBLIC_KEY} -outform DER | tail -c 32 | sha256sum
      must print the fingerprint above;
   c) every file:  sha256sum -c {SUMS}     (every line must say OK);
   d) {SUMS} itself:  sha256sum {SUMS}  must equal its entry in {MANIFEST}, and
      {MANIFEST} must list no file that is absent and the zip must hold no file that
      {MANIFEST} does not list (other than {MANIFEST} and {SIGNATURE}).

Times in the manifest are UTC (ISO 8601); each camera's time zone and clock offset are given.
A clip starts at the keyframe at or before the requested start, so it may begin slightly
earlier than requested; requested and actual times are both recorded.
"""


class PackageWriter:
    """Incremental package writer: add files (from any one thread at a time, e.g. originals
    from a worker while the clip is being cut), then :meth:`finish` writes events, custody,
    key, README, SHA256SUMS, the manifest and its signature, and renames the zip into place.
    Used as a context manager, an exception removes the partial zip.
    """

    def __init__(
        self,
        out_zip: str | os.PathLike[str],
        signing_key: Ed25519PrivateKey,
        created_at: datetime | None = None,
    ) -> None:
        self.out = Path(out_zip)
        self.tmp = self.out.with_name(f".{self.out.name}.part")
        self.key = signing_key
        self.created = (created_at or datetime.now(UTC)).astimezone(UTC)
        c = self.created
        when = (max(c.year, 1980), c.month, c.day, c.hour, c.minute, c.second)
        self._lock = threading.Lock()
        self._raw = open(self.tmp, "wb")  # noqa: SIM115
        self._sink = _HashingSink(self._raw)
        self._zf = zipfile.ZipFile(self._sink, "w", allowZip64=True)
        self._w = _Writer(self._zf, when)
        self._closed = False

    def __enter__(self) -> PackageWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if not self._closed:
            self.abort()

    def add_file(self, pf: PackageFile) -> FileEntry:
        """Stream a local file in, hashing it on the way (and checking ``expected_sha256``)."""
        if pf.arcname in RESERVED:
            raise PackageError(f"{pf.arcname} is reserved for the package")
        with self._lock:
            digest = self._w.add_file(pf)
            e = self._w.entries[-1]
        return FileEntry(pf.arcname, pf.role, digest, int(e["size"]))

    def add_bytes(self, arcname: str, data: bytes, role: str, **info: Any) -> FileEntry:
        if arcname in RESERVED:
            raise PackageError(f"{arcname} is reserved for the package")
        with self._lock:
            digest = self._w.add_bytes(arcname, data, role, **info)
        return FileEntry(arcname, role, digest, len(data))

    def abort(self) -> None:
        """Drop the partial package."""
        if self._closed:
            return
        self._closed = True
        self._w.pool.shutdown()
        with contextlib.suppress(Exception):  # the file is being thrown away anyway
            self._zf.close()
        self._raw.close()
        self.tmp.unlink(missing_ok=True)

    def finish(
        self,
        manifest_meta: dict[str, Any],
        events: list[dict[str, Any]],
        thumbnails: dict[str, bytes],
        custody: list[dict[str, Any]],
    ) -> PackageResult:
        clash = RESERVED_META & set(manifest_meta)
        if clash:
            raise PackageError(f"manifest_meta may not set {sorted(clash)}")
        w = self._w
        pub_pem = signing.public_key_pem(self.key)
        fingerprint = signing.key_fingerprint(self.key)
        with self._lock:
            w.add_bytes(EVENTS, canonical_json(events), "events", count=len(events))
            for name in sorted(thumbnails):
                if name in RESERVED:
                    raise PackageError(f"{name} is reserved for the package")
                w.add_bytes(name, thumbnails[name], "thumbnail")
            w.add_bytes(CUSTODY, canonical_json(custody), "custody", count=len(custody))
            w.add_bytes(PUBLIC_KEY, pub_pem, "public_key", fingerprint_sha256=fingerprint)
            w.add_bytes(README, readme_text(fingerprint, manifest_meta).encode(), "readme")
            sums = "".join(f"{e['sha256']}  {e['name']}\n" for e in w.entries)
            w.add_bytes(SUMS, sums.encode(), "checksums")
            manifest = {
                **manifest_meta,
                "format": FORMAT,
                "created_at": iso(self.created),
                "generator": {
                    **tool_versions(),
                    "python": platform.python_version(),
                    "zip": "python zipfile",
                },
                "files": list(w.entries),
                "signature": {
                    "algorithm": "Ed25519",
                    "file": SIGNATURE,
                    "encoding": "raw 64 bytes",
                    "signed_bytes": MANIFEST,
                    "public_key_file": PUBLIC_KEY,
                    "public_key_fingerprint_sha256": fingerprint,
                },
            }
            mbytes = canonical_json(manifest)
            w.add_bytes(MANIFEST, mbytes, "manifest", listed=False)
            w.add_bytes(SIGNATURE, signing.sign(self.key, mbytes), "signature", listed=False)
            w.pool.shutdown()
            self._zf.close()
            self._sink.flush()
            self._raw.close()
            self._closed = True
        try:
            size = self.tmp.stat().st_size
            if size != self._sink.pos:
                raise PackageError("package size mismatch after writing")
            os.replace(self.tmp, self.out)
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise
        return PackageResult(
            path=self.out,
            sha256=self._sink.hexdigest(),
            size=size,
            manifest_sha256=hashlib.sha256(mbytes).hexdigest(),
            key_fingerprint=fingerprint,
            files=[FileEntry(e["name"], e["role"], e["sha256"], e["size"])
                   for e in manifest["files"]],
            manifest=manifest,
        )


def build_package(
    out_zip: str | os.PathLike[str],
    *,
    manifest_meta: dict[str, Any],
    files: Iterable[PackageFile],
    events: list[dict[str, Any]],
    thumbnails: dict[str, bytes],
    custody: list[dict[str, Any]],
    signing_key: Ed25519PrivateKey,
    created_at: datetime | None = None,
) -> PackageResult:
    """Write the package to ``out_zip`` (atomically: a temp file renamed at the end).

    ``manifest_meta`` goes into the manifest as is (case, request, approvals, cameras ...);
    it must not use the keys the package sets itself (format, created_at, generator, files,
    signature). Raises :class:`TamperError` if an original does not match its expected hash,
    :class:`PackageError` for bad names, and leaves nothing behind on any error.
    """
    clash = RESERVED_META & set(manifest_meta)
    if clash:
        raise PackageError(f"manifest_meta may not set {sorted(clash)}")
    with PackageWriter(out_zip, signing_key, created_at) as pw:
        for pf in files:
            pw.add_file(pf)
        return pw.finish(manifest_meta, events, thumbnails, custody)
