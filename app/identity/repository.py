"""Organisation, unit, user and API key queries."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, func, select

from app.identity.models import ApiKey, Organisation, Role, Unit, User


def get_org(session: Session, org_id: int) -> Organisation | None:
    return session.get(Organisation, org_id)


def org_with_key(session: Session, name_key: str) -> Organisation | None:
    return session.exec(select(Organisation).where(Organisation.name_key == name_key)).first()


def list_orgs(session: Session) -> Sequence[Organisation]:
    return session.exec(select(Organisation).order_by(col(Organisation.id))).all()


def get_unit(session: Session, unit_id: int) -> Unit | None:
    return session.get(Unit, unit_id)


def unit_with_key(session: Session, org_id: int, name_key: str) -> Unit | None:
    stmt = select(Unit).where(Unit.org_id == org_id, Unit.name_key == name_key)
    return session.exec(stmt).first()


def list_units(session: Session, org_id: int) -> Sequence[Unit]:
    return session.exec(select(Unit).where(Unit.org_id == org_id).order_by(col(Unit.id))).all()


def unit_names(session: Session, unit_ids: set[int]) -> dict[int, str]:
    if not unit_ids:
        return {}
    rows = session.exec(select(Unit.id, Unit.name).where(col(Unit.id).in_(unit_ids))).all()
    return {i: n for i, n in rows if i is not None}


def usernames(session: Session, user_ids: set[int]) -> dict[int, str]:
    if not user_ids:
        return {}
    rows = session.exec(select(User.id, User.username).where(col(User.id).in_(user_ids))).all()
    return {i: n for i, n in rows if i is not None}


def get_user(session: Session, user_id: int) -> User | None:
    return session.get(User, user_id)


def user_named(session: Session, username: str) -> User | None:
    """The user with this name, compared without regard to case (`Admin` is `admin`)."""
    stmt = select(User).where(func.lower(User.username) == username.lower())
    return session.exec(stmt).first()


def admin_exists(session: Session) -> bool:
    return session.exec(select(User.id).where(User.role == Role.admin)).first() is not None


def active_admins(session: Session) -> int:
    stmt = select(func.count()).select_from(User).where(User.role == Role.admin, User.active)
    return int(session.exec(stmt).one())


def list_users(
    session: Session,
    *,
    org_id: int | None,
    role: Role | None,
    active: bool | None,
    after_id: int,
    limit: int,
) -> Sequence[User]:
    stmt = select(User).where(col(User.id) > after_id)
    if org_id is not None:
        stmt = stmt.where(User.org_id == org_id)
    if role is not None:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.active == active)
    return session.exec(stmt.order_by(col(User.id)).limit(limit)).all()


def keys_of(session: Session, user_id: int) -> Sequence[ApiKey]:
    stmt = select(ApiKey).where(ApiKey.user_id == user_id).order_by(col(ApiKey.id))
    return session.exec(stmt).all()


def get_key(session: Session, key_id: int) -> ApiKey | None:
    return session.get(ApiKey, key_id)


def add(session: Session, row: Organisation | Unit | User | ApiKey) -> None:
    """Insert or update now (ids are assigned), in the caller's transaction."""
    session.add(row)
    session.flush()
