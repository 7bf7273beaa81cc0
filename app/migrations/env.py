"""Alembic environment: runs against the connection handed over by `app.db.run_migrations`,
or against `WARDCAM_DATABASE_URL` when invoked with the `alembic` command line."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from sqlmodel import SQLModel

import app.models  # noqa: F401  (registers every table)
from app.db import EnumText, make_engine

config = context.config
target_metadata = SQLModel.metadata


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Enum-as-text columns are plain strings in the schema."""
    if type_ == "type" and isinstance(obj, EnumText):
        return f"sa.String(length={obj.length})"
    return False


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        render_item=_render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    from app.settings import Settings

    engine = make_engine(Settings(dev=True).database_url, pool=False)
    with engine.begin() as conn:
        _run(conn)
