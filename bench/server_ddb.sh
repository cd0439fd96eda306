#!/usr/bin/env bash
# Start dynalite on a free local port, run bench_server_ddb against it.
#   bench/server_ddb.sh [BUILD_DIR]     (default build/release)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build/release}
[[ -x $build/bench_server_ddb ]] || { echo "build first: cmake --build $build --target bench_server_ddb" >&2; exit 1; }
[[ -x $root/tests/node_modules/.bin/dynalite ]] || (cd "$root/tests" && npm ci --no-audit --no-fund --loglevel=error)
port=$((20000 + RANDOM % 10000))
"$root/tests/node_modules/.bin/dynalite" --port "$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
HSDO_BENCH_DDB_URL=http://127.0.0.1:$port "$build/bench_server_ddb"
