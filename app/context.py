"""The long-lived parts of a running service, built once from settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

import app.models  # noqa: F401  (every table in the metadata: see app/models.py)
from app.db import make_engine
from app.security import SecretBox, derive_key
from app.settings import Settings
from app.storage import ObjectStore, make_store


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    store: ObjectStore
    secret_box: SecretBox
    extras: dict[str, object] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        settings.check_secure()
        secret = settings.secret_bytes
        return cls(
            settings=settings,
            engine=make_engine(settings.database_url),
            store=make_store(settings.storage_url, signing_key=derive_key(secret, "presign v1")),
            secret_box=SecretBox(secret),
        )

    def close(self) -> None:
        self.engine.dispose()
