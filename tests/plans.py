"""Query plans of the statements a piece of code runs, for tests that hold a query to the
index it was written for (a plan test fails when a change makes the database read a table
whole or look up every row; timings on a test's small tables would not)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, event


@contextmanager
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements run on `engine` inside the block, with their parameters (SQLite's
    `BEGIN` left out: a transaction, not a query)."""
    seen: list[tuple[str, Any]] = []

    def note(conn: Any, cursor: Any, statement: str, params: Any, *rest: Any) -> None:
        if not statement.startswith("BEGIN"):
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def plan(conn: Connection, statement: str, params: Any) -> str:
    """The plan of a statement as one line: SQLite's EXPLAIN QUERY PLAN; PostgreSQL's EXPLAIN
    after ANALYZE with sequential scans off (a test's table is small enough to be read whole:
    what a test can hold is that the index serves the query)."""
    if conn.dialect.name == "sqlite":
        return " ".join(str(r[-1]) for r in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, params))
    conn.exec_driver_sql("ANALYZE")
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    return " ".join(str(r[0]) for r in conn.exec_driver_sql("EXPLAIN " + statement, params))
