"""Shared fixtures: a throwaway database on SQLite and on PostgreSQL, the app, and a small
world of organisations and users with real API keys.

PostgreSQL: a template database is migrated once per run and each test gets a copy
(`CREATE DATABASE … TEMPLATE …`), all dropped at the end. The server is the one on
127.0.0.1:5432 (or `WARDCAM_TEST_PG_URL`); `.ci/run` makes sure it is running.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(__file__).resolve().parents[1] / ".yolo"))

PG_ADMIN_URL = os.environ.get(
    "WARDCAM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
from tests.helpers import TEST_SECRET  # noqa: E402

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FOOTAGE = SHARED / "assets" / "footage"
MODELS = SHARED / "assets" / "models"
DETECTOR_MODEL = str(MODELS / "yolo11n_int8_openvino_model")
os.environ.setdefault("WARDCAM_DETECTOR_MODEL", DETECTOR_MODEL)
CLIPS = [
    FOOTAGE / name
    for name in (
        "driveway_ir_night.mp4",
        "intersection_cctv_day.mp4",
        "motorcycles_cctv_day.mp4",
        "street_crossing_day.mp4",
    )
]
"""The clips the app tests use, by name: the shared folder may hold more."""
REQUIRED_ASSETS = (
    MODELS / "yolo11n_int8_openvino_model" / "yolo11n.xml",
    MODELS / "yolo11n_int8_openvino_model" / "yolo11n.bin",
    MODELS / "yolo11n_int8_openvino_model" / "metadata.yaml",
    MODELS / "yolov8n_int8.onnx",
    *CLIPS,
)


def pytest_configure(config: pytest.Config) -> None:
    """The suite tests the real detector on real footage: without them it must not pass (or
    quietly shrink), so a missing asset stops the run before anything is collected."""
    missing = [str(p) for p in REQUIRED_ASSETS if not p.is_file()]
    if missing:
        raise pytest.UsageError(
            "test assets missing (the detector weights and footage of ../shared/assets, "
            "see its README.md): " + ", ".join(missing)
        )


def _sa_url(pg_url: str, dbname: str) -> str:
    base = pg_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{dbname}"


class PgTemplates:
    """Creates databases on the test server and drops them all at the end."""

    def __init__(self) -> None:
        self.run_id = uuid.uuid4().hex[:8]
        self.created: list[str] = []
        self.template: str | None = None

    def _exec(self, sql: str) -> None:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def template_url(self) -> str:
        if self.template is None:
            from app.db import make_engine, run_migrations

            name = f"wardcam_t_{self.run_id}_tmpl"
            self._exec(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            engine = make_engine(_sa_url(PG_ADMIN_URL, name), pool=False)
            run_migrations(engine)
            engine.dispose()
            self.template = name
        return _sa_url(PG_ADMIN_URL, self.template)

    def fresh(self) -> str:
        self.template_url()
        name = f"wardcam_t_{self.run_id}_{uuid.uuid4().hex[:8]}"
        self._exec(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return _sa_url(PG_ADMIN_URL, name)

    def drop_all(self) -> None:
        for name in reversed(self.created):
            self._exec(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_templates() -> Iterator[PgTemplates]:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:  # CI must have it: fail, don't skip
        pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}: {exc}")
    templates = PgTemplates()
    yield templates
    templates.drop_all()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from app.db import make_engine, run_migrations

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    engine = make_engine(f"sqlite:///{path}", pool=False)
    run_migrations(engine)
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> str:
    if request.param == "sqlite":
        target = tmp_path / "wardcam.db"
        shutil.copy(sqlite_template, target)
        return f"sqlite:///{target}"
    templates: PgTemplates = request.getfixturevalue("pg_templates")
    return templates.fresh()


@pytest.fixture
def settings(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from app.settings import Settings

    return Settings(
        data_dir=tmp_path / "data",
        database_url=db_url,
        storage_url=f"file://{tmp_path / 'objects'}",
        secret_key=TEST_SECRET,
        allow_file_streams=True,
        job_workers=0,
        detector_model=DETECTOR_MODEL,
        detector_device="cpu",
    )


@pytest.fixture
def app(settings):  # type: ignore[no-untyped-def]
    from app.main import create_app

    return create_app(settings)


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app) as c:
        yield c


@dataclass
class World:
    """Organisations and users of a small deployment, with their API keys."""

    client: TestClient
    keys: dict[str, str] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    units: dict[str, int] = field(default_factory=dict)

    def count(self, table: str, where: str = "") -> int:
        from sqlalchemy import text

        engine = self.client.app.state.ctx.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
            return int(conn.execute(text(sql)).scalar_one())

    def h(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[who]}"}

    def camera(self, who: str = "ward_a", **overrides: object) -> dict:
        body = {
            "name": "Chowk north",
            "latitude": 27.7172,
            "longitude": 85.3240,
            "address": "Ward 1 chowk",
            "timezone": "Asia/Kathmandu",
            "clock_offset_s": 2.5,
            "retention_days": 30,
            "sharing_policy": "owner_approval",
        }
        body.update(overrides)
        r = self.client.post("/cameras", json=body, headers=self.h(who))
        assert r.status_code == 201, r.text
        return r.json()


def ward_world(client: TestClient, settings) -> World:  # type: ignore[no-untyped-def]
    """A world on an app of a test's own settings: the bootstrapped admin and one ward user
    ("ward") of one ward organisation."""
    w = World(client)
    w.keys["admin"] = bootstrap_admin(settings)
    org = client.post("/orgs", json={"name": "w", "kind": "ward"}, headers=w.h("admin"))
    user = client.post(
        "/users",
        json={"username": "ward", "role": "ward", "org_id": org.json()["id"]},
        headers=w.h("admin"),
    )
    assert user.status_code == 201, user.text
    w.keys["ward"] = user.json()["api_key"]
    return w


def bootstrap_admin(settings) -> str:  # type: ignore[no-untyped-def]
    from app.db import make_engine, session_scope
    from app.identity.models import Role
    from app.identity.schemas import UserCreate
    from app.identity.service import create_user

    engine = make_engine(settings.database_url, pool=False)
    with session_scope(engine) as session:
        _, token = create_user(session, None, UserCreate(username="admin", role=Role.admin))
    engine.dispose()
    return token


@pytest.fixture
def world(client: TestClient, settings) -> World:  # type: ignore[no-untyped-def]
    return make_world(client, settings)


def make_world(client: TestClient, settings: Any) -> World:
    """Two wards, the police, and one user of every role, through the API."""
    w = World(client)
    w.keys["admin"] = bootstrap_admin(settings)
    for name, kind in (("ward_a", "ward"), ("ward_b", "ward"), ("police", "police")):
        r = client.post("/orgs", json={"name": name, "kind": kind}, headers=w.h("admin"))
        assert r.status_code == 201, r.text
        w.orgs[name] = r.json()["id"]
    r = client.post(f"/orgs/{w.orgs['police']}/units", json={"name": "cid"}, headers=w.h("admin"))
    assert r.status_code == 201, r.text
    w.units["cid"] = r.json()["id"]
    people = [
        ("ward_a", "ward", "ward_a"),
        ("ward_b", "ward", "ward_b"),
        ("officer", "officer", "police"),
        ("investigator", "investigator", "police"),
        ("investigator2", "investigator", "police"),
        ("supervisor", "supervisor", "police"),
        ("auditor", "auditor", None),
    ]
    for username, role, org in people:
        body = {
            "username": username,
            "role": role,
            "org_id": w.orgs[org] if org else None,
            "unit_id": w.units["cid"] if role in ("investigator", "supervisor") else None,
        }
        r = client.post("/users", json=body, headers=w.h("admin"))
        assert r.status_code == 201, r.text
        w.keys[username] = r.json()["api_key"]
        w.users[username] = r.json()["id"]
    return w
