"""The one query authentication makes: an API key's hash and its owner, by key prefix."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select
from sqlmodel import Session, col

from app.identity.models import ApiKey, Role, User


class KeyOwner(NamedTuple):
    key_hash: str
    revoked_at: datetime | None
    active: bool
    user_id: int
    username: str
    role: Role
    org_id: int | None
    unit_id: int | None


def key_owner(session: Session, prefix: str) -> KeyOwner | None:
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
            col(User.unit_id),
        )
        .join(User, col(User.id) == col(ApiKey.user_id))
        .where(col(ApiKey.prefix) == prefix)
    ).first()
    return None if row is None else KeyOwner(*row)
