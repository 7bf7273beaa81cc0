"""Search for officers and investigators: draw a circle, rectangle or polygon (or pick
cameras), a time window in the cameras' local time, classes and colours, and the case or
purpose the API requires. Results come from `app.events.service.search`, the very call
behind `GET /events`, so a console search is the same audit entry; the histogram above them
is `GET /events/histogram`'s, a thumbnail `GET /events/{id}/thumbnail`'s, an opened result
`GET /events/{id}`'s."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from app.auth.policy import Action, role_may
from app.auth.principal import Principal
from app.cameras import repository as camera_rows
from app.cases import service as cases
from app.cases.models import CaseStatus
from app.console import nav
from app.console.i18n import N_, I18n, datetime_local_value, format_utc_offset, zone
from app.console.maps import MapCamera
from app.console.pages.common import (
    DEFAULT_ZONE,
    attempt,
    error_flash,
    form_time,
    fragment,
    page,
    refusal_text,
    tr_of,
)
from app.console.session import Person, ensure, mark_console
from app.console.templating import Flash
from app.db import utcnow
from app.deps import MAX_ID, ContextDep, SessionDep
from app.errors import ApiError, NotFound
from app.events import service as events
from app.events.service import RawFilters
from app.identity.models import Role
from app.text import CleanStr
from detectors import LABELS, PALETTE

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_console)])

PAGE_SIZE = 48
LABEL_NAMES = {
    "person": N_("Person"),
    "bicycle": N_("Bicycle"),
    "car": N_("Car"),
    "motorcycle": N_("Motorbike"),
    "bus": N_("Bus"),
    "truck": N_("Truck"),
}
COLOUR_NAMES = {
    "white": N_("White"),
    "black": N_("Black"),
    "grey": N_("Grey"),
    "red": N_("Red"),
    "blue": N_("Blue"),
    "green": N_("Green"),
    "yellow": N_("Yellow"),
    "brown": N_("Brown or orange"),
    "unknown": N_("Colour unknown"),
}
BUCKETS = (
    ("1m", 60),
    ("5m", 300),
    ("15m", 900),
    ("30m", 1800),
    ("1h", 3600),
    ("3h", 10800),
    ("6h", 21600),
    ("12h", 43200),
    ("1d", 86400),
)
MAX_BARS = 48


@dataclass
class SearchForm:
    """The search form as typed (re-rendered as typed) and what it means for the API."""

    values: dict[str, Any]
    raw: RawFilters | None
    error: str | None
    submitted: bool


def _zone_of(session: Session, person: Principal) -> str:
    """Times are typed and shown in the cameras' own zone: the zone every visible camera
    shares, else Việt Nam's."""
    zones = {c.timezone for c in camera_rows.visible_cameras(session, person).values()}
    return zones.pop() if len(zones) == 1 else DEFAULT_ZONE


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit() and 0 < int(v) <= MAX_ID]


def read_search(request: Request, tz: str, tr: I18n) -> SearchForm:
    q = request.query_params
    now = utcnow()
    values: dict[str, Any] = {
        "from": q.get("from") or datetime_local_value(now - timedelta(hours=24), tz)[:16],
        "to": q.get("to") or datetime_local_value(now, tz)[:16],
        "near": q.get("near", ""),
        "radius_m": q.get("radius_m", ""),
        "bbox": q.get("bbox", ""),
        "polygon": q.get("polygon", ""),
        "label": q.getlist("label"),
        "color": q.getlist("color"),
        "camera_id": _ids(q.getlist("camera_id")),
        "case_id": q.get("case_id", ""),
        "purpose": q.get("purpose", ""),
    }
    submitted = "go" in q or "cursor" in q
    if not submitted:
        return SearchForm(values, None, None, False)
    try:
        start = form_time(values["from"], tz)
        end = form_time(values["to"], tz)
    except ValueError:
        return SearchForm(values, None, tr.gettext("Give the time window as date and time."), True)
    radius = None
    if values["radius_m"]:
        try:
            radius = float(values["radius_m"])
        except ValueError:
            return SearchForm(values, None, tr.gettext("The radius is not a number."), True)
    case_id = int(values["case_id"]) if str(values["case_id"]).isdigit() else None
    raw = RawFilters(
        from_=start,
        to=end,
        near=values["near"] or None,
        radius_m=radius,
        bbox=values["bbox"] or None,
        polygon=values["polygon"] or None,
        labels=list(values["label"]),
        colors=list(values["color"]),
        camera_ids=list(values["camera_id"]),
        case_id=case_id,
        purpose=None if case_id else (values["purpose"].strip() or None),
    )
    return SearchForm(values, raw, None, True)


def _query(values: dict[str, Any], **extra: Any) -> str:
    pairs: list[tuple[str, Any]] = []
    for key in ("from", "to", "near", "radius_m", "bbox", "polygon", "case_id", "purpose"):
        if values.get(key):
            pairs.append((key, values[key]))
    for key in ("label", "color", "camera_id"):
        pairs += [(key, v) for v in values.get(key, [])]
    pairs.append(("go", "1"))
    pairs += [(k, v) for k, v in extra.items() if v is not None]
    return urlencode(pairs)


def _why(values: dict[str, Any]) -> str:
    """The case or purpose a result's links carry (thumbnails and opened results are read
    under the reason their search gave, as the API's links are)."""
    if str(values.get("case_id", "")).isdigit():
        return urlencode({"case_id": values["case_id"]})
    return urlencode({"purpose": values.get("purpose", "")})


def _bucket(start: datetime, end: datetime) -> tuple[str, int]:
    span = (end - start).total_seconds()
    for name, seconds in BUCKETS:
        if span / seconds <= MAX_BARS:
            return name, seconds
    return BUCKETS[-1]


@dataclass
class Bars:
    """The histogram above the results: sightings per bucket, all cameras together."""

    bars: list[dict[str, Any]]
    total: int
    bucket_seconds: int


@dataclass
class Results:
    items: list[dict[str, Any]]
    next_url: str | None
    cameras_searched: int
    histogram: Bars | None = None
    histogram_url: str | None = None
    """Where htmx fetches the histogram after the thumbnails (a results fragment)."""


def run_search(
    session: Session, ctx: Any, person: Principal, form: SearchForm, *, cursor: str | None
) -> Results:
    """One page of results: the service call behind `GET /events`; ApiError as the API
    raises it."""
    assert form.raw is not None
    found = events.search(
        session,
        person,
        form.raw,
        codec=ctx.cursor_codec,
        max_days=ctx.settings.max_search_days,
        order="asc",
        limit=PAGE_SIZE,
        cursor=cursor,
    )
    why = _why(form.values)
    items = found["items"]
    for item in items:
        item["thumb"] = f"/search/thumbnail/{item['id']}?{why}" if item["thumbnail_url"] else None
        item["open"] = f"/search/event/{item['id']}?{why}"
    nxt = found["next_cursor"]
    next_url = f"/search/results?{_query(form.values, cursor=nxt)}" if nxt else None
    return Results(items, next_url, found["cameras_searched"])


def run_histogram(session: Session, ctx: Any, person: Principal, form: SearchForm) -> Bars:
    """The histogram over the window: the service call behind `GET /events/histogram`."""
    assert form.raw is not None and form.raw.from_ is not None and form.raw.to is not None
    name, size = _bucket(form.raw.from_, form.raw.to)
    hist = events.histogram(
        session, person, form.raw, max_days=ctx.settings.max_search_days, bucket=name
    )
    sums = [0] * hist.buckets
    for cam in hist.cameras:
        for i, n in enumerate(cam.counts):
            sums[i] += n
    top = max(sums) if sums else 0
    bars = [
        {
            "start": hist.start + timedelta(seconds=i * hist.bucket_seconds),
            "count": n,
            "height": round(100 * n / top) if top else 0,
        }
        for i, n in enumerate(sums)
    ]
    return Bars(bars, hist.total, size)


def _cases_of(session: Session, person: Principal) -> list[Any]:
    if not role_may(person.role, Action.case_list):
        return []
    return cases.list_visible(session, person, status=CaseStatus.open, before_id=None, limit=100)


@router.get("/search", summary="Search footage by place and time")
def search_page(request: Request, session: SessionDep, ctx: ContextDep, person: Person) -> Response:
    ensure(request, person, Action.event_search)
    tr = tr_of(request, person)
    tz = _zone_of(session, person)
    form = read_search(request, tz, tr)
    visible = camera_rows.visible_cameras(session, person)
    markers = [MapCamera(c.id, c.name, c.latitude, c.longitude).as_json() for c in visible.values()]
    results: Results | None = None
    flashes = []
    status = 200
    if form.error:
        flashes.append(_flash(form.error))
        status = 422
    elif form.raw is not None:
        found = attempt(request, session, lambda: _first_page(session, ctx, person, form))
        if isinstance(found, ApiError):
            flashes.append(error_flash(request, person, found))
            status = found.status_code
        else:
            results = found
    offset = format_utc_offset(utcnow().astimezone(zone(tz)).utcoffset())
    return page(
        request,
        person,
        "pages/search.html",
        status_code=status,
        title=tr.gettext("Search footage"),
        flashes=flashes,
        values=form.values,
        zone_name=tz,
        zone_offset=offset,
        markers=markers,
        camera_choices=sorted(((c.id, c.name) for c in visible.values()), key=lambda x: x[1]),
        label_names=LABEL_NAMES,
        colour_names=COLOUR_NAMES,
        labels=LABELS,
        colours=PALETTE,
        cases=_cases_of(session, person),
        results=results,
        submitted=form.submitted,
    )


def _first_page(session: Session, ctx: Any, person: Principal, form: SearchForm) -> Results:
    """The page as loaded without htmx: the first results and the histogram inline."""
    found = run_search(session, ctx, person, form, cursor=None)
    found.histogram = run_histogram(session, ctx, person, form)
    return found


def _flash(text: str) -> Flash:
    return Flash(text, "error")


@router.get("/search/results", summary="Search results (htmx)")
def search_results(
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    person: Person,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Response:
    """The results fragment the form loads in place: the first thumbnails, their "load
    more", and a placeholder that fetches the histogram once they are shown; with a cursor,
    the next thumbnails. A refused search is shown in place, in the form's own words."""
    ensure(request, person, Action.event_search)
    tr = tr_of(request, person)
    tz = _zone_of(session, person)
    form = read_search(request, tz, tr)
    common = {"label_names": LABEL_NAMES, "colour_names": COLOUR_NAMES, "zone_name": tz}
    if form.raw is None:
        error = form.error or tr.gettext("Give the time window as date and time.")
        return fragment(request, person, "pages/search_error.html", message=error)
    found = attempt(request, session, lambda: run_search(session, ctx, person, form, cursor=cursor))
    if isinstance(found, ApiError):
        return fragment(
            request, person, "pages/search_error.html", message=refusal_text(request, person, found)
        )
    if cursor:
        return fragment(request, person, "pages/search_items.html", results=found, **common)
    found.histogram_url = f"/search/histogram?{_query(form.values)}"
    out = fragment(request, person, "pages/search_results.html", results=found, **common)
    out.headers["HX-Push-Url"] = f"/search?{_query(form.values)}"
    return out


@router.get("/search/histogram", summary="The histogram above the results (htmx)")
def search_histogram(
    request: Request, session: SessionDep, ctx: ContextDep, person: Person
) -> Response:
    ensure(request, person, Action.event_search)
    tr = tr_of(request, person)
    tz = _zone_of(session, person)
    form = read_search(request, tz, tr)
    if form.raw is None:
        return Response(status_code=204)
    bars = attempt(request, session, lambda: run_histogram(session, ctx, person, form))
    if isinstance(bars, ApiError):
        return fragment(
            request, person, "pages/search_error.html", message=refusal_text(request, person, bars)
        )
    return fragment(request, person, "pages/search_histogram.html", histogram=bars, zone_name=tz)


@router.get("/search/thumbnail/{event_id}", summary="A result's thumbnail")
def thumbnail(
    event_id: int,
    request: Request,
    session: SessionDep,
    ctx: ContextDep,
    person: Person,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    purpose: Annotated[CleanStr | None, Query(max_length=500)] = None,
) -> Response:
    """`GET /events/{id}/thumbnail` for the console: the same service call and audit entry."""
    ensure(request, person, Action.event_read)
    event, _ = events.get_event(
        session, person, event_id, action="event.thumbnail", case_id=case_id, purpose=purpose
    )
    key = event.thumbnail_key
    if not key or not ctx.store.exists(key):
        raise NotFound(f"event {event_id} has no thumbnail", code="thumbnail_not_found")
    data = b"".join(ctx.store.iter_chunks(key))
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})


@router.get("/search/event/{event_id}", summary="One result with its camera on the map")
def event_page(
    event_id: int,
    request: Request,
    session: SessionDep,
    person: Person,
    case_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    purpose: Annotated[CleanStr | None, Query(max_length=500)] = None,
) -> Response:
    ensure(request, person, Action.event_read)
    ev = events.read_event(session, person, event_id, case_id=case_id, purpose=purpose)
    tr = tr_of(request, person)
    why = urlencode({"case_id": case_id} if case_id else {"purpose": purpose or ""})
    around = timedelta(minutes=2)
    request_url = None
    if role_may(person.role, Action.extraction_create):
        request_url = "/casework/request?" + urlencode(
            {
                "camera_id": ev.camera.id,
                "from": datetime_local_value(ev.start - around, ev.camera.timezone)[:16],
                "to": datetime_local_value(ev.end + around, ev.camera.timezone)[:16],
                "event_id": ev.id,
                **({"case_id": case_id} if case_id else {}),
            }
        )
    cam = ev.camera
    return page(
        request,
        person,
        "pages/search_event.html",
        title=tr.gettext("%(label)s at %(camera)s")
        % {"label": tr.gettext(LABEL_NAMES.get(ev.label, ev.label)), "camera": cam.name},
        ev=ev,
        thumb=f"/search/thumbnail/{ev.id}?{why}" if ev.thumbnail_url else None,
        marker=[MapCamera(cam.id, cam.name, cam.latitude, cam.longitude).as_json()],
        label_names=LABEL_NAMES,
        colour_names=COLOUR_NAMES,
        request_url=request_url,
        back=request.headers.get("referer") if _same_origin(request) else None,
    )


def _same_origin(request: Request) -> bool:
    ref = request.headers.get("referer", "")
    return ref.startswith(str(request.base_url)) and "/search" in ref


nav.register(
    N_("Search footage"),
    "/search",
    {Role.officer, Role.investigator, Role.supervisor},
    order=10,
    description=N_("Draw an area on the map, choose a time and what to look for"),
)
