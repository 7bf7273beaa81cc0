"""``python -m evidence.cli PACKAGE.zip``: the offline verifier of evidence packages.

Pin the issuer's signing key, or the verdict cannot tell their package from a forgery
re-signed with another key::

    wardcam verify PACKAGE.zip --trusted-fingerprint 3f9a...e1   # 64 hex digits
    wardcam verify PACKAGE.zip --trusted-key issuer.pem          # the public key, PEM

Both come from the issuing service, not from the package: ``GET
/.well-known/wardcam-signing-key`` returns ``public_key_pem`` and ``fingerprint_sha256``
(or the issuer reads the fingerprint out).  ``--accept-unpinned-key`` verifies with the key
inside the package and says so loudly: for a first look, never for evidence.

Exit status: 0 when every hash and the signature hold and the key is pinned (or accepted
unpinned on request); 1 otherwise, a key that is not pinned included; 2 on bad usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from evidence.verify import format_report, normalize_fingerprint, verify_package


def main(argv: Sequence[str] | None = None) -> int:
    """Verify one package and print the report; return the exit status (see the docstring)."""
    parser = argparse.ArgumentParser(
        prog="wardcam verify",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("package", help="the evidence package (.zip)")
    pin = parser.add_mutually_exclusive_group()
    pin.add_argument(
        "--trusted-key",
        metavar="PEM",
        help="public key (PEM file) the package must be signed with, from the issuing service",
    )
    pin.add_argument(
        "--trusted-fingerprint",
        metavar="HEX",
        help="SHA-256 fingerprint of that key (64 hex digits; ':' and spaces are ignored)",
    )
    pin.add_argument(
        "--accept-unpinned-key",
        action="store_true",
        help="accept whatever key signed the package (reported as NOT PINNED)",
    )
    args = parser.parse_args(list(argv) if argv is not None else None)
    trusted = None
    if args.trusted_key:
        try:
            with open(args.trusted_key, "rb") as f:
                trusted = f.read()
        except OSError as exc:
            print(f"cannot read trusted key: {exc}", file=sys.stderr)
            return 2
    fingerprint = None
    if args.trusted_fingerprint:
        try:
            fingerprint = normalize_fingerprint(args.trusted_fingerprint)
        except ValueError as exc:
            print(f"--trusted-fingerprint: {exc}", file=sys.stderr)
            return 2
    report = verify_package(
        args.package,
        trusted,
        trusted_fingerprint=fingerprint,
        accept_unpinned_key=args.accept_unpinned_key,
    )
    print(format_report(report))
    if report.key_fingerprint and not report.key_pinned:
        print(
            f"warning: signing key {report.key_fingerprint} is NOT PINNED"
            + (" (accepted on request)" if report.unpinned_accepted else ""),
            file=sys.stderr,
        )
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
