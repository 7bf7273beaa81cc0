"""Organisation, user and API key queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from app.identity.models import ApiKey, Organisation, Role, User


def get_org(session: Session, org_id: int) -> Organisation | None:
    return session.get(Organisation, org_id)


def org_named(session: Session, name: str) -> Organisation | None:
    return session.exec(select(Organisation).where(Organisation.name == name)).first()


def list_orgs(session: Session) -> Sequence[Organisation]:
    return session.exec(select(Organisation).order_by(col(Organisation.id))).all()


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_named(session: Session, username: str) -> User | None:
    return session.exec(select(User).where(User.username == username)).first()


def admin_exists(session: Session) -> bool:
    return session.exec(select(User.id).where(User.role == Role.admin)).first() is not None


def add(session: Session, row: Organisation | User | ApiKey) -> None:
    """Insert now (ids are assigned), in the caller's transaction."""
    session.add(row)
    session.flush()
