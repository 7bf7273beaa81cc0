"""Auditor and admin pages: the audit log (filters, chain check), organisations and units,
users (create, deactivate, reactivate, invite), invitations, legal holds.

Every action calls the same service as its API twin (app.identity.service,
app.signin.service, app.audit), so the permissions and the audit entries are the same.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from pydantic import ValidationError
from sqlmodel import Session
from starlette.responses import Response

from app.audit import repository as audit_repo
from app.audit.service import verify_chain
from app.auth.policy import Action
from app.auth.principal import Principal
from app.console import nav
from app.console.api_errors import explain, explain_invalid
from app.console.audit_labels import AUDIT_LABELS, TARGET_LABELS
from app.console.i18n import N_, i18n
from app.console.session import (
    CsrfChecked,
    Person,
    console_of,
    ensure,
    mark_console,
    page_context,
    read_form,
)
from app.console.templating import ROLE_LABELS, Flash
from app.db import utcnow
from app.deps import IdPath, SessionDep, SettingsDep
from app.errors import ApiError
from app.identity import repository as identity_repo
from app.identity import service as identity
from app.identity.models import OrgKind, Role
from app.identity.policy import UserPolicy
from app.identity.schemas import OrgCreate, UnitCreate, UserCreate
from app.retention import repository as retention
from app.signin import service as signin
from app.signin.endpoints import base_url
from app.signin.schemas import state_of
from app.text import CleanStr

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_console)])

AUDIT = "/console/audit"
USERS = "/console/users"
ORGS = "/console/orgs"
INVITATIONS = "/console/invitations"
HOLDS = "/console/holds"

nav.register(
    N_("Audit log"),
    AUDIT,
    {Role.auditor, Role.admin},
    order=80,
    description=N_("Who did what and when; check that the log is intact."),
)
nav.register(
    N_("Users"),
    USERS,
    {Role.admin, Role.supervisor},
    order=85,
    description=N_("People, their roles, invitations and deactivation."),
)
nav.register(
    N_("Organisations"),
    ORGS,
    {Role.admin},
    order=86,
    description=N_("Wards and police organisations, and the units of the police."),
)
nav.register(
    N_("Invitations"),
    INVITATIONS,
    {Role.admin, Role.supervisor},
    order=87,
    description=N_("One-time links with which people set their password."),
)
nav.register(
    N_("Legal holds"),
    HOLDS,
    {Role.admin, Role.auditor},
    order=88,
    description=N_("Footage kept past its retention for open cases."),
)
nav.register(
    N_("Transparency"),
    "/transparency",
    set(Role),
    order=200,
    description=N_("The public report of each ward: counts only."),
)

Q = Annotated[CleanStr, Query(max_length=100)]


def _page(
    request: Request, person: Principal, template: str, title: str, **context: Any
) -> Response:
    ctx = page_context(request, person)
    return console_of(request).response(
        request, template, title=i18n(ctx["lang"]).gettext(title), **ctx, **context
    )


def _refused(session: Session, exc: ApiError | ValidationError, lang: str) -> Flash:
    """A service's refusal, shown on the form's page (nothing was written: services check
    before they write; the transaction is rolled back all the same)."""
    session.rollback()
    detail = explain(exc, lang) if isinstance(exc, ApiError) else explain_invalid(exc, lang)
    return Flash(i18n(lang).gettext("Not done: %(reason)s") % {"reason": detail}, "error")


# --- the audit log -----------------------------------------------------------------------------


def _parse_time(value: str) -> datetime | None:
    """`datetime-local` (read as UTC) or ISO 8601 with an offset; None when empty or invalid."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get(AUDIT)
def audit_page(
    request: Request,
    person: Person,
    session: SessionDep,
    actor: Q = "",
    action: Q = "",
    camera: Q = "",
    since: Annotated[CleanStr, Query(alias="from", max_length=40)] = "",
    until: Annotated[CleanStr, Query(alias="to", max_length=40)] = "",
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    verify: bool = False,
) -> Response:
    ensure(request, person, Action.audit_read)
    lang = page_context(request, person)["lang"]
    tr = i18n(lang)
    flashes: list[Flash] = []
    actor_id: int | None = None
    if actor.strip():
        if actor.strip().isdigit():
            actor_id = int(actor.strip())
        else:
            found = identity_repo.user_named(session, actor.strip())
            actor_id = found.id if found else -1
    camera_id = int(camera) if camera.strip().isdigit() else None
    if camera.strip() and camera_id is None:
        flashes.append(Flash(tr.gettext("The camera is a number (its id)."), "error"))
    start, end = _parse_time(since), _parse_time(until)
    if (since and start is None) or (until and end is None):
        flashes.append(Flash(tr.gettext("A time is not valid."), "error"))
    limit = 50
    rows = audit_repo.search(
        session,
        before_seq=before,
        limit=limit,
        action=action or None,
        actor_user_id=actor_id,
        camera_id=camera_id,
        since=start,
        until=end,
    )
    names = identity_repo.usernames(session, {e.actor_user_id for e in rows if e.actor_user_id})
    entries = [
        {
            "seq": e.seq,
            "ts": e.ts,
            "actor": names.get(e.actor_user_id, str(e.actor_user_id))
            if e.actor_user_id
            else tr.gettext("(system)"),
            "role": e.actor_role,
            "action": e.action,
            "outcome": e.outcome,
            "target_type": e.target_type,
            "target_id": e.target_id,
            "details": json.dumps(json.loads(e.details), ensure_ascii=False)[:300],
        }
        for e in rows
    ]
    chain = None
    if verify:
        ensure(request, person, Action.audit_verify)
        chain = verify_chain(session)
    query = {"actor": actor, "action": action, "camera": camera, "from": since, "to": until}
    more = None
    if len(rows) == limit:
        more = f"{AUDIT}?{urlencode({**query, 'before': rows[-1].seq})}"
    return _page(
        request,
        person,
        "audit.html",
        N_("Audit log"),
        entries=entries,
        actions=audit_repo.actions(session),
        action_labels=AUDIT_LABELS,
        target_labels=TARGET_LABELS,
        filters=query,
        chain=chain,
        more_url=more,
        flashes=flashes,
    )


# --- organisations and units -------------------------------------------------------------------


def _orgs_page(
    request: Request, person: Principal, session: Session, flashes: list[Flash], status: int = 200
) -> Response:
    orgs = list(identity_repo.list_orgs(session))
    units = {o.id: list(identity_repo.list_units(session, o.id or 0)) for o in orgs}
    response = _page(
        request, person, "orgs.html", N_("Organisations"), orgs=orgs, units=units, flashes=flashes
    )
    response.status_code = status
    return response


@router.get(ORGS)
def orgs_page(request: Request, person: Person, session: SessionDep) -> Response:
    ensure(request, person, Action.org_read)
    return _orgs_page(request, person, session, [])


@router.post(ORGS, dependencies=[CsrfChecked])
async def create_org(request: Request, person: Person, session: SessionDep) -> Response:
    ensure(request, person, Action.org_create)
    form = await read_form(request)
    lang = page_context(request, person)["lang"]
    try:
        data = OrgCreate(name=form.get("name"), kind=OrgKind(form.get("kind") or "ward"))
        org = identity.create_org(session, person, data)
    except (ApiError, ValidationError, ValueError) as exc:
        flash = (
            _refused(session, exc, lang)
            if isinstance(exc, ApiError | ValidationError)
            else Flash(str(exc), "error")
        )
        return _orgs_page(request, person, session, [flash], status=422)
    done = i18n(lang).gettext("Organisation %(name)s created.") % {"name": org.name}
    return _orgs_page(request, person, session, [Flash(done, "success")])


@router.post(ORGS + "/{org_id}/units", dependencies=[CsrfChecked])
async def create_unit(
    request: Request, person: Person, session: SessionDep, org_id: IdPath
) -> Response:
    ensure(request, person, Action.unit_create)
    form = await read_form(request)
    lang = page_context(request, person)["lang"]
    try:
        unit = identity.create_unit(session, person, org_id, UnitCreate(name=form.get("name")))
    except (ApiError, ValidationError) as exc:
        return _orgs_page(request, person, session, [_refused(session, exc, lang)], status=422)
    done = i18n(lang).gettext("Unit %(name)s created.") % {"name": unit.name}
    return _orgs_page(request, person, session, [Flash(done, "success")])


# --- users and invitations ---------------------------------------------------------------------


def _users_page(
    request: Request,
    person: Principal,
    session: Session,
    flashes: list[Flash],
    *,
    invitation_url: str | None = None,
    invitee: str | None = None,
    status: int = 200,
) -> Response:
    users = identity.list_users(
        session, person, org_id=None, role=None, active=None, after_id=0, limit=1000
    )
    orgs = {o.id: o for o in identity_repo.list_orgs(session)} if person.is_admin else {}
    org_names = {i: o.name for i, o in orgs.items()}
    if not person.is_admin and person.org_id:
        own = identity_repo.get_org(session, person.org_id)
        org_names = {person.org_id: own.name} if own else {}
    units = identity_repo.unit_names(session, {u.unit_id for u in users if u.unit_id})
    rows = [
        {
            "user": u,
            "org": org_names.get(u.org_id, "") if u.org_id else "",
            "unit": units.get(u.unit_id, "") if u.unit_id else "",
            "manage": UserPolicy.can_manage(person, u) and u.id != person.user_id,
        }
        for u in users
    ]
    all_units = [
        (unit.id, f"{orgs[o].name} · {unit.name}")
        for o in orgs
        if orgs[o].kind == OrgKind.police
        for unit in identity_repo.list_units(session, o or 0)
    ]
    tr = i18n(page_context(request, person)["lang"])
    response = _page(
        request,
        person,
        "users.html",
        N_("Users"),
        rows=rows,
        can_create=person.is_admin,
        orgs=[(o.id, o.name) for o in orgs.values()],
        units=all_units,
        roles=[(r.value, tr.gettext(ROLE_LABELS[r.value])) for r in Role],
        invitation_url=invitation_url,
        invitee=invitee,
        flashes=flashes,
        compress=invitation_url is None,  # a one-time secret: see app.console.compression
    )
    response.status_code = status
    return response


@router.get(USERS)
def users_page(request: Request, person: Person, session: SessionDep) -> Response:
    ensure(request, person, Action.user_list)
    return _users_page(request, person, session, [])


def _int_or_none(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None


@router.post(USERS, dependencies=[CsrfChecked])
async def create_user(
    request: Request, person: Person, session: SessionDep, settings: SettingsDep
) -> Response:
    """Create a user and their invitation at once (the API's POST /users, then POST
    /users/{id}/invitations): the page shows the link to give them."""
    ensure(request, person, Action.user_create)
    form = await read_form(request)
    lang = page_context(request, person)["lang"]
    try:
        data = UserCreate(
            username=form.get("username"),
            full_name=form.get("full_name"),
            role=Role(form.get("role")) if form.get("role") in {r.value for r in Role} else "",
            org_id=_int_or_none(form.get("org_id")),
            unit_id=_int_or_none(form.get("unit_id")),
        )
        user, _ = identity.create_user(session, person, data)
        assert user.id is not None
        made = signin.create_invitation(session, person, user.id, settings)
    except (ApiError, ValidationError) as exc:
        return _users_page(request, person, session, [_refused(session, exc, lang)], status=422)
    tr = i18n(lang)
    done = tr.gettext("User %(name)s created. Give them the invitation link below.") % {
        "name": user.username
    }
    return _users_page(
        request,
        person,
        session,
        [Flash(done, "success")],
        invitation_url=made.url(base_url(request, settings.public_url)),
        invitee=user.username,
    )


@router.post(USERS + "/{user_id}/invite", dependencies=[CsrfChecked])
def invite_user(
    request: Request, person: Person, session: SessionDep, settings: SettingsDep, user_id: IdPath
) -> Response:
    ensure(request, person, Action.invitation_create)
    made = signin.create_invitation(session, person, user_id, settings)
    tr = i18n(page_context(request, person)["lang"])
    done = tr.gettext("Invitation for %(name)s created. Give them the link below.") % {
        "name": made.user.username
    }
    return _users_page(
        request,
        person,
        session,
        [Flash(done, "success")],
        invitation_url=made.url(base_url(request, settings.public_url)),
        invitee=made.user.username,
    )


def _set_active(
    request: Request, person: Principal, session: Session, user_id: int, active: bool
) -> Response:
    ensure(request, person, Action.user_manage)
    action = "user.reactivate" if active else "user.deactivate"
    user = identity.managed_user(session, person, user_id, action)
    lang = page_context(request, person)["lang"]
    try:
        identity.set_active(session, person, user, active)
    except ApiError as exc:
        return _users_page(request, person, session, [_refused(session, exc, lang)], status=409)
    tr = i18n(lang)
    text = (
        tr.gettext("%(name)s can sign in again.")
        if active
        else tr.gettext("%(name)s is deactivated: signed out everywhere, API keys refused.")
    ) % {"name": user.username}
    return _users_page(request, person, session, [Flash(text, "success")])


@router.post(USERS + "/{user_id}/deactivate", dependencies=[CsrfChecked])
def deactivate(request: Request, person: Person, session: SessionDep, user_id: IdPath) -> Response:
    return _set_active(request, person, session, user_id, False)


@router.post(USERS + "/{user_id}/reactivate", dependencies=[CsrfChecked])
def reactivate(request: Request, person: Person, session: SessionDep, user_id: IdPath) -> Response:
    return _set_active(request, person, session, user_id, True)


@router.get(INVITATIONS)
def invitations_page(request: Request, person: Person, session: SessionDep) -> Response:
    ensure(request, person, Action.invitation_list)
    now = utcnow()
    rows = [
        {
            "invitation": inv,
            "user": user,
            "state": state_of(inv.used_at, inv.revoked_at, inv.expires_at, now),
        }
        for inv, user in signin.invitations(session, person)
    ]
    return _page(request, person, "invitations.html", N_("Invitations"), rows=rows)


# --- legal holds -------------------------------------------------------------------------------


@router.get(HOLDS)
def holds_page(request: Request, person: Person, session: SessionDep) -> Response:
    ensure(request, person, Action.hold_list)
    rows = retention.holds(session)
    return _page(request, person, "holds.html", N_("Legal holds"), rows=rows)
