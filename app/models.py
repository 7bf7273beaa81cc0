"""Every table of every domain in one `SQLModel.metadata`.

Each domain keeps its tables in its own `models.py`; this module only imports them all. One
place is needed because a table exists in the metadata only once its module was imported, and
three things need the whole schema whatever the process happened to import: Alembic
(`migrations/env.py` compares the metadata with the database), the test that migrations
build exactly the models' schema, and SQLAlchemy's unit of work, which resolves foreign keys
given as strings (`foreign_key="camera.id"`) against the metadata when it flushes (a Celery
worker that imported only the extraction job must still know the `camera` table).
`AppContext.from_settings` imports this module, so every process that has a context has the
whole schema.
"""

from __future__ import annotations

from sqlmodel import SQLModel

from app.audit import models as audit
from app.cameras import models as cameras
from app.cases import models as cases
from app.events import models as events
from app.extractions import models as extractions
from app.footage import models as footage
from app.identity import models as identity
from app.jobs import models as jobs
from app.signin import models as signin

DOMAINS = (audit, cameras, cases, events, extractions, footage, identity, jobs, signin)
metadata = SQLModel.metadata
