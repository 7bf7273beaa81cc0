"""The long-lived parts of a running service, built once from settings.

Every process that does wardcam's work (the API, a Celery worker, a CLI command, a test)
builds one `AppContext` and hands it down: nothing below reads settings or builds engines,
stores or detectors of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlmodel import Session

import app.models  # noqa: F401  (every table in the metadata: see app/models.py)
from app.db import make_engine, session_scope
from app.detection import DetectorProvider
from app.events.cursor import CursorCodec
from app.jobs.dispatch import Dispatcher, make_dispatcher
from app.security import SecretBox
from app.settings import Settings
from app.storage import ObjectStore, make_store


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    store: ObjectStore
    secret_box: SecretBox
    """Encrypts stream URLs at rest."""
    cursor_codec: CursorCodec
    """Signs and checks the keyset cursors of event search."""
    detectors: DetectorProvider
    """The process's detector, loaded on first use (workers only)."""
    dispatcher: Dispatcher
    """Announces committed jobs to the workers (in-process pool or Celery)."""

    @classmethod
    def from_settings(cls, settings: Settings) -> AppContext:
        settings.check_secure()
        secret = settings.secret_bytes
        return cls(
            settings=settings,
            engine=make_engine(settings.database_url),
            store=make_store(settings.storage_url),
            secret_box=SecretBox(secret),
            cursor_codec=CursorCodec(secret),
            detectors=DetectorProvider(
                settings.detector_model, settings.detector_device, settings.detector_threads
            ),
            dispatcher=make_dispatcher(settings),
        )

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work for jobs and the CLI: commits on success, then announces the jobs
        it created; rolls back on error."""
        with session_scope(self.engine, dispatch=self.dispatcher.enqueue) as session:
            yield session

    def close(self) -> None:
        self.engine.dispose()
