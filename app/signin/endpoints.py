"""Invitations through the API: an admin or a supervisor makes a one-time link for a user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.db import utcnow
from app.deps import IdPath, SessionDep, SettingsDep
from app.signin import service
from app.signin.schemas import InvitationCreated, InvitationPublic, state_of

router = APIRouter(tags=["users"])


def base_url(request: Request, public_url: str) -> str:
    """Links are built on WARDCAM_PUBLIC_URL when set (behind a proxy the request's own
    address is not the one people use), else on the request's."""
    return (public_url or str(request.base_url)).rstrip("/")


@router.post("/users/{user_id}/invitations", status_code=201, response_model=InvitationCreated)
def create_invitation(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(require(Action.invitation_create))],
    user_id: IdPath,
) -> InvitationCreated:
    """A one-time link with which the user sets their console password (expires after
    WARDCAM_INVITATION_HOURS; a newer link for the same user revokes older ones)."""
    made = service.create_invitation(session, principal, user_id, settings)
    assert made.invitation.id is not None
    return InvitationCreated(
        id=made.invitation.id,
        user_id=user_id,
        username=made.user.username,
        url=made.url(base_url(request, settings.public_url)),
        expires_at=made.invitation.expires_at,
    )


@router.get("/invitations", response_model=list[InvitationPublic])
def list_invitations(
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.invitation_list))],
) -> list[InvitationPublic]:
    """The latest invitations: all for admins, their organisation's for supervisors."""
    now = utcnow()
    return [
        InvitationPublic(
            id=inv.id or 0,
            user_id=inv.user_id,
            username=user.username,
            created_by=inv.created_by,
            created_at=inv.created_at,
            expires_at=inv.expires_at,
            used_at=inv.used_at,
            state=state_of(inv.used_at, inv.revoked_at, inv.expires_at, now),
        )
        for inv, user in service.invitations(session, principal)
    ]
