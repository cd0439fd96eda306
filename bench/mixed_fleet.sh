#!/usr/bin/env bash
# Mixed fleet: what our client pays to follow a table the original server
# writes (no generation: a full Scan every cycle), next to what the
# original client pays, and how long a change the original-style writer
# makes takes to reach HAProxy. Real peers: DynamoDB (dynalite behind the
# SigV4 verifier, which counts requests and bytes), HAProxy 2.6, the
# original-style peer (tests/fixtures/original_hsdo.js, AWS SDK for JS).
#
#   bench/mixed_fleet.sh [BUILD_DIR] [SLOTS] [SECONDS] [TRIALS]
#   (defaults: build/bench made Release if missing, 1000 slots, 20 s, 10)
#
# Prints two tables: cost per cycle (DynamoDB requests, bytes, RCU; CPU of
# the client and of HAProxy), and the latency from a write to HAProxy
# (median and max over TRIALS, INTERVAL=1 on both sides).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/bench}
N=${2:-1000} SECS=${3:-20} TRIALS=${4:-10}
if [[ ! -x $build/hsdo-agent ]]; then
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DHSDO_BUILD_TESTS=OFF >/dev/null
	cmake --build "$build" -j 2 --target hsdo-agent
fi
[[ -f $src/tests/node_modules/dynalite/cli.js ]] || (cd "$src/tests" && npm ci --no-audit --no-fund --loglevel=error)
export HSDO_AGENT=$build/hsdo-agent HSDO_SOURCE_DIR=$src
# shellcheck source=../tests/integration/lib/peers.sh
source "$src/tests/integration/lib/peers.sh"
# shellcheck source=../tests/integration/lib/mixed.sh
source "$src/tests/integration/lib/mixed.sh"
set +u
HZ=$(getconf CLK_TCK)

verifier_start || { echo "verifier did not start" >&2; exit 1; }
FE_h=$(free_port) SP=80
mixed_haproxy h "$(backend_app "$N")" no || { echo "HAProxy did not start" >&2; exit 1; }
HAP=$(cat "$tmp/h.pid")
mixed_env "$N" h "INTERVAL: 1"
echo "seeding $N used slots, as the original server writes them..." >&2
orig seed --size "$N" --fill "$N" >/dev/null

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }   # utime + stime of PID
# item sizes as DynamoDB counts them (attribute names + values; numbers
# approximated as digits/2 + 1), for the RCU of a full Scan
table_bytes() {
	orig dump | node -e 'let t = 0; for (const it of JSON.parse(require("fs").readFileSync(0)))
		for (const [k, v] of Object.entries(it)) t += k.length + (typeof v === "number" ?
			Math.ceil(String(v).length / 2) + 1 : String(v).length);
		console.log(t)'
}
TB=$(table_bytes)

# ---- cost per cycle: our client on the unversioned table ------------------------------------------
CP=$(free_port)
EXPORTER_PORT=$CP "$AGENT" --client -f "$tmp/env.yaml" >"$tmp/client.log" 2>&1 &
ours=$!
pids+=("$ours")
for i in $(seq 1 300); do grep -q "every backend has its" "$tmp/client.log" && break; sleep 0.1; done
sleep 5   # the first cycles apply all N slots
# between_cycles: return just after a cycle of our client has read the store
# (a response left the verifier) and finished, before the next one starts:
# the window's edges fall between cycles, with no request in flight. The
# agent's /metrics is read once per edge only (each scrape costs it CPU).
between_cycles() {
	local f0
	f0=$(stat_of forwarded)
	while [[ $(stat_of forwarded) == "$f0" ]]; do sleep 0.02; done
	sleep 0.3
}
measure() {   # measure PID: sets R_* over about SECS cycles of our client (PID)
	local c0 c1 t0 t1 h0 h1 snap
	between_cycles
	stats_reset
	c0=$(cycles "$CP") t0=$(ticks "$1") h0=$(ticks "$HAP")
	sleep "$SECS"
	between_cycles
	snap=$(stats_now)
	c1=$(cycles "$CP") t1=$(ticks "$1") h1=$(ticks "$HAP")
	R_CYC=$((c1 - c0))
	R_SCAN=$(stat_of byTarget/DynamoDB_20120810.Scan "$snap") R_GET=$(stat_of byTarget/DynamoDB_20120810.GetItem "$snap")
	R_IN=$(stat_of bytesIn "$snap") R_OUT=$(stat_of bytesOut "$snap")
	R_CPU=$(awk -v t=$((t1 - t0)) -v c=$R_CYC -v hz="$HZ" 'BEGIN { printf "%.2f", c ? 1000 * t / hz / c : 0 }')
	R_HCPU=$(awk -v t=$((h1 - h0)) -v c=$R_CYC -v hz="$HZ" 'BEGIN { printf "%.2f", c ? 1000 * t / hz / c : 0 }')
}
per() { awk -v x="$1" -v c="$2" 'BEGIN { printf "%.1f", c ? x / c : 0 }'; }
rcu() { awk -v b="$TB" -v f="$1" 'BEGIN { printf "%.1f", f * int((b + 4095) / 4096) }'; }
measure "$ours"
unv=("ours, unversioned (full Scan)" "$(per $((R_SCAN < 0 ? 0 : R_SCAN)) $R_CYC)" "$(per $((R_GET < 0 ? 0 : R_GET)) $R_CYC)"
	"$(per "$R_IN" $R_CYC)" "$(per "$R_OUT" $R_CYC)" "$(rcu 1)" "$R_CPU (C agent)" "$R_HCPU")

# ---- the same client once a control item exists: one GetItem per cycle --------------------------
orig put-control --generation 1
sleep 3
measure "$ours"
ver=("ours, versioned (GetItem)" "$(per $((R_SCAN < 0 ? 0 : R_SCAN)) $R_CYC)" "$(per $((R_GET < 0 ? 0 : R_GET)) $R_CYC)"
	"$(per "$R_IN" $R_CYC)" "$(per "$R_OUT" $R_CYC)" "1 + $(rcu 1) every 60 s" "$R_CPU (C agent)" "$R_HCPU")
kill "$ours"
wait "$ours" 2>/dev/null || true
orig delete --id 0

# ---- the original's way: a full Scan per cycle (SDK default: eventually consistent) -------------
stats_reset
orig scan --count "$SECS" >"$tmp/scan.log"
snap=$(stats_now)
S_SCAN=$(stat_of byTarget/DynamoDB_20120810.Scan "$snap") S_IN=$(stat_of bytesIn "$snap") S_OUT=$(stat_of bytesOut "$snap")
S_CPU=$(awk '{ t += $(NF - 2) } END { printf "%.2f", NR ? t / NR : 0 }' "$tmp/scan.log")
# and its HAProxy side: 3 commands per used slot, each on its own connection
orig_bg "$tmp/reader.log" client --socket "$tmp/h.sock" --interval 1 \
	--backends '{"be_app":{"baseName":"web","serverPort":"80"}}'
reader=$!
for i in $(seq 1 600); do grep -q "cycle 2:" "$tmp/reader.log" && break; sleep 0.1; done
k0=$(grep -c "^[0-9]* cycle" "$tmp/reader.log") t0=$(ticks "$reader") h0=$(ticks "$HAP")
sleep "$SECS"
k1=$(grep -c "^[0-9]* cycle" "$tmp/reader.log") t1=$(ticks "$reader") h1=$(ticks "$HAP")
kill "$reader"
ocyc=$((k1 - k0))
O_CPU=$(awk -v t=$((t1 - t0)) -v c=$ocyc -v hz="$HZ" 'BEGIN { printf "%.2f", c ? 1000 * t / hz / c : 0 }')
O_HCPU=$(awk -v t=$((h1 - h0)) -v c=$ocyc -v hz="$HZ" 'BEGIN { printf "%.2f", c ? 1000 * t / hz / c : 0 }')
O_LAST=$(grep "^[0-9]* cycle" "$tmp/reader.log" | tail -n1 | cut -d' ' -f2-)
org=("original's way (full Scan)" "$(per "$S_SCAN" "$SECS")" "0.0" "$(per "$S_IN" "$SECS")" "$(per "$S_OUT" "$SECS")"
	"$(rcu 0.5)" "$S_CPU Scan + $O_CPU all (Node)" "$O_HCPU")

echo
echo "Cost per client cycle, $N-slot table written by the original server ($(( (TB + 1023) / 1024 )) KiB of items, $SECS s each)"
printf '| %-30s | %6s | %7s | %9s | %10s | %22s | %30s | %12s |\n' "client" "Scans" "GetItems" "bytes out" "bytes in" "RCU" "client CPU ms" "HAProxy CPU ms"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..32})" "--------" "---------" "-----------" "------------" "$(printf -- '-%.0s' {1..24})" "$(printf -- '-%.0s' {1..32})" "--------------"
row() {
	local -n r=$1
	printf '| %-30s | %6s | %7s | %9s | %10s | %22s | %30s | %12s |\n' "${r[@]}"
}
row unv
row ver
row org
echo "(bytes out: requests to DynamoDB; bytes in: its responses. RCU: 1 per 4 KB consistent,"
echo " 0.5 eventually consistent. The original-style reader ($O_LAST) stands in for the"
echo " Python client: same requests and commands, not the same runtime.)"

# ---- latency: the original-style writer changes the table; HAProxy applies it ------------------
fleet_of() {   # fleet_of SKIP: the N instances but SKIP
	local i
	for ((i = 1; i <= N; i++)); do ((i == $1)) || echo "10.1.$((i >> 8)).$((i & 255)) i-$i web"; done >"$tmp/instances.new"
	mv "$tmp/instances.new" "$tmp/instances"
}
fleet_of 0
orig_bg "$tmp/writer.log" server --instances "$tmp/instances" --size "$N" --interval 1 --min 1 --max 10 \
	--increase 1 --increase-interval 3600
EXPORTER_PORT=$CP "$AGENT" --client -f "$tmp/env.yaml" >"$tmp/client2.log" 2>&1 &
pids+=($!)
echo >&2 "waiting for the writer's first loop (it rewrites all $N items)..."
for i in $(seq 1 1200); do [[ $(grep -c "^[0-9]* write" "$tmp/writer.log") -ge $N ]] && break; sleep 0.1; done
sleep 3
lat=()
for ((k = 1; k <= TRIALS; k++)); do
	slot=$((k * 7))
	nw=$(wc -l <"$tmp/writer.log") na=$(wc -l <"$tmp/client2.log")
	if ((k % 2)); then fleet_of "$slot"; else fleet_of 0; fi
	tw="" ta=""
	for i in $(seq 1 300); do
		[[ -z $tw ]] && tw=$(tail -n +"$((nw + 1))" "$tmp/writer.log" | sed -nE "s/^([0-9]+) write .*/\\1/p" | head -n1)
		line=$(tail -n +"$((na + 1))" "$tmp/client2.log" | grep -m1 -E "slot [0-9]+ be_app:" || true)
		[[ -n $tw && -n $line ]] && { ta=$(date -d "${line%% *}" +%s%3N); break; }
		sleep 0.05
	done
	[[ -n $tw && -n $ta ]] && lat+=($((ta - tw))) || echo "trial $k: no change seen" >&2
	sleep 1.5
done
printf '%s\n' "${lat[@]}" | sort -n >"$tmp/lat"
n=$(wc -l <"$tmp/lat")
echo
echo "Write by the original-style writer -> applied by HAProxy, $N slots, INTERVAL=1 on both sides"
echo "| trials | median ms | max ms | all (ms, sorted) |"
echo "|---|---|---|---|"
echo "| $n | $(sed -n "$(( (n + 1) / 2 ))p" "$tmp/lat") | $(tail -n1 "$tmp/lat") | $(tr '\n' ' ' <"$tmp/lat")|"
