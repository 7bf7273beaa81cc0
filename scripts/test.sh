#!/usr/bin/env bash
# Installs wardcam with its dev tools into .venv, starts the servers the tests need, checks
# lint and types, and runs the whole test suite (slow tests included). Extra args go to pytest.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv dev
bash scripts/services.sh
.venv/bin/ruff check .
.venv/bin/mypy
exec .venv/bin/pytest -q -p no:cacheprovider "$@"
