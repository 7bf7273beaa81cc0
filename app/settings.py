"""Service configuration, read from `WARDCAM_*` environment variables (and `.env`).

The secret key is the root of two things that must survive restarts: the encryption of stream
credentials and the evidence signing key. A missing or well-known secret is therefore refused
unless dev mode is switched on explicitly, in which case a random one is kept in the data dir.
"""

from __future__ import annotations

import math
import os
import secrets
from collections import Counter
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

KNOWN_BAD_SECRETS = frozenset(
    {"", "changeme", "change-me", "changethis", "secret", "wardcam", "dev", "password", "test"}
)
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128
"""Estimated strength a secret must reach (see `secret_strength_bits`)."""
MAKE_A_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105
_CLASSES = (
    (str.islower, 26),
    (str.isupper, 26),
    (str.isdigit, 10),
)


def _alphabet(value: str) -> int:
    """How many symbols the character classes present in `value` offer."""
    size = sum(n for test, n in _CLASSES if any(test(c) and c.isascii() for c in value))
    if any(c.isascii() and not c.isalnum() for c in value):
        size += 33
    if any(not c.isascii() for c in value):
        size += 100
    return max(size, 1)


_KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890", "!@#$%^&*()")
_ANALYSED = 512
"""Only so many leading characters are analysed (a longer secret is not weaker for it)."""


def _adjacent(a: str, b: str) -> bool:
    """`b` follows `a` in an obvious order: the same, the next or previous code point, or a
    neighbour on a keyboard row."""
    if abs(ord(a) - ord(b)) <= 1:
        return True
    pair = (a + b).lower()
    return any(pair in row or pair[::-1] in row for row in _KEYBOARD_ROWS)


def _symbols(value: str) -> int:
    """How many independent choices `value` is made of: a greedy parse in which a run of 3+
    characters in an obvious order (`aaaa`, `abcd`, `9876`, `qwerty`) counts as two and a
    repetition of 3+ characters seen before (`Password1!Password1!`) as one."""
    count, i, n = 0, 0, len(value)
    while i < n:
        run = i + 1
        while run < n and _adjacent(value[run - 1], value[run]):
            run += 1
        repeat = 0
        for j in range(i):
            k = 0
            while i + k < n and value[j + k] == value[i + k]:
                k += 1
            repeat = max(repeat, k)
        if run - i >= 3 and run - i >= repeat:
            count, i = count + 2, run
        elif repeat >= 3:
            count, i = count + 1, i + repeat
        else:
            count, i = count + 1, i + 1
    return count


def secret_strength_bits(value: str) -> float:
    """A conservative estimate of the bits of randomness in `value`: the lesser of (a) the
    number of independent choices it is made of (`_symbols`: runs and repetitions collapse)
    times the bits per character of the character classes it uses, and (b) its length times
    its per-character Shannon entropy. Random tokens score close to their true strength;
    32 x `a`, `abc...`, `qwerty...` or a repeated password score far below 128."""
    value = value[:_ANALYSED]
    if not value:
        return 0.0
    by_classes = _symbols(value) * math.log2(_alphabet(value))
    counts = Counter(value)
    shannon = -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())
    return min(by_classes, len(value) * shannon)


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
    detector_threads: int = Field(default=0, ge=0, le=256)
    """CPU threads of one inference; 0: this machine's cores shared evenly between the index
    jobs one process runs at once (`detectors.inference_threads`)."""
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
    job_lease_seconds: int = Field(default=30, ge=2, le=3600)
    """How long a claimed job is its worker's without a heartbeat. The runner renews it every
    third of that while the handler runs, so a long job keeps it and a dead worker's job is
    taken over within one lease (plus a worker's poll)."""
    job_max_attempts: int = Field(default=3, ge=1, le=20)
    record_capacity: int = Field(default=64, ge=0, le=2000)
    """Camera streams one worker process records at most (the recording supervisor,
    `app.fleet`); 0: this process records none."""
    record_store_threads: int = Field(default=1, ge=1, le=16)
    """Threads per worker process storing recorded segments, several to a transaction
    (`app.footage.store_queue`). One on 2 cores: more measured slower there (more sessions
    queueing on the audit chain's head, each a thread waiting for a CPU). SQLite: always one."""
    record_lease_s: float = Field(default=30.0, ge=2, le=60)
    """A recorder's lease on its camera stream: a dead worker's cameras are taken over by
    another within this (plus one poll)."""
    record_poll_s: float = Field(default=5.0, gt=0, le=15)
    """How often a supervisor renews its leases and looks for cameras added, re-activated,
    retired or put in maintenance (each is seen within this)."""
    retention_interval_s: int = Field(default=3600, ge=10)
    """How often the retention sweep runs (in-process scheduler or Celery beat)."""
    object_lock_mode: Literal["GOVERNANCE", "COMPLIANCE", ""] = ""
    smtp_host: str = ""
    """SMTP server for e-mail notifications (none: e-mail channels fail their deliveries)."""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_from: str = "wardcam@localhost"
    smtp_starttls: bool = True
    """Upgrade the connection with STARTTLS before logging in (refused if the server can't)."""
    smtp_ca_file: Path | None = None
    """CA bundle for the SMTP server's certificate (default: the system's)."""
    smtp_timeout_s: float = Field(default=20.0, gt=0, le=300)
    notify_watch_interval_s: float = Field(default=60.0, ge=0.1)
    """How often the offline watch looks at the cameras' latest footage."""
    notify_retry_base_s: float = Field(default=30.0, gt=0)
    """First wait before a failed delivery is retried; doubles with every attempt ..."""
    notify_retry_max_s: float = Field(default=3600.0, gt=0)
    """... up to this wait between two attempts ..."""
    notify_retry_for_s: float = Field(default=86_400.0, gt=0)
    """... for this long after the first attempt (24 h), then the delivery has failed."""
    notify_timeout_s: float = Field(default=10.0, gt=0, le=120)
    """How long a webhook receiver may take to answer."""
    notify_allow_private_targets: bool = False
    """Let webhooks reach loopback, private and link-local addresses (tests, a receiver on
    the same network). Off: an organisation cannot use wardcam to probe the inside."""
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    """One JSON object per log line (with the request id), or `text` for a terminal."""
    max_header_bytes: int = Field(default=16 * 1024, ge=4096, le=1024 * 1024)
    """Largest request line + headers the server reads (h11); more is a 400."""
    body_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    """Longest wait for the next bytes of an upload: after it, 408 `upload_timeout`."""
    keepalive_s: int = Field(default=5, ge=1, le=300)
    """How long an idle keep-alive connection stays open."""
    shutdown_timeout_s: int = Field(default=30, ge=1, le=3600)
    """How long a stopping server waits for requests in flight before cancelling them."""
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    public_url: str = ""
    """Where people reach the service (`https://wardcam.example.vn`): invitation links are built
    on it, and an https URL makes the console's cookies Secure even behind a proxy."""
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    """A console session ends after this long without a request."""
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    """... and this long after signing in, whatever happens."""
    invitation_hours: float = Field(default=72.0, gt=0, le=24 * 30)
    """How long an invitation link can be used (once)."""
    signin_max_failures: int = Field(default=5, ge=1, le=1000)
    """Wrong passwords for one user name within `signin_window_minutes` before it is locked."""
    signin_max_failures_ip: int = Field(default=20, ge=1, le=100_000)
    """Wrong passwords from one address within `signin_window_minutes` before it is locked."""
    signin_window_minutes: int = Field(default=15, ge=1, le=24 * 60)

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
        if not value.strip():
            problem = "is missing"
        elif value.strip().lower() in KNOWN_BAD_SECRETS or len(value) < MIN_SECRET_LENGTH:
            problem = f"is too short or well known (needs {MIN_SECRET_LENGTH}+ random characters)"
        elif (bits := secret_strength_bits(value)) < MIN_SECRET_BITS:
            problem = (
                f"is too weak: about {bits:.0f} bits of randomness, {MIN_SECRET_BITS} needed "
                "(repeated, sequential or few kinds of characters)"
            )
        else:
            return
        raise InsecureSettingsError(
            f"WARDCAM_SECRET_KEY {problem}. Make one with `{MAKE_A_SECRET}` "
            f"(at least {MIN_SECRET_BITS} bits). Set WARDCAM_DEV=1 only for local development."
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
