"""The public transparency pages: no sign-in, counts only (app/transparency)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from app.console.i18n import i18n
from app.console.session import console_of, finish, mark_console, public_context
from app.deps import IdPath, SessionDep
from app.transparency import service

router = APIRouter(include_in_schema=False, dependencies=[Depends(mark_console)])


@router.get("/transparency")
def wards(request: Request, session: SessionDep) -> Response:
    ctx = public_context(request)
    tr = i18n(ctx["lang"])
    response = console_of(request).response(
        request,
        "transparency_index.html",
        title=tr.gettext("Transparency"),
        wards=service.wards(session),
        **ctx,
    )
    return finish(request, response)


@router.get("/transparency/{org_id}")
def ward(request: Request, session: SessionDep, org_id: IdPath) -> Response:
    report = service.ward_report(session, org_id)
    ctx = public_context(request)
    tr = i18n(ctx["lang"])
    response = console_of(request).response(
        request,
        "transparency.html",
        title=tr.gettext("Transparency: %(ward)s") % {"ward": report.ward.name},
        report=report,
        **ctx,
    )
    return finish(request, response)
