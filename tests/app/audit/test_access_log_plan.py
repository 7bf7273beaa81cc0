"""A camera's access log without its recorded segments' entries is read through the index
that leaves them out (SQLite's planner, which needs no statistics to choose): a live camera
writes one such entry a minute per stream, and a page of the log must not look up each."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlmodel import Session

from app.audit import repository
from app.audit.service import record
from app.db import make_engine, run_migrations
from tests.plans import plan, statements


def test_the_log_without_recorded_segments_uses_its_index(
    tmp_path: Path, sqlite_template: Path
) -> None:
    path = tmp_path / "wardcam.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}", pool=False)
    run_migrations(engine)
    with Session(engine) as s:
        for n in range(30):
            record(s, None, "footage.record" if n % 10 else "event.search",
                   target_type="segment", target_id=n, camera_ids=[3])
        s.commit()
    with Session(engine) as s:
        with statements(engine) as seen:
            rows = repository.for_camera(s, 3, before_id=None, limit=50, recorded=False)
        assert [r.action for r in rows] == ["event.search"] * 3
        assert len(rows) == 3 and len(repository.for_camera(s, 3, before_id=None, limit=50)) == 30
        read = plan(s.connection(), *seen[-1])
    engine.dispose()
    assert "ix_audit_camera_camera_recorded_audit" in read, read
    assert "TEMP B-TREE" not in read, read  # read in the index's order: no sort of every row
