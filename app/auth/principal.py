"""Who is asking: a plain value object, detached from the database session."""

from __future__ import annotations

from dataclasses import dataclass

from app.identity.models import Role


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: Role
    org_id: int | None
    unit_id: int | None = None

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin
