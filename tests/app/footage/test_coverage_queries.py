"""Footage coverage runs a constant number of queries however many segments the window holds
(issue 15 item 17: it ran one per segment, up to ~45 000 for a 31-day window). Counted on the
real engine, on SQLite and PostgreSQL, for a camera with 2 and with 12 segments, by the
owning ward and by the police (whose read is audited in the camera's access log)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import event

from tests.conftest import FOOTAGE, World


@contextmanager
def counted(engine: object) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(conn, cursor, statement, params, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_coverage_queries_do_not_grow_with_segments(world: World) -> None:
    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    clip = (FOOTAGE / "driveway_ir_night.mp4").read_bytes()
    base = datetime(2024, 5, 1, tzinfo=UTC)
    window = {"from": "2024-05-01T00:00:00Z", "to": "2024-05-02T00:00:00Z"}
    queries: dict[tuple[int, str], int] = {}
    for n in (2, 12):
        cam = world.camera()
        for i in range(n):  # distinct bytes per segment: a trailing MP4 `free` box
            r = world.client.post(
                f"/cameras/{cam['id']}/footage",
                content=clip + (16).to_bytes(4, "big") + b"free" + i.to_bytes(8, "big"),
                params={"start": (base + timedelta(minutes=i)).isoformat()},
                headers=world.h("ward_a"),
            )
            assert r.status_code == 201, r.text
        for who in ("ward_a", "officer"):
            with counted(ctx.engine) as statements:
                r = world.client.get(
                    f"/cameras/{cam['id']}/footage", params=window, headers=world.h(who)
                )
            assert r.status_code == 200, r.text
            body = r.json()
            assert len(body["segments"]) == n
            assert all(s["job"] and s["job"]["state"] == "pending" for s in body["segments"])
            queries[(n, who)] = len(statements)
    for who in ("ward_a", "officer"):
        assert queries[(12, who)] == queries[(2, who)], queries
