"""The audit log as auditors read it."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AuditEntryPublic(BaseModel):
    id: int
    seq: int
    ts: datetime
    actor_user_id: int | None
    actor_role: str | None
    actor_org_id: int | None
    action: str
    outcome: str
    target_type: str | None
    target_id: str | None
    case_id: int | None
    purpose: str | None
    details: dict[str, object]
    prev_hash: str
    hash: str


class AuditPage(BaseModel):
    items: list[AuditEntryPublic]
    next_cursor: str | None = None


class ChainStatus(BaseModel):
    ok: bool
    entries: int
    head_seq: int
    first_broken_seq: int | None = None
    first_broken_id: int | None = None
    reason: str | None = None
