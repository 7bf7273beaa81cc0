"""Opening cases, adding members, closing them. Every change is audited."""

from __future__ import annotations

from sqlmodel import Session

from app.audit.service import record
from app.auth.principal import Principal
from app.cases import repository
from app.cases.models import Case, CaseMember, CaseStatus
from app.cases.policy import CasePolicy
from app.cases.schemas import CaseCreate, CasePublic
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.identity import repository as identity
from app.identity.models import Role


def to_public(session: Session, case: Case) -> CasePublic:
    assert case.id is not None
    return CasePublic(
        **case.model_dump(),
        unit=repository.unit_name(session, case.unit_id),
        members=repository.member_ids(session, case.id),
    )


def supervised_unit(principal: Principal) -> tuple[int, int] | None:
    """(org_id, unit_id) whose cases a supervisor sees without being on them."""
    if principal.role is Role.supervisor and principal.org_id and principal.unit_id:
        return principal.org_id, principal.unit_id
    return None


def list_visible(
    session: Session,
    principal: Principal,
    *,
    status: CaseStatus | None,
    before_id: int | None,
    limit: int,
) -> list[Case]:
    return list(
        repository.list_visible(
            session,
            principal.user_id,
            supervised_unit(principal),
            status=status,
            before_id=before_id,
            limit=limit,
        )
    )


def _unit_for(session: Session, principal: Principal, unit_id: int | None) -> int:
    """The unit a new case goes under: the caller's own by default; an investigator may name
    only their own, a supervisor any unit of their organisation."""
    own = principal.unit_id
    if unit_id is None or unit_id == own:
        if own is None:
            raise Unprocessable(
                "you belong to no unit, so you cannot open a case; an admin assigns units",
                code="unit_required",
            )
        return own
    if principal.role is not Role.supervisor:
        raise Forbidden(
            f"unit {unit_id} is not your unit; only a supervisor opens a case for another unit",
            code="not_your_unit",
            audit={
                "action": "case.create",
                "actor": principal,
                "target_type": "unit",
                "target_id": unit_id,
            },
        )
    unit = identity.get_unit(session, unit_id)
    if unit is None or unit.org_id != principal.org_id:
        raise Unprocessable(
            f"unit {unit_id} is not a unit of your organisation", code="unknown_unit"
        )
    return unit_id


def get_visible(session: Session, principal: Principal, case_id: int, action: str) -> Case:
    case = repository.get(session, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist", code="case_not_found")
    if not CasePolicy.can_view(session, principal, case):
        raise Forbidden(
            f"you are not on case {case.number}",
            code="not_on_case",
            audit={
                "action": action,
                "actor": principal,
                "target_type": "case",
                "target_id": case_id,
                "case_id": case_id,
            },
        )
    return case


def create(session: Session, principal: Principal, data: CaseCreate) -> Case:
    if repository.number_taken(session, data.number):
        raise Conflict(f"case number {data.number!r} exists", code="case_exists")
    assert principal.org_id is not None
    unit_id = _unit_for(session, principal, data.unit_id)
    case = Case(
        number=data.number,
        title=data.title,
        unit_id=unit_id,
        org_id=principal.org_id,
        status=data.status,
        created_by=principal.user_id,
    )
    repository.add(session, case)
    assert case.id is not None
    repository.add(
        session, CaseMember(case_id=case.id, user_id=principal.user_id, added_by=principal.user_id)
    )
    record(
        session,
        principal,
        "case.create",
        target_type="case",
        target_id=case.id,
        case_id=case.id,
        details={"number": case.number, "unit_id": case.unit_id},
    )
    return case


def add_member(session: Session, principal: Principal, case: Case, user_id: int) -> None:
    user = identity.get_user(session, user_id)
    if user is None or not user.active:
        raise Unprocessable(f"user {user_id} does not exist", code="invalid_user")
    if (
        user.role not in (Role.investigator, Role.supervisor, Role.officer)
        or user.org_id != case.org_id
    ):
        raise Unprocessable(
            "only police of the case's organisation can join a case", code="invalid_member"
        )
    assert case.id is not None
    if repository.is_member(session, case.id, user_id):
        raise Conflict(f"user {user_id} is already on the case", code="already_member")
    member = CaseMember(case_id=case.id, user_id=user_id, added_by=principal.user_id)
    repository.add(session, member)
    record(
        session,
        principal,
        "case.member_add",
        target_type="case",
        target_id=case.id,
        case_id=case.id,
        details={"user_id": user_id},
    )


def set_status(session: Session, principal: Principal, case: Case, status: CaseStatus) -> Case:
    if case.status == status:
        return case
    case.status = status
    case.closed_at = utcnow() if status == CaseStatus.closed else None
    repository.add(session, case)
    record(
        session,
        principal,
        f"case.{'close' if status == CaseStatus.closed else 'reopen'}",
        target_type="case",
        target_id=case.id,
        case_id=case.id,
    )
    return case
