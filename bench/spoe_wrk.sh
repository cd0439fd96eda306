#!/usr/bin/env bash
# What the SPOE filter costs HAProxy, run by hand:
#   bench/spoe_wrk.sh [seconds per run] [rounds] [wrk connections]
# One HAProxy 2.6 with three frontends in front of the same backend of slots
# (filled by hsdo-agent --client from a file store, answered by HAProxy
# itself with `http-request return`):
#   off      no filter
#   on       filter spoe engine hsdo          (every response -> the agent)
#   sampled  filter spoe engine hsdo-sampled  (about 10 %)
# and the real agent as SPOA. `wrk` drives each frontend in turn, the three
# interleaved for every round; the table gives the median requests/s, the
# ratio to "off", wrk's p50/p99 latency, and the agent's CPU per 1000
# requests (from /proc/<pid>/stat). Needs haproxy, socat, curl and wrk
# (Debian package `wrk`). HSDO_AGENT: the agent binary (default: the
# Release build of ./scripts/bench, build/release/hsdo-agent).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(dirname "$here")
export HSDO_AGENT=${HSDO_AGENT:-$src/build/release/hsdo-agent}
[[ -x $HSDO_AGENT ]] || { echo "spoe_wrk: no agent at $HSDO_AGENT (set HSDO_AGENT)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "spoe_wrk: wrk is not installed (apt-get install wrk)" >&2; exit 1; }
secs=${1:-5}
rounds=${2:-3}
conns=${3:-50}
# shellcheck source=../tests/integration/lib/peers.sh
source "$src/tests/integration/lib/peers.sh"

EP=$(free_port) SP=$(free_port) PO=$(free_port)
P_off=$(free_port) P_on=$(free_port) P_sampled=$(free_port)
hap_cfg "frontend off
    bind 127.0.0.1:$P_off
    default_backend be_app
frontend on
    bind 127.0.0.1:$P_on
    filter spoe engine hsdo config $src/spoe/hsdo.spoe.conf
    default_backend be_app
frontend sampled
    bind 127.0.0.1:$P_sampled
    filter spoe engine hsdo-sampled config $src/spoe/hsdo.spoe.conf
    default_backend be_app
backend be_app
    balance roundrobin
    server-template web 1-4 127.0.0.2:80 disabled
backend hsdo_spoa
    mode tcp
    option spop-check
    timeout connect 1s
    timeout server 1m
    server hsdo-agent 127.0.0.1:$SP check inter 2s downinter 1s rise 1 fall 2
listen origin
    bind 127.0.0.1:$PO
    http-request return status 200 content-type text/plain string ok"
cat >"$tmp/env.yaml" <<YAML
INTERVAL: 1
STORE: file
STORE_FILE_PATH: $tmp/slots.json
CLIENT_HAPROXY_SOCKET_PATH: $tmp/admin.sock
CLIENT_HAPROXY_BACKEND_NAME: be_app
CLIENT_HAPROXY_BACKEND_BASE_NAME: web
CLIENT_HAPROXY_BACKEND_SERVER_PORT: 80
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4
EXPORTER_PORT: $EP
SPOA_LISTEN: 127.0.0.1:$SP
YAML
hap_start "$tmp/haproxy.cfg" || { cat "$tmp/haproxy.log"; exit 1; }
table 1 "1,active,127.0.0.1,$PO,10" "2,active,127.0.0.1,$PO,10" "3,active,127.0.0.1,$PO,10" "4,active,127.0.0.1,$PO,10"
"$HSDO_AGENT" -c -f "$tmp/env.yaml" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=("$apid")
ready() { [[ $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P_on/") == 200 ]] &&
	curl -s "http://127.0.0.1:$EP/metrics" | grep -q '^hsdo_spoe_messages_total [1-9]'; }
wait_for "ready" ready || { echo "spoe_wrk: HAProxy or the agent is not ready" >&2; tail "$tmp/agent.log" "$tmp/haproxy.log"; exit 1; }

# CPU ticks (utime + stime) of a pid.
ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
# run MODE: one wrk run; appends "rps p50_us p99_us agent_ticks" to $tmp/MODE.
run() {
	local port=P_$1 t0 t1 out
	t0=$(ticks "$apid")
	out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:${!port}/")
	t1=$(ticks "$apid")
	awk -v t="$((t1 - t0))" '
		function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1e6; return v }
		/^Requests\/sec:/ { rps = $2 }
		/^ +50%/ { p50 = us($2) }
		/^ +99%/ { p99 = us($2) }
		/requests in/ { n = $1 }
		END { print rps, p50, p99, t, n }' <<<"$out" >>"$tmp/$1"
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "HAProxy $(haproxy -v | awk 'NR == 1 { print $3 }'), $(nproc) CPUs, wrk -t1 -c$conns, $rounds rounds of ${secs}s per mode, interleaved"
for ((r = 1; r <= rounds; r++)); do
	for m in off on sampled; do run "$m"; done
done
base=$(awk '{ print $1 }' "$tmp/off" | median)
echo
echo "| SPOE filter | requests/s (median) | vs off | latency p50 | p99 | agent CPU per 1000 requests |"
echo "|---|---:|---:|---:|---:|---:|"
for m in off on sampled; do
	rps=$(awk '{ print $1 }' "$tmp/$m" | median)
	p50=$(awk '{ print $2 }' "$tmp/$m" | median)
	p99=$(awk '{ print $3 }' "$tmp/$m" | median)
	cpu=$(awk -v hz="$hz" '{ t += $4; n += $5 } END { printf "%.1f ms", n ? t / hz * 1e6 / n : 0 }' "$tmp/$m")
	awk -v m="$m" -v r="$rps" -v b="$base" -v p50="$p50" -v p99="$p99" -v c="$cpu" \
		'BEGIN { printf "| %s | %.0f | %.2f | %.0f us | %.0f us | %s |\n", m, r, r / b, p50, p99, c }'
done
curl -s "http://127.0.0.1:$EP/metrics" >"$tmp/metrics.txt"
echo
echo "agent: $(awk '$1 == "hsdo_spoe_messages_total" { print $2 }' "$tmp/metrics.txt") SPOE messages," \
	"$(awk '$1 ~ /^hsdo_spoe_frame_errors_total/ { s += $2 } END { print s + 0 }' "$tmp/metrics.txt") frame errors," \
	"$(awk '$1 == "hsdo_spoe_connections" { print $2 }' "$tmp/metrics.txt") connections open"
kill -TERM "$apid"
wait "$apid" 2>/dev/null
