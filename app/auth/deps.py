"""Authentication and the single permission gate every endpoint goes through."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlmodel import Session

from app.auth import repository
from app.auth.policy import Action, role_may
from app.auth.principal import Principal
from app.context import AppContext
from app.db import read_session
from app.deps import ContextDep, SessionDep
from app.errors import Forbidden, Unauthorized
from app.security import api_key_matches, split_api_key
from app.signin import csrf
from app.signin import service as signin
from app.signin.service import SESSION_COOKIE

_bearer = HTTPBearer(auto_error=False, description="An API key issued by wardcam")


def authenticate(session: Session, token: str) -> Principal | None:
    prefix = split_api_key(token)
    if prefix is None:
        return None
    owner = repository.key_owner(session, prefix)
    if owner is None:
        return None
    if owner.revoked_at is not None or not owner.active:
        return None
    if not api_key_matches(token, owner.key_hash):
        return None
    return Principal(
        user_id=owner.user_id,
        username=owner.username,
        role=owner.role,
        org_id=owner.org_id,
        unit_id=owner.unit_id,
    )


def get_principal(
    request: Request,
    ctx: ContextDep,
    _session: SessionDep,
    creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller, from their API key.

    The key is read in a short transaction of its own, so the request's unit of work (which
    the endpoint commits once, see app.deps) holds no lock while the endpoint works. The
    request's session is entered first all the same: a refused key is audited in it.
    """
    if creds is None and request.cookies.get(SESSION_COOKIE):
        return _session_principal(request, ctx)
    if creds is None or creds.scheme.lower() != "bearer" or not creds.credentials:
        raise Unauthorized(
            "an API key is required: Authorization: Bearer <key>", code="missing_api_key"
        )
    with read_session(ctx.engine) as lookup:
        principal = authenticate(lookup, creds.credentials)
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
    return principal


def _session_principal(request: Request, ctx: AppContext) -> Principal:
    """A person signed in to the console calling the API from its pages (the upload sends the
    file to `POST /cameras/{id}/footage`): the session cookie, and for anything but a read the
    session's CSRF token in `X-CSRF-Token` (a cookie alone is sent by any site's form)."""
    token = request.cookies.get(SESSION_COOKIE, "")
    with read_session(ctx.engine) as lookup:
        found = signin.live_session(lookup, ctx.settings, token)
    if found is None:
        raise Unauthorized("the console session has ended: sign in again", code="signin_required")
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        expected = signin.csrf_token_for(token, ctx.settings.secret_bytes)
        if not csrf.matches(request.headers.get("X-CSRF-Token"), expected):
            raise Forbidden("the X-CSRF-Token header is missing or wrong", code="csrf_failed")
    principal = signin.principal_of(found[1])
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def require(action: Action) -> Callable[..., Awaitable[Principal]]:
    """Dependency factory: the caller must hold a role that may attempt `action`."""

    async def dependency(request: Request, principal: CurrentPrincipal) -> Principal:
        # async: a role check does no I/O (a sync dependency is a thread-pool hand-off).
        request.state.action = action.value  # names a refusal later on (app.refusals)
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
