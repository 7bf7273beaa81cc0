"""Liveness and readiness (metrics: app.observability.metrics).

`/readyz` says whether this process can do its work: the database reachable *and writable*
(a database that went read-only, a PostgreSQL replica after a failover or a SQLite file on a
read-only disk, makes every write a 503, so the process is not ready), and the object store
reachable: 200 or 503, for load balancers. The detector is reported beside them: search and
evidence need none, so a process without one stays ready (200) and says so in
`checks.detector` and `degraded` (see `DetectorProvider.status`).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.db import ReadOnlyDatabase, check_writable
from app.deps import ContextDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(ctx: ContextDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        check_writable(ctx.engine)
        checks["database"] = "ok"
    except ReadOnlyDatabase as exc:
        checks["database"] = f"read-only: {exc}"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        ctx.store.ping()
        checks["store"] = "ok"
    except Exception as exc:
        checks["store"] = f"unavailable: {type(exc).__name__}"
    ok = all(v == "ok" for v in checks.values())
    detector = ctx.detectors.status()
    degraded = ["detector"] if detector.startswith("unavailable") else []
    status = "not ready" if not ok else "degraded" if degraded else "ready"
    body: dict[str, object] = {
        "status": status,
        "checks": {**checks, "detector": detector},
        "degraded": degraded,
    }
    if not ok:
        body.update(
            code="not_ready", detail="; ".join(f"{k} {v}" for k, v in checks.items() if v != "ok")
        )
    elif degraded:
        body["detail"] = f"serving search and evidence; indexing stopped: detector {detector}"
    return JSONResponse(body, status_code=200 if ok else 503)
