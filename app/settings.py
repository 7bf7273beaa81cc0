"""Service configuration, read from `WARDCAM_*` environment variables (and `.env`).

The secret key is the root of two things that must survive restarts: the encryption of stream
credentials and the evidence signing key. A missing or well-known secret is therefore refused
unless dev mode is switched on explicitly, in which case a random one is kept in the data dir.
"""

from __future__ import annotations

import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

KNOWN_BAD_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "wardcam", "dev", "password", "test"}
)
MIN_SECRET_LENGTH = 32


class InsecureSettingsError(RuntimeError):
    """Raised when the service would start with a secret anyone can guess."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WARDCAM_", env_file=".env", extra="ignore", frozen=False
    )

    data_dir: Path = Path("./data")
    database_url: str = ""
    storage_url: str = ""
    broker_url: str = ""
    detector_model: str = "yolo11n.pt"
    detector_device: str = "auto"
    secret_key: SecretStr | None = None
    signing_key_file: Path | None = None
    dev: bool = False

    allow_file_streams: bool = False
    """Let cameras use file:// stream URLs (tests and demos only)."""

    max_upload_bytes: int = Field(default=8 * 1024**3, gt=0)
    segment_seconds: int = Field(default=60, ge=5, le=3600)
    max_search_days: int = Field(default=31, ge=1, le=366)
    max_extraction_hours: float = Field(default=2.0, gt=0, le=48)
    job_workers: int = Field(default=1, ge=0, le=64)
    job_lease_seconds: int = Field(default=600, ge=2)
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    retention_interval_s: int = Field(default=3600, ge=10)
    """How often the retention sweep runs (in-process scheduler or Celery beat)."""
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE", ""] = ""
    log_level: str = "INFO"
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        self.data_dir = self.data_dir.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.data_dir / 'wardcam.db'}"
        if not self.storage_url:
            self.storage_url = f"file://{self.data_dir / 'objects'}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def check_secure(self) -> None:
        """Refuse to run with a default secret outside dev mode."""
        if self.dev:
            return
        value = self.secret_key.get_secret_value() if self.secret_key else ""
        if value.strip().lower() in KNOWN_BAD_SECRETS or len(value) < MIN_SECRET_LENGTH:
            raise InsecureSettingsError(
                "WARDCAM_SECRET_KEY is missing or too weak (needs at least "
                f"{MIN_SECRET_LENGTH} random characters, e.g. `python -c 'import secrets; "
                "print(secrets.token_urlsafe(48))'`). Set WARDCAM_DEV=1 only for local "
                "development."
            )

    @cached_property
    def secret_bytes(self) -> bytes:
        """The root secret; in dev mode without one, a random key kept in the data dir."""
        if self.secret_key and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        self.check_secure()
        path = self.data_dir / "dev-secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


def get_settings() -> Settings:
    return Settings()
