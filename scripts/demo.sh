#!/usr/bin/env bash
# Installs wardcam into .venv (from requirements.lock) and runs `wardcam demo` on the embedded
# default (SQLite, local object store, in-process jobs): a ward, a camera, footage recorded
# and indexed, a search, a case, an approved extraction and a verified evidence package,
# printed step by step.
# Then `./scripts/run.sh` serves the API.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv
exec .venv/bin/wardcam demo "$@"
