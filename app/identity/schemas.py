"""Organisations and users as clients see them. An API key appears once, at creation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from app.deps import IdField
from app.identity.models import OrgKind, Role

OrgName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
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


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: Username
    full_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    role: Role
    org_id: IdField | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] | None = None


class UserPublic(BaseModel):
    id: int
    username: str
    full_name: str
    role: Role
    org_id: int | None
    unit: str | None
    active: bool
    created_at: datetime


class UserCreated(UserPublic):
    api_key: str
    """Shown once; only its hash is stored."""
