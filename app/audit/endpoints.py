"""Reading and checking the audit log (auditors and admins)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.audit import repository
from app.audit.schemas import AuditEntryPublic, AuditPage, ChainStatus
from app.audit.service import verify_chain
from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


@router.get("", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Action.audit_read))],
    after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> AuditPage:
    rows = repository.page(
        session, after_seq=after_seq, limit=limit, action=action, actor_user_id=actor_user_id
    )
    items = [AuditEntryPublic(**{**e.model_dump(), "details": json.loads(e.details)}) for e in rows]
    nxt = str(rows[-1].seq) if len(rows) == limit else None
    return AuditPage(items=items, next_cursor=nxt)


@router.get("/verify", response_model=ChainStatus)
def verify_audit(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Action.audit_verify))],
) -> ChainStatus:
    report = verify_chain(session)
    return ChainStatus(**report.__dict__)
