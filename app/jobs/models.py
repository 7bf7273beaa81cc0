"""Durable job state: the database, not the broker, says what is pending, running or done."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import EnumText, UTCDateTime, utcnow


class JobState(StrEnum):
    pending = "pending"
    running = "running"
    done = "done"
    failed = "failed"


class Job(SQLModel, table=True):
    """Durable job state: the database, not the broker, says what is pending or done."""

    __tablename__ = "job"
    __table_args__ = (
        UniqueConstraint("kind", "segment_id", name="uq_job_kind_segment"),
        Index("ix_job_state_run_after", "state", "run_after"),
        # /metrics: queue depth per kind and state, and the oldest waiting job of a kind.
        Index("ix_job_kind_state_id", "kind", "state", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=32)
    segment_id: int | None = Field(default=None, foreign_key="segment.id")
    target_id: int | None = None
    state: JobState = Field(sa_column=Column(EnumText(JobState), nullable=False))
    attempts: int = 0
    max_attempts: int = 3
    run_after: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    """When a message naming this job was last sent to the broker (None: never). The Celery
    sweeper re-sends a due job only if it was not announced since it came due, or if the
    last message is older than the broker's visibility timeout: one message per job, not
    one per sweep (issue 15 item 17)."""
    worker: str | None = Field(default=None, max_length=128)
    progress_done: int = 0
    progress_total: int = 0
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
