"""Creating organisations, users and their keys."""

from __future__ import annotations

from sqlmodel import Session

from app.audit.service import record
from app.auth.principal import Principal
from app.errors import Conflict, Unprocessable
from app.identity import repository
from app.identity.models import ROLE_ORG_KIND, ApiKey, Organisation, Role, User
from app.identity.schemas import OrgCreate, UserCreate
from app.security import new_api_key


def create_org(session: Session, principal: Principal | None, data: OrgCreate) -> Organisation:
    if repository.org_named(session, data.name) is not None:
        raise Conflict(f"an organisation named {data.name!r} exists", code="org_exists")
    org = Organisation(name=data.name, kind=data.kind)
    repository.add(session, org)
    record(
        session,
        principal,
        "org.create",
        target_type="org",
        target_id=org.id,
        details={"name": org.name, "kind": str(org.kind)},
    )
    return org


def issue_key(session: Session, user: User) -> str:
    assert user.id is not None
    key = new_api_key()
    repository.add(session, ApiKey(user_id=user.id, prefix=key.prefix, key_hash=key.key_hash))
    return key.token


def create_user(
    session: Session, principal: Principal | None, data: UserCreate
) -> tuple[User, str]:
    if repository.user_named(session, data.username) is not None:
        raise Conflict(f"user {data.username!r} exists", code="user_exists")
    needed = ROLE_ORG_KIND[data.role]
    if data.org_id is not None:
        org = repository.get_org(session, data.org_id)
        if org is None:
            raise Unprocessable(f"organisation {data.org_id} does not exist", code="invalid_org")
        if needed is not None and org.kind != needed:
            raise Unprocessable(
                f"role {data.role.value} belongs to a {needed.value} organisation, "
                f"not a {org.kind}",
                code="role_org_mismatch",
            )
    elif needed is not None:
        raise Unprocessable(f"role {data.role.value} needs an org_id", code="org_required")
    if data.role in (Role.investigator, Role.supervisor) and not data.unit:
        data = data.model_copy(update={"unit": "default"})
    user = User(
        username=data.username,
        full_name=data.full_name,
        role=data.role,
        org_id=data.org_id,
        unit=data.unit,
    )
    repository.add(session, user)
    token = issue_key(session, user)
    record(
        session,
        principal,
        "user.create",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, "role": str(user.role), "org_id": user.org_id},
    )
    return user, token
