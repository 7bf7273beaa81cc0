"""Who may see and manage which users.

Admins manage everyone. A supervisor manages the officers and investigators of their own
police organisation (deactivate, reactivate, revoke and rotate their keys) and sees all its
users: a leaked key or a colleague who left must not wait for an admin. A supervisor does not
manage other supervisors or admins, and nobody deactivates themselves.
"""

from __future__ import annotations

from app.auth.principal import Principal
from app.identity.models import Role, User

SUPERVISED_ROLES = frozenset({Role.officer, Role.investigator})


class UserPolicy:
    @staticmethod
    def can_view(principal: Principal, user: User) -> bool:
        if principal.role is Role.admin:
            return True
        return principal.role is Role.supervisor and user.org_id == principal.org_id

    @staticmethod
    def can_manage(principal: Principal | None, user: User) -> bool:
        """`None`: the command line, run by whoever runs the service."""
        if principal is None or principal.role is Role.admin:
            return True
        return (
            principal.role is Role.supervisor
            and user.org_id == principal.org_id
            and user.role in SUPERVISED_ROLES
        )

    @staticmethod
    def scope_org(principal: Principal) -> int | None:
        """The organisation a listing is confined to (None: all)."""
        return None if principal.role is Role.admin else principal.org_id
