#!/usr/bin/env bash
# Makes sure the browser tests have what they drive: Debian's headless Chromium and fonts that
# draw Vietnamese. Idempotent; installs from apt only what is missing. Playwright (a dev
# dependency in pyproject.toml) is only the remote control: never run `playwright install`,
# the tests use this system Chromium (tests/browser/harness.py, WARDCAM_CHROMIUM to override).
set -euo pipefail

have() { command -v "$1" >/dev/null 2>&1; }
missing=()
chromium_ok() { have chromium && chromium --version >/dev/null 2>&1; }
chromium_ok || missing+=(chromium)
# Liberation (Arial/Helvetica metrics) and DejaVu (sans-serif) both carry Vietnamese diacritics.
[ -e /usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf ] || missing+=(fonts-liberation)
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)

if [ ${#missing[@]} -gt 0 ]; then
  if ! have apt-get; then echo "cannot install ${missing[*]}: no apt-get" >&2; exit 1; fi
  [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq; APT_UPDATED=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
chromium_ok || { echo "Chromium did not install" >&2; exit 1; }
echo "browser: $(chromium --version 2>/dev/null | head -n1) at $(command -v chromium)"
