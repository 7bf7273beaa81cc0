"""HTTP routes of event search; parsing only, the work is in `service`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import Field

from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import MAX_ID, ContextDep, SessionDep
from app.errors import NotFound
from app.events import service
from app.events.schemas import EventPage, EventPublic, Histogram
from app.events.serialise import dump_json
from app.events.service import RawFilters
from app.text import CleanStr
from app.timewindow import WindowTime

router = APIRouter(tags=["events"])


async def filters(
    from_: Annotated[
        WindowTime | None, Query(alias="from", description="ISO 8601 with offset")
    ] = None,
    to: Annotated[WindowTime | None, Query(description="ISO 8601 with offset; after from")] = None,
    near: Annotated[str | None, Query(description="lat,lon", max_length=64)] = None,
    radius_m: Annotated[float | None, Query(description="with near; metres, <= 50 km")] = None,
    bbox: Annotated[
        str | None, Query(description="minLon,minLat,maxLon,maxLat", max_length=128)
    ] = None,
    polygon: Annotated[
        str | None, Query(description="a GeoJSON Polygon (lon,lat)", max_length=60_000)
    ] = None,
    label: Annotated[list[str] | None, Query(description="repeatable", max_length=16)] = None,
    color: Annotated[list[str] | None, Query(description="repeatable", max_length=16)] = None,
    camera_id: Annotated[
        list[Annotated[int, Field(ge=1, le=MAX_ID)]] | None,
        Query(description="repeatable", max_length=1000),
    ] = None,
    min_confidence: Annotated[float | None, Query(description="0..1")] = None,
    case_id: Annotated[int | None, Query(description="a case you are on", ge=1, le=MAX_ID)] = None,
    purpose: Annotated[
        CleanStr | None, Query(description="why you search (>= 10 characters)", max_length=500)
    ] = None,
) -> RawFilters:
    return RawFilters(
        from_=from_,
        to=to,
        near=near,
        radius_m=radius_m,
        bbox=bbox,
        polygon=polygon,
        labels=label or [],
        colors=color or [],
        camera_ids=camera_id or [],
        min_confidence=min_confidence,
        case_id=case_id,
        purpose=purpose,
    )


FiltersDep = Annotated[RawFilters, Depends(filters)]


@router.get("/events", response_model=EventPage)
def search_events(
    raw: FiltersDep,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.event_search))],
    order: Annotated[str, Query(description="asc or desc (by start time)")] = "asc",
    limit: Annotated[int, Query(description="1..500")] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> Response:
    """Sightings overlapping [from, to) at a place, with filters; needs case_id or purpose."""
    page = service.search(
        session,
        principal,
        raw,
        codec=ctx.cursor_codec,
        max_days=ctx.settings.max_search_days,
        order=order,
        limit=limit,
        cursor=cursor,
    )
    # Built from database rows in the shape of EventPage (app.events.serialise): serialised
    # once, here; `response_model` documents it.
    return Response(dump_json(page), media_type="application/json")


@router.get("/events/histogram", response_model=Histogram)
def event_histogram(
    raw: FiltersDep,
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.event_search))],
    bucket: Annotated[str, Query(description="15m, 1h, 1d, ...", max_length=16)] = "1h",
) -> Histogram:
    """Events per camera per bucket (counted by start time in [from, to))."""
    return service.histogram(
        session, principal, raw, max_days=ctx.settings.max_search_days, bucket=bucket
    )


@router.get("/events/{event_id}", response_model=EventPublic)
def get_event(
    event_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    session: SessionDep,
    principal: Annotated[Principal, Depends(require(Action.event_read))],
    case_id: Annotated[int | None, Query(description="a case you are on", ge=1, le=MAX_ID)] = None,
    purpose: Annotated[
        CleanStr | None, Query(description="why you look (>= 10 characters)", max_length=500)
    ] = None,
) -> EventPublic:
    """One sighting; like a search it needs case_id or purpose, and is audited with it."""
    return service.read_event(session, principal, event_id, case_id=case_id, purpose=purpose)


@router.get(
    "/events/{event_id}/thumbnail",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}}},
)
def event_thumbnail(
    event_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    session: SessionDep,
    ctx: ContextDep,
    principal: Annotated[Principal, Depends(require(Action.event_read))],
    case_id: Annotated[int | None, Query(description="a case you are on", ge=1, le=MAX_ID)] = None,
    purpose: Annotated[
        CleanStr | None, Query(description="why you look (>= 10 characters)", max_length=500)
    ] = None,
) -> Response:
    """The event's best frame crop (JPEG), from the object store; needs case_id or purpose
    like a search (search results link it with theirs); the access is audited."""
    event, _ = service.get_event(
        session, principal, event_id, action="event.thumbnail", case_id=case_id, purpose=purpose
    )
    key = event.thumbnail_key
    if not key or not ctx.store.exists(key):
        raise NotFound(f"event {event_id} has no thumbnail", code="thumbnail_not_found")
    data = b"".join(ctx.store.iter_chunks(key))
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, no-store"})
