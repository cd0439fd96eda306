#!/usr/bin/env bash
# Run bench_aws against dynalite twice: through the SigV4-checking proxy
# (every request verified by the reference signer in node: the slower,
# stricter path) and directly.
#   bench/aws.sh [BUILD_DIR] [runs]
# BUILD_DIR defaults to build/bench (made Release if missing).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/bench}
runs=${2:-15}
if [[ ! -x $build/bench_aws ]]; then
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHSDO_BUILD_TESTS=OFF >/dev/null
	cmake --build "$build" -j 2 --target bench_aws
fi
# shellcheck source=../tests/integration/lib/dynalite.sh
. "$src/tests/integration/lib/dynalite.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-bench-aws-XXXXXX")
trap 'dynalite_stop; rm -rf "$tmp"' EXIT
dynalite_start "$tmp"

export HOME=/nonexistent AWS_REGION=$DYNALITE_REGION AWS_EC2_METADATA_DISABLED=true
export AWS_ACCESS_KEY_ID=$DYNALITE_AKID AWS_SECRET_ACCESS_KEY=$DYNALITE_SECRET
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL
echo "== through the SigV4-checking proxy"
HSDO_BENCH_DDB_URL=$DYNALITE_PROXY_URL "$build/bench_aws" "$runs"
echo
echo "== dynalite directly"
HSDO_BENCH_DDB_URL=$DYNALITE_URL "$build/bench_aws" "$runs" | tail -n +5
