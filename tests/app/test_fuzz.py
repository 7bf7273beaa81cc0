"""Schemathesis against the app's own OpenAPI schema: every operation, as an admin and as a
ward, with a fixed seed and a bounded number of examples. No response may be a 5xx, and every
4xx must carry a machine-readable `code` and a human `detail`."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.generation import GenerationMode

from tests.conftest import World

EXAMPLES_PER_OPERATION = 25
SKIP = {("POST", "/cameras/{camera_id}/footage")}  # binary bodies: covered by test_footage


@pytest.mark.slow
def test_fuzz_all_operations(world: World) -> None:
    app = world.client.app
    cam = world.camera()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    stats: Counter[str] = Counter()
    problems: list[str] = []
    operations = [r.ok() for r in schema.get_all_operations()]
    assert len(operations) >= 25, [op.label for op in operations]
    for who in ("admin", "ward_a"):
        for op in operations:
            if (op.method.upper(), op.path) not in SKIP:
                _fuzz(op, world.h(who), cam["id"], stats, problems)
    print(f"fuzz: {stats['n']} cases, {dict(stats)}")
    assert stats["n"] >= 1000, stats
    assert problems == [], "\n".join(problems[:20])


def _fuzz(
    op: Any, headers: dict[str, str], camera_id: int, stats: Counter[str], problems: list[str]
) -> None:
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        database=None,
        deadline=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=op.as_strategy())
    def run(case: Any) -> None:
        if "camera_id" in (case.path_parameters or {}) and stats["n"] % 3 == 0:
            case.path_parameters["camera_id"] = camera_id  # hit real rows too
        response = case.call(headers=headers)
        stats["n"] += 1
        stats[f"{response.status_code // 100}xx"] += 1
        if response.status_code >= 500:
            problems.append(f"{op.label} -> {response.status_code}: {response.text[:300]}")
        elif response.status_code >= 400:
            body = response.json()
            if not (isinstance(body, dict) and body.get("code") and body.get("detail")):
                problems.append(
                    f"{op.label} -> {response.status_code} without code/detail: "
                    f"{response.text[:200]}"
                )

    run()
