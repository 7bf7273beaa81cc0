"""Console pages and fragments sent gzip-compressed to a browser that accepts it.

A ward's camera list is about 1.5 KB of HTML a camera (300 KB for the 190 cameras of one
ward), the search grid's fragment a few KB a thumbnail, and the people reading them are often
on a phone's mobile connection. HTML compresses to a tenth or less.

Compressing a page that holds a secret and echoes what someone else typed lets the secret be
guessed from the compressed sizes (BREACH). The CSRF token is the one secret on every page,
and each page carries it under a mask of its own (`app.signin.csrf`). A page that shows a
one-time secret (an invitation link) is sent as it is (`compress=False`)."""

from __future__ import annotations

import gzip

from app.console.negotiation import weighted

MIN_BYTES = 1024
"""Smaller bodies are sent as they are: gzip's own header and trailer would eat the gain."""
LEVEL = 6
"""zlib's default: about 1 ms per 100 KB of HTML on a 2-core server, 90 % of level 9's gain."""


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header admits gzip (`gzip`, `*`, not at q=0)."""
    admitted = {name.lower(): q > 0 for name, q in weighted(accept_encoding) if name}
    return admitted.get("gzip", admitted.get("x-gzip", admitted.get("*", False)))


def compressed(body: bytes, accept_encoding: str | None) -> bytes | None:
    """`body` gzip-compressed when the browser accepts it and it is worth it, else None."""
    if len(body) < MIN_BYTES or not accepts_gzip(accept_encoding):
        return None
    return gzip.compress(body, compresslevel=LEVEL, mtime=0)
