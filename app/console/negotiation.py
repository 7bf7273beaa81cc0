"""HTTP's weighted lists (Accept-Language, Accept-Encoding) read one way: each item with its
weight `q` (RFC 9110 §12.4.2), for the console's language and compression to choose by."""

from __future__ import annotations


def weighted(header: str | None, limit: int = 1000) -> list[tuple[str, float]]:
    """The items of a comma-separated header, in its order, each with its `q` (1 when not
    given, 0 when unreadable); only the first `limit` characters are read."""
    out: list[tuple[str, float]] = []
    for item in (header or "")[:limit].split(","):
        name, _, params = item.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        out.append((name.strip(), q))
    return out
