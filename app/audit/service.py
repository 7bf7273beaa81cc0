"""Appending to and verifying the audit chain.

Writers lock the single `audit_head` row (`SELECT ... FOR UPDATE` on PostgreSQL; SQLite
transactions already hold the write lock, see app.db), so concurrent requests extend the chain
one after another and it never forks. The entry is written in the caller's transaction: an
action and its audit entry commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from app.audit import repository
from app.audit.chain import GENESIS_HASH, canonical_json, entry_hash
from app.audit.models import AuditEntry
from app.auth.principal import Principal
from app.db import utcnow

ALLOWED = "allowed"
DENIED = "denied"
FAILED = "failed"


_KEYWORDS = frozenset(
    {"outcome", "target_type", "target_id", "purpose", "case_id", "details", "camera_ids", "ts"}
)


def _fields(
    seq: int, prev_hash: str, actor: Principal | None, action: str, **kw: Any
) -> tuple[dict[str, Any], list[int]]:
    """The entry's columns, hash included, as the next link after (seq - 1, prev_hash);
    `kw` are `record`'s keyword arguments (typed there)."""
    unknown = set(kw) - _KEYWORDS
    if unknown:
        raise TypeError(f"unknown audit entry fields: {sorted(unknown)}")
    cams = sorted(set(kw.get("camera_ids", ())))
    body = dict(kw.get("details") or {})
    if cams:
        body["camera_ids"] = cams
    target_id = kw.get("target_id")
    fields: dict[str, Any] = {
        "seq": seq,
        "prev_hash": prev_hash,
        "ts": kw.get("ts") or utcnow(),
        "actor_user_id": actor.user_id if actor else None,
        "actor_role": str(actor.role) if actor else None,
        "actor_org_id": actor.org_id if actor else None,
        "action": action,
        "outcome": kw.get("outcome", ALLOWED),
        "target_type": kw.get("target_type"),
        "target_id": None if target_id is None else str(target_id),
        "case_id": kw.get("case_id"),
        "purpose": kw.get("purpose"),
        "details": canonical_json(body),
    }
    fields["hash"] = entry_hash(**fields)
    return fields, cams


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
    head_seq, head_hash = repository.lock_head(session)
    fields, cams = _fields(
        head_seq + 1,
        head_hash,
        actor,
        action,
        outcome=outcome,
        target_type=target_type,
        target_id=target_id,
        purpose=purpose,
        case_id=case_id,
        details=details,
        camera_ids=camera_ids,
        ts=ts,
    )
    entry_id = repository.append(session, fields, cams)
    return AuditEntry(id=entry_id, **fields)


class Batch:
    """Audit entries gathered during one transaction and appended together at its end, under
    one lock of the chain's head.

    Why: the head is one row, locked from the first append until the transaction commits, so
    every writer of every worker queues on it. A transaction that stores many recorded
    segments at once (`app.footage.store_queue`) takes that lock once for all of them, last,
    instead of once per segment. `add` takes `record`'s arguments; `write` appends in the
    order added, each linked to the one before it as `record` would."""

    def __init__(self) -> None:
        self._pending: list[tuple[Principal | None, str, dict[str, Any]]] = []

    def add(self, actor: Principal | None, action: str, **kwargs: Any) -> None:
        self._pending.append((actor, action, kwargs))

    def write(self, session: Session) -> list[AuditEntry]:
        if not self._pending:
            return []
        seq, prev = repository.lock_head(session)
        written = []
        for actor, action, kwargs in self._pending:
            fields, cams = _fields(seq + 1, prev, actor, action, **kwargs)
            entry_id = repository.append(session, fields, cams)
            written.append(AuditEntry(id=entry_id, **fields))
            seq, prev = fields["seq"], fields["hash"]
        self._pending.clear()
        return written


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


def verify_chain(session: Session) -> ChainReport:
    """Walks the whole log; names the first entry that was altered, removed or reordered."""
    head = repository.head(session)
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

    for entry in repository.iter_entries(session):
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
