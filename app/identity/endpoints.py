"""Organisations and users (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.deps import CurrentPrincipal, require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import SessionDep
from app.identity import repository, service
from app.identity.models import Organisation, User
from app.identity.schemas import OrgCreate, OrgPublic, UserCreate, UserCreated, UserPublic

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


@router.post("/users", status_code=201, response_model=UserCreated)
def create_user(
    data: UserCreate,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.user_create))],
) -> UserCreated:
    user, token = service.create_user(session, principal, data)
    return UserCreated(**user.model_dump(), api_key=token)


@router.get("/users/me", response_model=UserPublic)
def whoami(session: SessionDep, principal: CurrentPrincipal) -> User | None:
    return repository.get_user(session, principal.user_id)
