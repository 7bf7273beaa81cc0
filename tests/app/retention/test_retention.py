"""Retention deletes old footage, events and thumbnails, except what a legal hold covers;
each batch is audited with counts, and closing the case releases the hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlmodel import Session, col, select

from tests.conftest import FOOTAGE, World


def test_retention_respects_legal_hold(world: World, settings) -> None:  # type: ignore[no-untyped-def]
    from app.events.models import Event
    from app.footage.models import Segment
    from app.jobs.pool import InProcessPool
    from app.retention.service import sweep

    ctx = world.client.app.state.ctx  # type: ignore[attr-defined]
    cam = world.camera(retention_days=7, clock_offset_s=0, sharing_policy="auto")
    now = datetime.now(UTC)
    old1, old2 = now - timedelta(days=10), now - timedelta(days=9)
    fresh = now - timedelta(days=1)
    ids = []
    for clip, start in [
        (FOOTAGE / "street_crossing_day.mp4", old1),
        (FOOTAGE / "driveway_ir_night.mp4", old2),
        (FOOTAGE / "motorcycles_cctv_day.mp4", fresh),
    ]:
        r = world.client.post(
            f"/cameras/{cam['id']}/footage",
            content=clip.read_bytes(),
            params={"start": start.isoformat()},
            headers=world.h("ward_a"),
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    InProcessPool(ctx, 0).run_until_idle()
    # An open case's request covers the first segment: it is on legal hold.
    case = world.client.post(
        "/cases", json={"number": "HOLD-1", "title": "hold"}, headers=world.h("investigator")
    ).json()
    r = world.client.post(
        f"/cases/{case['id']}/extractions",
        headers=world.h("investigator"),
        json={
            "camera_ids": [cam["id"]],
            "from": old1.isoformat(),
            "to": (old1 + timedelta(seconds=5)).isoformat(),
            "reason": "hold this for the court case",
        },
    )
    assert r.status_code == 201, r.text

    def seg(i: int) -> Segment:
        with Session(ctx.engine) as s:
            row = s.get(Segment, ids[i])
            assert row is not None
            return row

    def events(i: int) -> int:
        with Session(ctx.engine) as s:
            return len(s.exec(select(Event.id).where(col(Event.segment_id) == ids[i])).all())

    assert events(1) > 0
    thumbs_before = [k for k in ctx.store.list("thumbs/")]
    report = sweep(ctx, now)
    assert report.deleted_segments == {cam["id"]: 1}
    assert report.held == {cam["id"]: 1}
    assert seg(0).status == "indexed" and ctx.store.exists(seg(0).object_key)  # held
    assert seg(1).status == "deleted" and not ctx.store.exists(seg(1).object_key)
    assert events(1) == 0
    assert seg(2).status == "indexed" and ctx.store.exists(seg(2).object_key)  # fresh
    assert len(list(ctx.store.list("thumbs/"))) < len(thumbs_before)
    entries = world.client.get(
        "/audit", params={"action": "retention.delete"}, headers=world.h("auditor")
    ).json()["items"]
    assert len(entries) == 1 and entries[0]["details"]["segments"] == 1
    assert entries[0]["details"]["events"] > 0
    # The owner sees it in the camera's access log.
    log = world.client.get(f"/cameras/{cam['id']}/access-log", headers=world.h("ward_a"))
    assert log.json()["items"][0]["action"] == "retention.delete"
    # Closing the case releases the hold.
    r = world.client.patch(
        f"/cases/{case['id']}", json={"status": "closed"}, headers=world.h("investigator")
    )
    assert r.status_code == 200 and r.json()["status"] == "closed"
    report = sweep(ctx, now)
    assert report.deleted_segments == {cam["id"]: 1}
    assert seg(0).status == "deleted" and not ctx.store.exists(seg(0).object_key)
    assert Path(settings.data_dir).exists()
    assert world.client.get("/audit/verify", headers=world.h("auditor")).json()["ok"]


def test_originals_are_object_locked_on_s3(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With object lock, not even wardcam itself (or a stolen admin key) can delete an
    original before its retention ends; SeaweedFS enforces it."""
    from fastapi.testclient import TestClient
    from minio import Minio
    from minio.error import S3Error

    from app.main import create_app
    from app.retention.service import sweep
    from app.storage import ObjectLocked
    from tests.app.storage.seaweed import start_seaweedfs
    from tests.conftest import bootstrap_admin

    with start_seaweedfs(tmp_path / "s3") as server:
        settings.storage_url = server.url_for("originals", lock_mode="GOVERNANCE")
        settings.object_lock_mode = "COMPLIANCE"
        with TestClient(create_app(settings)) as client:
            w = World(client)
            w.keys["admin"] = bootstrap_admin(settings)
            org = client.post("/orgs", json={"name": "w", "kind": "ward"}, headers=w.h("admin"))
            user = client.post("/users", json={"username": "ward", "role": "ward",
                               "org_id": org.json()["id"]}, headers=w.h("admin")).json()
            w.keys["ward"] = user["api_key"]
            cam = w.camera("ward", retention_days=30)
            start = datetime.now(UTC) - timedelta(days=1)
            r = client.post(f"/cameras/{cam['id']}/footage", headers=w.h("ward"),
                            content=(FOOTAGE / "driveway_ir_night.mp4").read_bytes(),
                            params={"start": start.isoformat()})
            assert r.status_code == 201, r.text
            ctx = client.app.state.ctx  # type: ignore[attr-defined]
            from app.footage.models import Segment

            with Session(ctx.engine) as s:
                seg = s.get(Segment, r.json()["id"])
                assert seg is not None
                key = seg.object_key
            try:
                ctx.store.delete(key)
                raise AssertionError("a locked original was deleted")
            except ObjectLocked:
                pass
            raw = Minio(server.endpoint, server.access_key, server.secret_key, secure=False)
            versions = list(raw.list_objects("originals", prefix=key, include_version=True))
            assert versions
            for v in versions:
                try:
                    raw.remove_object("originals", key, version_id=v.version_id)
                    raise AssertionError("the S3 server let a locked version be deleted")
                except S3Error as exc:
                    assert exc.code == "AccessDenied"
            # Even a sweep as if the retention were over cannot remove it early.
            report = sweep(ctx, datetime.now(UTC) + timedelta(days=31))
            assert report.locked == {cam["id"]: 1} and report.total_deleted == 0
            assert ctx.store.exists(key)
