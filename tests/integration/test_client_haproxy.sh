#!/usr/bin/env bash
# hsdo-agent --client against a real HAProxy (each series of the matrix,
# tests/CMakeLists.txt): every check is made two
# ways, `show servers state` and real HTTP requests through the frontend
# (three small backend servers are HAProxy `listen` sections answering A, B
# and C). Covers: start-up check, cold start, reweight, free, drain,
# convergence (an idle cycle sends nothing), malformed entries, store failure
# and an empty table (HAProxy keeps serving), a server removed from HAProxy
# at run time, HAProxy restarted mid-run, the socket appearing late,
# --dry-run and --once.
source "$(dirname "$0")/lib/peers.sh"

FE_PORT=$(free_port) PA=$(free_port) PB=$(free_port) PC=$(free_port) EP=$(free_port)
hap_cfg "frontend fe
    bind 127.0.0.1:$FE_PORT
    default_backend be_app
backend be_app
    balance roundrobin
    server-template web 1-4 127.0.0.2:80 disabled" A B C
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
F=free
table 1 "1,active,127.0.0.1,$PA,10" "2,active,127.0.0.1,$PB,20" "3,$F" "4,$F"

# ---- the socket appears late: the agent waits, then converges ----------
"$AGENT" -c -f "$tmp/env.yaml" >"$tmp/agent.log" 2>&1 &
apid=$!
pids+=("$apid")
wait_log "$tmp/agent.log" "admin.sock: not found" && ok "missing socket reported" || ko "missing socket reported" "$tmp/agent.log"
sleep 0.6
[[ $(grep -c "admin.sock: not found" "$tmp/agent.log") -eq 1 ]] && ok "reported once, not every retry" \
	|| ko "reported once, not every retry" "$tmp/agent.log"
hap_start "$tmp/haproxy.cfg" || ko "haproxy starts" "$tmp/haproxy.log"
wait_log "$tmp/agent.log" "every backend has its 4 slots" && ok "agent goes on as soon as the socket appears" \
	|| ko "agent goes on as soon as the socket appears" "$tmp/agent.log"

# ---- cold start ------------------------------------------------------------
wait_for "web1 ready" bash -c "! (( \$(echo 'show servers state be_app' | socat - UNIX-CONNECT:$tmp/admin.sock | awk '\$4==\"web2\"{print \$7}') & 0x23 ))"
[[ $(srv srv_addr be_app web1) == 127.0.0.1 && $(srv srv_port be_app web1) == "$PA" && $(srv srv_uweight be_app web1) == 10 ]] \
	&& ok "cold start: web1 has address, port and weight" || ko "cold start: web1 has address, port and weight"
! in_maint be_app web1 && ! in_maint be_app web2 && in_maint be_app web3 && in_maint be_app web4 \
	&& ok "cold start: web1, web2 ready; web3, web4 in maint" || ko "cold start: states"
h=$(hits 30)
[[ $h =~ A=([0-9]+)\ B=([0-9]+)\ C=0\ 503=0 ]] && (( BASH_REMATCH[1] >= 8 && BASH_REMATCH[1] <= 12 )) \
	&& ok "requests follow the weights 10:20 ($h)" || ko "requests follow the weights 10:20 ($h)"

# ---- converged: an idle cycle sends nothing ---------------------------------
sleep 0.5
n1=$(grep -c "slot [0-9] be_app:" "$tmp/agent.log")
sleep 1
n2=$(grep -c "slot [0-9] be_app:" "$tmp/agent.log")
[[ $n1 -eq $n2 && $n1 -eq 2 ]] && ok "converged: no further commands ($n1 slot changes in all)" \
	|| ko "converged: no further commands ($n1 then $n2)" "$tmp/agent.log"
"$AGENT" -c --once -f "$tmp/env.yaml" >"$tmp/once.log" 2>&1 && grep -q "HAProxy matches the slot table" "$tmp/once.log" \
	&& ! grep -q "slot [0-9] be_app:" "$tmp/once.log" && ok "--once on a converged HAProxy: exit 0, no command" \
	|| ko "--once on a converged HAProxy" "$tmp/once.log"

# ---- reweight, add, free ------------------------------------------------------
table 2 "1,active,127.0.0.1,$PA,20" "2,active,127.0.0.1,$PB,20" "3,active,127.0.0.1,$PC,20" "4,$F"
wait_for "web3 ready" bash -c "[[ \$(echo 'show servers state be_app' | socat - UNIX-CONNECT:$tmp/admin.sock | awk '\$4==\"web3\"{print \$8}') == 20 ]]"
sleep 0.3
h=$(hits 30)
[[ $(srv srv_uweight be_app web1) == 20 && $h == "A=10 B=10 C=10 503=0" ]] && ok "reweight + add: even split ($h)" \
	|| ko "reweight + add: even split ($h)" "$tmp/agent.log"
grep -q "slot 1 be_app: weight 20$" "$tmp/agent.log" && ok "a reweight is one command, logged in one line" \
	|| ko "a reweight is one command, logged in one line" "$tmp/agent.log"

table 3 "1,$F" "2,active,127.0.0.1,$PB,20" "3,active,127.0.0.1,$PC,20" "4,$F"
wait_for "web1 maint" in_maint be_app web1 && ok "freed slot goes to maint" || ko "freed slot goes to maint" "$tmp/agent.log"
h=$(hits 20)
[[ $h == "A=0 B=10 C=10 503=0" ]] && ok "freed slot gets no more requests ($h)" || ko "freed slot gets no more requests ($h)"

# ---- drain --------------------------------------------------------------------
table 4 "1,$F" "2,draining,127.0.0.1,$PB,0" "3,active,127.0.0.1,$PC,20" "4,$F"
wait_for "web2 drain" in_drain be_app web2 && ok "draining slot is in drain" || ko "draining slot is in drain" "$tmp/agent.log"
! in_maint be_app web2 && [[ $(srv srv_addr be_app web2) == 127.0.0.1 ]] && ok "draining keeps its address, not maint" \
	|| ko "draining keeps its address, not maint"
h=$(hits 10)
[[ $h == "A=0 B=0 C=10 503=0" ]] && ok "draining server gets no new requests ($h)" || ko "draining server gets no new requests ($h)"

# ---- a malformed entry: the read fails naming it, the last good table stays ---
table 5 "1,active,not-an-ip,$PA,10" "2,$F" "3,active,127.0.0.1,$PC,30" "4,$F"
wait_log "$tmp/agent.log" 'BackendServerID 1\): IPAddress: "not-an-ip" is not an IPv4 or IPv6 address.*keeping the last good slot table$' \
	&& ok "a malformed entry fails the read, named (item and attribute)" \
	|| ko "a malformed entry fails the read, named" "$tmp/agent.log"
sleep 0.5
[[ $(srv srv_uweight be_app web3) == 20 ]] && in_drain be_app web2 && in_maint be_app web1 \
	&& ok "nothing of that table applies: HAProxy keeps the last good one" \
	|| ko "nothing of that table applies" "$tmp/agent.log"
[[ $(curl -s -m 5 "http://127.0.0.1:$EP/healthz") == *'IPAddress: "not-an-ip"'* ]] \
	&& ok "/healthz says why" || ko "/healthz says why: $(curl -s -m 5 "http://127.0.0.1:$EP/healthz")"

# ---- store failure and empty table: HAProxy keeps serving ----------------------
table 6 "1,$F" "2,$F" "3,active,127.0.0.1,$PC,30" "4,$F"
wait_for "web2 maint" in_maint be_app web2
echo '{"format":"hsdo-slots","version":1,"generation":7,"slo' >"$tmp/slots.json"
wait_log "$tmp/agent.log" "keeping the last good slot table" && ok "corrupt store reported" || ko "corrupt store reported" "$tmp/agent.log"
sleep 0.5
h=$(hits 5)
[[ $h == "A=0 B=0 C=5 503=0" ]] && ! in_maint be_app web3 && ok "HAProxy keeps serving on a corrupt store ($h)" \
	|| ko "HAProxy keeps serving on a corrupt store ($h)"
printf '{"format":"hsdo-slots","version":1,"generation":8,"slots":[]}\n' >"$tmp/slots.json"
wait_log "$tmp/agent.log" "no slots" && ok "an empty table is a failure" || ko "an empty table is a failure" "$tmp/agent.log"
sleep 0.5
h=$(hits 5)
[[ $h == "A=0 B=0 C=5 503=0" ]] && ! in_maint be_app web3 && ok "an empty read never empties HAProxy ($h)" \
	|| ko "an empty read never empties HAProxy ($h)"
table 9 "1,active,127.0.0.1,$PA,10" "2,$F" "3,active,127.0.0.1,$PC,10" "4,$F"
wait_log "$tmp/agent.log" "readable again" && wait_for "web1 up" bash -c "! (( \$(echo 'show servers state be_app' | socat - UNIX-CONNECT:$tmp/admin.sock | awk '\$4==\"web1\"{print \$7}') & 0x23 ))" \
	&& ok "store back: the new table applies" || ko "store back: the new table applies" "$tmp/agent.log"

# ---- a server removed from HAProxy: reported, the rest applied --------------------
[[ $(cli "del server be_app/web4") == "Server deleted." ]] || ko "del server web4"
table 10 "1,active,127.0.0.1,$PA,40" "2,$F" "3,active,127.0.0.1,$PC,10" "4,$F"
wait_for "web1 weight 40" bash -c "[[ \$(echo 'show servers state be_app' | socat - UNIX-CONNECT:$tmp/admin.sock | awk '\$4==\"web1\"{print \$8}') == 40 ]]" \
	&& ok "with web4 gone, the other slots still apply" || ko "with web4 gone, the other slots still apply" "$tmp/agent.log"
grep -qE "be_app/web4" "$tmp/agent.log" && ok "the missing server is named in the log" \
	|| ko "the missing server is named in the log" "$tmp/agent.log"

# ---- HAProxy restarted mid-run: repaired within a cycle ---------------------------
hap_stop
wait_log "$tmp/agent.log" "retrying" || true
hap_start "$tmp/haproxy.cfg" || ko "haproxy restarts" "$tmp/haproxy.log"
wait_log "$tmp/agent.log" "answers again" && ok "HAProxy back: reported" || ko "HAProxy back: reported" "$tmp/agent.log"
wait_for "web1 repaired" bash -c "[[ \$(echo 'show servers state be_app' | socat - UNIX-CONNECT:$tmp/admin.sock | awk '\$4==\"web1\"{print \$8}') == 40 ]]" \
	&& ok "a restarted HAProxy is repaired" || ko "a restarted HAProxy is repaired" "$tmp/agent.log"
sleep 0.3
h=$(hits 10)
[[ $h == "A=8 B=0 C=2 503=0" ]] && ok "requests follow the table after the restart ($h)" \
	|| ko "requests follow the table after the restart ($h)"

# ---- a reload naming a backend HAProxy lacks: keep running, change nothing --
cp "$tmp/env.yaml" "$tmp/env.good"
sed -i 's/^CLIENT_HAPROXY_BACKEND_NAME: be_app/CLIENT_HAPROXY_BACKEND_NAME: be_other/' "$tmp/env.yaml"
kill -HUP "$apid"
wait_log "$tmp/agent.log" "backend be_other" && kill -0 "$apid" 2>/dev/null \
	&& ok "a reload naming a missing backend is reported; the agent keeps running" \
	|| ko "a reload naming a missing backend is reported; the agent keeps running" "$tmp/agent.log"
nready=$(grep -c "every backend has its 4 slots" "$tmp/agent.log")
cp "$tmp/env.good" "$tmp/env.yaml"
kill -HUP "$apid"
wait_for "checked again" bash -c "[[ \$(grep -c 'every backend has its 4 slots' $tmp/agent.log) -gt $nready ]]" \
	&& ok "a corrected reload resumes" || ko "a corrected reload resumes" "$tmp/agent.log"

kill -TERM "$apid"
wait "$apid"
[[ $? -eq 0 ]] && ok "SIGTERM: clean exit" || ko "SIGTERM: clean exit" "$tmp/agent.log"

# ---- --dry-run sends nothing ---------------------------------------------------------
table 11 "1,active,127.0.0.1,$PB,7" "2,$F" "3,$F" "4,$F"
# Without --once: --dry-run is one cycle and exits 0 by itself.
timeout 30 "$AGENT" -c --dry-run -f "$tmp/env.yaml" >"$tmp/dry.out" 2>"$tmp/dry.log" \
	&& grep -qx "set server be_app/web1 addr 127.0.0.1 port $PB" "$tmp/dry.out" && grep -qx "set server be_app/web3 state maint" "$tmp/dry.out" \
	&& [[ $(srv srv_port be_app web1) == "$PA" ]] && ok "--dry-run: one cycle, prints the commands, sends none, exits 0" \
	|| ko "--dry-run: one cycle, prints the commands, sends none, exits 0" "$tmp/dry.out" "$tmp/dry.log"
"$AGENT" -c --once -f "$tmp/env.yaml" >"$tmp/once2.log" 2>&1 && [[ $(srv srv_port be_app web1) == "$PB" ]] \
	&& ok "--once applies and exits 0 when HAProxy matches" || ko "--once applies and exits 0" "$tmp/once2.log"

# ---- start-up check: slots missing -> exit 1 naming them -------------------------------
sed -i 's/^HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4/HAPROXY_BACKEND_SERVERS_LIST_SIZE: 6/' "$tmp/env.yaml"
"$AGENT" -c -f "$tmp/env.yaml" >"$tmp/check.log" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q "be_app/web5..6" "$tmp/check.log" && ok "missing slots: exit 1 naming be_app/web5..6" \
	|| ko "missing slots: exit 1 naming them (exit $rc)" "$tmp/check.log"
sed -i 's/^CLIENT_HAPROXY_BACKEND_NAME: be_app/CLIENT_HAPROXY_BACKEND_NAME: be_nope/' "$tmp/env.yaml"
"$AGENT" -c -f "$tmp/env.yaml" >"$tmp/check2.log" 2>&1
rc=$?
[[ $rc -eq 1 ]] && grep -q "backend be_nope" "$tmp/check2.log" && ok "missing backend: exit 1 naming it" \
	|| ko "missing backend: exit 1 naming it (exit $rc)" "$tmp/check2.log"
finish
