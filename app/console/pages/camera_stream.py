"""The live-stream part of a ward's camera form: how a committee connects a camera without curl.

The camera's make, address and account are turned into its RTSP addresses by the API's own
``source`` (``ingest.vendors``), with the sub-stream indexed and the main stream recorded as
evidence by default (dual-stream, the documented default for live cameras); addresses can be
given whole instead. What holds a password (the password, the addresses) is never written back
into a page, not even after an error: the form says only what is set.
"""

from __future__ import annotations

from typing import Any

from app.cameras.models import Camera
from app.console.i18n import N_
from app.console.session import Form

VENDOR_LABELS = {
    "hikvision": N_("Hikvision (HiLook, HIKVISION NVR)"),
    "dahua": N_("Dahua"),
    "kbvision": N_("KBVision"),
    "imou": N_("Imou"),
    "ezviz": N_("EZVIZ"),
    "generic": N_("Another make (RTSP path below)"),
}
#: shown again after an error; the password and the addresses never are
ECHOED = ("vendor", "host", "port", "channel", "user", "path")


def blank_values() -> dict[str, Any]:
    return {"vendor": "", "host": "", "port": "", "channel": "1", "user": "", "path": "",
            "detect_stream": True}


def posted_values(form: Form) -> dict[str, Any]:
    values: dict[str, Any] = {k: form.get(k).strip() for k in ECHOED}
    values["detect_stream"] = form.get("detect_stream") == "on"
    return values


def posted_changes(form: Form, *, editing: bool) -> dict[str, Any]:
    """The API fields the form asks for: a vendor ``source``, the two addresses, both removed
    (``""``, editing only), or nothing (left as they are)."""
    def get(name: str) -> str:
        return form.get(name).strip()

    if get("vendor"):
        source: dict[str, Any] = {
            "vendor": get("vendor"),
            "host": get("host"),
            "channel": get("channel") or "1",
            "detect_stream": form.get("detect_stream") == "on",
        }
        for name in ("port", "user", "path"):
            if get(name):
                source[name] = get(name)
        if form.get("password"):
            source["password"] = form.get("password")
        return {"source": source}
    if get("stream_url") or get("detect_stream_url"):
        changes = {"stream_url": get("stream_url")}
        if get("detect_stream_url"):
            changes["detect_stream_url"] = get("detect_stream_url")
        return changes
    if editing and form.get("remove_stream") == "on":
        return {"stream_url": "", "detect_stream_url": ""}
    return {}


def state(camera: Camera | None) -> dict[str, Any]:
    """What the edit page says is set: never the addresses themselves."""
    if camera is None:
        return {"set": False, "detect": False, "vendor": None, "channel": None}
    return {
        "set": camera.stream_url_encrypted is not None,
        "detect": camera.detect_url_encrypted is not None,
        "vendor": VENDOR_LABELS.get(camera.vendor or ""),
        "channel": camera.channel,
    }


def error_field(loc: tuple[int | str, ...]) -> str:
    """The form field a validation error of the camera schemas belongs to."""
    if not loc:
        return "form"
    if loc[0] == "source":
        return str(loc[1]) if len(loc) > 1 else "vendor"
    return str(loc[0])
