"""The append-only, hash-chained audit log.

`details` is kept as canonical JSON text rather than a JSON column so that the bytes hashed
when the entry was written are the bytes read back (PostgreSQL's jsonb would reorder keys).
`AuditHead` holds the newest sequence number and hash: writers lock it to extend the chain one
at a time, and it lets verification notice rows deleted from the end of the log.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    false,
)
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime

BIGINT_PK = BigInteger().with_variant(Integer, "sqlite")
"""64-bit on PostgreSQL; INTEGER on SQLite so that it is the rowid alias."""


class AuditEntry(SQLModel, table=True):
    __tablename__ = "audit_entry"

    id: int | None = Field(default=None, sa_column=Column(BIGINT_PK, primary_key=True))
    seq: int = Field(sa_column=Column(BigInteger, unique=True, nullable=False))
    ts: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    actor_user_id: int | None = Field(default=None, index=True)
    actor_role: str | None = Field(default=None, max_length=16)
    actor_org_id: int | None = None
    action: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    outcome: str = Field(max_length=16)
    target_type: str | None = Field(default=None, max_length=32)
    target_id: str | None = Field(default=None, max_length=64)
    case_id: int | None = Field(default=None, index=True)
    purpose: str | None = Field(default=None, sa_column=Column(Text))
    details: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditCamera(SQLModel, table=True):
    """Which cameras an entry touched, so owners can read their cameras' access log fast.

    ``recorded`` marks the service's entry for a segment recorded from the camera's stream
    (one a minute per stream of a live camera): the access log leaves those out unless asked,
    and reads the rest through its own index rather than past every recorded segment."""

    __tablename__ = "audit_camera"
    __table_args__ = (
        Index("ix_audit_camera_camera_audit", "camera_id", "audit_id"),
        Index("ix_audit_camera_camera_recorded_audit", "camera_id", "recorded", "audit_id"),
    )

    audit_id: int = Field(
        sa_column=Column(BIGINT_PK, ForeignKey("audit_entry.id"), primary_key=True)
    )
    camera_id: int = Field(primary_key=True)
    recorded: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=false())
    )


class AuditHead(SQLModel, table=True):
    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(max_length=64)
