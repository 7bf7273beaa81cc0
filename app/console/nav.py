"""The console's navigation: which pages each role sees, in the header and on its home page.

A page module registers its entry once, at import (the label marked with `N_`, translated
when shown):

    nav.register(N_("Audit log"), "/console/audit", {Role.auditor, Role.admin}, order=10,
                 description=N_("Who did what, and whether the log is intact"))

`nav_for(role, path)` gives the header's `NavItem`s (the page being shown marked current);
`entries_for(role)` the home page's cards. Entries are shown in `order`, then label.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from app.console.i18n import I18n
from app.console.templating import NavItem
from app.identity.models import Role


@dataclass(frozen=True)
class NavEntry:
    label: str
    """The English msgid (marked with N_), translated when shown."""
    url: str
    roles: frozenset[Role]
    order: int = 100
    description: str = ""


_ENTRIES: dict[str, NavEntry] = {}


def register(
    label: str, url: str, roles: Iterable[Role], *, order: int = 100, description: str = ""
) -> NavEntry:
    """Add (or replace, by URL) a page of the navigation."""
    entry = NavEntry(label, url, frozenset(roles), order, description)
    _ENTRIES[url] = entry
    return entry


def entries_for(role: Role | str) -> list[NavEntry]:
    role = Role(role)
    found = [e for e in _ENTRIES.values() if role in e.roles]
    return sorted(found, key=lambda e: (e.order, e.label))


def nav_for(role: Role | str, i18n: I18n, current_path: str = "") -> list[NavItem]:
    """The header's links for a role; an entry is current on its URL and the pages below it."""
    items = []
    for e in entries_for(role):
        current = current_path == e.url or current_path.startswith(e.url.rstrip("/") + "/")
        items.append(NavItem(i18n.gettext(e.label), e.url, current))
    return items
