"""app/limits.py through the app: uploads are the raw body, headers have a size limit.
(The real server's limits, slow bodies included: tests/app/test_server_limits.py.)"""

from __future__ import annotations

from tests.conftest import FOOTAGE, World


def test_a_form_upload_is_refused_saying_how_to_send_the_file(world: World) -> None:
    cam = world.camera()
    data = (FOOTAGE / "driveway_ir_night.mp4").read_bytes()
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        params={"start": "2024-05-01T10:00:00Z"},
        files={"file": ("clip.mp4", data, "video/mp4")},
        headers=world.h("ward_a"),
    )
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "raw_body_required" and "--data-binary" in r.json()["detail"]
    assert world.count("segment") == 0
    r = world.client.post(
        f"/cameras/{cam['id']}/footage",
        params={"start": "2024-05-01T10:00:00Z"},
        content=data,
        headers={**world.h("ward_a"), "Content-Type": "video/mp4"},
    )
    assert r.status_code == 201, r.text


def test_oversized_headers_get_431(world: World) -> None:
    r = world.client.get("/healthz", headers={f"X-H{i}": "a" * 100 for i in range(200)})
    assert r.status_code == 431 and r.json()["code"] == "headers_too_large"
    assert world.client.get("/healthz", headers={"X-H": "a" * 100}).status_code == 200
