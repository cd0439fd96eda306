#!/usr/bin/env bash
# Memory of the real agent by role, store and table size: hsdo-agent
# (Release) as a server (static source) and as a client (next to a real
# HAProxy with a server-template of N, its SPOE agent listening) on the
# file store and on DynamoDB (dynalite behind the SigV4 verifier), with
# tables of N slots at 90 % use. Prints, per role/store/size, the RSS once
# the first cycles have settled (VmRSS), the RSS after HOLD more seconds,
# and the peak (VmHWM), in MB (10^6 bytes).
#
#   bench/rss.sh [--baseline REV] [BUILD_DIR]
#     BUILD_DIR       default build/bench (made Release if missing)
#     --baseline REV  also build REV's hsdo-agent (git archive into
#                     build/rss-REV) and print its numbers side by side
#   SIZES="10 1000 10000" STORES="file dynamodb" HOLD=5 (environment)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
baseline=
if [[ ${1:-} == --baseline ]]; then baseline=$2; shift 2; fi
build=${1:-$src/build/bench}
SIZES=${SIZES:-10 1000 10000} STORES=${STORES:-file dynamodb} HOLD=${HOLD:-5}

agent_build() {   # agent_build SRC_DIR BUILD_DIR: a Release hsdo-agent, up to date
	[[ -f $2/CMakeCache.txt ]] || cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DHSDO_BUILD_TESTS=OFF >/dev/null
	cmake --build "$2" -j 2 --target hsdo-agent >/dev/null
}
agent_build "$src" "$build"
agents=("$build/hsdo-agent") labels=("$(git -C "$src" rev-parse --short HEAD)$(git -C "$src" diff --quiet HEAD -- libhsdo agent include || echo +)")
if [[ -n $baseline ]]; then
	rev=$(git -C "$src" rev-parse --short "$baseline")
	bsrc=$src/build/rss-$rev/src
	if [[ ! -d $bsrc ]]; then
		mkdir -p "$bsrc"
		git -C "$src" archive "$rev" | tar -x -C "$bsrc"
	fi
	agent_build "$bsrc" "$src/build/rss-$rev/build"
	agents=("$src/build/rss-$rev/build/hsdo-agent" "${agents[@]}")
	labels=("$rev" "${labels[@]}")
fi
[[ -f $src/tests/node_modules/dynalite/cli.js ]] || (cd "$src/tests" && npm ci --no-audit --no-fund --loglevel=error)
export HSDO_AGENT=${agents[0]} HSDO_SOURCE_DIR=$src
# shellcheck source=../tests/integration/lib/peers.sh
source "$src/tests/integration/lib/peers.sh"
# shellcheck source=../tests/integration/lib/mixed.sh
source "$src/tests/integration/lib/mixed.sh"
set +u
[[ $STORES == *dynamodb* ]] && { verifier_start || { echo "verifier did not start" >&2; exit 1; }; }

kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }   # kb PID VmRSS|VmHWM
# peak PID KB: VmHWM, or KB (a VmRSS read earlier) when larger: the kernel
# syncs its per-thread RSS counters lazily, so VmHWM can lag behind VmRSS.
peak() { local h; h=$(kb "$1" VmHWM); echo $(( h > $2 ? h : $2 )); }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k * 1024 / 1e6 }'; }
# settle PORT MODE N PID: until the agent PID on PORT holds N active slots
# and has run 3 more cycles of MODE after that (10 minutes at most).
settle() {
	local i c0 c
	for i in $(seq 1 6000); do
		[[ $(metric "$1" 'hsdo_slots{state="active"}') == "$3" ]] && break
		kill -0 "$4" 2>/dev/null || return 1
		sleep 0.1
	done
	[[ $(metric "$1" 'hsdo_slots{state="active"}') == "$3" ]] || return 1
	c0=$(metric "$1" "hsdo_cycles_total{mode=\"$2\",result=\"ok\"}")
	for i in $(seq 1 600); do
		c=$(metric "$1" "hsdo_cycles_total{mode=\"$2\",result=\"ok\"}")
		(( ${c:-0} >= ${c0:-0} + 3 )) && return 0
		sleep 0.1
	done
	return 1
}
# instances M: the static list, EC2-like ids, three groups and zones
instances() {
	awk -v m="$1" 'BEGIN { for (i = 1; i <= m; i++) {
		printf "- {name: i-0b%015d, ip: 10.%d.%d.%d, group: hsdo-bench-web-production-asg-%c, az: eu-west-1%c}\n",
			i, int(i / 65536) % 256, int(i / 256) % 256, i % 256, 97 + i % 3, 97 + i % 3 } }' >"$tmp/list.yaml"
}

# stop_run: stop the agents and HAProxy of one measurement.
stop_run() {
	local p
	for p in $S $C; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	S='' C=''
	if [[ -f $tmp/h.pid ]]; then
		p=$(cat "$tmp/h.pid")
		kill "$p" 2>/dev/null
		while kill -0 "$p" 2>/dev/null; do sleep 0.1; done
	fi
	rm -f "$tmp/h.pid" "$tmp/h.sock"
}
# run AGENT STORE N: one measurement; sets RES to "server_start
# server_hold server_peak client_start client_hold client_peak" in kB.
run() {
	local agent=$1 store=$2 n=$3 m=$(( $3 * 9 / 10 )) d sp cp tbl s0 c0
	RES="- - - - - -"
	d=$tmp/$store-$n
	rm -rf "$d" && mkdir -p "$d"
	instances "$m"
	tbl=hsdo-rss-$n-$RANDOM
	FE_h=$(free_port)
	sp=$(free_port) cp=$(free_port)
	{
		printf 'INTERVAL: 1\nHAPROXY_BACKEND_SERVERS_LIST_SIZE: %s\n' "$n"
		if [[ $store == file ]]; then printf 'STORE: file\nSTORE_FILE_PATH: %s/slots.json\n' "$d"
		else printf 'STORE: dynamodb\nDYNAMODB_TABLE_NAME: %s\nAWS_DEFAULT_REGION: us-east-1\n' "$tbl"; fi
		printf 'SERVER_MODE: static\nSERVER_STATIC_FILE: %s/list.yaml\nSERVER_LEASE_TTL: 0\n' "$tmp"
		printf 'SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 10\nSERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 10\n'
		printf 'CLIENT_HAPROXY_SOCKET_PATH: %s/h.sock\nCLIENT_HAPROXY_BACKEND_NAME: be_app\n' "$tmp"
		printf 'CLIENT_HAPROXY_BACKEND_BASE_NAME: web\nSPOA_LISTEN: 127.0.0.1:%s\n' "$(free_port)"
	} >"$d/env.yaml"
	[[ $store == dynamodb ]] && { "$agent" --create-table -f "$d/env.yaml" >"$d/create.log" 2>&1 || { echo "create-table failed" >&2; cat "$d/create.log" >&2; return 1; }; }
	EXPORTER_PORT=$sp "$agent" --server -f "$d/env.yaml" >"$d/server.log" 2>&1 &
	S=$!
	pids+=("$S")
	settle "$sp" server "$m" "$S" || { echo "server ($store, $n) did not settle" >&2; tail -n 5 "$d/server.log" >&2; return 1; }
	s0=$(kb "$S" VmRSS)
	mixed_haproxy h "$(backend_app "$n")" no || { echo "HAProxy did not start" >&2; return 1; }
	EXPORTER_PORT=$cp "$agent" --client -f "$d/env.yaml" >"$d/client.log" 2>&1 &
	C=$!
	pids+=("$C")
	settle "$cp" client "$m" "$C" || { echo "client ($store, $n) did not settle" >&2; tail -n 5 "$d/client.log" >&2; return 1; }
	c0=$(kb "$C" VmRSS)
	sleep "$HOLD"
	RES="$s0 $(kb "$S" VmRSS) $(peak "$S" "$s0") $c0 $(kb "$C" VmRSS) $(peak "$C" "$c0")"
}

declare -A R
for store in $STORES; do
	for n in $SIZES; do
		for i in "${!agents[@]}"; do
			echo "measuring ${labels[$i]}: $store, $n slots..." >&2
			run "${agents[$i]}" "$store" "$n" || true
			stop_run
			R[$i,$store,$n]=$RES
		done
	done
done

echo
echo "hsdo-agent RSS in MB (10^6 bytes): start-up = VmRSS once the first cycles settled,"
echo "held = VmRSS $HOLD s later, peak = VmHWM; tables at 90 % use; build: ${labels[*]}"
printf '| %-7s | %-8s | %6s | %-8s | %8s | %6s | %6s |\n' role store slots build start-up held peak
printf '|---------|----------|--------|----------|----------|--------|--------|\n'
for role in client server; do
	for store in $STORES; do
		for n in $SIZES; do
			for i in "${!agents[@]}"; do
				read -r ss sh spk cs ch cpk <<<"${R[$i,$store,$n]}"
				if [[ $role == server ]]; then a=$ss b=$sh p=$spk; else a=$cs b=$ch p=$cpk; fi
				[[ $a == - ]] && { printf '| %-7s | %-8s | %6s | %-8s | %8s | %6s | %6s |\n' "$role" "$store" "$n" "${labels[$i]}" failed - -; continue; }
				printf '| %-7s | %-8s | %6s | %-8s | %8s | %6s | %6s |\n' "$role" "$store" "$n" "${labels[$i]}" "$(mb "$a")" "$(mb "$b")" "$(mb "$p")"
			done
		done
	done
done
