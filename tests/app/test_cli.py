"""`wardcam admin bootstrap` prints a working key once, and a link to set the admin's console
password; the CLI refuses weak secrets."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from fastapi.testclient import TestClient

from tests.conftest import TEST_SECRET


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bootstrap_prints_a_key_that_works(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = {
        "WARDCAM_DATABASE_URL": settings.database_url,
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(tmp_path),
    }
    out = _run(["admin", "bootstrap", "--served-at", "http://127.0.0.1:8123/"], env)
    assert out.returncode == 0, out.stderr
    key = re.search(r"store it now\): (\S+)", out.stdout)
    link = re.search(r"^(http://127\.0\.0\.1:8123/invitation/\S+)$", out.stdout, re.M)
    assert key and link, out.stdout
    again = _run(["admin", "bootstrap"], env)
    assert again.returncode == 1 and key[1] not in again.stdout
    assert "/invitation/" not in again.stdout
    assert _run(["admin", "bootstrap", "--if-needed"], env).returncode == 0

    from app.main import create_app
    from tests.console.conftest import csrf_of, sign_in

    with TestClient(create_app(settings)) as c:
        r = c.get("/users/me", headers={"Authorization": f"Bearer {key[1]}"})
        assert r.status_code == 200 and r.json()["role"] == "admin"
        # the first admin's way into the console: the printed link sets its password
        path = urlsplit(link[1]).path
        form = c.get(path)
        assert form.status_code == 200 and "admin" in form.text
        password = "một mật khẩu đủ dài 2026"
        done = c.post(path, data={"csrf_token": csrf_of(form.text), "password": password,
                                  "password_repeat": password}, follow_redirects=False)
        assert done.status_code == 303, done.text
        sign_in(c, "", "admin", password)
        assert "Xin chào" in c.get("/").text


def test_the_first_admins_link_is_on_the_public_url_where_one_is_set(tmp_path: Path) -> None:
    """`run.sh` passes the address it serves on; a public URL, where one is set, wins."""
    env = {
        "WARDCAM_DATABASE_URL": f"sqlite:///{tmp_path / 'wardcam.db'}",
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(tmp_path),
        "WARDCAM_PUBLIC_URL": "https://wardcam.example.vn",
    }
    out = _run(["admin", "bootstrap", "--served-at", "http://127.0.0.1:8123"], env)
    assert out.returncode == 0, out.stderr
    assert re.search(r"^https://wardcam\.example\.vn/invitation/\S+$", out.stdout, re.M), out.stdout


def test_cli_refuses_weak_secret(tmp_path: Path) -> None:
    out = _run(
        ["admin", "bootstrap"],
        {"WARDCAM_DATA_DIR": str(tmp_path), "WARDCAM_SECRET_KEY": "changeme", "WARDCAM_DEV": "0"},
    )
    assert out.returncode == 2 and "WARDCAM_SECRET_KEY" in out.stderr
    assert not (tmp_path / "wardcam.db").exists()


def test_recorders_processes_that_keep_dying_stop_the_parent(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    env = {
        "WARDCAM_DATABASE_URL": settings.database_url,
        "WARDCAM_SECRET_KEY": TEST_SECRET,
        "WARDCAM_DATA_DIR": str(blocked / "data"),  # every child fails to start
    }
    out = _run(["recorders", "--capacity", "4", "--processes", "2"], env)
    assert out.returncode == 1, out.stderr[-2000:]
    assert "2 processes, up to 2+2 streams" in out.stderr
    assert "restarting it" in out.stderr and "died 5 times within 60 s" in out.stderr
    few = _run(["recorders", "--capacity", "1", "--processes", "2"], env)
    assert few.returncode == 2 and "need a capacity of at least 2" in few.stderr
