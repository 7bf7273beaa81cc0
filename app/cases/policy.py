"""Who may see a case: its members, and supervisors of the case's unit."""

from __future__ import annotations

from sqlmodel import Session

from app.auth.principal import Principal
from app.cases import repository
from app.cases.models import Case
from app.identity.models import Role


class CasePolicy:
    @classmethod
    def can_view(cls, session: Session, principal: Principal, case: Case) -> bool:
        if (
            principal.role is Role.supervisor
            and principal.org_id == case.org_id
            and principal.unit_id == case.unit_id
        ):
            return True
        assert case.id is not None
        return repository.is_member(session, case.id, principal.user_id)
