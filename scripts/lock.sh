#!/usr/bin/env bash
# Resolves pyproject.toml's dependencies into the three lock files the other scripts, CI and
# the Dockerfile install from (with hashes, for this machine kind: Linux x86_64, Python 3.11):
#   requirements-api.lock  the API alone (no detector stack: no torch, OpenVINO, onnxruntime)
#   requirements.lock      the whole service: API, workers, detector (`wardcam[detect]`)
#   requirements-dev.lock  the above plus tests, linters and benchmarks (`wardcam[detect,dev]`)
# Run it after changing a dependency in pyproject.toml, and commit the result.
# The extra package indexes pip is configured with (pip.conf) are used here as well.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
uv=("$ROOT/.venv/bin/python" -m uv)
"$ROOT/.venv/bin/python" -m uv --version >/dev/null 2>&1 || "$ROOT/.venv/bin/python" -m pip install -q uv
args=(--generate-hashes --python-version 3.11 --index-strategy unsafe-best-match
      --custom-compile-command "bash scripts/lock.sh")
for url in $("$ROOT/.venv/bin/python" -m pip config get global.extra-index-url 2>/dev/null || true); do
  args+=(--extra-index-url "$url")
done
for dir in $("$ROOT/.venv/bin/python" -m pip config get global.find-links 2>/dev/null || true); do
  args+=(--find-links "$dir")
done
"${uv[@]}" pip compile pyproject.toml "${args[@]}" -q -o requirements-api.lock
"${uv[@]}" pip compile pyproject.toml --extra detect "${args[@]}" -q -o requirements.lock
"${uv[@]}" pip compile pyproject.toml --extra detect --extra dev "${args[@]}" -q -o requirements-dev.lock
