#!/usr/bin/env bash
# Installs wardcam with its dev tools into .venv (from requirements-dev.lock), starts the
# servers the tests need, checks lint, types and declared dependencies (deptry: nothing
# imported undeclared, nothing declared unused), and runs the whole test suite (slow tests
# included). Extra args go to pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv requirements-dev.lock
bash scripts/services.sh
.venv/bin/ruff check .
.venv/bin/mypy
.venv/bin/deptry .
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
