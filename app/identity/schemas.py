"""Organisations, units and users as clients see them. An API key appears once: when its
user is created or the key is rotated; afterwards only its prefix is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from app.deps import IdField
from app.identity.models import OrgKind, Role
from app.text import CleanStr

OrgName = Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)]
UnitName = Annotated[CleanStr, StringConstraints(min_length=1, max_length=100)]
FullName = Annotated[CleanStr, StringConstraints(max_length=200)]
Username = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=2, max_length=100, pattern=r"^[A-Za-z0-9._@-]+$"
    ),
]


class OrgCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: OrgName
    kind: OrgKind


class OrgPublic(BaseModel):
    id: int
    name: str
    kind: OrgKind
    created_at: datetime


class UnitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: UnitName


class UnitPublic(BaseModel):
    id: int
    org_id: int
    name: str
    created_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    full_name: FullName = ""
    role: Role
    org_id: IdField | None = None
    unit_id: IdField | None = None
    """A unit of `org_id` (police only; investigators and supervisors need one)."""


class UserPublic(BaseModel):
    id: int
    username: str
    full_name: str
    role: Role
    org_id: int | None
    unit_id: int | None
    unit: str | None
    """The unit's name."""
    active: bool
    created_at: datetime


class UserCreated(UserPublic):
    api_key: str
    """Shown once; only its hash is stored."""


class UserPage(BaseModel):
    items: list[UserPublic]
    next_cursor: str | None = None


class ApiKeyPublic(BaseModel):
    """A key as it can be shown again: its prefix (the `wc_<prefix>_` part), never more."""

    id: int
    user_id: int
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    active: bool


class KeyRotated(BaseModel):
    api_key: str
    """The new key, shown once."""
    key: ApiKeyPublic
    revoked: list[ApiKeyPublic]
    """The user's keys this rotation revoked."""
