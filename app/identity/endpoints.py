"""Organisations, their units, users and API keys (admins; supervisors for their own
organisation's officers and investigators, see `app.identity.policy`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.deps import CurrentPrincipal, require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import MAX_ID, IdPath, SessionDep
from app.errors import NotFound
from app.identity import repository, service
from app.identity.models import Organisation, Role, Unit
from app.identity.schemas import (
    ApiKeyPublic,
    KeyRotated,
    OrgCreate,
    OrgPublic,
    UnitCreate,
    UnitPublic,
    UserCreate,
    UserCreated,
    UserPage,
    UserPublic,
)

router = APIRouter(tags=["identity"])


@router.post("/orgs", status_code=201, response_model=OrgPublic)
def create_org(
    data: OrgCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.org_create))],
) -> Organisation:
    return service.create_org(session, principal, data)


@router.get("/orgs", response_model=list[OrgPublic])
def list_orgs(
    session: SessionDep,
    _: Annotated[Principal, Depends(require(Action.org_read))],
) -> list[Organisation]:
    return list(repository.list_orgs(session))


@router.post("/orgs/{org_id}/units", status_code=201, response_model=UnitPublic)
def create_unit(
    org_id: IdPath,
    data: UnitCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.unit_create))],
) -> Unit:
    """A unit of a police organisation; police users and cases belong to one."""
    return service.create_unit(session, principal, org_id, data)


@router.get("/orgs/{org_id}/units", response_model=list[UnitPublic])
def list_units(
    org_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.unit_read))],
) -> list[Unit]:
    """The units of an organisation (police see their own organisation's)."""
    return service.units_of(session, principal, org_id)


@router.post("/users", status_code=201, response_model=UserCreated)
def create_user(
    data: UserCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.user_create))],
) -> UserCreated:
    user, token = service.create_user(session, principal, data)
    return UserCreated(**service.to_public(session, user).model_dump(), api_key=token)


@router.get("/users/me", response_model=UserPublic)
def whoami(session: SessionDep, principal: CurrentPrincipal) -> UserPublic:
    user = repository.get_user(session, principal.user_id)
    if user is None:  # deleted between authentication and now
        raise NotFound("your user no longer exists", code="user_not_found")
    return service.to_public(session, user)


@router.get("/users", response_model=UserPage)
def list_users(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.user_list))],
    org_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    role: Role | None = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=MAX_ID, description="next_cursor")] = None,
) -> UserPage:
    """Users by id (admins: all; supervisors: their organisation's); `cursor` pages on."""
    users = service.list_users(
        session,
        principal,
        org_id=org_id,
        role=role,
        active=active,
        after_id=cursor or 0,
        limit=limit,
    )
    nxt = str(users[-1].id) if len(users) == limit else None
    return UserPage(items=service.many_public(session, users), next_cursor=nxt)


@router.get("/users/{user_id}", response_model=UserPublic)
def get_user(
    user_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.user_read))],
) -> UserPublic:
    return service.to_public(
        session, service.visible_user(session, principal, user_id, "user.read")
    )


@router.post("/users/{user_id}/deactivate", response_model=UserPublic)
def deactivate_user(
    user_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.user_manage))],
) -> UserPublic:
    """Every key of the user is refused from the next request on (their keys stay as they
    are: reactivating brings back the ones not revoked)."""
    user = service.managed_user(session, principal, user_id, "user.deactivate")
    return service.to_public(session, service.set_active(session, principal, user, False))


@router.post("/users/{user_id}/reactivate", response_model=UserPublic)
def reactivate_user(
    user_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.user_manage))],
) -> UserPublic:
    user = service.managed_user(session, principal, user_id, "user.reactivate")
    return service.to_public(session, service.set_active(session, principal, user, True))


@router.get("/users/{user_id}/keys", response_model=list[ApiKeyPublic])
def list_keys(
    user_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.key_manage))],
) -> list[ApiKeyPublic]:
    """The user's keys by prefix, live and revoked (never the keys themselves)."""
    user = service.managed_user(session, principal, user_id, "key.list")
    return [service.key_public(k) for k in repository.keys_of(session, user.id or 0)]


@router.post("/users/{user_id}/keys/rotate", status_code=201, response_model=KeyRotated)
def rotate_key(
    user_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.key_manage))],
) -> KeyRotated:
    """A new key (shown once); every other key of the user is revoked at once."""
    user = service.managed_user(session, principal, user_id, "key.rotate")
    done = service.rotate_key(session, principal, user)
    return KeyRotated(
        api_key=done.token,
        key=service.key_public(done.key),
        revoked=[service.key_public(k) for k in done.revoked],
    )


@router.post("/users/{user_id}/keys/{key_id}/revoke", response_model=ApiKeyPublic)
def revoke_key(
    user_id: IdPath,
    key_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.key_manage))],
) -> ApiKeyPublic:
    """Refused from the next request on, on every server process; idempotent."""
    user = service.managed_user(session, principal, user_id, "key.revoke")
    return service.key_public(service.revoke_key(session, principal, user, key_id))
