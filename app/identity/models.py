"""Organisations, their units, users and their API keys.

Names are compared in their `name_key` form (`app.text.name_key`: NFC, case-folded, spaces
collapsed), which is what the unique constraints hold: two organisations cannot differ only in
Unicode normalisation or case.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import EnumText, UTCDateTime, utcnow
from app.text import name_key


class OrgKind(StrEnum):
    ward = "ward"
    police = "police"


class Role(StrEnum):
    admin = "admin"
    ward = "ward"
    officer = "officer"
    investigator = "investigator"
    supervisor = "supervisor"
    auditor = "auditor"


ROLE_ORG_KIND: dict[Role, OrgKind | None] = {
    Role.ward: OrgKind.ward,
    Role.officer: OrgKind.police,
    Role.investigator: OrgKind.police,
    Role.supervisor: OrgKind.police,
    Role.admin: None,
    Role.auditor: None,
}
"""Which kind of organisation a role belongs to (None: any, or none at all)."""
UNIT_ROLES = frozenset({Role.officer, Role.investigator, Role.supervisor})
"""Roles that belong to a unit of their police organisation."""
CASE_ROLES = frozenset({Role.investigator, Role.supervisor})
"""Roles that open cases, under their unit: they need one."""


def _key_of_name(context: Any) -> str:
    """Column default: the name's key, when a row is written without one."""
    return name_key(context.get_current_parameters()["name"])


class Organisation(SQLModel, table=True):
    __tablename__ = "organisation"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(200), unique=True, nullable=False))
    name_key: str = Field(
        default=None,
        sa_column=Column(String(400), unique=True, nullable=False, default=_key_of_name),
    )
    kind: OrgKind = Field(sa_column=Column(EnumText(OrgKind), nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class Unit(SQLModel, table=True):
    """A unit of a police organisation (a criminal investigation team, a ward police post).
    Police users belong to one; every case is opened under one, and that unit's supervisors
    see it. Units are created by admins: nobody can open a case under a made-up unit."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("org_id", "name_key", name="uq_unit_org_name"),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="organisation.id", index=True)
    name: str = Field(max_length=100)
    name_key: str = Field(
        default=None, sa_column=Column(String(200), nullable=False, default=_key_of_name)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class User(SQLModel, table=True):
    __tablename__ = "user_account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(100), unique=True, nullable=False))
    full_name: str = Field(default="", max_length=200)
    role: Role = Field(sa_column=Column(EnumText(Role), nullable=False))
    org_id: int | None = Field(default=None, foreign_key="organisation.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ApiKey(SQLModel, table=True):
    """Only a SHA-256 of the key is kept; the prefix finds the row without scanning."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    prefix: str = Field(sa_column=Column(String(16), unique=True, nullable=False))
    key_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
