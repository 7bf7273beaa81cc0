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


@pytest.mark.parametrize(
    "secret",
    [
        "a" * 32,
        "a" * 64,
        "abc" * 20,
        "abcdefghijklmnopqrstuvwxyz0123456789",
        "0123456789" * 5,
        "qwertyuiopasdfghjklzxcvbnm" * 2,
        "Password1!Password1!Password1!Password1!",
        "zyxwvutsrqponmlkjihgfedcba9876543210ZYXWVU",
    ],
)
def test_refuses_long_but_guessable_secrets(secret: str, tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path, secret_key=secret, dev=False)
    with pytest.raises(InsecureSettingsError) as info:
        s.check_secure()
    message = str(info.value)
    assert "WARDCAM_SECRET_KEY" in message and "bits" in message
    assert 'python -c "import secrets; print(secrets.token_urlsafe(48))"' in message
    assert secret not in message  # the secret itself is never echoed


def test_accepts_random_secrets(tmp_path: Path) -> None:
    import base64
    import secrets as rnd

    for _ in range(200):
        for secret in (
            rnd.token_urlsafe(48),
            rnd.token_urlsafe(32),
            rnd.token_hex(32),
            base64.b64encode(rnd.token_bytes(32)).decode(),
        ):
            Settings(data_dir=tmp_path, secret_key=secret, dev=False).check_secure()


def test_the_readme_documents_every_setting() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    undocumented = {"cors_origins"}  # read, but nothing uses it yet
    missing = [
        f"WARDCAM_{name.upper()}"
        for name in Settings.model_fields
        if name not in undocumented and f"`WARDCAM_{name.upper()}`" not in table
    ]
    assert not missing, f"add to the README's configuration table: {missing}"
