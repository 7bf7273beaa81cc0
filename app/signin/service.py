"""Signing people in: passwords set through one-time invitations, sessions, throttling.

The rules:
- A password is set only through an invitation link an admin (anyone) or a supervisor (the
  officers and investigators of their organisation, `UserPolicy.can_manage`) created for an
  active user, or by `set_password` from the command line / the demo. A link works once,
  until it expires (`WARDCAM_INVITATION_HOURS`); a newer link for the same user revokes it.
  Only its SHA-256 is stored.
- A session's token lives in an HttpOnly cookie and, hashed, in the database. It ends at
  sign-out, after `WARDCAM_SESSION_IDLE_MINUTES` without a request, `WARDCAM_SESSION_HOURS`
  after sign-in, and at once when its user is deactivated (checked on every request, like API
  keys) or sets a new password.
- Wrong passwords are counted per user name and per address; past `WARDCAM_SIGNIN_MAX_FAILURES`
  (per name) or `WARDCAM_SIGNIN_MAX_FAILURES_IP` (per address) within
  `WARDCAM_SIGNIN_WINDOW_MINUTES` every attempt is refused without checking the password.
  Every failure and every refusal is in the audit log, as are sign-in and sign-out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlmodel import Session

from app.audit.service import DENIED, record
from app.auth.principal import Principal
from app.db import utcnow
from app.errors import ApiError, Conflict, NotFound, Unprocessable
from app.identity import repository as identity
from app.identity.models import User
from app.identity.service import managed_user
from app.settings import Settings
from app.signin import repository
from app.signin.models import Invitation, Login, SignInFailure, WebSession
from app.signin.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    needs_rehash,
    verify_password,
)

TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(seconds=60)
"""A session's last request time is written at most this often (not on every request)."""
INVITATION_PATH = "/invitation/"
SESSION_COOKIE = "wardcam_session"
"""The console's session cookie (app/console/session.py); the API accepts it too."""


class Gone(ApiError):
    status_code = 410
    code = "gone"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def csrf_token_for(session_token: str, secret: bytes) -> str:
    """The CSRF token of a session: derived from its cookie with the service's secret, so it
    needs no storage, changes with every session, and a page on another site (which cannot
    read the cookie) cannot compute it."""
    mac = hmac.new(secret, b"wardcam-csrf\0" + session_token.encode(), hashlib.sha256)
    return mac.hexdigest()


def principal_of(user: User) -> Principal:
    assert user.id is not None
    return Principal(
        user_id=user.id,
        username=user.username,
        role=user.role,
        org_id=user.org_id,
        unit_id=user.unit_id,
    )


# --- passwords ---------------------------------------------------------------------------------


def check_password_rules(username: str, password: str) -> None:
    """At least MIN_LENGTH characters, at most MAX_LENGTH, and not the user name."""
    if len(password) < MIN_LENGTH:
        raise Unprocessable(
            f"a password needs at least {MIN_LENGTH} characters", code="password_too_short"
        )
    if len(password) > MAX_LENGTH:
        raise Unprocessable(
            f"a password has at most {MAX_LENGTH} characters", code="password_too_long"
        )
    if password.strip().casefold() == username.strip().casefold():
        raise Unprocessable("the password cannot be the user name", code="password_is_username")


def _store_password(session: Session, user: User, password: str) -> None:
    assert user.id is not None
    check_password_rules(user.username, password)
    login = repository.get_login(session, user.id) or Login(user_id=user.id)
    login.password_hash = hash_password(password)
    login.password_set_at = utcnow()
    repository.add(session, login)
    # Whoever was signed in with the old password is signed out.
    repository.end_sessions_of(session, user.id, utcnow())


def set_password(session: Session, user_id: int, password: str) -> None:
    """Set a user's password directly (the command line, the demo): audited with no actor and
    `"via": "cli"`. People otherwise set theirs through an invitation."""
    user = identity.get_user(session, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist", code="user_not_found")
    _store_password(session, user, password)
    record(
        session,
        None,
        "user.password_set",
        target_type="user",
        target_id=user_id,
        details={"username": user.username, "via": "cli"},
    )


def language_of(session: Session, user_id: int) -> str | None:
    login = repository.get_login(session, user_id)
    return login.language if login else None


def set_language(session: Session, user_id: int, language: str) -> None:
    login = repository.get_login(session, user_id) or Login(user_id=user_id)
    login.language = language
    repository.add(session, login)


# --- invitations -------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewInvitation:
    invitation: Invitation
    user: User
    token: str

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + INVITATION_PATH + self.token


def create_invitation(
    session: Session, principal: Principal | None, user_id: int, settings: Settings
) -> NewInvitation:
    """A one-time link for a user the caller manages (admins: anyone; supervisors: the
    officers and investigators of their organisation; None: the command line, for the first
    admin). Earlier open links of theirs stop working. The token is returned once; only its
    hash is kept."""
    if principal is None:
        found = identity.get_user(session, user_id)
        if found is None:
            raise NotFound(f"user {user_id} does not exist", code="user_not_found")
        user = found
    else:
        user = managed_user(session, principal, user_id, "invitation.create")
    if not user.active:
        raise Conflict(
            f"user {user.username!r} is deactivated: reactivate them first", code="user_inactive"
        )
    now = utcnow()
    repository.revoke_open_invitations(session, user_id, now)
    token = new_token()
    invitation = Invitation(
        user_id=user_id,
        token_hash=token_hash(token),
        created_by=principal.user_id if principal else None,
        created_at=now,
        expires_at=now + timedelta(hours=settings.invitation_hours),
    )
    repository.add(session, invitation)
    record(
        session,
        principal,
        "invitation.create",
        target_type="user",
        target_id=user_id,
        details={
            "username": user.username,
            "invitation_id": invitation.id,
            "expires_at": invitation.expires_at.isoformat().replace("+00:00", "Z"),
            **({} if principal else {"via": "cli"}),
        },
    )
    return NewInvitation(invitation=invitation, user=user, token=token)


def open_invitation(session: Session, token: str) -> tuple[Invitation, User]:
    """The invitation of a link, if it can still be used; 404/410 otherwise."""
    found = repository.invitation_with_hash(session, token_hash(token)) if token else None
    if found is None:
        raise NotFound("no such invitation", code="invitation_not_found")
    invitation, user = found
    if invitation.used_at is not None:
        raise Gone("this invitation was used already", code="invitation_used")
    if invitation.revoked_at is not None or invitation.expires_at <= utcnow() or not user.active:
        raise Gone("this invitation has expired", code="invitation_expired")
    return invitation, user


def accept_invitation(session: Session, token: str, password: str) -> User:
    """Set the password of the invitation's user and use the invitation up."""
    invitation, user = open_invitation(session, token)
    _store_password(session, user, password)
    invitation.used_at = utcnow()
    repository.add(session, invitation)
    record(
        session,
        principal_of(user),
        "invitation.accept",
        target_type="user",
        target_id=user.id,
        details={"invitation_id": invitation.id},
    )
    return user


def invitations(session: Session, principal: Principal) -> list[tuple[Invitation, User]]:
    """Invitations the caller may see: all for admins, their organisation's for supervisors."""
    org = None if principal.is_admin else principal.org_id
    return list(repository.list_invitations(session, org_id=org))


# --- signing in and out ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    outcome: Literal["ok", "refused", "throttled"]
    user: User | None = None
    token: str | None = None
    web_session: WebSession | None = None


def _username_key(username: str) -> str:
    return username.strip().casefold()[:100]


def sign_in(session: Session, settings: Settings, username: str, password: str, ip: str) -> SignIn:
    """Check a user name and password. Failures are stored and audited in the caller's
    transaction (which must commit them: this returns rather than raises)."""
    now = utcnow()
    key = _username_key(username)
    since = now - timedelta(minutes=settings.signin_window_minutes)
    repository.prune_failures(session, now - timedelta(days=1))
    repository.prune_sessions(session, now - timedelta(days=1))
    by_name = repository.failures_since(session, username_key=key, ip=None, since=since)
    by_ip = repository.failures_since(session, username_key=None, ip=ip, since=since)
    if by_name >= settings.signin_max_failures or by_ip >= settings.signin_max_failures_ip:
        record(
            session,
            None,
            "signin.throttled",
            outcome=DENIED,
            details={
                "username": username[:100],
                "ip": ip,
                "failures_for_username": by_name,
                "failures_from_ip": by_ip,
            },
        )
        return SignIn("throttled")
    user = identity.user_named(session, username) if username else None
    login = repository.get_login(session, user.id) if user and user.id else None
    good = verify_password(login.password_hash if login else None, password)
    if user is None or login is None or not good or not user.active:
        repository.add(session, SignInFailure(username_key=key, ip=ip, at=now))
        reason = (
            "no_such_user"
            if user is None
            else "no_password"
            if login is None or login.password_hash is None
            else "inactive"
            if good
            else "wrong_password"
        )
        record(
            session,
            principal_of(user) if user else None,
            "signin.fail",
            outcome=DENIED,
            target_type="user" if user else None,
            target_id=user.id if user else None,
            details={"username": username[:100], "ip": ip, "reason": reason},
        )
        return SignIn("refused")
    assert user.id is not None and login.password_hash is not None
    if needs_rehash(login.password_hash):
        login.password_hash = hash_password(password)
        repository.add(session, login)
    repository.forget_failures(session, key)
    token = new_token()
    web = WebSession(
        token_hash=token_hash(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_hours),
        ip=ip[:64],
    )
    repository.add(session, web)
    record(
        session,
        principal_of(user),
        "signin",
        target_type="user",
        target_id=user.id,
        details={"ip": ip, "session_id": web.id},
    )
    return SignIn("ok", user=user, token=token, web_session=web)


def live_session(
    session: Session, settings: Settings, token: str, now: datetime | None = None
) -> tuple[WebSession, User] | None:
    """The session of a cookie, if it is still live: not ended, not idle too long, not past
    its absolute end, and its user active."""
    if not token or len(token) > 200:
        return None
    found = repository.session_with_hash(session, token_hash(token))
    if found is None:
        return None
    web, user = found
    now = now or utcnow()
    if web.ended_at is not None or web.expires_at <= now or not user.active:
        return None
    if web.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        return None
    return web, user


def touch(session: Session, web: WebSession, now: datetime | None = None) -> None:
    """Note that the session was used (for the idle limit), at most once a minute."""
    now = now or utcnow()
    if now - web.last_seen_at >= TOUCH_EVERY:
        web.last_seen_at = now
        repository.add(session, web)


def sign_out(session: Session, token: str) -> None:
    found = repository.session_with_hash(session, token_hash(token)) if token else None
    if found is None:
        return
    web, user = found
    if web.ended_at is None:
        web.ended_at = utcnow()
        repository.add(session, web)
        record(
            session,
            principal_of(user),
            "signout",
            target_type="user",
            target_id=user.id,
            details={"session_id": web.id},
        )
