"""Extraction requests, owners' decisions, and the evidence package download."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import ContextDep, IdPath, SessionDep
from app.extractions import service
from app.extractions.models import Extraction, ExtractionState
from app.extractions.schemas import DecisionIn, ExtractionCreate, ExtractionPublic
from app.signing import signing_key
from app.storage import ObjectStore
from evidence.signing import key_fingerprint, public_key_pem

router = APIRouter(tags=["extractions"])


@router.post("/cases/{case_id}/extractions", status_code=201, response_model=ExtractionPublic)
def request_extraction(
    case_id: IdPath,
    data: ExtractionCreate,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_create))],
) -> ExtractionPublic:
    max_hours = ctx.settings.max_extraction_hours
    ex = service.request(session, principal, case_id, data, max_hours=max_hours)
    return service.to_public(session, ex, principal)


@router.get("/extractions", response_model=list[ExtractionPublic])
def list_extractions(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_read))],
    state: ExtractionState | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ExtractionPublic]:
    """A ward's requests touching its cameras (e.g. `?state=pending`); police: their cases'."""
    rows = service.list_for(session, principal, state=state, limit=limit)
    return [service.to_public(session, ex, principal) for ex in rows]


@router.get("/extractions/{extraction_id}", response_model=ExtractionPublic)
def get_extraction(
    extraction_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_read))],
) -> ExtractionPublic:
    ex = service.get_visible(session, principal, extraction_id, Action.extraction_read.value)
    return service.to_public(session, ex, principal)


@router.post("/extractions/{extraction_id}/decision", response_model=ExtractionPublic)
def decide(
    extraction_id: IdPath,
    data: DecisionIn,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.extraction_decide))],
) -> ExtractionPublic:
    ex = service.decide(session, principal, extraction_id, data)
    return service.to_public(session, ex, principal)


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
    """The signed package. The download is audited in the request's transaction, which is
    committed before the first byte is sent."""
    ex = service.get_visible(session, principal, extraction_id, Action.package_download.value)
    service.record_download(session, principal, ex)
    return package_response(ctx.store, ex)


@router.get("/.well-known/wardcam-signing-key", tags=["evidence"])
def signing_public_key(ctx: ContextDep) -> dict[str, str]:
    """The public key evidence packages are signed with, to compare with a package's own."""
    key = signing_key(ctx.settings)
    return {
        "algorithm": "Ed25519",
        "public_key_pem": public_key_pem(key).decode(),
        "fingerprint_sha256": key_fingerprint(key),
    }


def package_response(store: ObjectStore, ex: Extraction) -> StreamingResponse:
    """A ready package streamed from the store (the API's download and the console's), with
    its size and SHA-256 in the headers."""
    assert ex.package_key is not None
    key = ex.package_key
    info = store.stat(key)

    def body() -> Iterator[bytes]:
        yield from store.iter_chunks(key)

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
