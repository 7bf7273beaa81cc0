"""HTTP routes of an organisation's notifications: its channels, their delivery logs, a test
send, and its settings. Admins manage any organisation's; a ward or a supervisor their own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from app.auth.deps import require
from app.auth.policy import Action
from app.auth.principal import Principal
from app.deps import MAX_ID, ContextDep, IdPath, SessionDep
from app.errors import Unprocessable
from app.notifications import repository, service
from app.notifications.schemas import (
    ChannelCreate,
    ChannelCreated,
    ChannelPublic,
    ChannelUpdate,
    DeliveryPage,
    SettingsIn,
    SettingsPublic,
    TestQueued,
)

router = APIRouter(prefix="/orgs/{org_id}/notifications", tags=["notifications"])
Manager = Annotated[Principal, Depends(require(Action.notification_manage))]
ACTION = Action.notification_manage.value


@router.get("/settings", response_model=SettingsPublic)
def get_settings(org_id: IdPath, session: SessionDep, principal: Manager) -> SettingsPublic:
    service.org_for(session, principal, org_id, ACTION)
    return service.get_settings(session, org_id)


@router.put("/settings", response_model=SettingsPublic)
def put_settings(
    org_id: IdPath, data: SettingsIn, session: SessionDep, principal: Manager
) -> SettingsPublic:
    service.org_for(session, principal, org_id, ACTION)
    return service.put_settings(session, principal, org_id, data)


@router.post("/channels", status_code=201, response_model=ChannelCreated)
def create_channel(
    org_id: IdPath, data: ChannelCreate, session: SessionDep, ctx: ContextDep, principal: Manager
) -> ChannelCreated:
    """A webhook's secret is in this answer only (generated when none is given)."""
    service.org_for(session, principal, org_id, ACTION)
    return service.create_channel(session, principal, org_id, data, ctx.secret_box)


@router.get("/channels", response_model=list[ChannelPublic])
def list_channels(
    org_id: IdPath, session: SessionDep, ctx: ContextDep, principal: Manager
) -> list[ChannelPublic]:
    service.org_for(session, principal, org_id, ACTION)
    return [service.to_public(c, ctx.secret_box) for c in repository.channels_of(session, org_id)]


@router.get("/channels/{channel_id}", response_model=ChannelPublic)
def get_channel(
    org_id: IdPath, channel_id: IdPath, session: SessionDep, ctx: ContextDep, principal: Manager
) -> ChannelPublic:
    channel = service.channel_for(session, principal, org_id, channel_id, ACTION)
    return service.to_public(channel, ctx.secret_box)


@router.patch("/channels/{channel_id}", response_model=ChannelPublic)
def update_channel(
    org_id: IdPath,
    channel_id: IdPath,
    data: ChannelUpdate,
    session: SessionDep,
    ctx: ContextDep,
    principal: Manager,
) -> ChannelPublic:
    channel = service.channel_for(session, principal, org_id, channel_id, ACTION)
    channel = service.update_channel(session, principal, channel, data, ctx.secret_box)
    return service.to_public(channel, ctx.secret_box)


@router.delete("/channels/{channel_id}", status_code=204)
def delete_channel(
    org_id: IdPath, channel_id: IdPath, session: SessionDep, principal: Manager
) -> None:
    channel = service.channel_for(session, principal, org_id, channel_id, ACTION)
    service.delete_channel(session, principal, channel)


@router.post("/channels/{channel_id}/test", status_code=202, response_model=TestQueued)
def test_channel(
    org_id: IdPath, channel_id: IdPath, session: SessionDep, principal: Manager
) -> TestQueued:
    """Queue a test notification to this channel; its outcome appears in the delivery log."""
    channel = service.channel_for(session, principal, org_id, channel_id, ACTION)
    note, delivery = service.test_send(session, principal, channel)
    assert note.id is not None and delivery.id is not None
    return TestQueued(notification_id=note.id, delivery_id=delivery.id)


@router.get("/channels/{channel_id}/deliveries", response_model=DeliveryPage)
def list_deliveries(
    org_id: IdPath,
    channel_id: IdPath,
    session: SessionDep,
    principal: Manager,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=32)] = None,
) -> DeliveryPage:
    """The channel's deliveries, newest first, each with every attempt: when, how long,
    what the receiver answered."""
    channel = service.channel_for(session, principal, org_id, channel_id, ACTION)
    before = None
    if cursor is not None:
        if not cursor.isdigit() or int(cursor) > MAX_ID:
            raise Unprocessable("cursor is not valid", code="invalid_cursor")
        before = int(cursor)
    items = service.deliveries(session, channel, before_id=before, limit=limit)
    next_cursor = str(items[-1].id) if len(items) == limit else None
    return DeliveryPage(items=items, next_cursor=next_cursor)
