#!/usr/bin/env bash
# Installs the node modules of the dashboard's browser test (playwright-core, nothing else) from
# package-lock.json with `npm ci`; again only when node_modules is missing or came from another
# lock file. No browser is downloaded: the test drives Debian's chromium. Called by
# scripts/install-deps.sh test and by run.sh.
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.drosera-lock.sha256
want="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ -d node_modules/playwright-core ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
command -v npm >/dev/null || { echo "e2e: npm is missing (scripts/install-deps.sh test)" >&2; exit 1; }
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
