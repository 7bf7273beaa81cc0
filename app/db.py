"""Engines and sessions for SQLite (embedded default) and PostgreSQL (at scale).

SQLite runs in WAL mode with foreign keys on, and every transaction starts with
`BEGIN IMMEDIATE`: nearly every request appends to the audit chain, and a deferred transaction
that reads the chain head and then writes can be refused (`SQLITE_BUSY_SNAPSHOT`) once another
writer got in between. Taking the write lock up front serialises writers without failures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

from sqlalchemy import CursorResult, DateTime, Engine, Result, String, create_engine, event, text
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
log = logging.getLogger(__name__)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC; refuses naive datetimes going in."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EnumText(TypeDecorator[Any]):
    """A `StrEnum` stored as plain text (no native enum types to migrate), read back as the
    enum member."""

    impl = String
    cache_ok = True

    def __init__(self, enum_cls: type[StrEnum], length: int = 16) -> None:
        super().__init__(length)
        self.enum_cls = enum_cls
        self.length = length

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else self.enum_cls(value).value

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else self.enum_cls(value)


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE matched (`Result` is typed without it; its cursor has it)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, *, pool: bool = True) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        extra: dict[str, Any] = {} if pool else {"poolclass": NullPool}
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30, "isolation_level": None},
            **extra,
        )
        _configure_sqlite(engine)
        return engine
    # JIT compilation pays off for long analytic queries; for the short indexed reads this
    # service makes it only adds tens of milliseconds whenever an estimate crosses
    # jit_above_cost (searches over millions of events do).
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "connect_args": {"options": "-c jit=off"}}
    if pool:
        kwargs.update(pool_size=10, max_overflow=20)
    else:
        kwargs["poolclass"] = NullPool
    return create_engine(url, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class Outbox:
    """What one transaction leaves to do outside the database, kept on its session.

    Jobs are rows written in the transaction; telling a worker about them (`jobs`) must wait
    until they are committed, or the worker would not find them. An original written to the
    object store before its row must be removed again if the row is rolled back
    (`on_rollback`), and only a committed original is put under object lock (`after_commit`).
    Whoever owns the transaction (the request's session dependency, `session_scope` for jobs
    and the CLI) commits once and then settles the outbox: nobody else commits half-way.
    """

    jobs: list[int] = field(default_factory=list)
    after_commit: list[Callable[[], object]] = field(default_factory=list)
    on_rollback: list[Callable[[], object]] = field(default_factory=list)


_OUTBOX = "wardcam.outbox"


def outbox(session: Session) -> Outbox:
    """The outbox of the session's current transaction."""
    box = session.info.get(_OUTBOX)
    if not isinstance(box, Outbox):
        box = session.info[_OUTBOX] = Outbox()
    return box


def commit(session: Session, dispatch: Callable[[int], None] | None = None) -> None:
    """Commit; then announce the transaction's jobs (`dispatch`) and run its after-commit
    steps. A failed commit is rolled back (and its outbox undone) before the error goes on."""
    try:
        session.commit()
    except BaseException:
        rollback(session)
        raise
    box = session.info.pop(_OUTBOX, None)
    if not isinstance(box, Outbox):
        return
    if dispatch is not None:
        for job_id in box.jobs:
            dispatch(job_id)
    for step in box.after_commit:
        step()


def rollback(session: Session) -> None:
    """Roll back and undo, outside the database, what the transaction had already done."""
    session.rollback()
    box = session.info.pop(_OUTBOX, None)
    if isinstance(box, Outbox):
        for undo in box.on_rollback:
            try:
                undo()
            except Exception:  # the rollback's own error is the one to report
                log.exception("could not undo a step of a rolled-back transaction")


@contextmanager
def session_scope(
    engine: Engine, dispatch: Callable[[int], None] | None = None
) -> Iterator[Session]:
    """A unit of work for jobs and the CLI: commits on success (then settles its outbox,
    announcing jobs through `dispatch`), rolls back on error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
        except BaseException:
            rollback(session)
            raise
        commit(session, dispatch)


@contextmanager
def read_session(engine: Engine) -> Iterator[Session]:
    """A short read outside any unit of work: nothing it does is committed, and it holds no
    lock once closed (SQLite takes its write lock when a transaction begins, see above)."""
    with Session(engine, expire_on_commit=False) as session:
        yield session


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


class ReadOnlyDatabase(Exception):
    """The database answers but refuses writes."""


def is_read_only_error(exc: BaseException) -> bool:
    """A write refused because the database is read-only (PostgreSQL SQLSTATE 25006, a
    replica in recovery; SQLite's "attempt to write a readonly database")."""
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) == "25006" or "readonly database" in str(orig)


def check_writable(engine: Engine) -> None:
    """Raise `ReadOnlyDatabase` unless a write would succeed now (other errors: unreachable).

    PostgreSQL: not a replica in recovery, and new transactions are not read-only
    (`default_transaction_read_only`). SQLite: a table created and rolled back in a write
    transaction (the file or its directory may be read-only, or the disk remounted); a
    database merely busy with another writer for a second counts as writable.
    """
    with engine.connect() as conn:
        if engine.dialect.name != "sqlite":
            recovery, read_only = conn.execute(
                text("SELECT pg_is_in_recovery(), current_setting('transaction_read_only')")
            ).one()
            if recovery:
                raise ReadOnlyDatabase("the server is a replica in recovery")
            if read_only == "on":
                raise ReadOnlyDatabase("transactions are read-only")
            return
        raw = conn.connection.dbapi_connection  # PRAGMAs outside the transaction
        assert raw is not None
        raw.execute("PRAGMA busy_timeout=1000")
        try:
            with conn.begin() as tx:
                conn.exec_driver_sql("CREATE TABLE wardcam_write_probe (x INTEGER)")
                tx.rollback()
        except DBAPIError as exc:
            if is_read_only_error(exc):
                raise ReadOnlyDatabase("attempt to write a readonly database") from None
            if "locked" not in str(exc.orig):
                raise
        finally:
            raw.execute("PRAGMA busy_timeout=30000")


def run_migrations(engine: Engine, revision: str = "head") -> None:
    """`alembic upgrade head` (or to `revision`) against this engine's database."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        return
    # SQLite alters a table by recreating it (Alembic's batch mode): with foreign keys on,
    # dropping the old table fails while other tables' rows point at it. SQLite's guide for
    # ALTER TABLE: foreign keys off (only possible outside a transaction), migrate in one
    # transaction, check the keys, switch them back on.
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, revision)
                broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise RuntimeError(f"migration left broken foreign keys: {broken[:5]}")
        finally:
            raw.execute("PRAGMA foreign_keys=ON")
