"""Reading and checking the audit log (auditors and admins)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlmodel import col, select

from app.audit.models import AuditEntry
from app.audit.service import verify_chain
from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditEntryPublic(BaseModel):
    id: int
    seq: int
    ts: datetime
    actor_user_id: int | None
    actor_role: str | None
    actor_org_id: int | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    case_id: int | None
    purpose: str | None
    details: dict[str, object]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_cursor: str | None = None


class ChainStatus(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    first_broken_seq: int | None = None
    first_broken_id: int | None = None
    reason: str | None = None


@router.get("", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Action.audit_read))],
    after_seq: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor_user_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> AuditPage:
    stmt = select(AuditEntry).where(col(AuditEntry.seq) > after_seq)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == actor_user_id)
    rows = session.exec(stmt.order_by(col(AuditEntry.seq)).limit(limit)).all()
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
