"""Request-scoped dependencies: `SessionDep`, `ContextDep`, `SettingsDep`, `StoreDep`.

The request owns its transaction: its session commits once, when the endpoint returns (before
the response is sent), and rolls back on any error; endpoints and services never commit. After
the commit the session's outbox is settled (`app.db.Outbox`): the jobs the request created
are announced to the workers, and originals it stored are locked; after a rollback, objects
it had already written to the store are removed. A refusal that must be audited carries the
audit entry on the error; it is written in a fresh transaction after the rollback, so a
denied request leaves exactly one trace: the record of its denial.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from pydantic import Field
from sqlmodel import Session

from app.context import AppContext
from app.db import commit, rollback
from app.errors import ApiError
from app.refusals import record_refusal
from app.settings import Settings
from app.storage import ObjectStore


async def get_context(request: Request) -> AppContext:
    # async: no I/O here, and a sync dependency costs a thread-pool hand-off per request.
    ctx: AppContext = request.app.state.ctx
    return ctx


ContextDep = Annotated[AppContext, Depends(get_context)]


def get_session(request: Request, ctx: ContextDep) -> Iterator[Session]:
    with Session(ctx.engine, expire_on_commit=False) as session:
        try:
            yield session
        except ApiError as exc:
            rollback(session)
            # The services' own refusal entries, and every refusal concerning a camera
            # (app.refusals): the camera's owner sees it in its access log.
            if record_refusal(request, session, exc):
                commit(session)
            raise
        except BaseException:
            rollback(session)
            raise
        commit(session, ctx.dispatcher.enqueue)


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


async def get_settings_dep(ctx: ContextDep) -> Settings:
    return ctx.settings


async def get_store(ctx: ContextDep) -> ObjectStore:
    return ctx.store


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]

MAX_ID = 2**31 - 1
"""Row ids are 32-bit on PostgreSQL (events and audit entries, 64-bit, have their own)."""
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="a row id")]
"""Path ids: out-of-range numbers are a 422, never a database overflow."""
IdField = Annotated[int, Field(ge=1, le=MAX_ID)]
StoreDep = Annotated[ObjectStore, Depends(get_store)]
