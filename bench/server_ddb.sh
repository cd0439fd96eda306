#!/usr/bin/env bash
# Start dynalite (tests/integration/lib/dynalite.sh), run bench_server_ddb
# against it directly.
#   bench/server_ddb.sh [BUILD_DIR]     (default build/bench, made Release if missing)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/bench}
if [[ ! -x $build/bench_server_ddb ]]; then
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHSDO_BUILD_TESTS=OFF >/dev/null
	cmake --build "$build" -j 2 --target bench_server_ddb
fi
[[ -f $src/tests/node_modules/dynalite/cli.js ]] || (cd "$src/tests" && npm ci --no-audit --no-fund --loglevel=error)
# shellcheck source=../tests/integration/lib/dynalite.sh
. "$src/tests/integration/lib/dynalite.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-bench-server-XXXXXX")
trap 'dynalite_stop; rm -rf "$tmp"' EXIT
dynalite_start "$tmp"
HSDO_BENCH_DDB_URL=$DYNALITE_URL "$build/bench_server_ddb"
