"""Offline verification of an evidence package.

Checks, each reported as its own verdict: the zip is readable; no duplicate, unsafe or unlisted
names; the manifest is signed (Ed25519) by the public key in the package and, when a trusted key
is given, that key is the trusted one; every file the manifest lists is present with the listed
size and SHA-256. Member bytes are read straight from the zip (not through zipfile's CRC check),
so a flipped byte is reported as the precise SHA-256 mismatch it causes.
"""

from __future__ import annotations

import hashlib
import json
import struct
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from evidence import signing
from evidence.errors import PackageError
from evidence.package import FORMAT, MANIFEST, PUBLIC_KEY, SIGNATURE, SUMS, check_arcname

CHUNK = 1 << 20
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_SIG = b"PK\x03\x04"


@dataclass(frozen=True)
class Verdict:
    name: str
    ok: bool
    message: str


@dataclass
class VerifyReport:
    ok: bool
    items: list[Verdict] = field(default_factory=list)
    key_fingerprint: str | None = None
    manifest: dict[str, Any] | None = None

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.items if not v.ok]


class _MemberError(Exception):
    pass


def _member_digest(fp: IO[bytes], zi: zipfile.ZipInfo) -> tuple[str, int, bool]:
    """SHA-256, uncompressed size, and whether the zip CRC agrees, of one member's bytes."""
    if zi.flag_bits & 0x1:
        raise _MemberError("encrypted members are not allowed")
    fp.seek(zi.header_offset)
    head = fp.read(_LOCAL.size)
    if len(head) != _LOCAL.size:
        raise _MemberError("local header truncated")
    fields = _LOCAL.unpack(head)
    if fields[0] != _LOCAL_SIG:
        raise _MemberError("bad local header")
    name_len, extra_len = fields[10], fields[11]
    local_name = fp.read(name_len)
    enc = "utf-8" if zi.flag_bits & 0x800 else "cp437"
    if local_name.decode(enc, "replace") != zi.orig_filename:
        raise _MemberError("local header name differs from the central directory")
    fp.seek(zi.header_offset + _LOCAL.size + name_len + extra_len)
    remaining = zi.compress_size
    h = hashlib.sha256()
    crc = 0
    size = 0
    if zi.compress_type == zipfile.ZIP_STORED:
        dec = None
    elif zi.compress_type == zipfile.ZIP_DEFLATED:
        dec = zlib.decompressobj(-15)
    else:
        raise _MemberError(f"unsupported compression method {zi.compress_type}")
    while remaining > 0:
        chunk = fp.read(min(CHUNK, remaining))
        if not chunk:
            raise _MemberError("member data truncated")
        remaining -= len(chunk)
        if dec is not None:
            try:
                chunk = dec.decompress(chunk)
            except zlib.error as exc:
                raise _MemberError(f"compressed data corrupt ({exc})") from exc
        h.update(chunk)
        crc = zlib.crc32(chunk, crc)
        size += len(chunk)
    if dec is not None:
        try:
            tail = dec.flush()
        except zlib.error as exc:
            raise _MemberError(f"compressed data corrupt ({exc})") from exc
        h.update(tail)
        crc = zlib.crc32(tail, crc)
        size += len(tail)
    return h.hexdigest(), size, crc == zi.CRC


def _read_member(fp: IO[bytes], zi: zipfile.ZipInfo, limit: int = 64 << 20) -> bytes:
    """Whole bytes of a small member (manifest, signature, key), without the CRC check."""
    if zi.file_size > limit:
        raise _MemberError(f"unexpectedly large ({zi.file_size} bytes)")
    fp.seek(zi.header_offset)
    fields = _LOCAL.unpack(fp.read(_LOCAL.size))
    if fields[0] != _LOCAL_SIG:
        raise _MemberError("bad local header")
    fp.seek(zi.header_offset + _LOCAL.size + fields[10] + fields[11])
    data = fp.read(zi.compress_size)
    if len(data) != zi.compress_size:
        raise _MemberError("member data truncated")
    if zi.compress_type == zipfile.ZIP_DEFLATED:
        try:
            return zlib.decompress(data, -15)
        except zlib.error as exc:
            raise _MemberError(f"compressed data corrupt ({exc})") from exc
    if zi.compress_type != zipfile.ZIP_STORED:
        raise _MemberError(f"unsupported compression method {zi.compress_type}")
    return data


def verify_package(
    zip_path: str | Path, trusted_public_key_pem: bytes | None = None
) -> VerifyReport:
    """Check a package offline. Never raises for a bad package: every problem is a verdict."""
    items: list[Verdict] = []
    rep = VerifyReport(ok=False, items=items)

    def fail(name: str, msg: str) -> None:
        items.append(Verdict(name, False, msg))

    def good(name: str, msg: str) -> None:
        items.append(Verdict(name, True, msg))

    path = Path(zip_path)
    try:
        fp = open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        fail("package", f"cannot open {path}: {exc.strerror or exc}")
        return rep
    with fp:
        try:
            zf = zipfile.ZipFile(fp)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            fail("package", f"not a readable zip file ({exc})")
            return rep
        with zf:
            _verify(fp, zf, rep, trusted_public_key_pem)
    rep.ok = bool(items) and all(v.ok for v in items)
    return rep


def _verify(
    fp: IO[bytes], zf: zipfile.ZipFile, rep: VerifyReport, trusted: bytes | None
) -> None:
    items = rep.items

    def fail(name: str, msg: str) -> None:
        items.append(Verdict(name, False, msg))

    def good(name: str, msg: str) -> None:
        items.append(Verdict(name, True, msg))

    infos = zf.infolist()
    counts = Counter(zi.filename for zi in infos)
    for name, n in sorted(counts.items()):
        if n > 1:
            fail(name, f"duplicate file name in zip ({n} entries)")
    members: dict[str, zipfile.ZipInfo] = {}
    for zi in infos:
        try:
            check_arcname(zi.filename)
        except PackageError:
            fail(zi.filename, "unsafe file name (absolute, '..', or backslash path)")
            continue
        if (zi.external_attr >> 16) & 0o170000 == 0o120000:
            fail(zi.filename, "symbolic link entries are not allowed")
            continue
        members.setdefault(zi.filename, zi)

    def small(name: str) -> bytes | None:
        zi = members.get(name)
        if zi is None:
            fail(name, f"missing file: {name}")
            return None
        try:
            return _read_member(fp, zi)
        except (_MemberError, OSError, struct.error) as exc:
            fail(name, f"unreadable: {exc}")
            return None

    mbytes = small(MANIFEST)
    sig = small(SIGNATURE)
    pub = small(PUBLIC_KEY)

    # Signature over the exact manifest bytes, with the key shipped in the package.
    fingerprint: str | None = None
    if pub is not None:
        try:
            fingerprint = signing.key_fingerprint(pub)
        except ValueError:
            fail(PUBLIC_KEY, "not an Ed25519 public key in PEM form")
    rep.key_fingerprint = fingerprint
    if mbytes is not None and sig is not None and pub is not None and fingerprint:
        if signing.verify(pub, mbytes, sig):
            good(SIGNATURE, f"manifest signature valid (Ed25519 key {fingerprint})")
        else:
            fail(SIGNATURE, "manifest signature invalid")
    if trusted is not None and fingerprint:
        try:
            want = signing.key_fingerprint(trusted)
        except ValueError:
            fail("trusted key", "the trusted key given is not an Ed25519 public key")
        else:
            if want == fingerprint:
                good(PUBLIC_KEY, "signing key is the trusted key")
            else:
                fail(PUBLIC_KEY, f"signing key {fingerprint} is not the trusted key {want}")

    manifest: dict[str, Any] | None = None
    if mbytes is not None:
        try:
            parsed = json.loads(mbytes.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            fail(MANIFEST, f"manifest is not valid JSON ({exc})")
        else:
            if isinstance(parsed, dict) and isinstance(parsed.get("files"), list):
                manifest = parsed
            else:
                fail(MANIFEST, "manifest has no list of files")
    rep.manifest = manifest
    if manifest is None:
        return

    if manifest.get("format") != FORMAT:
        fail(MANIFEST, f"unknown package format {manifest.get('format')!r} (expected {FORMAT})")
    declared = manifest.get("signature", {})
    if isinstance(declared, dict) and fingerprint:
        fp_decl = declared.get("public_key_fingerprint_sha256")
        if fp_decl and fp_decl != fingerprint:
            fail(PUBLIC_KEY, f"manifest names key {fp_decl} but {PUBLIC_KEY} is {fingerprint}")

    listed: dict[str, dict[str, Any]] = {}
    for entry in manifest["files"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            fail(MANIFEST, f"malformed file entry: {entry!r}")
            continue
        name = entry["name"]
        if name in listed:
            fail(name, "listed twice in manifest")
            continue
        if name in (MANIFEST, SIGNATURE):
            fail(name, "manifest lists a file that cannot be listed")
            continue
        listed[name] = entry

    for name, entry in listed.items():
        member = members.get(name)
        if member is None:
            fail(name, f"missing file: {name}")
            continue
        want_hash = str(entry.get("sha256", "")).lower()
        want_size = entry.get("size")
        try:
            got_hash, got_size, _crc_ok = _member_digest(fp, member)
        except (_MemberError, OSError, struct.error) as exc:
            fail(name, f"unreadable: {exc}")
            continue
        problems = []
        if got_hash != want_hash:
            problems.append(f"SHA-256 mismatch (expected {want_hash}, got {got_hash})")
        if got_size != want_size:
            problems.append(f"size mismatch (expected {want_size} bytes, got {got_size})")
        if problems:
            fail(name, "; ".join(problems))
        else:
            good(name, f"SHA-256 {got_hash}, {got_size} bytes")

    for name in sorted(members):
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            fail(name, f"extra file not in manifest: {name}")

    # The recipient's checksum list must say the same as the signed manifest.
    if SUMS in listed and SUMS in members:
        try:
            text = _read_member(fp, members[SUMS]).decode("utf-8")
        except (_MemberError, OSError, UnicodeDecodeError, struct.error):
            text = None
        if text is not None:
            sums = {}
            for line in text.splitlines():
                digest, _, name = line.partition("  ")
                sums[name] = digest
            expect = {n: str(e.get("sha256")) for n, e in listed.items() if n != SUMS}
            if sums != expect:
                fail(SUMS, f"{SUMS} disagrees with {MANIFEST}")


def format_report(report: VerifyReport) -> str:
    """Human-readable verdict, one line per check, with the overall verdict last."""
    lines = []
    for v in report.items:
        lines.append(f"{'OK  ' if v.ok else 'FAIL'}  {v.name}: {v.message}")
    if report.key_fingerprint:
        lines.append(
            f"signing key fingerprint (SHA-256): {report.key_fingerprint} -- compare with "
            "GET /.well-known/wardcam-signing-key of the issuing service"
        )
    n_bad = len(report.failures)
    if report.ok:
        lines.append(f"VERDICT: OK -- all {len(report.items)} checks passed")
    else:
        lines.append(f"VERDICT: FAILED -- {n_bad or 1} problem(s)")
    return "\n".join(lines)
