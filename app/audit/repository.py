"""Audit log queries: appending to the chain, and reading it by sequence, camera or target."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, false, insert, text, update
from sqlmodel import Session, col, select

from app.audit.models import AuditCamera, AuditEntry, AuditHead
from app.db import UTCDateTime

_HEAD: Table = AuditHead.metadata.tables["audit_head"]
_ENTRY: Table = AuditEntry.metadata.tables["audit_entry"]

#: The service's own entry for each segment recorded from a camera's stream (`app.footage`):
#: one a minute per stream of a live camera, so a camera's access log leaves them out unless
#: asked for, or they bury the searches, requests and downloads it is read for.
RECORDED = "footage.record"

_COLUMNS = (
    "seq, prev_hash, ts, actor_user_id, actor_role, actor_org_id, action, outcome, "
    "target_type, target_id, case_id, purpose, details, hash"
)
_PG_APPEND = text(
    f"WITH e AS (INSERT INTO audit_entry ({_COLUMNS}) "
    f"VALUES ({', '.join(':' + c for c in _COLUMNS.split(', '))}) RETURNING id), "
    "h AS (UPDATE audit_head SET seq = :seq, hash = :hash WHERE id = 1), "
    "c AS (INSERT INTO audit_camera (audit_id, camera_id, recorded) "
    "SELECT e.id, unnest(CAST(:cams AS integer[])), :recorded FROM e) "
    "SELECT id FROM e"
).bindparams(bindparam("ts", type_=UTCDateTime))


def lock_head(session: Session) -> tuple[int, str]:
    """The chain's newest (seq, hash), locked until the transaction ends."""
    seq, digest = session.execute(
        select(_HEAD.c.seq, _HEAD.c.hash).where(_HEAD.c.id == 1).with_for_update()
    ).one()
    return int(seq), str(digest)


def append(session: Session, fields: dict[str, Any], camera_ids: Sequence[int]) -> int:
    """Write the entry, move the head to it and link its cameras; returns the entry's id.

    Core statements, not ORM objects: this runs on every request, and the unit of work's
    bookkeeping cost more than the statements themselves.
    """
    recorded = fields["action"] == RECORDED
    if session.get_bind().dialect.name == "postgresql":
        # The entry, the new head and the camera links in one statement (one round trip).
        return int(session.execute(
            _PG_APPEND, {**fields, "cams": list(camera_ids), "recorded": recorded}
        ).scalar_one())
    entry_id = int(
        session.execute(insert(_ENTRY).values(**fields).returning(_ENTRY.c.id)).scalar_one()
    )
    session.execute(
        update(_HEAD).where(_HEAD.c.id == 1).values(seq=fields["seq"], hash=fields["hash"])
    )
    if camera_ids:
        session.execute(
            text(
                "INSERT INTO audit_camera (audit_id, camera_id, recorded) "
                "SELECT :audit_id, value, :recorded FROM json_each(:cams)"
            ),
            {"audit_id": entry_id, "cams": json.dumps(list(camera_ids)), "recorded": recorded},
        )
    return entry_id


def head(session: Session) -> AuditHead:
    return session.exec(select(AuditHead).where(AuditHead.id == 1)).one()


def page(
    session: Session,
    *,
    after_seq: int,
    limit: int,
    action: str | None = None,
    actor_user_id: int | None = None,
) -> Sequence[AuditEntry]:
    stmt = select(AuditEntry).where(col(AuditEntry.seq) > after_seq)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == actor_user_id)
    return session.exec(stmt.order_by(col(AuditEntry.seq)).limit(limit)).all()


def iter_entries(session: Session, batch: int = 5000) -> Iterator[AuditEntry]:
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


def for_camera(
    session: Session,
    camera_id: int,
    *,
    before_id: int | None,
    limit: int,
    recorded: bool = True,
) -> Sequence[AuditEntry]:
    """A camera's access log, newest first; without the recorded segments' entries when
    ``recorded`` is false."""
    stmt = (
        select(AuditEntry)
        .join(AuditCamera, col(AuditCamera.audit_id) == col(AuditEntry.id))
        .where(AuditCamera.camera_id == camera_id)
    )
    if not recorded:
        stmt = stmt.where(col(AuditCamera.recorded) == false())
    if before_id is not None:
        stmt = stmt.where(col(AuditCamera.audit_id) < before_id)
    stmt = stmt.order_by(col(AuditCamera.audit_id).desc()).limit(limit)
    return session.exec(stmt).all()


def for_target(session: Session, target_type: str, target_id: object) -> Sequence[AuditEntry]:
    """Every entry about one object, in chain order (an extraction's chain of custody)."""
    return session.exec(
        select(AuditEntry)
        .where(AuditEntry.target_type == target_type, AuditEntry.target_id == str(target_id))
        .order_by(col(AuditEntry.seq))
    ).all()


def for_case(session: Session, case_id: int, *, limit: int) -> Sequence[AuditEntry]:
    """What was done under a case (searches, requests, decisions, downloads), newest first:
    the case's timeline in the console."""
    return session.exec(
        select(AuditEntry)
        .where(AuditEntry.case_id == case_id)
        .order_by(col(AuditEntry.seq).desc())
        .limit(limit)
    ).all()


def search(
    session: Session,
    *,
    before_seq: int | None = None,
    limit: int = 50,
    action: str | None = None,
    actor_user_id: int | None = None,
    camera_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Sequence[AuditEntry]:
    """The newest entries first, filtered (the console's audit page); `before_seq` pages on."""
    stmt = select(AuditEntry)
    if before_seq is not None:
        stmt = stmt.where(col(AuditEntry.seq) < before_seq)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_user_id is not None:
        stmt = stmt.where(AuditEntry.actor_user_id == actor_user_id)
    if camera_id is not None:
        linked = select(AuditCamera.audit_id).where(AuditCamera.camera_id == camera_id)
        stmt = stmt.where(col(AuditEntry.id).in_(linked))
    if since is not None:
        stmt = stmt.where(col(AuditEntry.ts) >= since)
    if until is not None:
        stmt = stmt.where(col(AuditEntry.ts) < until)
    return session.exec(stmt.order_by(col(AuditEntry.seq).desc()).limit(limit)).all()


def actions(session: Session) -> list[str]:
    """The actions the log holds, for the filter's choices."""
    stmt = select(AuditEntry.action).distinct().order_by(col(AuditEntry.action))
    return list(session.exec(stmt).all())
