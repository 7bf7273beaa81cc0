"""Migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, text
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


def _migrated_to(
    request: pytest.FixtureRequest, tmp_path: Path, engine_kind: str, revision: str
) -> Engine:
    """An empty database of ``engine_kind`` migrated up to ``revision`` (to fill with the
    rows a later migration must carry over)."""
    from alembic import command
    from alembic.config import Config

    from app.db import MIGRATIONS_DIR

    engine = make_engine(_empty_database(request, tmp_path, engine_kind), pool=False)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
    return engine


def _empty_database(request: pytest.FixtureRequest, tmp_path: Path, engine_kind: str) -> str:
    if engine_kind == "sqlite":
        return f"sqlite:///{tmp_path / 'old.db'}"
    from tests.conftest import PG_ADMIN_URL, _sa_url

    templates = request.getfixturevalue("pg_templates")
    name = f"wardcam_t_{templates.run_id}_old_{uuid.uuid4().hex[:6]}"
    templates._exec(f'CREATE DATABASE "{name}"')
    templates.created.append(name)
    return _sa_url(PG_ADMIN_URL, name)


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgres"])
def test_units_and_name_keys_migrate_existing_data(
    request: pytest.FixtureRequest, tmp_path: Path, engine_kind: str
) -> None:
    """0008 turns the free-text units of users and cases into rows of `unit` and gives every
    organisation a unique normalised name key, keeping what was there (and its links)."""
    engine = _migrated_to(request, tmp_path, engine_kind, "0007")
    t = "'2024-01-01 00:00:00'"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO organisation (id, name, kind, created_at) VALUES "
                f"(1, 'Công an phường 1', 'police', {t}), (2, 'CÔNG AN  PHƯỜNG 1', 'police', {t}),"
                f" (3, 'Phường 1', 'ward', {t})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO user_account (id, username, full_name, role, org_id, unit, active, "
                f"created_at) VALUES (1, 'inv', '', 'investigator', 1, 'CID', true, {t}), "
                f"(2, 'sup', '', 'supervisor', 1, 'cid', true, {t}), "
                f"(3, 'w', '', 'ward', 3, 'x', true, {t}), "
                f"(4, 'a', '', 'admin', NULL, 'y', true, {t})"
            )
        )
        conn.execute(
            text(
                "INSERT INTO case_file (id, number, title, unit, org_id, status, created_by, "
                f"created_at) VALUES (1, 'C1', 't', 'CID', 1, 'open', 1, {t}), "
                f"(2, 'C2', 't', 'traffic', 1, 'open', 1, {t})"
            )
        )
        conn.execute(
            text(f"INSERT INTO case_member (case_id, user_id, added_at) VALUES (1, 1, {t})")
        )
    run_migrations(engine)
    with engine.connect() as conn:
        units = dict(conn.execute(text("SELECT name_key, id FROM unit WHERE org_id = 1")).all())
        assert set(units) == {"cid", "traffic"}
        users = dict(conn.execute(text("SELECT username, unit_id FROM user_account")).all())
        assert users == {"inv": units["cid"], "sup": units["cid"], "w": None, "a": None}
        cases = dict(conn.execute(text("SELECT number, unit_id FROM case_file")).all())
        assert cases == {"C1": units["cid"], "C2": units["traffic"]}
        keys = dict(conn.execute(text("SELECT id, name_key FROM organisation")).all())
        assert keys == {1: "công an phường 1", 2: "công an phường 1 #2", 3: "phường 1"}
        assert conn.execute(text("SELECT count(*) FROM case_member")).scalar_one() == 1
    engine.dispose()


@pytest.mark.parametrize("engine_kind", ["sqlite", "postgres"])
def test_recorded_segments_entries_are_marked_in_the_access_log_index(
    request: pytest.FixtureRequest, tmp_path: Path, engine_kind: str
) -> None:
    """0016 marks the camera links of the entries already written for recorded segments, so
    that the access log leaves them out from the start; every other entry stays an access."""
    engine = _migrated_to(request, tmp_path, engine_kind, "0015")
    t = "'2024-01-01 00:00:00'"
    with engine.begin() as conn:
        for seq, action in enumerate(["footage.record", "event.search", "footage.record"], 1):
            conn.execute(
                text(
                    "INSERT INTO audit_entry (id, seq, prev_hash, ts, action, outcome, "
                    f"details, hash) VALUES ({seq}, {seq}, 'p', {t}, '{action}', 'allowed', "
                    f"'{{}}', 'h{seq}')"
                )
            )
            conn.execute(text(f"INSERT INTO audit_camera (audit_id, camera_id) VALUES ({seq}, 7)"))
    run_migrations(engine)
    with engine.connect() as conn:
        marked = dict(conn.execute(text("SELECT audit_id, recorded FROM audit_camera")).all())
    engine.dispose()
    assert {k: bool(v) for k, v in marked.items()} == {1: True, 2: False, 3: True}
