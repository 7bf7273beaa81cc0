#!/usr/bin/env bash
# Installs wardcam into .venv (from requirements.lock) and runs it on the embedded default
# (SQLite, local object store, in-process jobs) in dev mode: bootstraps an admin (its API key and
# a one-time link that sets its console password are printed once) and serves the API and the
# console on http://127.0.0.1:8000 (docs at /docs).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
ensure_venv
export WARDCAM_DEV="${WARDCAM_DEV:-1}"
# The first admin's console link: on WARDCAM_PUBLIC_URL (environment or .env), else on the
# address this serves on.
host=127.0.0.1 port=8000 args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --host) host="${args[i + 1]:-$host}" ;;
    --host=*) host="${args[i]#--host=}" ;;
    --port) port="${args[i + 1]:-$port}" ;;
    --port=*) port="${args[i]#--port=}" ;;
  esac
done
case "$host" in
  0.0.0.0 | "::") host=127.0.0.1 ;;
  *:*) host="[$host]" ;;  # an IPv6 address
esac
.venv/bin/wardcam admin bootstrap --if-needed --served-at "http://$host:$port"
exec .venv/bin/wardcam serve "$@"
