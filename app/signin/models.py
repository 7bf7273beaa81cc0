"""What signing in people needs to keep: their password, invitations, sessions, failures.

Nothing here is kept in the clear: a password as its argon2id hash, an invitation's and a
session's token as their SHA-256 (the token itself exists only in the link or the cookie),
so a copy of the database lets nobody sign in.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Login(SQLModel, table=True):
    """A person's way into the console: their password (argon2id) and their language."""

    __tablename__ = "user_login"

    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    password_hash: str | None = Field(default=None, max_length=200)
    password_set_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    language: str | None = Field(default=None, max_length=8)


class Invitation(SQLModel, table=True):
    """A one-time link that lets its user set their password; it expires and is used once."""

    __tablename__ = "invitation"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    created_by: int | None = Field(default=None, foreign_key="user_account.id")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebSession(SQLModel, table=True):
    """A signed-in browser. Ends at sign-out, after `session_idle_minutes` without a request,
    or `session_hours` after sign-in, whichever comes first."""

    __tablename__ = "web_session"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(sa_column=Column(String(64), unique=True, nullable=False))
    user_id: int = Field(foreign_key="user_account.id", index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ip: str = Field(default="", max_length=64)


class SignInFailure(SQLModel, table=True):
    """A refused password: counted per user name and per address to throttle guessing."""

    __tablename__ = "sign_in_failure"

    id: int | None = Field(default=None, primary_key=True)
    username_key: str = Field(max_length=100, index=True)
    ip: str = Field(max_length=64, index=True)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
