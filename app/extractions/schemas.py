"""Extraction requests as clients see them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.deps import IdField
from app.text import CleanText
from app.timewindow import WindowTime


class ExtractionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    camera_ids: Annotated[list[IdField], Field(min_length=1, max_length=50)]
    from_: Annotated[WindowTime, Field(alias="from")]
    to: WindowTime
    reason: Annotated[CleanText, StringConstraints(min_length=10, max_length=2000)]
    redact: bool = False


class DecisionIn(BaseModel):
    """One decision for some of the caller's cameras in a request: `camera_ids` names them
    (a ward owning two cameras approves one and denies the other in two calls); without it,
    every one of the caller's cameras still undecided."""

    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "deny"]
    note: Annotated[CleanText, StringConstraints(max_length=2000)] = ""
    camera_ids: Annotated[list[IdField] | None, Field(min_length=1, max_length=50)] = None


class CameraDecisionPublic(BaseModel):
    camera_id: int
    decision: str
    by_policy: bool
    decided_by: int | None
    decided_at: datetime | None
    note: str | None
    outcome: str | None
    segments: int


class FailurePublic(BaseModel):
    """Where a failed request's fulfilment stopped (`error` says why)."""

    step: str
    camera_id: int | None = None
    segment_id: int | None = None
    code: str | None = Field(
        default=None,
        description="why: tamper_suspected, original_missing, object_missing, source_missing, "
        "cut_failed, redact_failed, package_failed, evidence_error or job_failed",
    )


class ExtractionPublic(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: int
    case_id: int
    case_number: str
    requested_by: int
    requested_by_name: str
    from_: Annotated[datetime, Field(serialization_alias="from")]
    to: datetime
    reason: str
    redact: bool
    state: str
    created_at: datetime
    updated_at: datetime
    cameras: list[CameraDecisionPublic]
    package_sha256: str | None = None
    package_size: int | None = None
    error: str | None = None
    failure: FailurePublic | None = None
    job_id: int | None = None
