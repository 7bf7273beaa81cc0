"""The ward committee's pages: its cameras on a map and in a list with their state, register
and edit a camera by placing it on the map, upload footage, the extraction requests awaiting
its decision, and each camera's access log. Every change goes through the same service as its
API twin (`app.cameras.service`, `app.extractions.service`), so the rules and the audit
entries are the API's."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import available_timezones

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

import app.console.pages.camera_stream as camera_stream
from app.audit import repository as audit
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cameras import repository as camera_rows
from app.cameras import service as cameras
from app.cameras.models import Camera, CameraStatus, SharingPolicy
from app.cameras.schemas import CameraCreate, CameraUpdate
from app.console import nav
from app.console.api_errors import field_errors
from app.console.audit_labels import AUDIT_LABELS
from app.console.i18n import N_
from app.console.maps import MapCamera
from app.console.pages.common import (
    DEFAULT_ZONE,
    attempt,
    error_flash,
    page,
    people_named,
    tr_of,
)
from app.console.session import CsrfChecked, Form, Person, ensure, mark_console, read_form
from app.console.templating import Flash
from app.deps import MAX_ID, ContextDep, IdPath, SessionDep
from app.errors import ApiError
from app.extractions import service as extractions
from app.extractions.models import ExtractionState
from app.extractions.schemas import DecisionIn
from app.footage import service as footage
from app.identity import repository as identity
from app.identity.models import Role
from app.text import CleanStr

router = APIRouter(prefix="/ward", include_in_schema=False, dependencies=[Depends(mark_console)])
FormDep = Annotated[Form, Depends(read_form)]

SHARING_LABELS = {
    SharingPolicy.owner_approval.value: N_("Each request needs our approval"),
    SharingPolicy.auto.value: N_("Approve requests automatically"),
}
STATUS_LABELS = {
    CameraStatus.active.value: N_("Active"),
    CameraStatus.maintenance.value: N_("Under maintenance"),
    CameraStatus.retired.value: N_("Retired"),
}
DECISION_LABELS = {
    "pending": N_("Awaiting decision"),
    "approved": N_("Approved"),
    "denied": N_("Denied"),
}
CAMERA_FIELDS = ("name", "address", "latitude", "longitude", "timezone", "retention_days")


def _zones() -> list[str]:
    asia = sorted(z for z in available_timezones() if z.startswith("Asia/"))
    return [DEFAULT_ZONE, *[z for z in asia if z != DEFAULT_ZONE], "UTC"]


def _own_cameras(session: Session, person: Principal) -> list[Camera]:
    return [c for c, _ in camera_rows.list_visible(session, person, limit=1000)]


@router.get("", summary="The ward's cameras")
def ward_home(request: Request, session: SessionDep, person: Person) -> Response:
    ensure(request, person, Action.camera_update)  # the owner's page (wards; admins see all)
    tr = tr_of(request, person)
    cams = _own_cameras(session, person)
    states = footage.camera_states(session, cams)
    markers = []
    for c in cams:
        assert c.id is not None
        st = states[c.id]
        detail = (
            tr.gettext("Last footage: %(when)s")
            % {"when": tr.datetime(st.last_footage_end, c.timezone)}
            if st.last_footage_end
            else tr.gettext("No footage yet")
        )
        markers.append(
            MapCamera(
                c.id, c.name, c.latitude, c.longitude, f"/ward/cameras/{c.id}", detail
            ).as_json()
        )
    return page(
        request,
        person,
        "pages/ward_cameras.html",
        title=tr.gettext("Our cameras"),
        cameras=cams,
        states=states,
        markers=markers,
        status_labels=STATUS_LABELS,
    )


def _camera_form_values(camera: Camera | None) -> dict[str, Any]:
    if camera is None:
        return {
            **camera_stream.blank_values(),
            "name": "",
            "address": "",
            "latitude": "",
            "longitude": "",
            "timezone": DEFAULT_ZONE,
            "retention_days": "30",
            "sharing_policy": SharingPolicy.owner_approval.value,
            "status": CameraStatus.active.value,
        }
    return {
        **camera_stream.blank_values(),
        "name": camera.name,
        "address": camera.address,
        "latitude": f"{camera.latitude:.6f}",
        "longitude": f"{camera.longitude:.6f}",
        "timezone": camera.timezone,
        "retention_days": str(camera.retention_days),
        "sharing_policy": camera.sharing_policy.value,
        "status": camera.status.value,
    }


def _camera_form(
    request: Request,
    person: Principal,
    session: Session,
    *,
    camera: Camera | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    flashes: list[Flash] | None = None,
    status_code: int = 200,
) -> Response:
    tr = tr_of(request, person)
    others = [c for c in _own_cameras(session, person) if camera is None or c.id != camera.id]
    upload = None
    if camera is not None:
        upload = {
            "url": f"/cameras/{camera.id}/footage",
            "action": f"/ward/cameras/{camera.id}",
            "timezone": camera.timezone,
        }
    return page(
        request,
        person,
        "pages/ward_camera_form.html",
        status_code=status_code,
        title=camera.name if camera else tr.gettext("Register a camera"),
        camera=camera,
        values=values,
        errors=errors or {},
        # a long form on a phone: what is wrong is said at its top too (a select has no
        # place of its own for it)
        flashes=[*(flashes or []), *(Flash(text, "error") for text in (errors or {}).values())],
        zones=_zones(),
        sharing_labels=SHARING_LABELS,
        status_labels=STATUS_LABELS,
        vendor_labels=camera_stream.VENDOR_LABELS,
        stream=camera_stream.state(camera),
        others=[
            MapCamera(c.id or 0, c.name, c.latitude, c.longitude, f"/ward/cameras/{c.id}").as_json()
            for c in others
        ],
        upload=upload,
    )


def _field_errors(request: Request, person: Principal, exc: ValidationError) -> dict[str, str]:
    """Each invalid field's sentence in the person's language, by the form's field."""
    return field_errors(exc, tr_of(request, person).lang, camera_stream.error_field)


_DECIMAL_COMMA = re.compile(r"[-+]?\d+,\d+")
_PAIR = re.compile(r"([-+]?\d+(?:\.\d+)?)\s*[,;]\s*([-+]?\d+(?:\.\d+)?)")


def typed_coordinates(latitude: str, longitude: str) -> tuple[str, str]:
    """Coordinates as people type them: with a decimal comma (`10,7725`: Vietnamese, and what
    a phone's decimal keypad offers in Vietnamese), or both pasted into the latitude
    (`10.7725, 106.698`, as a map application copies a place) with the longitude left empty."""
    pair = _PAIR.fullmatch(latitude)
    if pair and not longitude and not _DECIMAL_COMMA.fullmatch(latitude):
        return pair.group(1), pair.group(2)

    def point(text: str) -> str:
        return text.replace(",", ".") if _DECIMAL_COMMA.fullmatch(text) else text

    return point(latitude), point(longitude)


def _posted_camera(form: Form) -> dict[str, Any]:
    values = {k: form.get(k).strip() for k in (*CAMERA_FIELDS, "sharing_policy", "status")}
    values["latitude"], values["longitude"] = typed_coordinates(
        values["latitude"], values["longitude"]
    )
    return values


def _shown_again(form: Form, values: dict[str, Any]) -> dict[str, Any]:
    """What a form that failed shows: as posted, without the password or the addresses."""
    return {**values, **camera_stream.posted_values(form)}


@router.get("/cameras/new", summary="Register a camera")
def new_camera(request: Request, session: SessionDep, person: Person) -> Response:
    ensure(request, person, Action.camera_create)
    return _camera_form(request, person, session, camera=None, values=_camera_form_values(None))


@router.post("/cameras/new", dependencies=[CsrfChecked])
def create_camera(
    request: Request, session: SessionDep, ctx: ContextDep, person: Person, form: FormDep
) -> Response:
    ensure(request, person, Action.camera_create)
    values = _posted_camera(form)
    stream = camera_stream.posted_changes(form, editing=False)
    try:
        data = CameraCreate.model_validate(
            {**{k: v for k, v in values.items() if k != "status"}, **stream}
        )
    except ValidationError as exc:
        return _camera_form(
            request,
            person,
            session,
            camera=None,
            values=_shown_again(form, values),
            errors=_field_errors(request, person, exc),
            status_code=422,
        )
    made = attempt(
        request,
        session,
        lambda: cameras.create(
            session,
            person,
            data,
            ctx.secret_box,
            allow_file_streams=ctx.settings.allow_file_streams,
        ),
    )
    if isinstance(made, ApiError):
        return _camera_form(
            request,
            person,
            session,
            camera=None,
            values=_shown_again(form, values),
            flashes=[error_flash(request, person, made)],
            status_code=made.status_code,
        )
    return RedirectResponse(f"/ward/cameras/{made.id}?saved=1", status_code=303)


def _managed(session: Session, person: Principal, camera_id: int, action: Action) -> Camera:
    return cameras.get_for(session, person, camera_id, manage=True, action=action.value)


@router.get("/cameras/{camera_id}", summary="One camera: edit, upload")
def camera_page(
    camera_id: IdPath,
    request: Request,
    session: SessionDep,
    person: Person,
    saved: Annotated[int, Query()] = 0,
) -> Response:
    ensure(request, person, Action.camera_update)
    camera = _managed(session, person, camera_id, Action.camera_update)
    tr = tr_of(request, person)
    flashes = [Flash(tr.gettext("Camera saved."), "success")] if saved else []
    return _camera_form(
        request, person, session, camera=camera, values=_camera_form_values(camera), flashes=flashes
    )


@router.post("/cameras/{camera_id}", dependencies=[CsrfChecked])
def update_camera(
    camera_id: IdPath,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    person: Person,
    form: FormDep,
) -> Response:
    ensure(request, person, Action.camera_update)
    camera = _managed(session, person, camera_id, Action.camera_update)
    values = _posted_camera(form)
    current = _camera_form_values(camera)
    changes = {k: v for k, v in values.items() if v != current.get(k)}
    changes.update(camera_stream.posted_changes(form, editing=True))
    if not changes:
        return RedirectResponse(f"/ward/cameras/{camera_id}", status_code=303)
    try:
        data = CameraUpdate.model_validate(changes)
    except ValidationError as exc:
        return _camera_form(
            request,
            person,
            session,
            camera=camera,
            values=_shown_again(form, values),
            errors=_field_errors(request, person, exc),
            status_code=422,
        )
    done = attempt(
        request,
        session,
        lambda: cameras.update(
            session,
            person,
            camera,
            data,
            ctx.secret_box,
            allow_file_streams=ctx.settings.allow_file_streams,
        ),
    )
    if isinstance(done, ApiError):
        again = camera_rows.get(session, camera_id)
        return _camera_form(
            request,
            person,
            session,
            camera=again,
            values=_shown_again(form, values),
            flashes=[error_flash(request, person, done)],
            status_code=done.status_code,
        )
    return RedirectResponse(f"/ward/cameras/{camera_id}?saved=1", status_code=303)


@router.get("/cameras/{camera_id}/access-log", summary="A camera's access log")
def access_log(
    camera_id: IdPath,
    request: Request,
    session: SessionDep,
    person: Person,
    cursor: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    recorded: bool = False,
) -> Response:
    ensure(request, person, Action.camera_access_log)
    camera = _managed(session, person, camera_id, Action.camera_access_log)
    limit = 50
    rows = audit.for_camera(session, camera_id, before_id=cursor, limit=limit, recorded=recorded)
    names: dict[int, str] = {}
    orgs: dict[int, str] = {}
    entries = []
    for e in rows:
        who = ""
        if e.actor_user_id is not None:
            if e.actor_user_id not in names:
                names.update(people_named(session, [e.actor_user_id]))
            who = names[e.actor_user_id]
        org = ""
        if e.actor_org_id is not None:
            if e.actor_org_id not in orgs:
                found = identity.get_org(session, e.actor_org_id)
                orgs[e.actor_org_id] = found.name if found else "?"
            org = orgs[e.actor_org_id]
        details = json.loads(e.details) if e.details else {}
        entries.append(
            {
                "entry": e,
                "label": AUDIT_LABELS.get(e.action),
                "who": who,
                "org": org,
                "results": details.get("results") if isinstance(details, dict) else None,
            }
        )
    more = None
    if len(rows) == limit and rows[-1].id is not None:
        query: dict[str, object] = {"cursor": rows[-1].id}
        if recorded:
            query["recorded"] = 1
        more = f"/ward/cameras/{camera_id}/access-log?{urlencode(query)}"
    template = (
        "pages/access_log_rows.html"
        if cursor is not None and request.headers.get("hx-request")
        else "pages/ward_access_log.html"
    )
    tr = tr_of(request, person)
    return page(
        request,
        person,
        template,
        title=tr.gettext("Access log: %(camera)s") % {"camera": camera.name},
        camera=camera,
        entries=entries,
        more=more,
        recorded=recorded,
        action_labels=AUDIT_LABELS,
    )


def _request_rows(session: Session, person: Principal, state: str | None) -> list[dict[str, Any]]:
    rows = extractions.list_for(session, person, state=state, limit=200)
    out = []
    for ex in rows:
        public = extractions.to_public(session, ex, person)
        cams = {
            c.id: c for c in camera_rows.get_many(session, [d.camera_id for d in public.cameras])
        }
        requester = people_named(session, [public.requested_by])[public.requested_by]
        out.append({"ex": public, "cams": cams, "requester": requester})
    return out


def per_camera_decisions() -> bool:
    """Whether `DecisionIn` decides chosen cameras (`camera_ids`) rather than all of the
    ward's cameras in the request at once."""
    return "camera_ids" in DecisionIn.model_fields


@router.get("/requests", summary="Extraction requests awaiting the ward")
def requests_page(
    request: Request,
    session: SessionDep,
    person: Person,
    done: Annotated[CleanStr, Query(max_length=16)] = "",
) -> Response:
    ensure(request, person, Action.extraction_decide)
    tr = tr_of(request, person)
    flashes = []
    if done == "approve":
        flashes.append(Flash(tr.gettext("Approved. The requester has been told."), "success"))
    elif done == "deny":
        flashes.append(Flash(tr.gettext("Denied. The requester has been told."), "success"))
    pending = _request_rows(session, person, ExtractionState.pending.value)
    decided = [r for r in _request_rows(session, person, None) if r["ex"].state != "pending"][:20]
    return page(
        request,
        person,
        "pages/ward_requests.html",
        title=tr.gettext("Requests for footage"),
        pending=pending,
        decided=decided,
        flashes=flashes,
        per_camera=per_camera_decisions(),
        decision_labels=DECISION_LABELS,
    )


@router.post("/requests/{extraction_id}/decision", dependencies=[CsrfChecked])
def decide(
    extraction_id: IdPath,
    request: Request,
    session: SessionDep,
    person: Person,
    form: FormDep,
) -> Response:
    ensure(request, person, Action.extraction_decide)
    body: dict[str, Any] = {"decision": form.get("decision"), "note": form.get("note").strip()}
    if per_camera_decisions():
        picked = [int(v) for v in form.getall("camera_ids") if v.isdigit() and 0 < int(v) <= MAX_ID]
        if picked:
            body["camera_ids"] = picked
    try:
        data = DecisionIn.model_validate(body)
    except ValidationError as exc:
        tr = tr_of(request, person)
        return page(
            request,
            person,
            "pages/ward_requests.html",
            status_code=422,
            title=tr.gettext("Requests for footage"),
            pending=_request_rows(session, person, ExtractionState.pending.value),
            decided=[],
            flashes=[Flash(exc.errors()[0]["msg"], "error")],
            per_camera=per_camera_decisions(),
            decision_labels=DECISION_LABELS,
        )
    extractions.decide(session, person, extraction_id, data)
    return RedirectResponse(f"/ward/requests?done={data.decision}", status_code=303)


nav.register(
    N_("Our cameras"),
    "/ward",
    {Role.ward},
    order=10,
    description=N_("Cameras on a map, their footage and gaps; register and upload"),
)
nav.register(
    N_("Requests for footage"),
    "/ward/requests",
    {Role.ward},
    order=20,
    description=N_("Approve or deny the police's requests for your cameras' footage"),
)


@router.post("/cameras/{camera_id}/footage", summary="Upload without JavaScript")
def upload_without_script(camera_id: IdPath, request: Request, person: Person) -> Response:
    """Where the upload form posts when the page's script did not run: the file is sent as
    the raw body of `POST /cameras/{id}/footage` by the script only (the API refuses
    multipart bodies), so say so; nothing is stored."""
    ensure(request, person, Action.footage_upload)
    raise ApiError(  # the page says it in the reader's language (`api_errors`)
        "uploading from the console needs JavaScript (the script sends the file as the raw "
        "request body); nothing was stored",
        code="raw_body_required",
        status_code=415,
    )
