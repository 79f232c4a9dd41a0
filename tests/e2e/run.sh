#!/usr/bin/env bash
# The dashboard's end-to-end test (tests/e2e/run.mjs) in headless Chromium.
#   tests/e2e/run.sh <path to drosera binary> <screenshot folder>
# Needs node, npm and chromium (scripts/install-deps.sh test); installs playwright-core from
# package-lock.json first if needed (install.sh). CHROMIUM overrides /usr/bin/chromium.
set -euo pipefail
BIN="$(realpath "${1:?usage: run.sh DROSERA_BIN SCREENSHOT_DIR}")"
SHOTS="${2:?usage: run.sh DROSERA_BIN SCREENSHOT_DIR}"
mkdir -p "$SHOTS"
SHOTS="$(realpath "$SHOTS")"
HERE="$(cd "$(dirname "$0")" && pwd)"

command -v node >/dev/null || { echo "e2e: node is missing (scripts/install-deps.sh test)" >&2; exit 1; }
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || { echo "e2e: ${CHROMIUM:-/usr/bin/chromium} is missing (scripts/install-deps.sh test)" >&2; exit 1; }
"$HERE/install.sh"
cd "$HERE"
exec node run.mjs "$BIN" "$SHOTS"
