"""The API's refusals said in the reader's language.

A service refuses with an `ApiError`: a machine-readable `code` and an English `detail` written
for API clients ("camera(s) [3] are not yours to decide"). The console's people read
Vietnamese, so the code picks a sentence from the catalogue instead; the page in English keeps
the API's own words (they name what was refused), and a code with no sentence yet shows its
detail rather than nothing. The error page still shows the code and the detail as "Details",
for whoever helps the reader.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from app.console.i18n import N_, format_number, i18n
from app.errors import ApiError

SOURCE_LANGUAGE = "en"
"""The language the API's details are written in."""

PASSWORD_ERRORS = {
    "password_too_short": N_("The password needs at least 10 characters."),
    "password_too_long": N_("The password can have at most 200 characters."),
    "password_is_username": N_("The password cannot be your user name."),
}
INVITATION_ERRORS = {
    "invitation_not_found": N_("This invitation link is not valid. Ask for a new one."),
    "invitation_used": N_("This invitation link was used already. Sign in, or ask for a new one."),
    "invitation_expired": N_("This invitation link has expired. Ask for a new one."),
}
_NO_USER = N_("There is no such user.")

MESSAGES: dict[str, str] = {
    **PASSWORD_ERRORS,
    **INVITATION_ERRORS,
    # cameras and footage
    "camera_not_found": N_("There is no such camera."),
    "camera_retired": N_("This camera is retired: it takes no new footage."),
    "not_your_camera": N_("That camera is not one of yours."),
    "invalid_stream_url": N_(
        "The stream address is not valid: it starts with rtsp://, rtsps://, http:// or "
        "https:// and names the camera or recorder."
    ),
    "segment_not_found": N_("There is no such footage."),
    "segment_in_evidence": N_(
        "This footage is in an evidence package: its start time can no longer be changed."
    ),
    "duplicate_footage": N_("This footage was stored already; it was not stored again."),
    "no_start_time": N_("The file does not say when it was recorded: enter its start time."),
    "invalid_start": N_("The start time is not valid."),
    "invalid_duration": N_(
        "The video's length is not accepted: more than zero and at most 24 hours."
    ),
    "too_large": N_("The file is larger than this server accepts."),
    "incomplete_upload": N_(
        "The upload was cut off before its end; nothing was stored. Try again."
    ),
    "empty_file": N_("The file is empty; nothing was stored."),
    "not_video": N_("This file is not a video; nothing was stored."),
    "no_video_stream": N_("The file holds no picture, only sound; nothing was stored."),
    "truncated_video": N_(
        "The file was cut short; nothing was stored. Export it again from the recorder."
    ),
    "corrupt_video": N_("The video in this file does not decode; nothing was stored."),
    "start_time_out_of_range": N_(
        "The start time is before 2000 or in the future: check the recorder's clock, or enter "
        "the start time."
    ),
    "upload_timeout": N_("The upload stopped sending; nothing was stored. Try again."),
    "stream_unreachable": N_("The camera's stream could not be read."),
    "raw_body_required": N_(
        "Uploading needs JavaScript in this browser; nothing was stored. "
        "Turn JavaScript on, or use wardcam import on the ward's computer."
    ),
    # time windows and search
    "missing_window": N_("Enter a start and an end time."),
    "invalid_window": N_(
        "The time window is not valid: its end comes after its start, and it does not start "
        "in the future."
    ),
    "window_too_long": N_("The time window is too long: choose a shorter one."),
    "date_out_of_range": N_("The date is outside the range this server accepts."),
    "invalid_place": N_("The place is not valid."),
    "invalid_radius": N_("The radius is missing or out of range."),
    "invalid_polygon": N_(
        "The area drawn is not usable: draw a simple shape whose sides do not cross."
    ),
    "invalid_coordinates": N_("A latitude or longitude is out of range."),
    "invalid_label": N_("Unknown kind of object."),
    "invalid_color": N_("Unknown colour."),
    "unknown_camera": N_("A camera does not exist, or is not one you can see."),
    "purpose_required": N_("State the case or the purpose of this search."),
    "purpose_too_short": N_("Say why, in at least 10 characters."),
    "invalid_cursor": N_("This page of results is out of date: search again."),
    "event_not_found": N_("There is no such event."),
    "thumbnail_not_found": N_("This event has no picture."),
    # cases and requests
    "case_not_found": N_("There is no such case."),
    "case_exists": N_("A case with this number exists already."),
    "case_closed": N_("The case is closed."),
    "not_on_case": N_("You are not on this case."),
    "already_member": N_("This person is on the case already."),
    "invalid_member": N_("Only police of the case's organisation can join the case."),
    "invalid_user": _NO_USER,
    "extraction_not_found": N_("There is no such request."),
    "camera_not_in_request": N_("That camera is not in this request."),
    "already_decided": N_("These cameras of the request were decided already."),
    "package_not_ready": N_("The evidence package is not ready yet."),
    # people, organisations and units
    "user_not_found": _NO_USER,
    "user_exists": N_("A user with this name exists already."),
    "user_inactive": N_("This user is deactivated: reactivate them first."),
    "user_not_managed": N_("Your role does not manage users of this role."),
    "not_your_user": N_("That user is not of your organisation."),
    "cannot_deactivate_self": N_("You cannot deactivate yourself."),
    "last_admin": N_(
        "This is the last active administrator: create or reactivate another one first."
    ),
    "key_not_found": N_("There is no such key."),
    "org_not_found": N_("There is no such organisation."),
    "org_exists": N_("An organisation with this name exists already."),
    "org_required": N_("Choose an organisation."),
    "invalid_org": N_("That organisation cannot be chosen here."),
    "not_your_org": N_("That organisation is not yours."),
    "role_org_mismatch": N_("This role does not belong to that kind of organisation."),
    "role_not_allowed": N_("Your role does not allow this."),
    "unit_required": N_(
        "This needs a unit: choose one, or ask an administrator to assign you to one."
    ),
    "unit_not_allowed": N_("This role does not belong to a unit."),
    "unit_needs_police_org": N_("Only police organisations have units."),
    "unit_exists": N_("A unit with this name exists already."),
    "unknown_unit": N_("That unit is not a unit of this organisation."),
    "not_your_unit": N_("That unit is not yours: only a supervisor opens a case for another unit."),
    # notifications
    "channel_not_found": N_("There is no such notification channel."),
    "invalid_channel": N_("These settings do not fit this kind of notification channel."),
    # the form itself
    "empty_update": N_("Nothing was changed."),
    "invalid_input": N_("Some of what was entered is not valid."),
    "invalid_text": N_("Some text holds control or invisible characters; remove them."),
    "gone": N_("This can no longer be used."),
    "signin_required": N_("Your session has ended: sign in again."),
    "csrf_failed": N_(
        "The page was open too long or you signed out meanwhile. Reload the page and try again."
    ),
}
"""A sentence per refusal a person can meet in the console."""

FOR_PROGRAMS = frozenset(
    {
        # generic: the detail says what was refused
        "bad_request", "http_error", "unauthorized", "forbidden", "not_found",
        "method_not_allowed", "conflict",
        # API keys, raw parameters the console's forms never send as typed
        "missing_api_key", "invalid_api_key", "headers_too_large", "invalid_near",
        "invalid_bbox", "invalid_confidence", "invalid_limit", "invalid_order",
        "invalid_bucket", "too_many_buckets", "bad_pattern",
        # the server's own state: the error page says "try again" with the code
        "internal_error", "unavailable", "database_unavailable", "database_read_only",
        "store_unavailable", "not_ready",
    }
)  # fmt: skip
"""Codes (`app.error_codes.CODES`) with no sentence: their detail is shown as it is."""

UPLOAD_CODES = (
    "empty_file", "not_video", "no_video_stream", "truncated_video", "corrupt_video",
    "too_large", "incomplete_upload", "upload_timeout", "no_start_time",
    "start_time_out_of_range", "invalid_start", "invalid_duration", "duplicate_footage",
    "camera_retired", "camera_not_found", "not_your_camera", "role_not_allowed", "csrf_failed",
    "signin_required",
)  # fmt: skip
"""What `POST /cameras/{id}/footage` refuses with, read by the console's upload script."""


def explain(exc: ApiError, lang: str) -> str:
    """What a person reading `lang` is told of the refusal `exc`."""
    return sentences(lang, (exc.code,)).get(exc.code, exc.detail)


def sentences(lang: str, codes: tuple[str, ...]) -> dict[str, str]:
    """The sentences of `codes` in `lang` (none in the API's own language: its details say
    more there); for scripts that read the API's JSON errors, as the upload form's."""
    if lang == SOURCE_LANGUAGE:
        return {}
    tr = i18n(lang)
    return {code: tr.gettext(MESSAGES[code]) for code in codes if code in MESSAGES}


FIELD_NAMES = {
    # the admin forms
    "name": N_("Name"),
    "kind": N_("Kind"),
    "username": N_("User name"),
    "full_name": N_("Full name"),
    "role": N_("Role"),
    "org_id": N_("Organisation"),
    "unit_id": N_("Unit (police)"),
    # a ward's camera form
    "address": N_("Address"),
    "latitude": N_("Latitude"),
    "longitude": N_("Longitude"),
    "timezone": N_("Time zone of the camera's clock"),
    "retention_days": N_("Keep footage for (days)"),
    "sharing_policy": N_("Sharing"),
    "status": N_("State"),
    "vendor": N_("Make of the camera or recorder"),
    "host": N_("Address (IP or name)"),
    "channel": N_("Channel"),
    "port": N_("RTSP port (if not 554)"),
    "user": N_("User name"),
    "password": N_("Password"),
    "path": N_("RTSP path of another make, e.g. /stream{stream_no}"),
    "stream_url": N_("Main stream address (kept as evidence)"),
    "detect_stream_url": N_("Sub-stream address (indexed)"),
}
"""The forms' fields, as their labels say them."""
CHOSEN_FIELDS = frozenset(
    {"kind", "role", "org_id", "unit_id", "timezone", "sharing_policy", "status", "vendor"}
)
"""Fields filled by choosing from a list: whatever is wrong there, the person chooses again."""

_EMPTY = N_("%(field)s: fill this in.")
_CHOOSE = N_("%(field)s: choose one of the options.")
_TOO_LONG = N_("%(field)s is too long.")
_NUMBER = N_("%(field)s must be a number.")
_AT_MOST = N_("%(field)s can be at most %(limit)s.")
_AT_LEAST = N_("%(field)s must be at least %(limit)s.")
INVALID_FIELD = {
    "missing": _EMPTY,
    "too_short": _EMPTY,  # a text that is empty once trimmed
    "string_too_short": N_("%(field)s is too short."),
    "string_too_long": _TOO_LONG,
    "too_long": _TOO_LONG,
    "string_pattern_mismatch": N_("%(field)s holds characters that are not allowed."),
    "invalid_text": N_("%(field)s holds control or invisible characters; remove them."),
    "enum": _CHOOSE,
    "literal_error": _CHOOSE,
    "float_parsing": _NUMBER,
    "float_type": _NUMBER,
    "finite_number": _NUMBER,
    "int_parsing": N_("%(field)s must be a whole number."),
    "int_from_float": N_("%(field)s must be a whole number."),
    "less_than_equal": _AT_MOST,
    "less_than": _AT_MOST,
    "greater_than_equal": _AT_LEAST,
    "greater_than": _AT_LEAST,
}
"""A sentence per pydantic error type the forms meet (its own messages, "String should match
pattern '^[A-Za-z0-9._@-]+$'", "Input should be a valid number, unable to parse string as a
number", are for programmers: these are used in English too)."""
USERNAME_CHARACTERS = N_(
    "%(field)s may hold only letters without accents, digits and the signs . _ @ -"
)


def field_sentence(error: ErrorDetails, lang: str, key: str | None = None) -> str:
    """What a person reading `lang` is told of one invalid field, named by its label; `key`
    is the form's field when it is not the last part of the error's location."""
    tr = i18n(lang)
    if key is None:
        key = str(error["loc"][-1]) if error["loc"] else ""
    field = tr.gettext(FIELD_NAMES[key]) if key in FIELD_NAMES else key
    kind = error["type"]
    if key in CHOSEN_FIELDS:
        return tr.gettext(_CHOOSE) % {"field": field}
    ctx = error.get("ctx") or {}
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        kind = "missing"  # an empty text (a make chosen and no address): fill it in
    sentence = INVALID_FIELD.get(kind)
    if sentence is None:
        return f"{field}: {error['msg']}" if field else str(error["msg"])
    if kind == "string_pattern_mismatch" and key == "username":
        sentence = USERNAME_CHARACTERS
    limit = next((ctx[k] for k in ("le", "lt", "ge", "gt") if k in ctx), None)
    return tr.gettext(sentence) % {
        "field": field,
        "limit": format_number(limit, lang) if isinstance(limit, int | float) else limit,
    }


def explain_invalid(exc: ValidationError, lang: str) -> str:
    """What a person reading `lang` is told of a form's first invalid field."""
    return field_sentence(exc.errors()[0], lang)


def field_errors(
    exc: ValidationError, lang: str, field_of: Callable[[tuple[int | str, ...]], str]
) -> dict[str, str]:
    """Each invalid field of a form (`field_of` names it from an error's location) with the
    sentence said of its first error."""
    out: dict[str, str] = {}
    for error in exc.errors():
        key = field_of(tuple(error["loc"]))
        if key not in out:
            out[key] = field_sentence(error, lang, key)
    return out
