"""Case and membership queries."""

from __future__ import annotations

from sqlmodel import Session, col, select

from app.cases.models import Case, CaseMember


def get(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def number_taken(session: Session, number: str) -> bool:
    return session.exec(select(Case.id).where(Case.number == number)).first() is not None


def is_member(session: Session, case_id: int, user_id: int) -> bool:
    stmt = select(CaseMember.id).where(CaseMember.case_id == case_id, CaseMember.user_id == user_id)
    return session.exec(stmt).first() is not None


def member_ids(session: Session, case_id: int) -> list[int]:
    stmt = (
        select(CaseMember.user_id).where(CaseMember.case_id == case_id).order_by(col(CaseMember.id))
    )
    return list(session.exec(stmt).all())


def add(session: Session, row: Case | CaseMember) -> None:
    """Write the new or changed row now (ids are assigned), in the caller's transaction."""
    session.add(row)
    session.flush()

