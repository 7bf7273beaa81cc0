"""Cases as clients see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints

from app.cases.models import CaseStatus
from app.deps import IdField
from app.text import CleanStr

CaseNumber = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._/:-]*$",
    ),
]


class CaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    number: CaseNumber
    title: Annotated[CleanStr, StringConstraints(min_length=1, max_length=200)]
    unit_id: IdField | None = None
    """Default: the caller's unit. Investigators open cases only under their own unit;
    supervisors under any unit of their organisation."""
    status: CaseStatus = CaseStatus.open


class CaseUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: CaseStatus


class MemberAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_id: IdField


class CasePublic(BaseModel):
    id: int
    number: str
    title: str
    unit_id: int
    unit: str
    """The unit's name."""
    org_id: int
    status: CaseStatus
    created_by: int
    created_at: datetime
    closed_at: datetime | None
    members: list[int]


class CasePage(BaseModel):
    items: list[CasePublic]
    next_cursor: str | None = None
