"""Offline verification of an evidence package.

Checks, each reported as its own verdict: the zip is readable; no duplicate, unsafe or unlisted
names; the manifest is signed (Ed25519) by the public key in the package; that key is the one
the recipient pinned; every file the manifest lists is present with the listed size and
SHA-256. Member bytes are read straight from the zip (not through zipfile's CRC check), so a
flipped byte is reported as the precise SHA-256 mismatch it causes.

Pinning.  The public key travels inside the package, so a valid signature alone proves only
that *someone* signed it: whoever edits a package can re-sign it with a key of their own.
The check means something only against the issuer's key obtained separately (the service's
``GET /.well-known/wardcam-signing-key``, or a fingerprint read out by the issuer): given as a
PEM (``trusted_public_key_pem``) or as its SHA-256 fingerprint (``trusted_fingerprint``).
Without either, the key is reported as *not pinned* and the package fails, unless the caller
explicitly accepts that (``accept_unpinned_key``), which is then said in the report.

Re-zipped packages.  A package unzipped and zipped again (``zip -r``, a file manager's
"compress") holds the same files plus directory entries, possibly all inside one folder; the
directory entries are harmless and the folder is looked through.  Names are still refused when
absolute, with ``..``, duplicated, or symbolic links, directories included.
"""

from __future__ import annotations

import hashlib
import json
import re
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


#: The verdict name under which the signing key's pinning is reported.
KEY_PIN = "signing key"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass
class VerifyReport:
    ok: bool
    items: list[Verdict] = field(default_factory=list)
    key_fingerprint: str | None = None
    manifest: dict[str, Any] | None = None
    key_pinned: bool = False  # the signing key was compared with one the caller trusts
    unpinned_accepted: bool = False  # not pinned, and the caller said that is acceptable
    folder: str | None = None  # the package's files were inside this folder of the zip

    @property
    def failures(self) -> list[Verdict]:
        return [v for v in self.items if not v.ok]


def normalize_fingerprint(text: str) -> str:
    """``AB:CD...`` / ``ab cd ...`` -> 64 lower-case hex digits; ``ValueError`` otherwise."""
    fp = re.sub(r"[\s:]", "", text).lower()
    if not _HEX64.match(fp):
        raise ValueError("a signing key fingerprint is 64 hexadecimal digits (SHA-256)")
    return fp


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
    zip_path: str | Path,
    trusted_public_key_pem: bytes | None = None,
    *,
    trusted_fingerprint: str | None = None,
    accept_unpinned_key: bool = False,
) -> VerifyReport:
    """Check a package offline. Never raises for a bad package: every problem is a verdict.

    The signing key must be pinned (``trusted_public_key_pem`` or ``trusted_fingerprint``);
    without one the report fails with a ``signing key`` verdict that names the package's key
    fingerprint, unless ``accept_unpinned_key`` (then that verdict passes, saying so).
    Raises ``ValueError`` for a malformed ``trusted_fingerprint`` (the caller's mistake, not
    the package's)."""
    pin = None if trusted_fingerprint is None else normalize_fingerprint(trusted_fingerprint)
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
            _verify(fp, zf, rep, trusted_public_key_pem, pin, accept_unpinned_key)
    rep.ok = bool(items) and all(v.ok for v in items)
    return rep


def _folder(infos: list[zipfile.ZipInfo]) -> str:
    """``"NAME/"`` when every entry is inside one top-level folder that holds the manifest
    (a package unzipped into a folder and the folder zipped again), else ``""``."""
    names = [zi.filename for zi in infos]
    if MANIFEST in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) != 1:
        return ""
    folder = f"{tops.pop()}/"
    inner = f"{folder}{MANIFEST}"
    if inner not in names or not all(n.startswith(folder) for n in names):
        return ""
    return folder


def _verify(
    fp: IO[bytes],
    zf: zipfile.ZipFile,
    rep: VerifyReport,
    trusted: bytes | None,
    pin: str | None,
    accept_unpinned: bool,
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
    folder = _folder(infos)
    if folder:
        rep.folder = folder.rstrip("/")
        good("package", f"files are inside the folder {folder} (a re-zipped folder)")
    members: dict[str, zipfile.ZipInfo] = {}
    for zi in infos:
        name = zi.filename
        is_dir = name.endswith("/")
        try:
            check_arcname(name[:-1] if is_dir else name)
        except PackageError:
            fail(name, "unsafe file name (absolute, '..', or backslash path)")
            continue
        if (zi.external_attr >> 16) & 0o170000 == 0o120000:
            fail(name, "symbolic link entries are not allowed")
            continue
        if is_dir:
            # What zip -r adds for every folder: harmless if it is only that.
            if zi.file_size or zi.compress_size > 2:
                fail(name, "directory entry with data")
            continue
        members.setdefault(name[len(folder) :], zi)

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
    wants: list[str] = []
    if trusted is not None:
        try:
            wants.append(signing.key_fingerprint(trusted))
        except ValueError:
            fail("trusted key", "the trusted key given is not an Ed25519 public key")
    if pin is not None:
        wants.append(pin)
    if fingerprint:
        for want in wants:
            if want == fingerprint:
                rep.key_pinned = True
                good(PUBLIC_KEY, "signing key is the trusted key")
            else:
                fail(PUBLIC_KEY, f"signing key {fingerprint} is not the trusted key {want}")
        if not wants and trusted is None:
            if accept_unpinned:
                rep.unpinned_accepted = True
                good(KEY_PIN, f"NOT PINNED, accepted on request: {fingerprint}")
            else:
                fail(
                    KEY_PIN,
                    f"not pinned: the package is signed by key {fingerprint}, and a package "
                    "re-signed by anyone else's key would pass the same checks. Compare it with "
                    "the issuer's (GET /.well-known/wardcam-signing-key) and pin it: "
                    "--trusted-key PEM or --trusted-fingerprint HEX; or accept it explicitly "
                    "with --accept-unpinned-key",
                )

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
        pinned = "pinned" if report.key_pinned else "NOT PINNED"
        lines.append(
            f"signing key fingerprint (SHA-256): {report.key_fingerprint} ({pinned}) -- "
            "compare with GET /.well-known/wardcam-signing-key of the issuing service"
        )
    if report.key_fingerprint and not report.key_pinned:
        lines.append(
            "!! WARNING: the signing key is not pinned. This check cannot tell the issuer's "
            "package from one that was altered and re-signed with another key."
            + (" (accepted with --accept-unpinned-key)" if report.unpinned_accepted else "")
        )
    failures = report.failures
    if report.ok:
        what = "checks passed" if report.key_pinned else "checks passed, signing key NOT pinned"
        lines.append(f"VERDICT: OK -- all {len(report.items)} {what}")
    elif failures and all(v.name == KEY_PIN for v in failures):
        lines.append(
            "VERDICT: NOT VERIFIED -- contents intact and signed, but by a key that is not pinned"
        )
    else:
        lines.append(f"VERDICT: FAILED -- {len(failures) or 1} problem(s)")
    return "\n".join(lines)
