#!/bin/sh
# install-deps.sh -- make sure the Debian packages ipborg needs are present.
#
# Usage: scripts/install-deps.sh build|test|bench|browser
#   build  what `make` and `make run` need (compiler, pkg-config, the -dev libraries)
#   test   build + what `make test` needs (cmocka, PostgreSQL 15 server binaries,
#          clang for the sanitizer/fuzz builds and libclang-rt-14-dev for their
#          runtimes -- ASan, UBSan, libFuzzer; clang only recommends it --,
#          python3 for the end-to-end tests)
#   bench  test + nginx and wrk for the benchmarks
#   browser  build + headless Chromium, chromedriver and a font for `make test-browser`
#
# Only missing packages are installed: with apt-get when we are root, else with sudo
# (non-interactively), else the exact command is printed and we stop with status 1.
# It is cheap when everything is there (one dpkg-query), so make calls it every time.
set -eu

profile=${1:-build}
pkgs="build-essential pkg-config libmicrohttpd-dev libjansson-dev libsqlite3-dev libpq-dev zlib1g-dev libpng-dev"
case "$profile" in
  build) ;;
  test)  pkgs="$pkgs libcmocka-dev postgresql-15 clang libclang-rt-14-dev python3 procps" ;;
  bench) pkgs="$pkgs libcmocka-dev postgresql-15 clang libclang-rt-14-dev python3 procps nginx-light wrk postgresql-client-15 sqlite3" ;;
  browser) pkgs="$pkgs python3 chromium chromium-driver fonts-dejavu-core" ;;
  *) echo "install-deps.sh: unknown profile '$profile' (build, test, bench or browser)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  case "$status" in *"install ok installed"*) ;; *) missing="$missing $p" ;; esac
done
[ -z "$missing" ] && exit 0

echo "install-deps.sh: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" = 0 ]; then
  run=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  run="sudo -n"
else
  echo "install-deps.sh: not root and no password-less sudo; run this, then retry:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$run apt-get update -q >&2 || true
# shellcheck disable=SC2086
$run apt-get install -y -q --no-install-recommends $missing >&2
