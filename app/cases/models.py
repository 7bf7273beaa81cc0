"""Cases and who is on them: the unit of accountability for every pull of footage."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import EnumText, UTCDateTime, utcnow


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class Case(SQLModel, table=True):
    __tablename__ = "case_file"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    title: str = Field(max_length=200)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    org_id: int = Field(foreign_key="organisation.id")
    status: CaseStatus = Field(sa_column=Column(EnumText(CaseStatus), nullable=False))
    created_by: int = Field(foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaseMember(SQLModel, table=True):
    __tablename__ = "case_member"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_member"),)

    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case_file.id", index=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    added_by: int | None = Field(default=None, foreign_key="user_account.id")
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
