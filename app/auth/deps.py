"""Authentication and the single permission gate every endpoint goes through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlmodel import Session, col

from app.auth.policy import Action, role_may
from app.auth.principal import Principal
from app.deps import SessionDep
from app.errors import Forbidden, Unauthorized
from app.identity.models import ApiKey, User
from app.security import api_key_matches, split_api_key

_bearer = HTTPBearer(auto_error=False, description="An API key issued by wardcam")


def authenticate(session: Session, token: str) -> Principal | None:
    prefix = split_api_key(token)
    if prefix is None:
        return None
    # Columns, not ORM objects: every request runs this.
    row = session.execute(
        select(
            col(ApiKey.key_hash),
            col(ApiKey.revoked_at),
            col(User.active),
            col(User.id),
            col(User.username),
            col(User.role),
            col(User.org_id),
            col(User.unit),
        )
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(col(ApiKey.prefix) == prefix)
    ).first()
    if row is None:
        return None
    key_hash, revoked_at, active, user_id, username, role, org_id, unit = row
    if revoked_at is not None or not active or not api_key_matches(token, key_hash):
        return None
    return Principal(user_id=user_id, username=username, role=role, org_id=org_id, unit=unit)


def get_principal(
    request: Request,
    session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized(
            "an API key is required: Authorization: Bearer <key>", code="missing_api_key"
        )
    principal = authenticate(session, creds.credentials)
    if principal is None:
        prefix = split_api_key(creds.credentials)
        raise Unauthorized(
            "the API key is not valid",
            code="invalid_api_key",
            audit={
                "action": "auth.reject",
                "details": {
                    "key_prefix": prefix,
                    "path": request.url.path,
                    "method": request.method,
                },
            },
        )
    request.state.principal = principal
    session.commit()  # end the lookup's transaction: no lock held while the endpoint works
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(action: Action) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must hold a role that may attempt `action`."""

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        # async: a role check does no I/O (a sync dependency is a thread-pool hand-off).
        if not role_may(principal.role, action):
            raise Forbidden(
                f"role '{principal.role.value}' may not {action.value}",
                code="role_not_allowed",
                audit={
                    "action": action.value,
                    "actor": principal,
                    "details": {"path": request.url.path, "method": request.method},
                },
            )
        return principal

    dependency.__name__ = f"require_{action.name}"
    return dependency
