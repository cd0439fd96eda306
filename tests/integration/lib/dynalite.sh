# dynalite (an in-memory DynamoDB) and the SigV4-checking proxy in front of
# it (tests/fixtures/sigv4_proxy.js), for shell tests and bench/aws.sh.
# Source it, then:
#   dynalite_start DIR      start both, logs in DIR; sets DYNALITE_URL (direct),
#                           DYNALITE_PROXY_URL, DYNALITE_PROXY_PORT and the
#                           pids in DYNALITE_PIDS
#   dynalite_stop           stop both
# The proxy accepts AKIDHSDOTEST / hsdo/TEST+secret/KEY0123456789abcdefghij
# (DYNALITE_AKID / DYNALITE_SECRET) in region us-east-1.
# shellcheck shell=bash

DYNALITE_AKID=AKIDHSDOTEST
DYNALITE_SECRET='hsdo/TEST+secret/KEY0123456789abcdefghij'
DYNALITE_REGION=us-east-1
DYNALITE_PIDS=()

_dynalite_src() {
	local here
	here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
	echo "${HSDO_SOURCE_DIR:-$here}"
}

# shellcheck source=free_port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"

# _dynalite_wait LOG REGEX PID: wait (15 s) until LOG matches REGEX; print
# the first capture group.
_dynalite_wait() {
	local i m
	for i in $(seq 1 300); do
		m=$(sed -nE "s#$2#\\1#p" "$1" 2>/dev/null | head -n1)
		[[ -n $m ]] && { echo "$m"; return 0; }
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

dynalite_start() {
	local dir=$1 src port attempt
	src=$(_dynalite_src)
	[[ -f $src/tests/node_modules/dynalite/cli.js ]] || {
		echo "dynalite missing: npm ci in $src/tests" >&2; return 1; }
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		node "$src/tests/node_modules/dynalite/cli.js" --host 127.0.0.1 --port "$port" \
			--createTableMs 0 --deleteTableMs 0 --updateTableMs 0 \
			>"$dir/dynalite.log" 2>&1 &
		DYNALITE_PIDS+=($!)
		if _dynalite_wait "$dir/dynalite.log" '.*listening at: http://127.0.0.1:([0-9]+).*' $! >/dev/null; then
			DYNALITE_URL=http://127.0.0.1:$port
			break
		fi
		kill "$!" 2>/dev/null
		[[ $attempt == 5 ]] && { tail -n 5 "$dir/dynalite.log" >&2; return 1; }
	done
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		node "$src/tests/fixtures/sigv4_proxy.js" --upstream "$DYNALITE_URL" \
			--region "$DYNALITE_REGION" --port "$port" \
			--creds "[{\"accessKeyId\":\"$DYNALITE_AKID\",\"secretAccessKey\":\"$DYNALITE_SECRET\"}]" \
			>"$dir/proxy.log" 2>&1 &
		DYNALITE_PIDS+=($!)
		DYNALITE_PROXY_PORT=$(_dynalite_wait "$dir/proxy.log" '^LISTENING ([0-9]+)$' $!) && break
		kill "$!" 2>/dev/null
		[[ $attempt == 5 ]] && { tail -n 5 "$dir/proxy.log" >&2; return 1; }
	done
	DYNALITE_PROXY_URL=http://127.0.0.1:$DYNALITE_PROXY_PORT
	export DYNALITE_URL DYNALITE_PROXY_URL DYNALITE_PROXY_PORT
}

dynalite_stop() {
	local p
	for p in "${DYNALITE_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${DYNALITE_PIDS[@]}"; do wait "$p" 2>/dev/null; done
	DYNALITE_PIDS=()
}
