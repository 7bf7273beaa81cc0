"""Extraction requests, owners' decisions, and the evidence package download."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlmodel import col, select

from app.audit.service import record
from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cases.models import Case
from app.cases.policy import CasePolicy
from app.cases.service import get_visible
from app.deps import ContextDep, IdPath, SessionDep
from app.errors import Conflict, Forbidden
from app.extractions import service
from app.extractions.models import ExtractionCamera, ExtractionState
from app.extractions.schemas import DecisionIn, ExtractionCreate, ExtractionPublic
from app.identity.models import Role
from app.signing import signing_key
from evidence.signing import key_fingerprint, public_key_pem

router = APIRouter(tags=["extractions"])


def _enqueue(ctx, job) -> None:  # type: ignore[no-untyped-def]
    dispatcher = ctx.extras.get("dispatcher")
    if job is not None and job.id is not None and dispatcher is not None:
        dispatcher.enqueue(job.id)


@router.post("/cases/{case_id}/extractions", status_code=201, response_model=ExtractionPublic)
def request_extraction(
    case_id: IdPath,
    data: ExtractionCreate,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_create))],
) -> ExtractionPublic:
    case = get_visible(session, principal, case_id, Action.extraction_create.value)
    assert case.id is not None
    if not CasePolicy.is_member(session, case.id, principal.user_id):
        raise Forbidden(
            "only members of a case file requests under it",
            code="not_on_case",
            audit={
                "action": Action.extraction_create.value,
                "actor": principal,
                "target_type": "case",
                "target_id": case_id,
                "case_id": case_id,
            },
        )
    ex, job = service.create(
        session, principal, case, data, max_hours=ctx.settings.max_extraction_hours
    )
    body = service.to_public(session, ex)
    session.commit()
    _enqueue(ctx, job)
    return body


def _visible(session, principal: Principal, extraction_id: int, action: str):  # type: ignore[no-untyped-def]
    """(extraction, ward_org or None); refuses (and audits) anyone else."""
    ex = service.get(session, extraction_id)
    if principal.role is Role.ward:
        if service.ward_may_see(session, principal, ex):
            return ex, principal.org_id
    else:
        case = session.get(Case, ex.case_id)
        if case is not None and CasePolicy.can_view(session, principal, case):
            return ex, None
    raise Forbidden(
        f"extraction {extraction_id} is not yours to see",
        code="not_on_case",
        audit={
            "action": action,
            "actor": principal,
            "target_type": "extraction",
            "target_id": extraction_id,
            "case_id": ex.case_id,
        },
    )


@router.get("/extractions", response_model=list[ExtractionPublic])
def list_extractions(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_read))],
    state: ExtractionState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ExtractionPublic]:
    """A ward's requests touching its cameras (e.g. `?state=pending`); police: their cases'."""
    owner = principal.org_id if principal.role is Role.ward else None
    rows = service.list_for(session, principal, state=state, limit=limit)
    return [service.to_public(session, ex, owner_org=owner) for ex in rows]


@router.get("/extractions/{extraction_id}", response_model=ExtractionPublic)
def get_extraction(
    extraction_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_read))],
) -> ExtractionPublic:
    ex, owner = _visible(session, principal, extraction_id, Action.extraction_read.value)
    return service.to_public(session, ex, owner_org=owner)


@router.post("/extractions/{extraction_id}/decision", response_model=ExtractionPublic)
def decide(
    extraction_id: IdPath,
    data: DecisionIn,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_decide))],
) -> ExtractionPublic:
    ex = service.get(session, extraction_id)
    job = service.decide(session, principal, ex, data)
    body = service.to_public(session, ex, owner_org=principal.org_id)
    session.commit()
    _enqueue(ctx, job)
    return body


@router.get(
    "/extractions/{extraction_id}/package",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def download_package(
    extraction_id: IdPath,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.package_download))],
) -> StreamingResponse:
    ex, _ = _visible(session, principal, extraction_id, Action.package_download.value)
    if ex.state != ExtractionState.ready or not ex.package_key:
        raise Conflict(f"no package: the request is {ex.state}", code="package_not_ready")
    packaged = list(
        session.exec(
            select(ExtractionCamera.camera_id).where(
                ExtractionCamera.extraction_id == ex.id, col(ExtractionCamera.outcome) == "packaged"
            )
        )
    )
    info = ctx.store.stat(ex.package_key)
    record(
        session,
        principal,
        "extraction.download",
        target_type="extraction",
        target_id=ex.id,
        case_id=ex.case_id,
        camera_ids=packaged,
        details={"sha256": ex.package_sha256, "size": ex.package_size},
    )
    session.commit()
    key = ex.package_key

    def body() -> Iterator[bytes]:
        yield from ctx.store.iter_chunks(key)

    name = f"wardcam-case{ex.case_id}-extraction{ex.id}.zip"
    return StreamingResponse(
        body(),
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(info.size),
            "X-Content-SHA256": ex.package_sha256 or "",
        },
    )


@router.get("/.well-known/wardcam-signing-key", tags=["evidence"])
def signing_public_key(ctx: ContextDep) -> dict[str, str]:
    """The public key evidence packages are signed with, to compare with a package's own."""
    key = signing_key(ctx.settings)
    return {
        "algorithm": "Ed25519",
        "public_key_pem": public_key_pem(key).decode(),
        "fingerprint_sha256": key_fingerprint(key),
    }
