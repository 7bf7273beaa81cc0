"""What the invitation endpoints return."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class InvitationCreated(BaseModel):
    id: int
    user_id: int
    username: str
    url: str
    """The one-time link to give the person (shown once: only a hash of it is kept)."""
    expires_at: datetime


class InvitationPublic(BaseModel):
    id: int
    user_id: int
    username: str
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    state: Literal["open", "used", "expired", "revoked"]


def state_of(
    used_at: datetime | None, revoked_at: datetime | None, expires_at: datetime, now: datetime
) -> Literal["open", "used", "expired", "revoked"]:
    if used_at is not None:
        return "used"
    if revoked_at is not None:
        return "revoked"
    return "expired" if expires_at <= now else "open"
