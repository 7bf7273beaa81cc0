"""The console's pages for each role. They call the same services as the API (one copy of the
rules, permissions and audit): `ward` (cameras, upload, decisions, access logs), `search`
(officers and investigators), `casework` (cases, extraction requests, packages, playback).
`common` holds what they share: the page response, errors as pages, times from forms."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> tuple[APIRouter, ...]:
    """The role pages' routers, for `app.main` (imported here, late: they need the app's
    domains)."""
    from app.console.pages import casework, search, ward

    return (ward.router, search.router, casework.router)
