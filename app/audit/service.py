"""Appending to and verifying the audit chain.

Writers lock the single `audit_head` row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite
transactions already hold the write lock, see app.db), so concurrent requests extend the chain
one after another and it never forks. The entry is written in the caller's transaction: an
action and its audit entry commit together or not at all.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, text, update
from sqlmodel import Session, col, select

from app.audit.chain import GENESIS_HASH, canonical_json, entry_hash
from app.audit.models import AuditEntry, AuditHead
from app.auth.principal import Principal
from app.db import UTCDateTime, utcnow

_HEAD: Table = AuditHead.__table__  # type: ignore[attr-defined]
_ENTRY: Table = AuditEntry.__table__  # type: ignore[attr-defined]

ALLOWED = "allowed"
DENIED = "denied"
FAILED = "failed"


def record(
    session: Session,
    actor: Principal | None,
    action: str,
    *,
    outcome: str = ALLOWED,
    target_type: str | None = None,
    target_id: object | None = None,
    purpose: str | None = None,
    case_id: int | None = None,
    details: dict[str, Any] | None = None,
    camera_ids: Iterable[int] = (),
    ts: datetime | None = None,
) -> AuditEntry:
    # Core statements, not ORM objects: this runs on every request, and the unit of work's
    # bookkeeping cost more than the three statements themselves.
    head_seq, head_hash = session.execute(
        select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
    ).one()
    cams = sorted(set(camera_ids))
    body = dict(details or {})
    if cams:
        body["camera_ids"] = cams
    fields: dict[str, Any] = {
        "seq": head_seq + 1,
        "prev_hash": head_hash,
        "ts": ts or utcnow(),
        "actor_user_id": actor.user_id if actor else None,
        "actor_role": str(actor.role) if actor else None,
        "actor_org_id": actor.org_id if actor else None,
        "action": action,
        "outcome": outcome,
        "target_type": target_type,
        "target_id": None if target_id is None else str(target_id),
        "case_id": case_id,
        "purpose": purpose,
        "details": canonical_json(body),
    }
    fields["hash"] = entry_hash(**fields)
    if session.get_bind().dialect.name == "postgresql":
        # The entry, the new head and the camera links in one statement (one round trip).
        entry_id = session.execute(_PG_APPEND, {**fields, "cams": cams}).scalar_one()
        return AuditEntry(id=entry_id, **fields)
    entry_id = session.execute(insert(_ENTRY).values(**fields).returning(_ENTRY.c.id)).scalar_one()
    session.execute(
        update(_HEAD).where(_HEAD.c.id == 1).values(seq=fields["seq"], hash=fields["hash"])
    )
    if cams:
        session.execute(
            text(
                "INSERT INTO audit_camera (audit_id, camera_id) "
                "SELECT :audit_id, value FROM json_each(:cams)"
            ),
            {"audit_id": entry_id, "cams": json.dumps(cams)},
        )
    return AuditEntry(id=entry_id, **fields)


_COLUMNS = (
    "seq, prev_hash, ts, actor_user_id, actor_role, actor_org_id, action, outcome, "
    "target_type, target_id, case_id, purpose, details, hash"
)
_PG_APPEND = text(
    f"WITH e AS (INSERT INTO audit_entry ({_COLUMNS}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS.split(', '))}) RETURNING id), "
    "h AS (UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1), "
    "c AS (INSERT INTO audit_camera (audit_id, camera_id) "
    "SELECT e.id, unnest(CAST(:cams AS integer[])) FROM e) "
    "SELECT id FROM e"
).bindparams(bindparam("ts", type_=UTCDateTime))


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    entries: int
    head_seq: int
    first_broken_seq: int | None = None
    first_broken_id: int | None = None
    reason: str | None = None


def _recompute(entry: AuditEntry) -> str:
    return entry_hash(
        seq=entry.seq,
        prev_hash=entry.prev_hash,
        ts=entry.ts,
        actor_user_id=entry.actor_user_id,
        actor_role=entry.actor_role,
        actor_org_id=entry.actor_org_id,
        action=entry.action,
        outcome=entry.outcome,
        target_type=entry.target_type,
        target_id=entry.target_id,
        case_id=entry.case_id,
        purpose=entry.purpose,
        details=entry.details,
    )


def _iter_entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
    """In insertion (id) order: a row moved to another place breaks the links around it."""
    last_id = 0
    while True:
        rows = session.exec(
            select(AuditEntry)
            .where(col(AuditEntry.id) > last_id)
            .order_by(col(AuditEntry.id))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id or last_id
        session.expunge_all()


def verify_chain(session: Session) -> ChainReport:
    """Walks the whole log; names the first entry that was altered, removed or reordered."""
    head = session.exec(select(AuditHead).where(AuditHead.id == 1)).one()
    head_seq, head_hash = head.seq, head.hash
    expected_prev, expected_seq, count = GENESIS_HASH, 1, 0

    def broken(entry: AuditEntry | None, reason: str) -> ChainReport:
        return ChainReport(
            ok=False,
            entries=count,
            head_seq=head_seq,
            first_broken_seq=entry.seq if entry else expected_seq,
            first_broken_id=entry.id if entry else None,
            reason=reason,
        )

    for entry in _iter_entries(session):
        if entry.seq != expected_seq:
            return broken(
                entry,
                f"entry id {entry.id} has sequence {entry.seq}, expected {expected_seq} "
                "(an entry was removed or rows were reordered)",
            )
        if entry.prev_hash != expected_prev:
            return broken(entry, f"entry {entry.seq} does not link to the entry before it")
        if _recompute(entry) != entry.hash:
            return broken(
                entry, f"entry {entry.seq} was altered: its content no longer matches its hash"
            )
        expected_prev, expected_seq = entry.hash, expected_seq + 1
        count += 1
    if count != head_seq or expected_prev != head_hash:
        return broken(
            None,
            f"the log ends at entry {count} but the chain head records entry {head_seq} "
            "(entries were removed from the end)",
        )
    return ChainReport(ok=True, entries=count, head_seq=head_seq)
