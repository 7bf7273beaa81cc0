"""``python -m evidence.cli PACKAGE.zip [--trusted-key PEM]``: the offline verifier.

``wardcam verify`` in the service CLI calls the same :func:`main`-equivalent pieces.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from evidence.verify import format_report, verify_package


def main(argv: Sequence[str] | None = None) -> int:
    """Exit status 0 only if every hash and the signature hold; 1 otherwise; 2 on bad usage."""
    parser = argparse.ArgumentParser(prog="wardcam verify", description=__doc__)
    parser.add_argument("package", help="the evidence package (.zip)")
    parser.add_argument(
        "--trusted-key",
        metavar="PEM",
        help="public key the package must be signed with (from the issuing service)",
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
    report = verify_package(args.package, trusted)
    print(format_report(report))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
