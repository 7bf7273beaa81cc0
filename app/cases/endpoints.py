"""Cases: investigators open them and add colleagues; only members (and supervisors of the
case's unit) see a case and what was pulled under it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cases import service
from app.cases.models import CaseStatus
from app.cases.schemas import CaseCreate, CasePage, CasePublic, CaseUpdate, MemberAdd
from app.deps import MAX_ID, IdPath, SessionDep

router = APIRouter(prefix="/cases", tags=["cases"])


@router.post("", status_code=201, response_model=CasePublic)
def create_case(
    data: CaseCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.case_create))],
) -> CasePublic:
    return service.to_public(session, service.create(session, principal, data))


@router.get("", response_model=CasePage)
def list_cases(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.case_list))],
    status: CaseStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_cursor")] = None,
) -> CasePage:
    """The cases you are on (supervisors: and every case of their unit), newest first."""
    rows = service.list_visible(
        session, principal, status=status, before_id=cursor, limit=limit
    )
    nxt = str(rows[-1].id) if len(rows) == limit else None
    return CasePage(items=[service.to_public(session, c) for c in rows], next_cursor=nxt)


@router.get("/{case_id}", response_model=CasePublic)
def get_case(
    case_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.case_read))],
) -> CasePublic:
    case = service.get_visible(session, principal, case_id, Action.case_read.value)
    return service.to_public(session, case)


@router.patch("/{case_id}", response_model=CasePublic)
def update_case(
    case_id: IdPath,
    data: CaseUpdate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.case_update))],
) -> CasePublic:
    case = service.get_visible(session, principal, case_id, Action.case_update.value)
    return service.to_public(session, service.set_status(session, principal, case, data.status))


@router.post("/{case_id}/members", status_code=201, response_model=CasePublic)
def add_member(
    case_id: IdPath,
    data: MemberAdd,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.case_member_add))],
) -> CasePublic:
    case = service.get_visible(session, principal, case_id, Action.case_member_add.value)
    service.add_member(session, principal, case, data.user_id)
    return service.to_public(session, case)
