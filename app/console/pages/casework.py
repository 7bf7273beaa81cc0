"""Investigators' pages: their cases (list, open a new one, members, the timeline of what was
done under each), extraction requests whose state updates while fulfilment runs (htmx
polling), the package download, and playback of a ready package's clips in the browser with
HTTP range requests, for the case's members only. Each step is the API's service call
(`app.cases.service`, `app.extractions.service`) and leaves the API's audit entry."""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from app.audit import repository as audit
from app.auth.policy import Action
from app.auth.principal import Principal
from app.cameras import repository as camera_rows
from app.cases import repository as case_rows
from app.cases import service as cases
from app.cases.models import Case, CaseStatus
from app.cases.schemas import CaseCreate
from app.console import nav
from app.console.audit_labels import AUDIT_LABELS
from app.console.i18n import N_, I18n
from app.console.pages.common import (
    DEFAULT_ZONE,
    attempt,
    error_flash,
    form_time,
    fragment,
    page,
    people_named,
    tr_of,
)
from app.console.session import CsrfChecked, Form, Person, ensure, mark_console, read_form
from app.console.templating import Flash
from app.context import AppContext
from app.deps import MAX_ID, ContextDep, IdPath, SessionDep
from app.errors import ApiError, Conflict, NotFound
from app.extractions import service as extractions
from app.extractions.endpoints import package_response
from app.extractions.models import Extraction, ExtractionState
from app.extractions.schemas import ExtractionCreate, ExtractionPublic
from app.identity import repository as identity
from app.identity.models import Role

router = APIRouter(
    prefix="/casework", include_in_schema=False, dependencies=[Depends(mark_console)]
)
FormDep = Annotated[Form, Depends(read_form)]

STATE_LABELS = {
    "pending": N_("Waiting for the camera owners"),
    "approved": N_("Approved: the package is being prepared"),
    "processing": N_("The package is being prepared"),
    "no_footage": N_("No footage in the window"),
    "ready": N_("Ready"),
    "denied": N_("Denied"),
    "failed": N_("Failed"),
}
_CANNOT_BUILD = N_("The evidence package could not be built.")
FAILURES = {
    "tamper_suspected": N_(
        "A stored original no longer matches the SHA-256 recorded when it arrived: it may have "
        "been altered. No package was built. The camera's owner sees this in its access log."
    ),
    "original_missing": N_("A stored original is missing from the object store."),
    "object_missing": N_("A stored file is missing from the object store."),
    "source_missing": N_("A stored original could not be read."),
    "cut_failed": N_("The window could not be cut from the stored footage."),
    "redact_failed": N_("The footage could not be redacted."),
    "package_failed": _CANNOT_BUILD,
    "evidence_error": _CANNOT_BUILD,
    "job_failed": N_("The evidence package could not be built, after several attempts."),
}
"""What the requester is told of a failed request, by `failure.code` (the job's English
`error` is kept below it, for whoever mends it)."""
WORKING = {
    ExtractionState.pending.value,
    ExtractionState.approved.value,
    ExtractionState.processing.value,
}


def _case(
    request: Request, session: Session, person: Principal, case_id: int, action: Action
) -> Case:
    return cases.get_visible(session, person, case_id, action.value)


@router.get("/cases", summary="My cases")
def case_list(request: Request, session: SessionDep, person: Person) -> Response:
    ensure(request, person, Action.case_list)
    tr = tr_of(request, person)
    rows = cases.list_visible(session, person, status=None, before_id=None, limit=200)
    return page(
        request,
        person,
        "pages/cases.html",
        title=tr.gettext("Cases"),
        cases=rows,
        may_create=Action.case_create in _allowed(person),
        values={"number": "", "title": ""},
        errors={},
    )


def _allowed(person: Principal) -> set[Action]:
    from app.auth.policy import role_may

    return {a for a in Action if role_may(person.role, a)}


@router.post("/cases", dependencies=[CsrfChecked])
def open_case(request: Request, session: SessionDep, person: Person, form: FormDep) -> Response:
    ensure(request, person, Action.case_create)
    tr = tr_of(request, person)
    values = {"number": form.get("number").strip(), "title": form.get("title").strip()}
    errors: dict[str, str] = {}
    flashes: list[Flash] = []
    try:
        data = CaseCreate.model_validate(values)
    except ValidationError as exc:
        for err in exc.errors():
            errors.setdefault(str(err["loc"][0]), err["msg"])
    else:
        made = attempt(request, session, lambda: cases.create(session, person, data))
        if not isinstance(made, ApiError):
            return RedirectResponse(f"/casework/cases/{made.id}", status_code=303)
        flashes.append(error_flash(request, person, made))
    rows = cases.list_visible(session, person, status=None, before_id=None, limit=200)
    return page(
        request,
        person,
        "pages/cases.html",
        status_code=422,
        title=tr.gettext("Cases"),
        cases=rows,
        may_create=True,
        values=values,
        errors=errors,
        flashes=flashes,
    )


@router.get("/cases/{case_id}", summary="One case")
def case_page(
    case_id: IdPath,
    request: Request,
    session: SessionDep,
    person: Person,
    added: Annotated[int, Query()] = 0,
) -> Response:
    ensure(request, person, Action.case_read)
    case = _case(request, session, person, case_id, Action.case_read)
    tr = tr_of(request, person)
    members = people_named(session, list(case_rows.member_ids(session, case_id)))
    requests = [
        extractions.to_public(session, ex, person)
        for ex in extractions.list_for(session, person, state=None, limit=500)
        if ex.case_id == case_id
    ]
    timeline = []
    actors: dict[int, str] = {}
    for e in audit.for_case(session, case_id, limit=200):
        if e.actor_user_id is not None and e.actor_user_id not in actors:
            actors.update(people_named(session, [e.actor_user_id]))
        timeline.append(
            {
                "entry": e,
                "label": AUDIT_LABELS.get(e.action),
                "who": actors.get(e.actor_user_id or 0, ""),
            }
        )
    flashes = [Flash(tr.gettext("Member added."), "success")] if added else []
    return page(
        request,
        person,
        "pages/case.html",
        title=tr.gettext("Case %(number)s") % {"number": case.number},
        case=case,
        members=members,
        requests=requests,
        timeline=timeline,
        zone_name=DEFAULT_ZONE,
        state_labels=STATE_LABELS,
        may_add=Action.case_member_add in _allowed(person),
        may_request=Action.extraction_create in _allowed(person) and case.status == CaseStatus.open,
        flashes=flashes,
    )


@router.post("/cases/{case_id}/members", dependencies=[CsrfChecked])
def add_member(
    case_id: IdPath, request: Request, session: SessionDep, person: Person, form: FormDep
) -> Response:
    ensure(request, person, Action.case_member_add)
    case = _case(request, session, person, case_id, Action.case_member_add)
    user = identity.user_named(session, form.get("username").strip())
    user_id = user.id if user and user.id else 0
    cases.add_member(session, person, case, user_id or MAX_ID)
    return RedirectResponse(f"/casework/cases/{case_id}?added=1", status_code=303)


def _request_form(
    request: Request,
    session: Session,
    person: Principal,
    values: dict[str, Any],
    *,
    errors: dict[str, str] | None = None,
    flashes: list[Flash] | None = None,
    status_code: int = 200,
) -> Response:
    tr = tr_of(request, person)
    mine = cases.list_visible(session, person, status=CaseStatus.open, before_id=None, limit=200)
    visible = camera_rows.visible_cameras(session, person)
    chosen = [visible[c] for c in values["camera_id"] if c in visible]
    zone_name = chosen[0].timezone if chosen else DEFAULT_ZONE
    return page(
        request,
        person,
        "pages/request_form.html",
        status_code=status_code,
        title=tr.gettext("Request footage"),
        values=values,
        errors=errors or {},
        flashes=flashes or [],
        cases=[c for c in mine if case_rows.is_member(session, c.id or 0, person.user_id)],
        camera_choices=sorted(((c.id, c.name) for c in visible.values()), key=lambda x: x[1]),
        zone_name=zone_name,
    )


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and 0 < int(v) <= MAX_ID]


@router.get("/request", summary="Request footage (pre-filled from a result)")
def request_form(request: Request, session: SessionDep, person: Person) -> Response:
    ensure(request, person, Action.extraction_create)
    q = request.query_params
    values = {
        "case_id": q.get("case_id", ""),
        "camera_id": _ids(q.getlist("camera_id")),
        "from": q.get("from", ""),
        "to": q.get("to", ""),
        "reason": "",
        "redact": False,
    }
    return _request_form(request, session, person, values)


@router.post("/request", dependencies=[CsrfChecked])
def file_request(
    request: Request, session: SessionDep, ctx: ContextDep, person: Person, form: FormDep
) -> Response:
    ensure(request, person, Action.extraction_create)
    tr = tr_of(request, person)
    values: dict[str, Any] = {
        "case_id": form.get("case_id"),
        "camera_id": _ids(form.getall("camera_id")),
        "from": form.get("from"),
        "to": form.get("to"),
        "reason": form.get("reason").strip(),
        "redact": form.get("redact") == "1",
    }
    visible = camera_rows.visible_cameras(session, person)
    chosen = [visible[c] for c in values["camera_id"] if c in visible]
    zone_name = chosen[0].timezone if chosen else DEFAULT_ZONE
    errors: dict[str, str] = {}
    if not values["case_id"].isdigit():
        errors["case_id"] = tr.gettext("Choose the case this footage is for.")
    try:
        start = form_time(values["from"], zone_name)
        end = form_time(values["to"], zone_name)
    except ValueError:
        start = end = None
    if start is None or end is None:
        errors["from"] = tr.gettext("Give the time window as date and time.")
    if errors:
        return _request_form(request, session, person, values, errors=errors, status_code=422)
    try:
        data = ExtractionCreate.model_validate(
            {
                "camera_ids": values["camera_id"],
                "from": start,
                "to": end,
                "reason": values["reason"],
                "redact": values["redact"],
            }
        )
    except ValidationError as exc:
        for err in exc.errors():
            name = {"camera_ids": "camera_id", "from": "from"}.get(
                str(err["loc"][0]), str(err["loc"][0])
            )
            errors.setdefault(name, err["msg"])
        return _request_form(request, session, person, values, errors=errors, status_code=422)
    made = attempt(
        request,
        session,
        lambda: extractions.request(
            session,
            person,
            int(values["case_id"]),
            data,
            max_hours=ctx.settings.max_extraction_hours,
        ),
    )
    if isinstance(made, ApiError):
        return _request_form(
            request,
            session,
            person,
            values,
            flashes=[error_flash(request, person, made)],
            status_code=made.status_code,
        )
    return RedirectResponse(f"/casework/extractions/{made.id}", status_code=303)


def _extraction(
    request: Request, session: Session, person: Principal, extraction_id: int, action: Action
) -> Extraction:
    return extractions.get_visible(session, person, extraction_id, action.value)


def _view(session: Session, person: Principal, ex: Extraction) -> dict[str, Any]:
    public: ExtractionPublic = extractions.to_public(session, ex, person)
    cams = {c.id: c for c in camera_rows.get_many(session, [d.camera_id for d in public.cameras])}
    zone_name = next(iter(cams.values())).timezone if cams else DEFAULT_ZONE
    return {
        "ex": public,
        "cams": cams,
        "zone_name": zone_name,
        "working": public.state in WORKING,
        "state_labels": STATE_LABELS,
        "failures": FAILURES,
        "requester": people_named(session, [public.requested_by])[public.requested_by],
    }


@router.get("/extractions/{extraction_id}", summary="One extraction request")
def extraction_page(
    extraction_id: IdPath, request: Request, session: SessionDep, ctx: ContextDep, person: Person
) -> Response:
    ensure(request, person, Action.extraction_read)
    ex = _extraction(request, session, person, extraction_id, Action.extraction_read)
    tr = tr_of(request, person)
    view = _view(session, person, ex)
    return page(
        request,
        person,
        "pages/extraction.html",
        title=tr.gettext("Request %(id)s, case %(case)s")
        % {"id": ex.id, "case": view["ex"].case_number},
        **view,
    )


@router.get("/extractions/{extraction_id}/state", summary="The request's state (htmx)")
def extraction_state(
    extraction_id: IdPath, request: Request, session: SessionDep, person: Person
) -> Response:
    """Polled by the request's page while the owners decide and the package is built; it
    stops polling once the state is final (the fragment then has no hx-trigger)."""
    ensure(request, person, Action.extraction_read)
    ex = _extraction(request, session, person, extraction_id, Action.extraction_read)
    return fragment(request, person, "pages/extraction_state.html", **_view(session, person, ex))


@router.get("/extractions/{extraction_id}/package", summary="Download the package")
def package(
    extraction_id: IdPath, request: Request, session: SessionDep, ctx: ContextDep, person: Person
) -> Response:
    """`GET /extractions/{id}/package` for the console: the same checks and audit entry,
    committed before the first byte is sent."""
    ensure(request, person, Action.package_download)
    ex = _extraction(request, session, person, extraction_id, Action.package_download)
    extractions.record_download(session, person, ex)
    return package_response(ctx.store, ex)


def _package_dir(ctx: AppContext, ex: Extraction) -> Path:
    """The ready package's clips, unpacked once into the data directory (a package never
    changes: its SHA-256 names the folder), so the browser can seek in them with ranges."""
    assert ex.package_key is not None and ex.package_sha256
    root = ctx.settings.data_dir / "console-clips" / ex.package_sha256
    if root.is_dir():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(dir=root.parent, prefix=".unpack-"))
    try:
        zpath = work / "package.zip"
        with zpath.open("wb") as out:
            for chunk in ctx.store.iter_chunks(ex.package_key):
                out.write(chunk)
        with zipfile.ZipFile(zpath) as zf:
            for info in zf.infolist():
                name = info.filename
                if name.startswith("clips/") and name.endswith(".mp4") and ".." not in name:
                    target = work / "out" / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, target.open("wb") as dst:
                        shutil.copyfileobj(src, dst, 1 << 20)
        (work / "out").mkdir(exist_ok=True)
        with contextlib.suppress(OSError):  # another request unpacked it first
            (work / "out").rename(root)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return root


def _clips(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.mp4"))


def _ready(session: Session, request: Request, person: Principal, extraction_id: int) -> Extraction:
    ensure(request, person, Action.package_download)
    ex = _extraction(request, session, person, extraction_id, Action.package_download)
    if ex.state != ExtractionState.ready or not ex.package_key:
        raise Conflict(f"no package: the request is {ex.state}", code="package_not_ready")
    return ex


@router.get("/extractions/{extraction_id}/play", summary="Play the package's clips")
def play(
    extraction_id: IdPath, request: Request, session: SessionDep, ctx: ContextDep, person: Person
) -> Response:
    """The clips of a ready package in the browser; opening them is audited like a
    download (`extraction.play`, in each packaged camera's access log)."""
    ex = _ready(session, request, person, extraction_id)
    clips = _clips(_package_dir(ctx, ex))
    extractions.record_play(session, person, ex, clips)
    tr = tr_of(request, person)
    view = _view(session, person, ex)
    return page(
        request,
        person,
        "pages/play.html",
        title=tr.gettext("Clips of request %(id)s") % {"id": ex.id},
        clips=[
            {
                "name": c,
                "camera": _clip_camera(c, view["cams"], tr),
                "url": f"/casework/extractions/{ex.id}/clips/{c}",
            }
            for c in clips
        ],
        **view,
    )


def _clip_camera(name: str, cams: dict[int | None, Any], tr: I18n) -> str:
    """The camera's name for `clips/cam12/clip.mp4` (the fulfilment job names each camera's
    folder `cam<id>`), marked when the clip is the redacted one."""
    parts = name.split("/")
    found = re.fullmatch(r"cam(\d+)", parts[1]) if len(parts) == 3 else None
    cam = cams.get(int(found.group(1))) if found else None
    label = cam.name if cam is not None else name
    if parts[-1] == "clip_redacted.mp4":
        label = tr.gettext("%(camera)s (bystanders blurred)") % {"camera": label}
    return str(label)


@router.get("/extractions/{extraction_id}/clips/{name:path}", summary="One clip (ranges)")
def clip(
    extraction_id: IdPath,
    name: str,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    person: Person,
) -> Response:
    """A clip of a ready package, with HTTP range requests (the video element seeks); the
    same members-only check as the download on every request."""
    ex = _ready(session, request, person, extraction_id)
    root = _package_dir(ctx, ex)
    if name not in _clips(root):
        return Response(status_code=NotFound.status_code)
    return FileResponse(
        root / name,
        media_type="video/mp4",
        headers={"Cache-Control": "private, no-store"},
        content_disposition_type="inline",
    )


nav.register(
    N_("Cases"),
    "/casework/cases",
    {Role.investigator, Role.supervisor, Role.officer},
    order=20,
    description=N_("Your cases, their requests for footage and evidence packages"),
)
