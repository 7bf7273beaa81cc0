"""Logins, invitations, sessions and failed sign-ins: every query of signing in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, delete, func, select, update

from app.identity.models import User
from app.signin.models import Invitation, Login, SignInFailure, WebSession


def get_login(session: Session, user_id: int) -> Login | None:
    return session.get(Login, user_id)


def session_with_hash(session: Session, token_hash: str) -> tuple[WebSession, User] | None:
    stmt = (
        select(WebSession, User)
        .join(User, col(User.id) == col(WebSession.user_id))
        .where(WebSession.token_hash == token_hash)
    )
    row = session.exec(stmt).first()
    return None if row is None else (row[0], row[1])


def invitation_with_hash(session: Session, token_hash: str) -> tuple[Invitation, User] | None:
    stmt = (
        select(Invitation, User)
        .join(User, col(User.id) == col(Invitation.user_id))
        .where(Invitation.token_hash == token_hash)
    )
    row = session.exec(stmt).first()
    return None if row is None else (row[0], row[1])


def list_invitations(
    session: Session, *, org_id: int | None, limit: int = 200
) -> Sequence[tuple[Invitation, User]]:
    stmt = select(Invitation, User).join(User, col(User.id) == col(Invitation.user_id))
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    rows = session.exec(stmt.order_by(col(Invitation.id).desc()).limit(limit)).all()
    return [(i, u) for i, u in rows]


def revoke_open_invitations(session: Session, user_id: int, now: datetime) -> None:
    """Earlier unused links of the user stop working when a new one is made."""
    session.exec(
        update(Invitation)
        .where(
            col(Invitation.user_id) == user_id,
            col(Invitation.used_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
        .values(revoked_at=now)
    )


def end_sessions_of(session: Session, user_id: int, now: datetime) -> None:
    session.exec(
        update(WebSession)
        .where(col(WebSession.user_id) == user_id, col(WebSession.ended_at).is_(None))
        .values(ended_at=now)
    )


def failures_since(
    session: Session, *, username_key: str | None, ip: str | None, since: datetime
) -> int:
    stmt = select(func.count()).select_from(SignInFailure).where(col(SignInFailure.at) >= since)
    if username_key is not None:
        stmt = stmt.where(SignInFailure.username_key == username_key)
    if ip is not None:
        stmt = stmt.where(SignInFailure.ip == ip)
    return int(session.exec(stmt).one())


def forget_failures(session: Session, username_key: str) -> None:
    """A correct password clears the count of its user name (not of the address)."""
    session.exec(delete(SignInFailure).where(col(SignInFailure.username_key) == username_key))


def prune_failures(session: Session, before: datetime) -> None:
    session.exec(delete(SignInFailure).where(col(SignInFailure.at) < before))


def prune_sessions(session: Session, before: datetime) -> None:
    """Sessions that ended or expired before `before` (the audit log keeps their story)."""
    session.exec(
        delete(WebSession).where(
            (col(WebSession.expires_at) < before) | (col(WebSession.ended_at) < before)
        )
    )


def add(session: Session, row: Login | Invitation | WebSession | SignInFailure) -> None:
    session.add(row)
    session.flush()
