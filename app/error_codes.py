"""Every `code` an API error can carry, with its status and what it means.

The README's list of codes is generated from here (`python -m app.error_codes` prints it), and
`tests/app/test_error_codes.py` fails when the code raises one that is missing here, when one
here is raised nowhere, or when the README's list differs from this one. Statuses are the
usual ones; a few codes are used with more than one (noted).
"""

from __future__ import annotations

from ingest import errors as ingest

CODES: dict[str, tuple[str, str]] = {
    # 400
    "bad_request": ("400", "the request makes no sense as sent"),
    "empty_update": ("400", "a PATCH that changes nothing"),
    "http_error": ("4xx", "an HTTP-level refusal without a more specific code"),
    # 401
    "unauthorized": ("401", "not authenticated"),
    "missing_api_key": ("401", "no `Authorization: Bearer <key>` header"),
    "invalid_api_key": ("401", "the key is unknown, revoked, or its user deactivated"),
    "signin_required": ("401", "a console request without a live session (sign in again)"),
    # 403
    "forbidden": ("403", "not allowed"),
    "role_not_allowed": ("403", "your role may not do this at all (app/auth/policy.py)"),
    "not_your_camera": ("403", "the camera belongs to another ward"),
    "not_on_case": ("403", "you are not on that case (nor a supervisor of its unit)"),
    "case_closed": ("403/409", "the case is closed: no searches or requests under it"),
    "not_your_unit": ("403", "investigators open cases only under their own unit"),
    "not_your_org": ("403", "that organisation is not yours"),
    "not_your_user": ("403", "that user is not of your organisation"),
    "user_not_managed": ("403", "supervisors manage officers and investigators only"),
    "csrf_failed": ("403", "a console request without its session's CSRF token"),
    # 404
    "not_found": ("404", "no such path or object"),
    "camera_not_found": ("404", "no such camera (or not one you can see)"),
    "segment_not_found": ("404", "no such segment"),
    "event_not_found": ("404", "no such event (or not on a camera you can see)"),
    "thumbnail_not_found": ("404", "the event has no thumbnail (any more)"),
    "case_not_found": ("404", "no such case"),
    "extraction_not_found": ("404", "no such extraction request"),
    "org_not_found": ("404", "no such organisation"),
    "user_not_found": ("404", "no such user"),
    "key_not_found": ("404", "the user has no such key"),
    "invitation_not_found": ("404", "no such invitation link"),
    # 405, 408, 409
    "method_not_allowed": ("405", "the path exists, the method does not"),
    "upload_timeout": ("408", "an upload stopped sending for WARDCAM_BODY_TIMEOUT_S"),
    "conflict": ("409", "conflicts with the current state"),
    "org_exists": ("409", "an organisation with that name (compared normalised) exists"),
    "unit_exists": ("409", "the organisation has a unit with that name"),
    "user_exists": ("409", "a user with that name (compared without case) exists"),
    "case_exists": ("409", "a case with that number exists"),
    "already_member": ("409", "the user is already on the case"),
    "already_decided": ("409", "that camera of the request is already decided"),
    "package_not_ready": ("409", "the evidence package is not built (yet)"),
    "cannot_deactivate_self": ("409", "nobody deactivates themselves"),
    "last_admin": ("409", "the last active admin cannot be deactivated"),
    "duplicate_footage": (
        "409",
        "these bytes are stored already with another start; correct it with PATCH /segments/{id}",
    ),
    "segment_in_evidence": ("409", "the segment is in an evidence package: its times stay"),
    "user_inactive": ("409", "the user is deactivated: reactivate them first"),
    # 410
    "gone": ("410", "it existed and can no longer be used"),
    "invitation_used": ("410", "the invitation link was used already"),
    "invitation_expired": ("410", "the invitation link expired or was replaced"),
    # 413, 415, 431
    "too_large": ("413", "the upload is larger than WARDCAM_MAX_UPLOAD_BYTES"),
    "raw_body_required": ("415", "send the video as the body itself, not as a form"),
    "headers_too_large": ("431", "request headers over WARDCAM_MAX_HEADER_BYTES"),
    # 422
    "invalid_input": ("422", "a field is missing or malformed (see `errors`)"),
    "password_too_short": ("422", "a password needs at least 10 characters"),
    "password_too_long": ("422", "a password has at most 200 characters"),
    "password_is_username": ("422", "the password cannot be the user name"),
    "invalid_text": ("422", "control or invisible formatting characters in text"),
    "missing_window": ("422", "`from` and `to` are required"),
    "invalid_window": ("422", "a time is not ISO 8601 with an offset, or `to` is not after `from`"),
    "window_too_long": ("422", "the window is longer than the endpoint allows"),
    "invalid_start": ("422", "the upload's `start` is not ISO 8601 with an offset"),
    "start_time_out_of_range": ("422", "a start time before 2000 or in the future"),
    "no_start_time": ("422", "no `start` given and none in the file"),
    "invalid_duration": ("422", "the video's duration is unusable"),
    "purpose_required": ("422", "searches and event reads need `case_id` or `purpose`"),
    "purpose_too_short": ("422", "a purpose says why, in at least 10 characters"),
    "invalid_place": ("422", "give one place: near+radius_m, bbox or polygon"),
    "invalid_near": ("422", "`near` is not `lat,lon`"),
    "invalid_radius": ("422", "`radius_m` missing or out of range"),
    "invalid_bbox": ("422", "`bbox` is not `minLon,minLat,maxLon,maxLat`"),
    "invalid_polygon": ("422", "not a simple, closed GeoJSON Polygon within the limits"),
    "invalid_coordinates": ("422", "a latitude or longitude out of range"),
    "invalid_label": ("422", "unknown class; one of the detector's labels"),
    "invalid_color": ("422", "unknown colour; one of the palette"),
    "invalid_confidence": ("422", "`min_confidence` outside 0..1"),
    "invalid_limit": ("422", "`limit` out of range"),
    "invalid_order": ("422", "`order` is asc or desc"),
    "invalid_cursor": ("422", "a cursor that is not this query's"),
    "invalid_bucket": ("422", "a histogram bucket like 15m, 1h or 1d"),
    "too_many_buckets": ("422", "the histogram would have too many buckets"),
    "camera_not_in_request": ("422", "a camera named in a decision is not in that request"),
    "unknown_camera": ("422", "a `camera_id` that does not exist or you cannot see"),
    "camera_retired": ("422", "the camera is retired"),
    "invalid_stream_url": ("422", "a stream URL wardcam cannot use"),
    "invalid_org": ("422", "`org_id` does not exist"),
    "org_required": ("422", "the role needs an organisation"),
    "role_org_mismatch": ("422", "the role belongs to the other kind of organisation"),
    "unit_required": ("422", "investigators and supervisors need a unit"),
    "unit_not_allowed": ("422", "only police users belong to units"),
    "unknown_unit": ("422", "not a unit of that organisation"),
    "unit_needs_police_org": ("422", "only police organisations have units"),
    "invalid_user": ("422", "no such (active) user"),
    "invalid_member": ("422", "only police of the case's organisation join a case"),
    "incomplete_upload": ("422", "the upload ended before Content-Length bytes"),
    "empty_file": ("422", "the upload has no bytes"),
    "not_video": ("422", "not a video (text, an image, random bytes)"),
    "no_video_stream": ("422", "a container without video (audio only)"),
    "truncated_video": ("422", "the file was cut short"),
    "corrupt_video": ("422", "the video data does not decode"),
    "bad_pattern": ("422", "an NVR file name pattern or time zone that is not usable"),
    "stream_unreachable": ("422", "a camera stream could not be read"),
    # 500, 503
    "internal_error": ("500", "a bug: please report it with the response's X-Request-ID"),
    "unavailable": ("503", "a dependency is down; retry (Retry-After)"),
    "database_unavailable": ("503", "the database is unreachable; retry"),
    "database_read_only": ("503", "the database refuses writes (replica, read-only disk)"),
    "store_unavailable": ("503", "the object store is unreachable; retry"),
    "not_ready": ("503", "/readyz: the database or the store is not usable"),
}

FROM_LIBRARIES = frozenset(ingest.ALL_CODES)
"""Codes the `ingest` library raises and the API passes on (uploads, imports)."""
COMPOSED = frozenset({"invalid_near", "invalid_bbox", "invalid_label", "invalid_color"})
"""Codes built from a name at run time (`f"invalid_{what}"`), so no literal names them."""
HANDLERS = frozenset({"method_not_allowed", "http_error", "invalid_text"})
"""Codes set in `app.errors`' handlers from a table or a validator's error type."""


def markdown() -> str:
    """The README's table of codes."""
    lines = ["| code | status | means |", "|---|---|---|"]
    lines += [f"| `{code}` | {status} | {means} |" for code, (status, means) in CODES.items()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown())
