"""``wardcam verify`` on what recipients really do with a package: unzip it and zip it again
with Info-ZIP's ``zip -r`` (directory entries, a folder around everything), and verify it
without having pinned the issuer's key (issue 15 item 9)."""

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
from evidence.verify import format_report, verify_package
from tests.evidence.packages import Built, fails, make_package, rewrite


@pytest.fixture(scope="module")
def built(segments: list[SourceSegment], tmp_path_factory: pytest.TempPathFactory) -> Built:
    return make_package(segments, tmp_path_factory.mktemp("pkg"))


def zip_r(src_dir: Path, out: Path, *paths: str) -> Path:
    """Info-ZIP ``zip -r`` run in ``src_dir``, as a recipient would."""
    if shutil.which("zip") is None:
        pytest.fail("the 'zip' command is missing: scripts/services.sh installs it")
    subprocess.run(["zip", "-q", "-r", str(out), *paths], cwd=src_dir, check=True)
    return out


def unzipped(built: Built, tmp_path: Path, folder: str = "pkg") -> Path:
    d = tmp_path / folder
    with zipfile.ZipFile(built.zip) as zf:
        zf.extractall(d)
    return d


def pinned(path: Path, built: Built) -> list[str]:
    return fails(verify_package(path, signing.public_key_pem(built.key)))


def test_rezipped_with_zip_r_verifies(built: Built, tmp_path: Path) -> None:
    d = unzipped(built, tmp_path)
    out = zip_r(d, tmp_path / "rezipped.zip", ".")
    with zipfile.ZipFile(out) as zf:
        dirs = [n for n in zf.namelist() if n.endswith("/")]
        assert {"originals/", "originals/cam1/", "clips/", "thumbnails/"} <= set(dirs)
        # every file deflated by zip, in its own order: not the bytes of the original zip
        assert zf.getinfo("clips/cam1/clip.mp4").compress_type == zipfile.ZIP_DEFLATED
    assert out.read_bytes() != built.zip.read_bytes()
    rep = verify_package(out, signing.public_key_pem(built.key))
    assert rep.ok, fails(rep)
    assert rep.folder is None
    names = {v.name for v in rep.items}
    assert not any(n.endswith("/") for n in names)  # directories are no verdicts of their own
    assert "clips/cam1/clip.mp4" in names
    assert cli_main([str(out), "--trusted-fingerprint", signing.key_fingerprint(built.key)]) == 0


def test_rezipped_folder_verifies(built: Built, tmp_path: Path) -> None:
    """Zipping the folder itself (what a file manager's "compress" does) puts everything
    under ``pkg/``: the verifier looks through that one folder and says so."""
    unzipped(built, tmp_path, "CASE-2025-003")
    out = zip_r(tmp_path, tmp_path / "folder.zip", "CASE-2025-003")
    rep = verify_package(out, signing.public_key_pem(built.key))
    assert rep.ok, fails(rep)
    assert rep.folder == "CASE-2025-003"
    assert "files are inside the folder CASE-2025-003/" in format_report(rep)


def test_directory_entries_are_still_checked(built: Built, tmp_path: Path) -> None:
    d = unzipped(built, tmp_path)
    base = zip_r(d, tmp_path / "base.zip", ".")
    assert pinned(base, built) == []

    def with_entry(name: str, data: bytes = b"", mode: int = 0o40755) -> Path:
        out = tmp_path / f"{hashlib.sha256(name.encode() + data).hexdigest()[:8]}.zip"
        shutil.copy(base, out)
        with zipfile.ZipFile(out, "a") as zf:
            zi = zipfile.ZipInfo(name)
            zi.external_attr = (mode << 16) | (0x10 if name.endswith("/") else 0)
            zf.writestr(zi, data)
        return out

    assert pinned(with_entry("../../etc/"), built) == [
        "../../etc/: unsafe file name (absolute, '..', or backslash path)"
    ]
    assert pinned(with_entry("/abs/"), built) == [
        "/abs/: unsafe file name (absolute, '..', or backslash path)"
    ]
    assert pinned(with_entry("clips/../../x/"), built)[0].startswith("clips/../../x/: unsafe")
    assert pinned(with_entry("notes/", b"hidden"), built) == ["notes/: directory entry with data"]
    assert pinned(with_entry("link/", b"/etc", 0o120777), built) == [
        "link/: symbolic link entries are not allowed"
    ]
    with pytest.warns(UserWarning, match="Duplicate name"):
        dup = with_entry("originals/")
    assert pinned(dup, built) == ["originals/: duplicate file name in zip (2 entries)"]
    # a file added beside the folders is still an extra file
    extra = rewrite(base, tmp_path / "extra.zip", add={"originals/cam1/more.mp4": b"\0" * 9})
    assert pinned(extra, built) == [
        "originals/cam1/more.mp4: extra file not in manifest: originals/cam1/more.mp4"
    ]


def test_a_folder_that_does_not_hold_everything_is_not_looked_through(
    built: Built, tmp_path: Path
) -> None:
    unzipped(built, tmp_path, "pkg")
    (tmp_path / "other.txt").write_text("not part of the package")
    out = zip_r(tmp_path, tmp_path / "two.zip", "pkg", "other.txt")
    rep = verify_package(out, signing.public_key_pem(built.key))
    assert not rep.ok and rep.folder is None
    assert "manifest.json: missing file: manifest.json" in fails(rep)


# ----------------------------------------------------------------------------- pinning


def forge(built: Built, dst: Path) -> tuple[Path, str]:
    """The package with one event edited and everything re-hashed and re-signed with another
    key: consistent in itself, only the key gives it away."""
    forger = Ed25519PrivateKey.generate()
    with zipfile.ZipFile(built.zip) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        events = json.loads(zf.read("events.json"))
    events[0]["label"] = "person"
    ev = json.dumps(events).encode()
    pem = signing.public_key_pem(forger)
    fp = signing.key_fingerprint(forger)
    for f in manifest["files"]:
        if f["name"] == "events.json":
            f["sha256"], f["size"] = hashlib.sha256(ev).hexdigest(), len(ev)
        if f["name"] == "signing_key.pem":
            f["sha256"], f["size"], f["fingerprint_sha256"] = (
                hashlib.sha256(pem).hexdigest(),
                len(pem),
                fp,
            )
    sums = "".join(
        f"{f['sha256']}  {f['name']}\n" for f in manifest["files"] if f["name"] != "SHA256SUMS"
    ).encode()
    for f in manifest["files"]:
        if f["name"] == "SHA256SUMS":
            f["sha256"], f["size"] = hashlib.sha256(sums).hexdigest(), len(sums)
    manifest["signature"]["public_key_fingerprint_sha256"] = fp
    mbytes = json.dumps(manifest).encode()
    out = rewrite(
        built.zip,
        dst,
        {
            "events.json": ev,
            "manifest.json": mbytes,
            "manifest.sig": signing.sign(forger, mbytes),
            "signing_key.pem": pem,
            "SHA256SUMS": sums,
        },
    )
    return out, fp


def test_unpinned_key_fails_loudly(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged, forger_fp = forge(built, tmp_path / "forged.zip")
    issuer_fp = signing.key_fingerprint(built.key)
    for pkg, fp in ((built.zip, issuer_fp), (forged, forger_fp)):
        rep = verify_package(pkg)
        assert not rep.ok and not rep.key_pinned and rep.key_fingerprint == fp
        (only,) = fails(rep)  # intact and signed: the missing pin is the one failure
        assert only.startswith(f"signing key: not pinned: the package is signed by key {fp}")
        text = format_report(rep)
        assert "!! WARNING: the signing key is not pinned" in text
        assert f"{fp} (NOT PINNED)" in text
        assert text.splitlines()[-1] == (
            "VERDICT: NOT VERIFIED -- contents intact and signed, but by a key that is not pinned"
        )
        assert cli_main([str(pkg)]) == 1
        out = capsys.readouterr()
        assert "VERDICT: NOT VERIFIED" in out.out
        assert f"signing key {fp} is NOT PINNED" in out.err
    # Pinned, the forgery is caught and the original passes.
    assert cli_main([str(forged), "--trusted-fingerprint", issuer_fp]) == 1
    assert f"signing key {forger_fp} is not the trusted key {issuer_fp}" in capsys.readouterr().out
    key = tmp_path / "issuer.pem"
    key.write_bytes(signing.public_key_pem(built.key))
    assert cli_main([str(built.zip), "--trusted-key", str(key)]) == 0
    assert cli_main([str(forged), "--trusted-key", str(key)]) == 1
    spaced = ":".join(issuer_fp[i : i + 2] for i in range(0, 64, 2)).upper()
    assert cli_main([str(built.zip), "--trusted-fingerprint", spaced]) == 0
    capsys.readouterr()


def test_accepting_an_unpinned_key_is_explicit_and_said(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged, forger_fp = forge(built, tmp_path / "forged.zip")
    assert cli_main([str(forged), "--accept-unpinned-key"]) == 0
    out = capsys.readouterr()
    assert f"OK    signing key: NOT PINNED, accepted on request: {forger_fp}" in out.out
    assert "(accepted with --accept-unpinned-key)" in out.out
    assert out.out.splitlines()[-1].endswith("checks passed, signing key NOT pinned")
    assert f"signing key {forger_fp} is NOT PINNED (accepted on request)" in out.err
    # ... and it does not excuse anything else
    bad = rewrite(forged, tmp_path / "bad.zip", add={"x.txt": b"x"})
    assert cli_main([str(bad), "--accept-unpinned-key"]) == 1
    capsys.readouterr()


def test_bad_usage(built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main([str(built.zip), "--trusted-fingerprint", "abc"]) == 2
    assert "64 hexadecimal digits" in capsys.readouterr().err
    assert cli_main([str(built.zip), "--trusted-key", str(tmp_path / "missing.pem")]) == 2
    with pytest.raises(SystemExit) as ei:  # pinning and accepting any key contradict
        cli_main([str(built.zip), "--accept-unpinned-key", "--trusted-fingerprint", "0" * 64])
    assert ei.value.code == 2
    with pytest.raises(ValueError):
        verify_package(built.zip, trusted_fingerprint="not hex")
    capsys.readouterr()
