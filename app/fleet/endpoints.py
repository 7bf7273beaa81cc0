"""`GET /cameras/{id}/health`: the recording fleet's view of one camera (owners, admins)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import IdPath, SessionDep
from app.fleet import service
from app.fleet.schemas import CameraHealth

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("/{camera_id}/health", response_model=CameraHealth)
def camera_health(
    camera_id: IdPath,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.camera_health))],
) -> CameraHealth:
    return service.health(session, principal, camera_id)
