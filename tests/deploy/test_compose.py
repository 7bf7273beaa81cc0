"""deploy/docker-compose.yml and the Dockerfile, checked structurally.

Docker does not run on the machines that run this suite, so the compose file is parsed and
checked here instead of started: the services, the detector model the image carries and the
compose file points at, offline model loading, the GPU worker profile with its NVIDIA device
reservation, and every required variable present in deploy/.env.example.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::([-?])([^}]*))?\}")


def _compose() -> dict[str, Any]:
    data = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


def _default(value: str) -> str:
    """A compose value with its `${VAR:-default}` interpolated from the defaults."""
    return _VAR.sub(lambda m: m.group(3) if m.group(2) == "-" else f"<{m.group(1)}>", value)


def _dockerfile_model_path() -> str:
    text = (ROOT / "Dockerfile").read_text()
    model = re.search(r"^ARG MODEL=(\S+)$", text, re.M)
    env = re.search(r"^ENV WARDCAM_DETECTOR_MODEL=(\S+)$", text, re.M)
    assert model and env, "the Dockerfile sets the model it downloads as the default"
    return env.group(1).replace("${MODEL}", model.group(1))


def test_services_and_their_health_checks() -> None:
    services = _compose()["services"]
    assert set(services) == {"api", "worker", "beat", "worker-gpu", "postgres", "redis", "minio"}
    for name, svc in services.items():
        assert "healthcheck" in svc and svc.get("restart") == "unless-stopped", name
    assert services["api"]["healthcheck"]["test"][-1].endswith("/readyz")
    assert "profiles" not in services["worker"]
    # exactly one clock for the periodic tasks, whatever the number of workers
    assert services["beat"]["command"] == ["wardcam", "beat"]
    assert "deploy" not in services["beat"] and "profiles" not in services["beat"]


def test_the_image_carries_the_model_the_compose_file_points_at() -> None:
    text = (ROOT / "Dockerfile").read_text()
    # Downloaded at build time, with ultralytics, online only in that stage.
    stage = text.split("AS model", 1)[1].split("FROM ", 1)[0]
    assert "YOLO_OFFLINE=0" in stage and "ultralytics" in stage
    assert "COPY --from=model /opt/wardcam/models /opt/wardcam/models" in text
    system = text.split("AS system", 1)[1].split("FROM ", 1)[0]
    assert re.search(r"^ENV (.*\\\n)*\s*YOLO_OFFLINE=1 ", system, re.M)  # containers: offline
    path = _dockerfile_model_path()
    assert path == "/opt/wardcam/models/yolo11n.pt"
    env = _compose()["x-wardcam-env"]
    assert _default(env["WARDCAM_DETECTOR_MODEL"]) == path
    assert env["YOLO_OFFLINE"] == "1"
    example = (DEPLOY / ".env.example").read_text()
    assert f"WARDCAM_DETECTOR_MODEL={path}" in example


def test_gpu_worker_profile() -> None:
    services = _compose()["services"]
    gpu = services["worker-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["command"] == ["wardcam", "worker"] and gpu["image"] == services["api"]["image"]
    assert _default(gpu["environment"]["WARDCAM_DETECTOR_DEVICE"]).startswith("cuda")
    assert gpu["environment"]["WARDCAM_BROKER_URL"].startswith("redis://")
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert device["count"] == "all" or (isinstance(device["count"], int) and device["count"] >= 1)
    # Both workers may mount a model of their own.
    for name in ("worker", "worker-gpu"):
        assert "./models:/models:ro" in services[name]["volumes"]
    assert (DEPLOY / "models" / "README.md").is_file()


def test_every_required_variable_is_in_the_env_example() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    required = {m.group(1) for m in _VAR.finditer(text) if m.group(2) == "?"}
    example = {
        line.split("=", 1)[0]
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    }
    assert required and required <= example, required - example
