"""Who may see a case: its members, and supervisors of the case's unit."""

from __future__ import annotations

from sqlmodel import Session, select

from app.auth.principal import Principal
from app.cases.models import Case, CaseMember
from app.identity.models import Role


class CasePolicy:
    @staticmethod
    def is_member(session: Session, case_id: int, user_id: int) -> bool:
        return (
            session.exec(
                select(CaseMember.id).where(
                    CaseMember.case_id == case_id, CaseMember.user_id == user_id
                )
            ).first()
            is not None
        )

    @classmethod
    def can_view(cls, session: Session, principal: Principal, case: Case) -> bool:
        if (
            principal.role is Role.supervisor
            and principal.org_id == case.org_id
            and principal.unit == case.unit
        ):
            return True
        assert case.id is not None
        return cls.is_member(session, case.id, principal.user_id)
