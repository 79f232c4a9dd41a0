#!/usr/bin/env bash
# Installs the Debian 12 packages drosera needs, and only those that are missing.
# Usage: scripts/install-deps.sh [build|test|load|fuzz|bench|all]...   (default: build)
# Idempotent: a second run installs nothing and does not touch the network.
set -euo pipefail

build_pkgs=(
  build-essential cmake pkg-config
  libmodsecurity-dev modsecurity-crs
  libboost1.74-dev libssl-dev zlib1g-dev libzstd-dev
  libsqlite3-dev libpq-dev libcurl4-openssl-dev
  nlohmann-json3-dev libsimdjson-dev libtoml11-dev libcli11-dev libspdlog-dev libfmt-dev
  libmaxminddb-dev libjemalloc-dev
  media-types
  libgtest-dev libgmock-dev libbenchmark-dev
)
# libFuzzer and the sanitizer runtimes for clang (make fuzz; make test runs the fuzzers briefly).
fuzz_pkgs=(clang libfuzzer-14-dev libclang-rt-14-dev)
test_pkgs=(
  python3 python3-yaml curl openssl
  "${fuzz_pkgs[@]}"
  postgresql
  libapache2-mod-security2 apache2
  nginx libnginx-mod-http-modsecurity
)
# The real attack tools of the load suite (tests/load, make loadtest; its short form runs in make test).
load_pkgs=(python3 util-linux ffuf gobuster dirb sqlmap wapiti nmap siege)
bench_pkgs=(wrk util-linux procps)
# The dashboard's browser test (tests/e2e): Debian's Chromium driven by playwright-core, which
# tests/e2e/install.sh installs from its lock file with npm ci. NodeSource's nodejs bundles npm.
e2e_pkgs=(chromium nodejs)
command -v npm >/dev/null 2>&1 || e2e_pkgs+=(npm)
test_pkgs+=("${e2e_pkgs[@]}")

want=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) want+=("${build_pkgs[@]}") ;;
    test) want+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${load_pkgs[@]}") ;;
    load) want+=("${build_pkgs[@]}" "${load_pkgs[@]}") ;;
    fuzz) want+=("${build_pkgs[@]}" "${fuzz_pkgs[@]}") ;;
    bench) want+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
    all) want+=("${build_pkgs[@]}" "${test_pkgs[@]}" "${load_pkgs[@]}" "${bench_pkgs[@]}") ;;
    *) echo "install-deps: unknown group '$group' (build, test, load, fuzz, bench, all)" >&2; exit 2 ;;
  esac
done

missing=()
for p in $(printf '%s\n' "${want[@]}" | sort -u); do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
e2e_modules() {
  case " $* " in
    *" test "*|*" bench "*|*" all "*) "$(dirname "$0")/../tests/e2e/install.sh" ;;
  esac
}
if [ ${#missing[@]} -eq 0 ]; then
  e2e_modules "$@"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: run as root or install sudo" >&2; exit 1; }
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
# Package installs must not start services on the build host (nginx, apache2, postgresql):
# drosera's tests start their own instances on loopback.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null && $SUDO chmod +x "$policy" && created_policy=1
fi
trap '[ $created_policy -eq 1 ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
e2e_modules "$@"
