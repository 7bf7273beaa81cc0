"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import app.models  # noqa: F401
from app.db import make_engine, run_migrations


def test_models_match_migrations(db_url: str) -> None:
    engine = make_engine(db_url, pool=False)
    run_migrations(engine)  # idempotent on an already migrated database
    dialect = engine.dialect.name

    def for_this_dialect(obj: Any, name: Any, type_: str, reflected: bool, other: Any) -> bool:
        """Objects the models create on one dialect only (`.ddl_if(dialect=...)`)."""
        ddl_if = getattr(obj, "_ddl_if", None)
        return reflected or ddl_if is None or ddl_if.dialect in (None, dialect)

    with engine.connect() as conn:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": for_this_dialect}
        )
        diff = compare_metadata(ctx, SQLModel.metadata)
    engine.dispose()
    assert diff == [], diff
