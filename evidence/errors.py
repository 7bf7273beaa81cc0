"""Errors raised by the evidence library.

Every error carries a short machine-readable ``code`` so that the service layer can map it to an
HTTP status and a ``{"detail", "code"}`` body without parsing messages.
"""

from __future__ import annotations

from pathlib import Path


class EvidenceError(Exception):
    """Base class: something about the evidence inputs or outputs is wrong."""

    code = "evidence_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class TamperError(EvidenceError):
    """An original's bytes no longer hash to the SHA-256 recorded at acquisition."""

    code = "tamper_suspected"

    def __init__(self, path: str | Path, expected: str, actual: str) -> None:
        self.path = str(path)
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"{self.path}: SHA-256 mismatch (expected {expected}, got {actual}); "
            "the original may have been tampered with"
        )


class SourceMissingError(EvidenceError):
    """An original that should exist cannot be read."""

    code = "source_missing"


class CutError(EvidenceError):
    """The window cannot be cut from the given sources."""

    code = "cut_failed"


class RedactError(EvidenceError):
    """The clip cannot be redacted."""

    code = "redact_failed"


class PackageError(EvidenceError):
    """The package cannot be built from the given inputs."""

    code = "package_failed"
