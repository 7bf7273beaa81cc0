"""The vendored web assets are what the README says: every file listed in SHA256SUMS with that
hash, nothing unlisted, and each package folder with its licence. No browser needed."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "app" / "console" / "static" / "vendor"
TESTS_ONLY = Path(__file__).resolve().parent / "vendor"
NOT_LISTED = {"README.md", "SHA256SUMS"}


def listed(folder: Path) -> dict[str, str]:
    sums = {}
    for line in (folder / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        sums[name] = digest
    return sums


@pytest.mark.parametrize("folder", [SHIPPED, TESTS_ONLY], ids=["shipped", "tests-only"])
def test_vendored_files_match_their_checksums(folder: Path) -> None:
    sums = listed(folder)
    present = {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and p.name not in NOT_LISTED and "__pycache__" not in p.parts
    }
    assert present == set(sums), "files not in SHA256SUMS, or listed but missing"
    for name, digest in sums.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("folder", [SHIPPED, TESTS_ONLY], ids=["shipped", "tests-only"])
def test_every_vendored_package_has_its_licence(folder: Path) -> None:
    packages = [p for p in folder.iterdir() if p.is_dir()]
    assert packages
    for package in packages:
        assert (package / "LICENSE").stat().st_size > 500, package.name


def test_readme_names_every_shipped_package() -> None:
    readme = (SHIPPED / "README.md").read_text()
    for package in SHIPPED.iterdir():
        if package.is_dir():
            assert f"`{package.name}/" in readme, package.name
