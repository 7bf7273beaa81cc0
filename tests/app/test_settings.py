"""Settings refuse guessable secrets outside dev mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import InsecureSettingsError, Settings


@pytest.mark.parametrize("secret", [None, "", "changeme", "secret", "short-but-random-1234"])
def test_refuses_missing_or_weak_secret(secret: str | None, tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, secret_key=secret, dev=False)
    with pytest.raises(InsecureSettingsError, match="WARDCAM_SECRET_KEY"):
        s.check_secure()


def test_dev_mode_keeps_a_random_secret_across_restarts(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path, dev=True).secret_bytes
    second = Settings(data_dir=tmp_path, dev=True).secret_bytes
    assert first == second and len(first) >= 32
    assert (tmp_path / "dev-secret.key").stat().st_mode & 0o077 == 0


def test_defaults_follow_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("WARDCAM_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no .env file either
    monkeypatch.setenv("WARDCAM_DATA_DIR", str(tmp_path))
    s = Settings()
    assert s.database_url == f"sqlite:///{tmp_path}/wardcam.db"
    assert s.storage_url == f"file://{tmp_path}/objects"
    assert s.detector_model == "yolo11n.pt" and s.detector_device == "auto"
    assert s.broker_url == ""


def test_app_will_not_start_with_default_secret(tmp_path: Path) -> None:
    from app.main import create_app

    with pytest.raises(InsecureSettingsError):
        create_app(Settings(data_dir=tmp_path, secret_key="changeme"))
