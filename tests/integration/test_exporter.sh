#!/usr/bin/env bash
# The Prometheus exporter of hsdo-agent against a real HAProxy: /metrics
# follows the slot table (hsdo_server_weight, hsdo_slots, generation), counts
# the Runtime API commands the cold start needed and the cycles as they run;
# /healthz turns 503 with the reason when HAProxy stops and 200 when it is
# back; other methods get 405 and other paths 404; the listener is on
# 127.0.0.1 only; `promtool check metrics` accepts the output; a taken port
# or an address that is not an IP literal stops the agent at start; server
# mode exports the table it writes.
source "$(dirname "$0")/lib/peers.sh"
command -v promtool >/dev/null || {
	echo "FAIL - promtool is not installed: it comes with the Debian package 'prometheus' (./scripts/deps)"
	exit 1
}
command -v ss >/dev/null || { echo "FAIL - ss is not installed (Debian package iproute2)"; exit 1; }

EP=$(free_port) PA=$(free_port) PB=$(free_port)
hap_cfg "backend be_app
    balance roundrobin
    server-template web 1-4 127.0.0.2:80 disabled" A B
cat >"$tmp/env.yaml" <<YAML
INTERVAL: 0.2
STORE: file
STORE_FILE_PATH: $tmp/slots.json
CLIENT_HAPROXY_SOCKET_PATH: $tmp/admin.sock
CLIENT_HAPROXY_BACKEND_NAME: be_app
CLIENT_HAPROXY_BACKEND_BASE_NAME: web
CLIENT_HAPROXY_BACKEND_SERVER_PORT: 80
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4
EXPORTER_PORT: $EP
YAML
URL=http://127.0.0.1:$EP

# scrape: GET /metrics into $tmp/metrics.txt (headers in $tmp/metrics.hdr).
scrape() { curl -s -m 5 -D "$tmp/metrics.hdr" -o "$tmp/metrics.txt" "$URL/metrics"; }
# val SERIES: the value of one series (name and labels exactly as rendered)
# in the last scrape; empty when absent.
val() { awk -v s="$1" '$1 == s { print $2 }' "$tmp/metrics.txt"; }
# count_series NAME: how many samples of NAME (any labels) the last scrape has.
count_series() { grep -cE "^$1(\{| )" "$tmp/metrics.txt"; }
# status PATH [curl args]: the HTTP status of one request.
status() { curl -s -m 5 -o /dev/null -w '%{http_code}' "${@:2}" "$URL$1"; }
converged() { scrape && [[ $(val 'hsdo_runtime_api_commands_total{result="ok"}') == "$1" ]]; }

F=free
hap_start "$tmp/haproxy.cfg" || ko "haproxy starts" "$tmp/haproxy.log"
table 1 "1,active,127.0.0.1,$PA,10" "2,active,127.0.0.1,$PB,20" "3,draining,127.0.0.1,$PB,0" "4,$F"

# What the cold start needs, from the agent itself: --dry-run prints one
# `set server` command per line and sends none.
"$AGENT" -c --once --dry-run -f "$tmp/env.yaml" >"$tmp/dry.out" 2>"$tmp/dry.log"
need=$(grep -c '^set server be_app/' "$tmp/dry.out")
((need >= 6)) && ok "dry run: the cold start needs $need set commands" \
	|| ko "dry run: the cold start needs set commands ($need)" "$tmp/dry.out" "$tmp/dry.log"

"$AGENT" -c -f "$tmp/env.yaml" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=("$apid")
wait_log "$tmp/agent.log" "exporter listening on http://127.0.0.1:$EP/metrics" \
	&& ok "the agent logs where the exporter listens" || ko "the agent logs where the exporter listens" "$tmp/agent.log"

# ---- convergence: the cold start's commands, counted once ------------------
wait_for "converged" converged "$need" \
	&& ok "hsdo_runtime_api_commands_total{result=\"ok\"} is $need, the cold start's commands" \
	|| ko "commands ok: $(val 'hsdo_runtime_api_commands_total{result="ok"}'), want $need" "$tmp/metrics.txt" "$tmp/agent.log"
sleep 0.6
scrape
[[ $(val 'hsdo_runtime_api_commands_total{result="ok"}') == "$need" && $(val 'hsdo_runtime_api_commands_total{result="error"}') == 0 ]] \
	&& ok "converged cycles add no command, and none failed" || ko "converged cycles add no command" "$tmp/metrics.txt"
conns=$(val 'hsdo_runtime_api_connections_total')
[[ -n $conns ]] && ((conns >= 3)) && ok "Runtime API connections are counted ($conns)" \
	|| ko "Runtime API connections are counted ($conns)" "$tmp/metrics.txt"
grep -qi '^Content-Type: text/plain; version=0.0.4' "$tmp/metrics.hdr" && ok "Content-Type is text format 0.0.4" \
	|| ko "Content-Type is text format 0.0.4" "$tmp/metrics.hdr"

# ---- the slot table --------------------------------------------------------
[[ $(val 'hsdo_server_weight{id="1",name="i-1",ip="127.0.0.1",asg="asg-a"}') == 10 &&
   $(val 'hsdo_server_weight{id="2",name="i-2",ip="127.0.0.1",asg="asg-a"}') == 20 &&
   $(val 'hsdo_server_weight{id="3",name="i-3",ip="127.0.0.1",asg="asg-a"}') == 0 &&
   $(count_series hsdo_server_weight) -eq 3 ]] \
	&& ok "hsdo_server_weight: one series per used slot, with id, name, ip, asg and the weight" \
	|| ko "hsdo_server_weight matches the table" "$tmp/metrics.txt"
[[ $(val 'hsdo_slots{state="active"}') == 2 && $(val 'hsdo_slots{state="draining"}') == 1 &&
   $(val 'hsdo_slots{state="free"}') == 1 && $(val hsdo_table_generation) == 1 ]] \
	&& ok "hsdo_slots by state and hsdo_table_generation" || ko "hsdo_slots and generation" "$tmp/metrics.txt"
[[ $(val "hsdo_build_info{version=\"$("$AGENT" --version | awk '{print $2}')\"}") == 1 ]] \
	&& ok "hsdo_build_info carries the version" || ko "hsdo_build_info" "$tmp/metrics.txt"
reads=$(val 'hsdo_store_reads_total{store="file",result="ok"}')
[[ -n $reads ]] && ((reads >= 2)) && [[ $(val 'hsdo_store_reads_total{store="file",result="error"}') == 0 ]] \
	&& ok "store reads counted ($reads ok, 0 error)" || ko "store reads counted" "$tmp/metrics.txt"
now=$(date +%s)
start=$(val process_start_time_seconds)
fds=$(val process_open_fds)
rss=$(val process_resident_memory_bytes)
[[ -n $start && -n $fds && -n $rss ]] && (( ${start%.*} > now - 120 && ${start%.*} <= now && fds > 3 && rss > 1000000 )) \
	&& [[ -n $(val process_cpu_seconds_total) && -n $(val process_max_fds) ]] \
	&& ok "process metrics (start $start, $fds fds, $rss bytes resident)" || ko "process metrics" "$tmp/metrics.txt"

table 2 "1,active,127.0.0.1,$PA,30" "2,$F" "3,$F" "4,active,127.0.0.1,$PB,5"
wait_for "generation 2" bash -c "curl -s $URL/metrics | grep -qx 'hsdo_table_generation 2'"
scrape
[[ $(val 'hsdo_server_weight{id="1",name="i-1",ip="127.0.0.1",asg="asg-a"}') == 30 &&
   $(val 'hsdo_server_weight{id="4",name="i-4",ip="127.0.0.1",asg="asg-a"}') == 5 &&
   $(count_series hsdo_server_weight) -eq 2 && $(val 'hsdo_slots{state="free"}') == 2 ]] \
	&& ok "a new table replaces the series: freed slots disappear" || ko "a new table replaces the series" "$tmp/metrics.txt"
wait_for "applied" bash -c "(( \$(curl -s $URL/metrics | awk '\$1 == \"hsdo_runtime_api_commands_total{result=\\\"ok\\\"}\" {print \$2}') > $need ))" \
	&& ok "the new table's commands are counted" || ko "the new table's commands are counted" "$tmp/agent.log"

# ---- cycles and their duration -------------------------------------------------
scrape
c1=$(val 'hsdo_cycles_total{mode="client",result="ok"}')
sleep 1.2
scrape
c2=$(val 'hsdo_cycles_total{mode="client",result="ok"}')
n2=$(val 'hsdo_cycle_duration_seconds_count{mode="client"}')
e2=$(val 'hsdo_cycles_total{mode="client",result="error"}')
[[ -n $c1 && -n $c2 ]] && ((c2 >= c1 + 2)) && ok "cycles increase over time ($c1, then $c2 a second later)" \
	|| ko "cycles increase over time ($c1, then $c2)" "$tmp/metrics.txt"
[[ -n $n2 ]] && ((n2 == c2 + e2)) \
	&& [[ $(val 'hsdo_cycle_duration_seconds_bucket{mode="client",le="+Inf"}') == "$n2" ]] \
	&& ok "the duration histogram counts every cycle ($n2)" || ko "the duration histogram counts every cycle" "$tmp/metrics.txt"

# ---- promtool ---------------------------------------------------------------------
if promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1; then
	ok "promtool check metrics accepts the output"
else
	ko "promtool check metrics accepts the output" "$tmp/promtool.out"
fi

# ---- HTTP -------------------------------------------------------------------------
[[ $(status /healthz) == 200 && $(curl -s "$URL/healthz") == ok ]] && ok "/healthz: 200 ok" \
	|| ko "/healthz: 200 ok" "$tmp/agent.log"
[[ $(status /metrics -X POST -d x=1) == 405 && $(status /healthz -X DELETE) == 405 && $(status /metrics -X PUT) == 405 ]] \
	&& ok "POST, DELETE, PUT: 405" || ko "POST, DELETE, PUT: 405"
curl -s -D - -o /dev/null -X POST "$URL/metrics" | grep -qi '^Allow: GET, HEAD' && ok "405 names the allowed methods" \
	|| ko "405 names the allowed methods"
[[ $(status / ) == 404 && $(status /metrics/x) == 404 ]] && ok "other paths: 404" || ko "other paths: 404"
[[ $(status /metrics -I) == 200 ]] && ok "HEAD /metrics: 200" || ko "HEAD /metrics: 200"

# ---- bound to 127.0.0.1 only -------------------------------------------------------
ss -Hltn "sport = :$EP" >"$tmp/ss.out"
[[ $(wc -l <"$tmp/ss.out") -eq 1 ]] && awk '{print $4}' "$tmp/ss.out" | grep -qx "127.0.0.1:$EP" \
	&& ok "the listener is on 127.0.0.1:$EP only" || ko "the listener is on 127.0.0.1:$EP only" "$tmp/ss.out"

# ---- HAProxy stopped: 503 with the reason, then back ------------------------------
hap_stop
wait_for "503" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' $URL/healthz) == 503 ]]" \
	&& ok "/healthz: 503 when HAProxy is stopped" || ko "/healthz: 503 when HAProxy is stopped" "$tmp/agent.log"
why=$(curl -s "$URL/healthz")
[[ $why == *HAProxy* && $why == *admin.sock* ]] && ok "the 503 says why: $why" || ko "the 503 says why: $why"
sleep 0.5
scrape
e3=$(val 'hsdo_cycles_total{mode="client",result="error"}')
[[ -n $e3 ]] && ((e3 > e2)) && ok "failed cycles are counted ($e3)" || ko "failed cycles are counted ($e3)" "$tmp/metrics.txt"
hap_start "$tmp/haproxy.cfg" || ko "haproxy restarts" "$tmp/haproxy.log"
wait_for "200" bash -c "[[ \$(curl -s -o /dev/null -w '%{http_code}' $URL/healthz) == 200 ]]" \
	&& ok "/healthz: 200 again once HAProxy is back" || ko "/healthz: 200 again once HAProxy is back" "$tmp/agent.log"

# ---- start-up errors ----------------------------------------------------------------
EXPORTER_PORT=$EP timeout 10 "$AGENT" -c -f "$tmp/env.yaml" >"$tmp/taken.log" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q "exporter: cannot listen on 127.0.0.1:$EP" "$tmp/taken.log" && grep -qi "in use" "$tmp/taken.log" \
	&& ok "a taken port: exit 1 with a clear error" || ko "a taken port: exit 1 with a clear error (exit $rc)" "$tmp/taken.log"
! grep -q "slot [0-9] be_app:" "$tmp/taken.log" && ok "... before any cycle" || ko "... before any cycle" "$tmp/taken.log"
EXPORTER_ADDR=localhost EXPORTER_PORT=$(free_port) timeout 10 "$AGENT" -c -f "$tmp/env.yaml" >"$tmp/addr.log" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q "EXPORTER_ADDR 'localhost' is not an IPv4 or IPv6 address" "$tmp/addr.log" \
	&& ok "EXPORTER_ADDR must be an IP literal: exit 1" || ko "EXPORTER_ADDR must be an IP literal (exit $rc)" "$tmp/addr.log"
"$AGENT" -c --once -f "$tmp/env.yaml" >"$tmp/once.log" 2>&1 && ! grep -q exporter "$tmp/once.log" \
	&& ok "--once runs no exporter (the port stays the running agent's)" || ko "--once runs no exporter" "$tmp/once.log"

kill -TERM "$apid"
wait "$apid"
rc=$?
[[ $rc -eq 0 ]] && ok "SIGTERM: clean exit" || ko "SIGTERM: clean exit ($rc)" "$tmp/agent.log"
[[ -z $(ss -Hltn "sport = :$EP") ]] && ok "the port is released" || ko "the port is released"

# ---- server mode exports the table it writes ----
SP=$(free_port)
printf -- '- name: i-1\n  ip: 127.0.0.1\n  port: %s\n  group: asg-a\n- name: i-4\n  ip: 127.0.0.1\n  port: %s\n  group: asg-a\n' \
	"$PA" "$PB" >"$tmp/list.yaml"
EXPORTER_PORT=$SP SERVER_MODE=static SERVER_STATIC_FILE=$tmp/list.yaml SERVER_LEASE_TTL=0 \
	SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT=5 SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT=30 \
	SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT=25 "$AGENT" -s -f "$tmp/env.yaml" >"$tmp/server.log" 2>&1 &
spid=$!
pids+=("$spid")
URL=http://127.0.0.1:$SP
# i-1 keeps slot 1 at 30; i-4 keeps slot 4 and ramps 5 -> 30 in one step.
settled() {
	scrape && [[ $(val 'hsdo_server_weight{id="1",name="i-1",ip="127.0.0.1",asg="asg-a"}') == 30 &&
		     $(val 'hsdo_server_weight{id="4",name="i-4",ip="127.0.0.1",asg="asg-a"}') == 30 ]]
}
wait_for "server exporter" settled
[[ $(val 'hsdo_server_weight{id="1",name="i-1",ip="127.0.0.1",asg="asg-a"}') == "$(slot 1 Weight)" &&
   $(val 'hsdo_server_weight{id="4",name="i-4",ip="127.0.0.1",asg="asg-a"}') == "$(slot 4 Weight)" &&
   $(val hsdo_table_generation) == "$(gen)" && $(gen) -gt 2 &&
   -n $(val 'hsdo_cycles_total{mode="server",result="ok"}') &&
   $(count_series hsdo_runtime_api_commands_total) -eq 0 ]] \
	&& ok "server mode: the table it writes, mode=\"server\", no Runtime API series" || ko "server mode metrics" "$tmp/metrics.txt" "$tmp/server.log"
promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1 && ok "promtool accepts server mode's output" \
	|| ko "promtool accepts server mode's output" "$tmp/promtool.out"
kill -TERM "$spid"
wait "$spid"
[[ $? -eq 0 ]] && ok "server mode: clean exit" || ko "server mode: clean exit" "$tmp/server.log"
finish
