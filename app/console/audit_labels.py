"""Audit actions as people read them, one table for every page that lists audit entries.

The ward's access log, a case's timeline and the audit page each named entries their own way,
and the audit page by its code alone (`camera.create`, `signin.fail`): an auditor reading
Vietnamese had to know the codes. Every action the service records (`app.audit.service.record`
and its batches) or refuses by name (a policy `Action`, `auth.reject`; `app.refusals`) has a
label here, and a test holds the table to the code that writes them; a refusal of a path no
action names is written as `METHOD /path` and shown so. The code stays beside the label on the
audit page, as what the filter and the API use. An action only ever refused (deleting a
camera, changing a case) is named as what was tried, not as done: the page adds "refused".
"""

from __future__ import annotations

from app.console.i18n import N_

#: What a ward reads in its cameras' access log (and an investigator in a case's timeline).
ACTION_LABELS: dict[str, str] = {
    "event.search": N_("Searched footage index"),
    "event.histogram": N_("Counted sightings"),
    "event.read": N_("Opened a sighting"),
    "event.thumbnail": N_("Viewed a thumbnail"),
    "camera.search": N_("Searched for cameras"),
    "camera.list": N_("Cameras listed"),
    "camera.create": N_("Camera registered"),
    "camera.update": N_("Camera changed"),
    "camera.retire": N_("Camera retired"),
    "camera.read": N_("Camera details viewed"),
    "camera.health": N_("Camera health viewed"),
    "camera.access_log": N_("Access log read"),
    "camera.delete": N_("Deleting a camera"),
    "footage.upload": N_("Footage uploaded"),
    "footage.import": N_("NVR export imported"),
    "footage.record": N_("Footage recorded from the stream"),
    "footage.list": N_("Footage coverage viewed"),
    "segment.read": N_("Footage segment opened"),
    "segment.correct": N_("Segment time corrected"),
    "extraction.request": N_("Footage requested"),
    "extraction.approve": N_("Request approved"),
    "extraction.deny": N_("Request denied"),
    "extraction.download": N_("Evidence package downloaded"),
    "extraction.play": N_("Evidence clips played"),
    "extraction.fulfilled": N_("Evidence package built"),
    "extraction.package_built": N_("Evidence package built"),
    "extraction.no_footage": N_("No footage in the window"),
    "extraction.failed": N_("Evidence package failed"),
    "evidence.tamper_suspected": N_("Stored footage did not match its hash"),
    "retention.delete": N_("Footage deleted after its retention period"),
}

#: What a case's timeline adds.
CASE_LABELS: dict[str, str] = {
    "case.create": N_("Case opened"),
    "case.member_add": N_("Member added"),
    "case.close": N_("Case closed"),
    "case.reopen": N_("Case reopened"),
    "case.read": N_("Case opened for reading"),
    "case.list": N_("Cases listed"),
    "case.update": N_("Changing a case"),
    "extraction.create": N_("Footage requested"),
    "extraction.read": N_("Request viewed"),
    "extraction.decide": N_("Deciding a request"),
    "extraction.approved": N_("All cameras decided: approved"),
    "extraction.denied": N_("All cameras decided: denied"),
    "extraction.ready": N_("Evidence package ready"),
}

#: What only the audit page shows: people, keys, sign-ins, settings.
ADMIN_LABELS: dict[str, str] = {
    "signin": N_("Signed in"),
    "signin.fail": N_("Sign-in failed"),
    "signin.throttled": N_("Sign-in refused: too many failures"),
    "signout": N_("Signed out"),
    "auth.reject": N_("Request without a valid key or session"),
    "org.create": N_("Organisation created"),
    "org.read": N_("Organisation viewed"),
    "unit.create": N_("Unit created"),
    "unit.read": N_("Unit viewed"),
    "user.create": N_("User created"),
    "user.read": N_("User viewed"),
    "user.list": N_("Users listed"),
    "user.manage": N_("Changing a user"),
    "user.deactivate": N_("User deactivated"),
    "user.reactivate": N_("User reactivated"),
    "user.password_set": N_("Console password set"),
    "key.manage": N_("Managing API keys"),
    "key.list": N_("API keys listed"),
    "key.rotate": N_("API key issued"),
    "key.revoke": N_("API key revoked"),
    "invitation.create": N_("Invitation link created"),
    "invitation.list": N_("Invitations listed"),
    "invitation.accept": N_("Invitation accepted"),
    "audit.read": N_("Audit log read"),
    "audit.verify": N_("Audit chain checked"),
    "notification.manage": N_("Managing notifications"),
    "notification.settings": N_("Notification settings changed"),
    "notification.channel_create": N_("Notification channel added"),
    "notification.channel_update": N_("Notification channel changed"),
    "notification.channel_delete": N_("Notification channel removed"),
    "notification.test": N_("Test notification sent"),
    "retention.holds": N_("Legal holds viewed"),
}

#: Every action, for the audit page.
AUDIT_LABELS: dict[str, str] = {**ACTION_LABELS, **CASE_LABELS, **ADMIN_LABELS}

#: What an entry is about (`target_type`), as the audit page names it before its id.
TARGET_LABELS: dict[str, str] = {
    "camera": N_("Camera"),
    "case": N_("Case"),
    "event": N_("Sighting"),
    "extraction": N_("Request"),
    "notification_channel": N_("Notification channel"),
    "org": N_("Organisation"),
    "organisation": N_("Organisation"),
    "segment": N_("Footage segment"),
    "unit": N_("Unit"),
    "user": N_("User"),
}
