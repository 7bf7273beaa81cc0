#!/usr/bin/env bash
# Installs wardcam into .venv (from requirements.lock) and runs it on the embedded default
# (SQLite, local object store, in-process jobs) in dev mode: bootstraps an admin (its key is
# printed once) and serves the API on http://127.0.0.1:8000 (docs at /docs).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv
export WARDCAM_DEV="${WARDCAM_DEV:-1}"
.venv/bin/wardcam admin bootstrap --if-needed
exec .venv/bin/wardcam serve "$@"
