"""Sending one notification: a signed webhook POST, or an e-mail over SMTP.

A webhook body is signed with HMAC-SHA256 over `<timestamp>.<body>` (the timestamp in Unix
seconds, also sent as `X-Wardcam-Timestamp`), so a receiver can check both who sent it and
that it is fresh (refuse timestamps older than a few minutes: a replay). Nothing here raises
for a receiver's failure: the outcome (status, latency, a short error) is returned for the
delivery log, and the caller decides about retrying.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import smtplib
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

import httpx

from app.settings import Settings

TIMESTAMP_HEADER = "X-Wardcam-Timestamp"
SIGNATURE_HEADER = "X-Wardcam-Signature"
EVENT_HEADER = "X-Wardcam-Event"
DELIVERY_HEADER = "X-Wardcam-Delivery"
USER_AGENT = "wardcam-notifications/1"


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    latency_ms: float
    error: str | None = None


_CLIENT: httpx.Client | None = None
_CLIENT_LOCK = threading.Lock()


def _client() -> httpx.Client:
    """One client per process, shared by the job threads: it keeps connections to
    receivers open and builds its TLS context once (about 0.1 s each time otherwise). No
    redirects (a 3xx is an answer, not a reason to send the body elsewhere), no proxy
    settings from the environment."""
    global _CLIENT
    with _CLIENT_LOCK:
        if _CLIENT is None:
            _CLIENT = httpx.Client(follow_redirects=False, trust_env=False)
        return _CLIENT


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """What a receiver does (the tests and the README's example use it)."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)


def private_address(url: str) -> str | None:
    """The first address the URL's host resolves to that is not public (loopback, private,
    link-local such as a cloud's metadata service), else None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None  # unresolvable: the attempt itself fails and is logged
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not addr.is_global:
            return str(addr)
    return None


def send_webhook(
    url: str,
    secret: str,
    body: bytes,
    *,
    event: str,
    delivery_id: int,
    timeout_s: float,
    allow_private: bool = False,
) -> Outcome:
    ts = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: ts,
        SIGNATURE_HEADER: signature(secret, ts, body),
        EVENT_HEADER: event,
        DELIVERY_HEADER: str(delivery_id),
    }
    t0 = time.perf_counter()
    if not allow_private and (addr := private_address(url)) is not None:
        return Outcome(
            False,
            None,
            _ms(t0),
            f"refused: {addr} is not a public address (WARDCAM_NOTIFY_ALLOW_PRIVATE_TARGETS)",
        )
    try:
        r = _client().post(url, content=body, headers=headers, timeout=timeout_s)
    except httpx.HTTPError as exc:
        text = f"{type(exc).__name__}: {exc}".replace(url, "<url>")  # it may hold a token
        return Outcome(False, None, _ms(t0), _short(text))
    ok = 200 <= r.status_code < 300
    return Outcome(ok, r.status_code, _ms(t0), None if ok else f"HTTP {r.status_code}")


def send_email(settings: Settings, to: list[str], subject: str, body: str) -> Outcome:
    t0 = time.perf_counter()
    if not settings.smtp_host:
        return Outcome(False, None, _ms(t0), "no SMTP server configured (WARDCAM_SMTP_HOST)")
    # The legacy `Header` on purpose: `EmailMessage`'s folding of a long non-ASCII subject
    # loses the space where it splits two encoded words (Vietnamese subjects arrived as
    # "chờphường"); `Header` splits inside the encoded text and round-trips exactly.
    msg = MIMEText(body, "plain", "utf-8")
    msg["From"] = settings.smtp_from
    msg["To"] = ", ".join(to)
    msg["Subject"] = Header(subject, "utf-8")  # type: ignore[assignment]  # compat32 takes it
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="wardcam")
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
        ) as smtp:
            smtp.ehlo()
            if settings.smtp_starttls:
                cafile = str(settings.smtp_ca_file) if settings.smtp_ca_file else None
                smtp.starttls(context=ssl.create_default_context(cafile=cafile))
                smtp.ehlo()
            if settings.smtp_username:
                password = (
                    settings.smtp_password.get_secret_value() if settings.smtp_password else ""
                )
                _login(smtp, settings.smtp_username, password)
            refused = smtp.send_message(msg)
            code, _ = smtp.noop()
    except smtplib.SMTPResponseException as exc:
        return Outcome(False, exc.smtp_code, _ms(t0), _short(f"SMTP {exc.smtp_code}"))
    except (smtplib.SMTPException, OSError, ssl.SSLError, UnicodeError) as exc:
        return Outcome(False, None, _ms(t0), _short(f"{type(exc).__name__}: {exc}"))
    if refused:
        return Outcome(False, None, _ms(t0), f"{len(refused)} recipient(s) refused")
    return Outcome(True, code, _ms(t0))


def _login(smtp: smtplib.SMTP, user: str, password: str) -> None:
    """`SMTP.login`, or for a user name or password that is not ASCII (smtplib encodes
    them as ASCII and fails) AUTH PLAIN in UTF-8, as RFC 4616 defines it."""
    if (user + password).isascii():
        smtp.login(user, password)
        return
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode()
    code, resp = smtp.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


def _ms(t0: float) -> float:
    return round((time.perf_counter() - t0) * 1000, 3)


def _short(text: str) -> str:
    return text[:500]
