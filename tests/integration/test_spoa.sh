#!/usr/bin/env bash
# The SPOE agent of hsdo-agent --client against a real HAProxy (each series
# of the matrix, tests/CMakeLists.txt) whose
# frontend carries `filter spoe` with the tree's spoe/hsdo.spoe.conf:
#  - HTTP requests with known status codes sent to known slots (use-server
#    on a header) are counted in /metrics by backend, slot and class, exactly
#    (hsdo_spoe_responses_total and the window, HEALTH_WINDOW), also with 300 requests
#    50 at a time, which HAProxy spreads over several SPOE connections;
#  - the ACK's txn.hsdo.slot_state reaches HAProxy: a response header and
#    the access log (log-format, over a Unix datagram socket) show the
#    slot's state in the table (active, draining);
#  - the agent killed (SIGKILL) in the middle of traffic: every request
#    still gets its 200, and once a new agent runs HAProxy reconnects and the
#    new agent counts again; SIGTERM stops it cleanly;
#  - the "hsdo-sampled" engine reports about 10 % of the responses;
#  - no frame error, health checks answered, promtool accepts /metrics.
source "$(dirname "$0")/lib/peers.sh"
SRC=${HSDO_SOURCE_DIR:?HSDO_SOURCE_DIR must point to the source tree}
command -v promtool >/dev/null || {
	echo "FAIL - promtool is not installed: it comes with the Debian package 'prometheus' (./scripts/deps)"
	exit 1
}

EP=$(free_port) SP=$(free_port) FE_PORT=$(free_port) FS_PORT=$(free_port) PO=$(free_port)
hap_cfg "frontend fe
    bind 127.0.0.1:$FE_PORT
    filter spoe engine hsdo config $SRC/spoe/hsdo.spoe.conf
    log unix@$tmp/log.sock format raw local0
    log-format \"%b/%s %ST slot_state=%[var(txn.hsdo.slot_state)] spoe_error=%[var(txn.hsdo.error)]\"
    http-response set-header X-HSDO-Slot-State %[var(txn.hsdo.slot_state)]
    http-response set-header X-HSDO-Error %[var(txn.hsdo.error)]
    default_backend be_app

frontend fe_sampled
    bind 127.0.0.1:$FS_PORT
    filter spoe engine hsdo-sampled config $SRC/spoe/hsdo.spoe.conf
    default_backend be_sampled

backend be_app
    balance roundrobin
    use-server web1 if { req.hdr(x-slot) -m str 1 }
    use-server web2 if { req.hdr(x-slot) -m str 2 }
    use-server web3 if { req.hdr(x-slot) -m str 3 }
    server-template web 1-4 127.0.0.2:80 disabled

backend be_sampled
    server origin 127.0.0.1:$PO

$(spoa_backend "$SP" "check inter 300ms downinter 300ms rise 1 fall 1")"
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
SPOA_LISTEN: 127.0.0.1:$SP
YAML
URL=http://127.0.0.1:$EP

scrape() { curl -s -m 5 -o "$tmp/metrics.txt" "$URL/metrics"; }
val() { awk -v s="$1" '$1 == s { print $2 }' "$tmp/metrics.txt"; }
resp() { val "hsdo_spoe_responses_total{backend=\"$1\",slot=\"$2\",class=\"$3\"}"; }
win() { val "hsdo_spoe_window_responses{backend=\"$1\",slot=\"$2\",class=\"$3\"}"; }
# get SLOT PATH: one request; prints "<status> <X-HSDO-Slot-State> <X-HSDO-Error>".
get() {
	curl -s -m 5 -o /dev/null -D - -H "x-slot: $1" "http://127.0.0.1:$FE_PORT$2" | tr -d '\r' |
		awk 'NR == 1 { st = $2 } tolower($1) == "x-hsdo-slot-state:" { ss = $2 }
		     tolower($1) == "x-hsdo-error:" { e = $2 }
		     END { print st, (ss == "" ? "-" : ss), (e == "" ? "-" : e) }'
}
# send N SLOT PATH: N sequential requests, each must answer; the statuses
# seen are appended to $tmp/sent.
send() {
	local i
	for ((i = 0; i < $1; i++)); do get "$2" "$3" >>"$tmp/sent"; done
}
start_agent() {
	"$AGENT" -c -f "$tmp/env.yaml" >>"$tmp/agent.log" 2>&1 &
	apid=$!
	pids+=("$apid")
}
# The agent answers SPOE again: a request gets its slot_state header.
spoe_up() { [[ $(get 1 /) == "200 active -" ]]; }

socat -u "UNIX-RECV:$tmp/log.sock" "OPEN:$tmp/access.log,creat,append" &
pids+=($!)
disown $!
wait_for "log socket" test -S "$tmp/log.sock" || ko "socat listens on $tmp/log.sock"
hap_start "$tmp/haproxy.cfg" || ko "haproxy starts" "$tmp/haproxy.log"
# slot 1 and 2 active, 3 draining, 4 free; all on the origin
table 1 "1,active,127.0.0.1,$PO,10" "2,active,127.0.0.1,$PO,10" "3,draining,127.0.0.1,$PO,0" "4,free"
start_agent
wait_log "$tmp/agent.log" "SPOE agent listening on 127.0.0.1:$SP" \
	&& ok "the agent's SPOE agent listens on SPOA_LISTEN" || ko "the SPOE agent listens" "$tmp/agent.log"
wait_for "converged" bash -c "[[ \$(echo 'show servers state be_app' | socat -t 2 - UNIX-CONNECT:$tmp/admin.sock | awk '\$4 == \"web3\" {print \$7}') =~ ^(8|12)$ ]]" \
	|| ko "the agent applies the table (web3 draining)" "$tmp/agent.log"
wait_for "SPOE up" spoe_up && ok "HAProxy reaches the agent: slot_state comes back on a response" \
	|| ko "HAProxy reaches the agent" "$tmp/agent.log" "$tmp/haproxy.log"

# ---- exact counts by slot and class ----------------------------------------------
scrape
base=$(resp be_app 1 2xx)
base=${base:-0}
: >"$tmp/sent"
send 20 1 /
send 5 1 /404
send 10 2 /
send 7 2 /500
send 3 2 /302
send 4 3 /
sort "$tmp/sent" | uniq -c | sed 's/^ */    sent: /'
[[ $(grep -c '^200 active -$' "$tmp/sent") -eq 30 && $(grep -c '^404 active -$' "$tmp/sent") -eq 5 &&
   $(grep -c '^500 active -$' "$tmp/sent") -eq 7 && $(grep -c '^302 active -$' "$tmp/sent") -eq 3 &&
   $(grep -c '^200 draining -$' "$tmp/sent") -eq 4 ]] \
	&& ok "X-HSDO-Slot-State (txn.hsdo.slot_state from the ACK): active on slots 1-2, draining on slot 3" \
	|| ko "slot_state headers" "$tmp/sent"
scrape
[[ $(resp be_app 1 2xx) == $((base + 20)) && $(resp be_app 1 4xx) == 5 &&
   $(resp be_app 2 2xx) == 10 && $(resp be_app 2 5xx) == 7 && $(resp be_app 2 3xx) == 3 &&
   $(resp be_app 3 2xx) == 4 && -z $(resp be_app 3 5xx) && -z $(resp be_app 4 2xx) ]] \
	&& ok "hsdo_spoe_responses_total by slot and class matches what was sent" \
	|| ko "responses by slot and class" "$tmp/metrics.txt"
[[ $(win be_app 1 2xx) == $((base + 20)) && $(win be_app 1 4xx) == 5 && $(win be_app 2 5xx) == 7 &&
   $(win be_app 2 3xx) == 3 && $(win be_app 3 2xx) == 4 && $(val hsdo_spoe_window_seconds) == 30 ]] \
	&& ok "hsdo_spoe_window_responses (30 s window, HEALTH_WINDOW's default) matches too" || ko "window counts" "$tmp/metrics.txt"
wait_for "access log" grep -q 'be_app/web3 200 slot_state=draining spoe_error=-' "$tmp/access.log" \
	&& grep -q 'be_app/web2 500 slot_state=active spoe_error=-' "$tmp/access.log" \
	&& ok "the access log's log-format shows slot_state (draining for web3)" || ko "access log" "$tmp/access.log"

# ---- many at once --------------------------------------------------------------------
scrape
b1=$(resp be_app 1 2xx) b2=$(resp be_app 2 4xx) m0=$(val hsdo_spoe_messages_total)
seq 1 300 | xargs -P 50 -I{} sh -c 'if [ $(({} % 3)) -eq 0 ]; then s=2 p=/404; else s=1 p=/; fi
	curl -s -m 5 -o /dev/null -w "%{http_code}\n" -H "x-slot: $s" "http://127.0.0.1:'"$FE_PORT"'$p"' >"$tmp/par"
scrape
[[ $(grep -c '^200$' "$tmp/par") -eq 200 && $(grep -c '^404$' "$tmp/par") -eq 100 &&
   $(resp be_app 1 2xx) == $((b1 + 200)) && $(resp be_app 2 4xx) == $((${b2:-0} + 100)) &&
   $(val hsdo_spoe_messages_total) == $((m0 + 300)) ]] \
	&& ok "300 requests 50 at a time: 200 + 100 counted exactly, one message each" \
	|| ko "concurrent counts ($(resp be_app 1 2xx) vs $((b1 + 200)), messages $(val hsdo_spoe_messages_total))" "$tmp/metrics.txt"
open=$(val hsdo_spoe_connections)
echo "    SPOE connections: $open open, $(val hsdo_spoe_connections_accepted_total) accepted (health checks included)"
((open >= 2)) && ok "HAProxy keeps several SPOE connections open ($open)" || ko "several SPOE connections ($open)" "$tmp/metrics.txt"

# ---- the agent killed during traffic -------------------------------------------------------
: >"$tmp/during"
(
	end=$((SECONDS + 5))
	while ((SECONDS < end)); do get 1 / >>"$tmp/during"; done
) &
traffic=$!
sleep 1
kill -KILL "$apid"
wait "$apid" 2>/dev/null
sleep 1.5
start_agent
wait "$traffic"
n=$(wc -l <"$tmp/during")
bad=$(grep -vc '^200 ' "$tmp/during")
down=$(grep -c '^200 - ' "$tmp/during")
echo "    during the restart: $n requests, $down without slot_state ($(grep '^200 - ' "$tmp/during" | sort | uniq -c | tr '\n' ' '))"
# At least a few requests each side of the kill (a loaded machine sends
# fewer in 5 s: 16 were seen), and none of them answered other than 200.
((n >= 8 && bad == 0)) && ok "agent killed and restarted: all $n requests answered 200" || ko "200s while the agent restarts ($bad of $n not 200)" "$tmp/during"
((down > 0)) && grep -q '^200 - [0-9]' "$tmp/during" \
	&& ok "while it was down, txn.hsdo.error was set instead (option set-on-error)" || ko "set-on-error while down" "$tmp/during"
wait_for "SPOE back" spoe_up && ok "HAProxy reconnects to the new agent" || ko "HAProxy reconnects" "$tmp/agent.log" "$tmp/haproxy.log"
scrape
r0=$(resp be_app 1 2xx)
: >"$tmp/sent"
send 10 1 /
# The exporter serves the last body the loop rendered when the loop does
# not render within 30 ms (a loaded machine: a body 0.4 s old was served):
# scrape until the count shows, 10 s at most.
counted() { scrape; [[ $(resp be_app 1 2xx) == $((r0 + 10)) ]]; }
wait_for "new agent counts" counted
[[ $(resp be_app 1 2xx) == $((r0 + 10)) && $(grep -c '^200 active -$' "$tmp/sent") -eq 10 ]] \
	&& ok "the new agent counts again (+10)" || ko "the new agent counts ($r0 -> $(resp be_app 1 2xx))" "$tmp/metrics.txt"

# ---- sampling ----------------------------------------------------------------------------------
seq 1 400 | xargs -P 10 -I{} curl -s -m 5 -o /dev/null -w "%{http_code}\n" "http://127.0.0.1:$FS_PORT/" >"$tmp/sampled"
scrape
s=$(resp be_sampled 1 2xx)
s=${s:-0}
echo "    sampled: $s of 400 responses reported"
[[ $(grep -c '^200$' "$tmp/sampled") -eq 400 ]] && ((s >= 12 && s <= 80)) \
	&& ok "the hsdo-sampled engine reports about 10 % ($s of 400; a server outside the table is slot = srv_id)" \
	|| ko "sampling ($s of 400)" "$tmp/metrics.txt"

# ---- health of the exchange ---------------------------------------------------------------
scrape
errs=$(awk '$1 ~ /^hsdo_spoe_frame_errors_total/ { s += $2 } END { print s + 0 }' "$tmp/metrics.txt")
[[ $errs -eq 0 && $(grep -c '^hsdo_spoe_frame_errors_total{' "$tmp/metrics.txt") -eq 9 &&
   $(val hsdo_spoe_listening) == 1 && $(val hsdo_spoe_connections_rejected_total) == 0 ]] \
	&& ok "no frame error (9 reasons exported at 0), listening, none rejected" || ko "frame errors" "$tmp/metrics.txt"
echo "show stat" | socat -t 2 - "UNIX-CONNECT:$tmp/admin.sock" | awk -F, '$1 == "hsdo_spoa" && $2 == "hsdo-agent" { print $18, $37 }' >"$tmp/check"
# check_status reads "* L7OK" while a check is in progress (HAProxy prefixes "* ").
grep -qE '^UP (\* )?L7OK$' "$tmp/check" && ok "option spop-check: the agent is UP (L7OK)" || ko "spop-check ($(cat "$tmp/check"))" "$tmp/haproxy.log"
if promtool check metrics <"$tmp/metrics.txt" >"$tmp/promtool.out" 2>&1; then
	ok "promtool check metrics accepts the output"
else
	ko "promtool check metrics" "$tmp/promtool.out"
fi

kill -TERM "$apid"
wait "$apid"
rc=$?
[[ $rc -eq 0 ]] && ok "SIGTERM: clean exit" || ko "SIGTERM: clean exit ($rc)" "$tmp/agent.log"
[[ $(get 1 / | cut -d' ' -f1) == 200 ]] && ok "HAProxy serves with the agent stopped" || ko "HAProxy serves with the agent stopped"
finish
