"""Organisations, units, users and their keys: creating them, and a user's life cycle.

A user is created with one API key (shown once). Their keys can be revoked one by one or
rotated (a new key, every other key revoked at once); a user can be deactivated (every key
refused from the next request on, on every process: authentication reads the database on each
request and keeps no cache) and reactivated (their keys that were not revoked work again).
Every change is audited; the command line audits with no actor and `"via": "cli"`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from app.audit.service import record
from app.auth.principal import Principal
from app.db import utcnow
from app.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.identity import repository
from app.identity.models import (
    CASE_ROLES,
    ROLE_ORG_KIND,
    UNIT_ROLES,
    ApiKey,
    Organisation,
    OrgKind,
    Role,
    Unit,
    User,
)
from app.identity.policy import UserPolicy
from app.identity.schemas import (
    ApiKeyPublic,
    OrgCreate,
    UnitCreate,
    UserCreate,
    UserPublic,
)
from app.security import new_api_key
from app.text import name_key


def _via(principal: Principal | None) -> dict[str, str]:
    return {} if principal is not None else {"via": "cli"}


def create_org(session: Session, principal: Principal | None, data: OrgCreate) -> Organisation:
    key = name_key(data.name)
    existing = repository.org_with_key(session, key)
    if existing is not None:
        raise Conflict(
            f"an organisation named {existing.name!r} exists (names are compared without "
            "regard to case, spacing or Unicode normalisation)",
            code="org_exists",
        )
    org = Organisation(name=data.name, name_key=key, kind=data.kind)
    repository.add(session, org)
    record(
        session,
        principal,
        "org.create",
        target_type="org",
        target_id=org.id,
        details={"name": org.name, "kind": str(org.kind), **_via(principal)},
    )
    return org


def create_unit(
    session: Session, principal: Principal | None, org_id: int, data: UnitCreate
) -> Unit:
    org = repository.get_org(session, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} does not exist", code="org_not_found")
    if org.kind != OrgKind.police:
        raise Unprocessable(
            f"{org.name!r} is a {org.kind} organisation; only police organisations have units",
            code="unit_needs_police_org",
        )
    key = name_key(data.name)
    existing = repository.unit_with_key(session, org_id, key)
    if existing is not None:
        raise Conflict(f"{org.name!r} has a unit named {existing.name!r}", code="unit_exists")
    unit = Unit(org_id=org_id, name=data.name, name_key=key)
    repository.add(session, unit)
    record(
        session,
        principal,
        "unit.create",
        target_type="unit",
        target_id=unit.id,
        details={"org_id": org_id, "name": unit.name, **_via(principal)},
    )
    return unit


def units_of(session: Session, principal: Principal, org_id: int) -> list[Unit]:
    """An organisation's units: admins see any; police see their own organisation's."""
    org = repository.get_org(session, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} does not exist", code="org_not_found")
    if principal.role is not Role.admin and principal.org_id != org_id:
        raise Forbidden(
            f"organisation {org_id} is not yours",
            code="not_your_org",
            audit={
                "action": "unit.read",
                "actor": principal,
                "target_type": "org",
                "target_id": org_id,
            },
        )
    return list(repository.list_units(session, org_id))


def check_unit(session: Session, role: Role, org_id: int | None, unit_id: int | None) -> None:
    """A user's unit: a unit of their own police organisation; investigators and supervisors
    need one (they open cases under it)."""
    if unit_id is None:
        if role in CASE_ROLES:
            raise Unprocessable(
                f"role {role.value} needs a unit_id (a unit of its organisation: "
                "POST /orgs/{org_id}/units creates one)",
                code="unit_required",
            )
        return
    if role not in UNIT_ROLES:
        raise Unprocessable(f"role {role.value} does not belong to a unit", code="unit_not_allowed")
    unit = repository.get_unit(session, unit_id)
    if unit is None or unit.org_id != org_id:
        raise Unprocessable(
            f"unit {unit_id} is not a unit of organisation {org_id}", code="unknown_unit"
        )


def issue_key(session: Session, user: User) -> tuple[ApiKey, str]:
    assert user.id is not None
    key = new_api_key()
    row = ApiKey(user_id=user.id, prefix=key.prefix, key_hash=key.key_hash)
    repository.add(session, row)
    return row, key.token


def create_user(
    session: Session, principal: Principal | None, data: UserCreate
) -> tuple[User, str]:
    existing = repository.user_named(session, data.username)
    if existing is not None:
        raise Conflict(
            f"user {existing.username!r} exists (user names are compared without regard to case)",
            code="user_exists",
        )
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
    check_unit(session, data.role, data.org_id, data.unit_id)
    user = User(
        username=data.username,
        full_name=data.full_name,
        role=data.role,
        org_id=data.org_id,
        unit_id=data.unit_id,
    )
    repository.add(session, user)
    _, token = issue_key(session, user)
    record(
        session,
        principal,
        "user.create",
        target_type="user",
        target_id=user.id,
        details={
            "username": user.username,
            "role": str(user.role),
            "org_id": user.org_id,
            "unit_id": user.unit_id,
            **_via(principal),
        },
    )
    return user, token


def to_public(session: Session, user: User) -> UserPublic:
    names = repository.unit_names(session, {user.unit_id} if user.unit_id else set())
    return UserPublic(
        **user.model_dump(exclude={"unit_id"}),
        unit_id=user.unit_id,
        unit=names.get(user.unit_id) if user.unit_id else None,
    )


def many_public(session: Session, users: list[User]) -> list[UserPublic]:
    names = repository.unit_names(session, {u.unit_id for u in users if u.unit_id})
    return [
        UserPublic(
            **u.model_dump(exclude={"unit_id"}),
            unit_id=u.unit_id,
            unit=names.get(u.unit_id) if u.unit_id else None,
        )
        for u in users
    ]


def key_public(key: ApiKey) -> ApiKeyPublic:
    assert key.id is not None
    return ApiKeyPublic(
        id=key.id,
        user_id=key.user_id,
        prefix=key.prefix,
        created_at=key.created_at,
        revoked_at=key.revoked_at,
        active=key.revoked_at is None,
    )


# --- the life cycle ---------------------------------------------------------------------------


def visible_user(session: Session, principal: Principal, user_id: int, action: str) -> User:
    """A user the caller may see: 404 if there is none, 403 (audited) if not theirs to see."""
    user = repository.get_user(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", code="user_not_found")
    if not UserPolicy.can_view(principal, user):
        raise Forbidden(
            f"user {user_id} is not of your organisation",
            code="not_your_user",
            audit={
                "action": action,
                "actor": principal,
                "target_type": "user",
                "target_id": user_id,
            },
        )
    return user


def managed_user(session: Session, principal: Principal, user_id: int, action: str) -> User:
    """A user the caller may manage; 403 (audited) otherwise."""
    user = visible_user(session, principal, user_id, action)
    if not UserPolicy.can_manage(principal, user):
        raise Forbidden(
            f"a {principal.role.value} does not manage {user.role.value} users",
            code="user_not_managed",
            audit={
                "action": action,
                "actor": principal,
                "target_type": "user",
                "target_id": user_id,
            },
        )
    return user


def list_users(
    session: Session,
    principal: Principal,
    *,
    org_id: int | None,
    role: Role | None,
    active: bool | None,
    after_id: int,
    limit: int,
) -> list[User]:
    scope = UserPolicy.scope_org(principal)
    if scope is not None:
        if org_id is not None and org_id != scope:
            return []
        org_id = scope
    return list(
        repository.list_users(
            session, org_id=org_id, role=role, active=active, after_id=after_id, limit=limit
        )
    )


def set_active(session: Session, principal: Principal | None, user: User, active: bool) -> User:
    """Deactivate or reactivate; a no-op (not audited) when the user is already so."""
    if user.active == active:
        return user
    if not active:
        if principal is not None and principal.user_id == user.id:
            raise Conflict("you cannot deactivate yourself", code="cannot_deactivate_self")
        if user.role is Role.admin and repository.active_admins(session) <= 1:
            raise Conflict(
                "this is the last active admin; create or reactivate another first",
                code="last_admin",
            )
    user.active = active
    repository.add(session, user)
    record(
        session,
        principal,
        "user.reactivate" if active else "user.deactivate",
        target_type="user",
        target_id=user.id,
        details={"username": user.username, **_via(principal)},
    )
    return user


def revoke_key(session: Session, principal: Principal | None, user: User, key_id: int) -> ApiKey:
    """Revoke one of the user's keys (refused from the next request on); idempotent."""
    key = repository.get_key(session, key_id)
    if key is None or key.user_id != user.id:
        raise NotFound(f"user {user.id} has no key {key_id}", code="key_not_found")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        repository.add(session, key)
        record(
            session,
            principal,
            "key.revoke",
            target_type="user",
            target_id=user.id,
            details={"key_id": key.id, "prefix": key.prefix, **_via(principal)},
        )
    return key


def revoke_all(session: Session, principal: Principal | None, user: User) -> list[ApiKey]:
    """Revoke every live key of the user."""
    live = [k for k in repository.keys_of(session, user.id or 0) if k.revoked_at is None]
    for key in live:
        revoke_key(session, principal, user, key.id or 0)
    return live


@dataclass(frozen=True)
class Rotation:
    key: ApiKey
    token: str
    revoked: list[ApiKey]


def rotate_key(session: Session, principal: Principal | None, user: User) -> Rotation:
    """A new key for the user, shown once; every other key of theirs is revoked at once."""
    live = [k for k in repository.keys_of(session, user.id or 0) if k.revoked_at is None]
    now = utcnow()
    for key in live:
        key.revoked_at = now
        repository.add(session, key)
    new, token = issue_key(session, user)
    record(
        session,
        principal,
        "key.rotate",
        target_type="user",
        target_id=user.id,
        details={
            "key_id": new.id,
            "prefix": new.prefix,
            "revoked": [k.prefix for k in live],
            **_via(principal),
        },
    )
    return Rotation(key=new, token=token, revoked=live)
