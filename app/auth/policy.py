"""What each role may do. Deny by default: an action missing here is allowed to nobody.

Object-level rules (a ward only touches its own cameras, an investigator only their cases) are
checked by the `*Policy` classes next to each domain; this table answers only "may this role
attempt this kind of action at all".
"""

from __future__ import annotations

from enum import StrEnum

from app.identity.models import Role


class Action(StrEnum):
    org_create = "org.create"
    org_read = "org.read"
    unit_create = "unit.create"
    unit_read = "unit.read"
    user_create = "user.create"
    user_read = "user.read"
    user_list = "user.list"
    user_manage = "user.manage"
    key_manage = "key.manage"
    invitation_create = "invitation.create"
    invitation_list = "invitation.list"
    camera_create = "camera.create"
    camera_read = "camera.read"
    camera_list = "camera.list"
    camera_update = "camera.update"
    camera_delete = "camera.delete"
    camera_access_log = "camera.access_log"
    footage_upload = "footage.upload"
    footage_list = "footage.list"
    segment_read = "segment.read"
    segment_correct = "segment.correct"
    event_search = "event.search"
    event_read = "event.read"
    case_create = "case.create"
    case_read = "case.read"
    case_list = "case.list"
    case_member_add = "case.member_add"
    case_update = "case.update"
    extraction_create = "extraction.create"
    extraction_read = "extraction.read"
    extraction_decide = "extraction.decide"
    package_download = "extraction.download"
    audit_read = "audit.read"
    audit_verify = "audit.verify"
    hold_list = "retention.holds"


_POLICE_READ = {Role.officer, Role.investigator, Role.supervisor}

POLICY: dict[Action, frozenset[Role]] = {
    Action.org_create: frozenset({Role.admin}),
    Action.org_read: frozenset({Role.admin}),
    Action.unit_create: frozenset({Role.admin}),
    Action.unit_read: frozenset({Role.admin, *_POLICE_READ}),
    Action.user_create: frozenset({Role.admin}),
    # Supervisors: the users of their own organisation (app/identity/policy.py).
    Action.user_read: frozenset({Role.admin, Role.supervisor}),
    Action.user_list: frozenset({Role.admin, Role.supervisor}),
    Action.user_manage: frozenset({Role.admin, Role.supervisor}),
    Action.key_manage: frozenset({Role.admin, Role.supervisor}),
    # Supervisors: the officers and investigators of their organisation (UserPolicy).
    Action.invitation_create: frozenset({Role.admin, Role.supervisor}),
    Action.invitation_list: frozenset({Role.admin, Role.supervisor}),
    Action.camera_create: frozenset({Role.admin, Role.ward}),
    Action.camera_read: frozenset({Role.admin, Role.ward, *_POLICE_READ}),
    Action.camera_list: frozenset({Role.admin, Role.ward, *_POLICE_READ}),
    Action.camera_update: frozenset({Role.admin, Role.ward}),
    Action.camera_delete: frozenset({Role.admin, Role.ward}),
    Action.camera_access_log: frozenset({Role.admin, Role.ward}),
    Action.footage_upload: frozenset({Role.admin, Role.ward}),
    Action.footage_list: frozenset({Role.admin, Role.ward, *_POLICE_READ}),
    Action.segment_read: frozenset({Role.admin, Role.ward, *_POLICE_READ}),
    Action.segment_correct: frozenset({Role.admin, Role.ward}),
    Action.event_search: frozenset({Role.officer, Role.investigator, Role.supervisor}),
    Action.event_read: frozenset({Role.officer, Role.investigator, Role.supervisor}),
    Action.case_create: frozenset({Role.investigator, Role.supervisor}),
    Action.case_read: frozenset({Role.investigator, Role.supervisor, Role.officer}),
    Action.case_list: frozenset({Role.investigator, Role.supervisor, Role.officer}),
    Action.case_member_add: frozenset({Role.investigator, Role.supervisor}),
    Action.case_update: frozenset({Role.investigator, Role.supervisor}),
    Action.extraction_create: frozenset({Role.investigator, Role.supervisor}),
    Action.extraction_read: frozenset({Role.investigator, Role.supervisor, Role.ward}),
    Action.extraction_decide: frozenset({Role.ward}),
    Action.package_download: frozenset({Role.investigator, Role.supervisor}),
    Action.audit_read: frozenset({Role.admin, Role.auditor}),
    Action.audit_verify: frozenset({Role.admin, Role.auditor}),
    Action.hold_list: frozenset({Role.admin, Role.auditor}),
}


def role_may(role: Role, action: Action) -> bool:
    return role in POLICY.get(action, frozenset())
