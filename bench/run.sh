#!/usr/bin/env bash
# make bench: the sensor against nginx + ModSecurity-nginx (same rules, same machine, wrk).
set -euo pipefail
BUILD="${1:-build/release}"
cd "$(dirname "$0")/.."
python3 bench/bench.py --drosera "$BUILD/drosera" ${BENCH_ARGS:-}
