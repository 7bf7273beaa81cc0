"""Case and membership queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from app.cases.models import Case, CaseMember, CaseStatus
from app.identity.models import Unit


def get(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def number_taken(session: Session, number: str) -> bool:
    """Case numbers are compared without regard to case (`CID/7` is `cid/7`)."""
    stmt = select(Case.id).where(func.lower(Case.number) == number.lower())
    return session.exec(stmt).first() is not None


def is_member(session: Session, case_id: int, user_id: int) -> bool:
    stmt = select(CaseMember.id).where(CaseMember.case_id == case_id, CaseMember.user_id == user_id)
    return session.exec(stmt).first() is not None


def member_ids(session: Session, case_id: int) -> list[int]:
    stmt = (
        select(CaseMember.user_id).where(CaseMember.case_id == case_id).order_by(col(CaseMember.id))
    )
    return list(session.exec(stmt).all())


def unit_name(session: Session, unit_id: int) -> str:
    unit = session.get(Unit, unit_id)
    return unit.name if unit is not None else ""


def visible(user_id: int, supervised_unit: tuple[int, int] | None) -> ColumnElement[bool]:
    """Cases the user is on, and (for a supervisor: (org_id, unit_id)) their unit's cases."""
    mine = select(CaseMember.case_id).where(CaseMember.user_id == user_id)
    cond: ColumnElement[bool] = col(Case.id).in_(mine)
    if supervised_unit is not None:
        org_id, unit_id = supervised_unit
        cond = or_(cond, (col(Case.org_id) == org_id) & (col(Case.unit_id) == unit_id))
    return cond


def list_visible(
    session: Session,
    user_id: int,
    supervised_unit: tuple[int, int] | None,
    *,
    status: CaseStatus | None,
    before_id: int | None,
    limit: int,
) -> Sequence[Case]:
    """Newest first."""
    stmt = select(Case).where(visible(user_id, supervised_unit))
    if status is not None:
        stmt = stmt.where(Case.status == status)
    if before_id is not None:
        stmt = stmt.where(col(Case.id) < before_id)
    return session.exec(stmt.order_by(col(Case.id).desc()).limit(limit)).all()


def add(session: Session, row: Case | CaseMember) -> None:
    """Write the new or changed row now (ids are assigned), in the caller's transaction."""
    session.add(row)
    session.flush()
