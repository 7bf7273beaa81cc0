"""Object-level rules for cameras: a ward manages only its own; police may look at all."""

from __future__ import annotations

from app.auth.principal import Principal
from app.cameras.models import Camera
from app.cameras.repository import owner_scope
from app.errors import Forbidden
from app.identity.models import Role


class CameraPolicy:
    @staticmethod
    def owns(principal: Principal, camera: Camera) -> bool:
        return camera.org_id == owner_scope(principal)

    @classmethod
    def can_manage(cls, principal: Principal, camera: Camera) -> bool:
        return principal.is_admin or cls.owns(principal, camera)

    @classmethod
    def can_view(cls, principal: Principal, camera: Camera) -> bool:
        if cls.can_manage(principal, camera):
            return True
        return principal.role in (Role.officer, Role.investigator, Role.supervisor)

    @classmethod
    def check(cls, principal: Principal, camera: Camera, *, manage: bool, action: str) -> None:
        allowed = cls.can_manage(principal, camera) if manage else cls.can_view(principal, camera)
        if not allowed:
            raise Forbidden(
                f"camera {camera.id} belongs to another organisation",
                code="not_your_camera",
                audit={
                    "action": action,
                    "actor": principal,
                    "target_type": "camera",
                    "target_id": camera.id,
                    "camera_ids": [camera.id] if camera.id is not None else [],
                },
            )
