"""Building signed packages from real footage and catching every kind of tampering."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evidence import signing
from evidence.cli import main as cli_main
from evidence.cut import SourceSegment
from evidence.errors import PackageError, TamperError
from evidence.package import PackageFile, build_package
from evidence.verify import Verdict, format_report, verify_package
from tests.evidence.packages import Built, fails, flip_raw, make_package, rewrite, verify


@pytest.fixture(scope="module")
def built(segments: list[SourceSegment], tmp_path_factory: pytest.TempPathFactory) -> Built:
    return make_package(segments, tmp_path_factory.mktemp("pkg"))


# ----------------------------------------------------------------------------- the good case


def test_package_verifies(built: Built) -> None:
    rep = verify_package(built.zip, signing.public_key_pem(built.key))
    assert rep.ok, fails(rep)
    assert rep.key_pinned
    assert rep.key_fingerprint == signing.key_fingerprint(built.key)
    names = {v.name for v in rep.items}
    for s in built.sources:
        assert f"originals/cam1/{s.path.name}" in names
    assert {
        "clips/cam1/clip.mp4",
        "events.json",
        "custody.json",
        "README.txt",
        "signing_key.pem",
        "SHA256SUMS",
        "thumbnails/7.jpg",
        "manifest.sig",
    } <= names
    text = format_report(rep)
    assert text.splitlines()[-1].startswith("VERDICT: OK")
    assert rep.key_fingerprint in text
    by_fingerprint = verify_package(
        built.zip, trusted_fingerprint=signing.key_fingerprint(built.key).upper()
    )
    assert by_fingerprint.ok and by_fingerprint.key_pinned


def test_package_contents(built: Built) -> None:
    m = built.manifest
    assert m["case"]["reference"] == "CASE-2025-003"
    assert m["cameras"][0]["timezone"] == "Asia/Ho_Chi_Minh"
    assert m["signature"]["algorithm"] == "Ed25519"
    with zipfile.ZipFile(built.zip) as zf:
        names = zf.namelist()
        assert names[-2:] == ["manifest.json", "manifest.sig"]
        assert json.loads(zf.read("manifest.json")) == m
        for s in built.sources:
            assert zf.read(f"originals/cam1/{s.path.name}") == s.path.read_bytes()
        assert zf.read("clips/cam1/clip.mp4") == built.clip.read_bytes()
        assert zf.getinfo("clips/cam1/clip.mp4").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("events.json").compress_type == zipfile.ZIP_DEFLATED
        assert len(zf.read("manifest.sig")) == 64
        readme = zf.read("README.txt").decode()
    assert "wardcam verify" in readme and "openssl pkeyutl -verify" in readme
    clip_entry = next(f for f in m["files"] if f["name"] == "clips/cam1/clip.mp4")
    deriv = clip_entry["derivation"]
    assert {s["sha256"] for s in deriv["sources"]} == {s.sha256 for s in built.sources}
    assert deriv["tool"]["pyav"] and deriv["parameters"]["requested_start"]
    orig = [f for f in m["files"] if f["role"] == "original"]
    assert [f["sha256"] for f in orig] == [s.sha256 for s in built.sources]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl not installed")
def test_verifiable_by_hand(built: Built, tmp_path: Path) -> None:
    """README's manual procedure works with stock openssl + sha256sum."""
    with zipfile.ZipFile(built.zip) as zf:
        zf.extractall(tmp_path)
    sig = subprocess.run(
        [
            "openssl",
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            "signing_key.pem",
            "-rawin",
            "-in",
            "manifest.json",
            "-sigfile",
            "manifest.sig",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert sig.returncode == 0 and "Signature Verified Successfully" in sig.stdout
    sums = subprocess.run(
        ["sha256sum", "-c", "SHA256SUMS"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert sums.returncode == 0, sums.stdout
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", "signing_key.pem", "-outform", "DER"],
        cwd=tmp_path,
        capture_output=True,
        check=True,
    )
    assert hashlib.sha256(der.stdout[-32:]).hexdigest() == signing.key_fingerprint(built.key)


def test_cli(built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fp = signing.key_fingerprint(built.key)
    assert cli_main([str(built.zip), "--trusted-fingerprint", fp]) == 0
    assert "VERDICT: OK" in capsys.readouterr().out
    bad = rewrite(built.zip, tmp_path / "bad.zip", add={"foo.txt": b"x"})
    assert cli_main([str(bad), "--trusted-fingerprint", fp]) == 1
    out = capsys.readouterr().out
    assert "FAIL  foo.txt: extra file not in manifest: foo.txt" in out
    other = tmp_path / "other.pem"
    other.write_bytes(signing.public_key_pem(Ed25519PrivateKey.generate()))
    assert cli_main([str(built.zip), "--trusted-key", str(other)]) == 1
    assert "is not the trusted key" in capsys.readouterr().out


# ----------------------------------------------------------------------------- tampering


def test_flipped_byte_in_original_raw(built: Built, tmp_path: Path) -> None:
    name = f"originals/cam1/{built.sources[1].path.name}"
    rep = verify(flip_raw(built.zip, tmp_path / "t.zip", name, at=5000))
    assert not rep.ok
    msgs = fails(rep)
    assert len(msgs) == 1, msgs
    want = built.sources[1].sha256
    assert msgs[0].startswith(f"{name}: SHA-256 mismatch (expected {want}, got ")


def test_flipped_byte_in_clip(built: Built, tmp_path: Path) -> None:
    data = bytearray(built.clip.read_bytes())
    data[len(data) // 3] ^= 0xFF
    rep = verify(
        rewrite(built.zip, tmp_path / "t.zip", {"clips/cam1/clip.mp4": bytes(data)})
    )
    assert fails(rep) == [
        "clips/cam1/clip.mp4: SHA-256 mismatch (expected "
        f"{next(f['sha256'] for f in built.manifest['files'] if f['role'] == 'clip')}, "
        f"got {hashlib.sha256(bytes(data)).hexdigest()})"
    ]


def test_edited_events(built: Built, tmp_path: Path) -> None:
    with zipfile.ZipFile(built.zip) as zf:
        events = json.loads(zf.read("events.json"))
    events[0]["label"] = "person"
    edited = json.dumps(events).encode()
    rep = verify(rewrite(built.zip, tmp_path / "t.zip", {"events.json": edited}))
    msgs = fails(rep)
    assert len(msgs) == 1 and msgs[0].startswith("events.json: SHA-256 mismatch (expected ")
    assert "size mismatch" in msgs[0]


def test_edited_manifest(built: Built, tmp_path: Path) -> None:
    with zipfile.ZipFile(built.zip) as zf:
        raw = zf.read("manifest.json")
    # change one byte of content and keep it valid JSON: the camera's clock offset
    edited = raw.replace(b'"clock_offset_s": 2.5', b'"clock_offset_s": 0.5')
    assert edited != raw
    rep = verify(rewrite(built.zip, tmp_path / "t.zip", {"manifest.json": edited}))
    assert fails(rep) == ["manifest.sig: manifest signature invalid"]
    # an edit that also breaks the JSON
    broken = bytearray(raw)
    broken[0] ^= 0x01
    rep = verify(rewrite(built.zip, tmp_path / "t2.zip", {"manifest.json": bytes(broken)}))
    msgs = fails(rep)
    assert "manifest.sig: manifest signature invalid" in msgs
    assert any(m.startswith("manifest.json: manifest is not valid JSON") for m in msgs)


def test_removed_file(built: Built, tmp_path: Path) -> None:
    name = f"originals/cam1/{built.sources[0].path.name}"
    rep = verify(rewrite(built.zip, tmp_path / "t.zip", {name: None}))
    assert fails(rep) == [f"{name}: missing file: {name}"]


def test_added_file(built: Built, tmp_path: Path) -> None:
    rep = verify(
        rewrite(built.zip, tmp_path / "t.zip", add={"originals/cam1/extra.mp4": b"\x00" * 10})
    )
    assert fails(rep) == [
        "originals/cam1/extra.mp4: extra file not in manifest: originals/cam1/extra.mp4"
    ]


def test_replaced_signature(built: Built, tmp_path: Path) -> None:
    with zipfile.ZipFile(built.zip) as zf:
        sig = bytearray(zf.read("manifest.sig"))
    sig[10] ^= 0x01
    rep = verify(rewrite(built.zip, tmp_path / "t.zip", {"manifest.sig": bytes(sig)}))
    assert fails(rep) == ["manifest.sig: manifest signature invalid"]
    rep = verify(rewrite(built.zip, tmp_path / "t2.zip", {"manifest.sig": b"short"}))
    assert fails(rep) == ["manifest.sig: manifest signature invalid"]


def test_swapped_key(built: Built, tmp_path: Path) -> None:
    other = Ed25519PrivateKey.generate()
    rep = verify(
        rewrite(built.zip, tmp_path / "t.zip", {"signing_key.pem": signing.public_key_pem(other)})
    )
    msgs = fails(rep)
    assert "manifest.sig: manifest signature invalid" in msgs
    assert any(m.startswith("signing_key.pem: SHA-256 mismatch") for m in msgs)
    assert any("manifest names key" in m for m in msgs)


def test_resigned_by_another_key(built: Built, tmp_path: Path) -> None:
    """A forger who rebuilds manifest, signature and key consistently is caught by the
    trusted key (and shows a different fingerprint without it)."""
    forger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(built.zip) as zf:
        manifest = json.loads(zf.read("manifest.json"))
    pem = signing.public_key_pem(forger)
    fp = signing.key_fingerprint(forger)
    for f in manifest["files"]:
        if f["name"] == "signing_key.pem":
            f["sha256"] = hashlib.sha256(pem).hexdigest()
            f["size"] = len(pem)
            f["fingerprint_sha256"] = fp
    sums = "".join(
        f"{f['sha256']}  {f['name']}\n" for f in manifest["files"] if f["name"] != "SHA256SUMS"
    ).encode()
    for f in manifest["files"]:
        if f["name"] == "SHA256SUMS":
            f["sha256"] = hashlib.sha256(sums).hexdigest()
            f["size"] = len(sums)
    manifest["signature"]["public_key_fingerprint_sha256"] = fp
    mbytes = json.dumps(manifest).encode()
    forged = rewrite(
        built.zip,
        tmp_path / "t.zip",
        {
            "manifest.json": mbytes,
            "manifest.sig": signing.sign(forger, mbytes),
            "signing_key.pem": pem,
            "SHA256SUMS": sums,
        },
    )
    rep = verify_package(forged, accept_unpinned_key=True)  # only the key tells it apart
    assert rep.ok and rep.key_fingerprint == fp != signing.key_fingerprint(built.key)
    assert not rep.key_pinned
    rep = verify_package(forged, signing.public_key_pem(built.key))
    assert fails(rep) == [
        f"signing_key.pem: signing key {fp} is not the trusted key "
        f"{signing.key_fingerprint(built.key)}"
    ]


def test_corrupt_and_foreign_zips(built: Built, tmp_path: Path) -> None:
    data = built.zip.read_bytes()
    trunc = tmp_path / "trunc.zip"
    trunc.write_bytes(data[: len(data) // 2])
    for path in (trunc, tmp_path / "missing.zip"):
        rep = verify(path)
        assert not rep.ok
        assert rep.items and rep.items[0].name == "package"
    rep = verify(trunc)
    assert fails(rep)[0].startswith("package: not a readable zip file")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    assert not verify(junk).ok
    # the central directory intact but member bytes overwritten
    mangled = bytearray(data)
    mangled[200:260] = b"\xff" * 60
    (tmp_path / "mangled.zip").write_bytes(bytes(mangled))
    rep = verify(tmp_path / "mangled.zip")
    assert not rep.ok and "VERDICT: FAILED" in format_report(rep)


def test_duplicate_and_unsafe_names(built: Built, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        dup = rewrite(built.zip, tmp_path / "dup.zip", add={"events.json": b"[]"})
    rep = verify(dup)
    assert "events.json: duplicate file name in zip (2 entries)" in fails(rep)
    evil = rewrite(built.zip, tmp_path / "evil.zip", add={"../../etc/cron.d/x": b"boom"})
    rep = verify(evil)
    assert any(m.startswith("../../etc/cron.d/x: unsafe file name") for m in fails(rep))
    link = tmp_path / "link.zip"
    shutil.copy(built.zip, link)
    with zipfile.ZipFile(link, "a") as zf:
        zi = zipfile.ZipInfo("thumbnails/8.jpg")
        zi.external_attr = 0o120777 << 16
        zf.writestr(zi, "/etc/passwd")
    assert "thumbnails/8.jpg: symbolic link entries are not allowed" in fails(verify(link))


# ----------------------------------------------------------------------------- building


def test_tampered_original_aborts_package(
    segments: list[SourceSegment], built: Built, tmp_path: Path
) -> None:
    src = tmp_path / "seg.mp4"
    data = bytearray(segments[0].path.read_bytes())
    data[1234] ^= 0x10
    src.write_bytes(bytes(data))
    out = tmp_path / "p.zip"
    with pytest.raises(TamperError) as ei:
        build_package(
            out,
            manifest_meta={},
            signing_key=built.key,
            events=[],
            thumbnails={},
            custody=[],
            files=[
                PackageFile("originals/a.mp4", src, "original", expected_sha256=segments[0].sha256)
            ],
        )
    assert ei.value.expected == segments[0].sha256
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["seg.mp4"]


def test_bad_names_refused(built: Built, tmp_path: Path) -> None:
    for name in ("../x.mp4", "/abs.mp4", "a\\b.mp4", "manifest.json", "a/./b.mp4"):
        with pytest.raises(PackageError):
            build_package(
                tmp_path / "p.zip",
                manifest_meta={},
                signing_key=built.key,
                events=[],
                thumbnails={},
                custody=[],
                files=[PackageFile(name, built.clip, "clip")],
            )
        assert not (tmp_path / "p.zip").exists()
    with pytest.raises(PackageError):
        build_package(
            tmp_path / "p.zip",
            manifest_meta={"files": []},
            signing_key=built.key,
            events=[],
            thumbnails={},
            custody=[],
            files=[],
        )


def test_verdict_type() -> None:
    v = Verdict("x", True, "fine")
    assert v.ok and v.name == "x"
