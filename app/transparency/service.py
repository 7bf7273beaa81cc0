"""The public transparency report of a ward: what its cameras are used for, month by month.

Counts only: no names, no places, no reasons, no case numbers. A search counts for a ward when
its results included footage of one of the ward's cameras (the audit entry names those
cameras); requests and decisions are counted per camera owner.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from app.audit import repository as audit
from app.db import utcnow
from app.errors import NotFound
from app.extractions.models import Decision
from app.identity import repository as identity
from app.identity.models import Organisation, OrgKind
from app.transparency import repository

MONTHS = 12


@dataclass(frozen=True)
class MonthRow:
    year: int
    month: int
    searches: int
    requests: int
    approvals: int
    denials: int


@dataclass(frozen=True)
class WardReport:
    ward: Organisation
    cameras: int
    retention_min_days: int | None
    retention_max_days: int | None
    months: list[MonthRow]
    chain_seq: int
    chain_hash: str
    generated_at: datetime


def _months_back(now: datetime, n: int) -> list[tuple[int, int]]:
    out = []
    y, m = now.year, now.month
    for _ in range(n):
        out.append((y, m))
        y, m = (y - 1, 12) if m == 1 else (y, m - 1)
    return out


def wards(session: Session) -> list[Organisation]:
    return list(repository.wards(session))


def ward_report(session: Session, org_id: int, now: datetime | None = None) -> WardReport:
    ward = identity.get_org(session, org_id)
    if ward is None or ward.kind != OrgKind.ward:
        raise NotFound(f"ward {org_id} does not exist", code="org_not_found")
    now = now or utcnow()
    months = _months_back(now, MONTHS)
    oldest = months[-1]
    since = now.replace(
        year=oldest[0], month=oldest[1], day=1, hour=0, minute=0, second=0, microsecond=0
    )
    searches = repository.searches_by_month(session, org_id, since)
    requests = repository.requests_by_month(session, org_id, since)
    approvals = repository.decisions_by_month(session, org_id, since, Decision.approved)
    denials = repository.decisions_by_month(session, org_id, since, Decision.denied)
    n, low, high = repository.cameras(session, org_id)
    head = audit.head(session)
    return WardReport(
        ward=ward,
        cameras=n,
        retention_min_days=low,
        retention_max_days=high,
        months=[
            MonthRow(
                y,
                m,
                searches.get((y, m), 0),
                requests.get((y, m), 0),
                approvals.get((y, m), 0),
                denials.get((y, m), 0),
            )
            for y, m in months
        ],
        chain_seq=head.seq,
        chain_hash=head.hash,
        generated_at=now,
    )
