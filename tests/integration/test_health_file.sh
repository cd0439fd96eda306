#!/usr/bin/env bash
# Fleet health with the file store, against real peers: three HAProxies
# (filter spoe, each with its own hsdo-agent --client), one server (static
# source), four HTTP backends (tests/fixtures/health_peers.js) and steady
# traffic through every HAProxy (docs/health.md):
#  - a backend failing for everyone: its slot is ejected in the table
#    (enabled, Weight 0, Ejected, EjectReason) and drained on all three
#    HAProxies, the backend gets no new request, the server logs the votes,
#    txn.hsdo.slot_state says ejected; healed, it ramps back from
#    MIN_WEIGHT after the ejection time; failing again, it is out twice as
#    long;
#  - a backend failing only for the traffic of one HAProxy: never ejected;
#  - three of four failing: never more than the cap (one) ejected at once;
#  - one client whose every backend fails (its own traffic only): an
#    outlier, named in a log line and a metric; nothing ejected;
#  - the clients killed: the ejection in progress expires, nothing new is
#    ejected.
source "$(dirname "$0")/lib/peers.sh"
source "$(dirname "$0")/lib/health.sh"
HEALTH_STORE=file

metric() { curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }
# ejected_count: slots ejected in the table, from one read of the file.
ejected_count() {
	node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
		console.log(d.slots.filter(x => x.Ejected !== undefined).length);' "$tmp/slots.json" 2>/dev/null
}
stable_for() { # SECONDS BACKEND: the backend gets no request for that long
	local before after
	before=$(backend_total "$2")
	sleep "$1"
	after=$(backend_total "$2")
	[[ $before == "$after" ]]
}

health_all_up || { finish; exit 1; }
ok "three HAProxies with their clients, a server and four backends serve every slot"
if wait_long "reports" 20 eval '[[ $(ls "$tmp"/slots.json.health/*.json 2>/dev/null | wc -l) == 3 ]]'; then
	ok "each client writes its report in <STORE_FILE_PATH>.health/"; else ko "reports" "$tmp/h1/client.log"; fi

# ---- one backend fails for everyone ------------------------------------------------
s3=$(slot_of_b b3)
fail b3
if wait_long "ejected" 40 eval '[[ -n $(tslot "$s3" Ejected) ]]'; then
	ok "b3 failing for every HAProxy: slot $s3 ejected in the table"; else ko "no ejection" "$tmp/server.log" "$tmp/h1/client.log"; fi
if [[ $(tslot "$s3" BackendServerStatus) == enabled && $(tslot "$s3" Weight) == 0 &&
	$(tslot "$s3" IPAddress) == 127.0.0.1 && $(tslot "$s3" ServerName) == i-b3 &&
	$(tslot "$s3" EjectReason) == *" of 3 HAProxies see "* && $(tslot "$s3" EjectCount) == 1 ]]; then
	ok "the slot is enabled, Weight 0, its instance kept, with Ejected and EjectReason"; else ko "item: $(grep -o "\"BackendServerID\":{\"N\":\"$s3\"}[^\n]*" "$tmp/slots.json")"; fi
# while it is out (6 s): what the metrics and HAProxy's variable say
if [[ $(metric hsdo_health_ejected "$MP") == 1 &&
	$(( $(metric 'hsdo_health_ejections_total{reason="errors"}' "$MP") + $(metric 'hsdo_health_ejections_total{reason="check"}' "$MP") )) -ge 1 ]] &&
	wait_long "client table" 5 eval '[[ $(metric "hsdo_slots{state=\"ejected\"}" "$EP_h2") == 1 ]]'; then
	ok "metrics: hsdo_health_ejected, hsdo_health_ejections_total, hsdo_slots{state=\"ejected\"}"; else ko "metrics $(metric hsdo_health_ejected "$MP")"; fi
slot_state() { curl -s -m 2 -o /dev/null -D - -H "x-slot: $s3" "http://127.0.0.1:$FE_h2/" | tr -d '\r' | sed -n 's/^x-hsdo-slot-state: //ip'; }
if wait_long "slot_state" 5 eval '[[ $(slot_state) == ejected ]]'; then
	ok "txn.hsdo.slot_state = ejected for a response of the slot"; else ko "slot_state '$(slot_state)'"; fi
if wait_long "drained" 20 drained_everywhere "$s3"; then
	ok "slot $s3 is drained on all three HAProxies"; else ko "not drained everywhere: $(hsrv h1 srv_admin_state web$s3) $(hsrv h2 srv_admin_state web$s3) $(hsrv h3 srv_admin_state web$s3)"; fi
if stable_for 1.5 b3; then ok "b3 receives no new request"; else ko "b3 still gets requests"; fi
if grep -qE "slot $s3 i-b3 127\.0\.0\.1:[0-9]+ ejected for 6 s: [23] of 3 HAProxies see (errors ≥ 50 % (or its check DOWN )?\(median [0-9]+ %\)|its check DOWN)" "$tmp/server.log"; then
	ok "the server logs the ejection with the votes"; else ko "log line" "$tmp/server.log"; fi
if grep -q "slot $s3 failing for this HAProxy" "$tmp/h1/client.log"; then ok "the client logs its verdict"; else ko "client verdict log" "$tmp/h1/client.log"; fi

# ---- healed: back after the ejection time, with the ramp -----------------------------
heal b3
if wait_long "back" 20 eval '[[ -z $(tslot "$s3" Ejected) && $(tslot "$s3" BackendServerStatus) == enabled ]]'; then
	ok "after HEALTH_EJECT_TIME the slot is back in service"; else ko "not back" "$tmp/server.log"; fi
if grep -qE "slot $s3 i-b3 .* back in service, ramping from weight 1 \(ejected 1 time\)" "$tmp/server.log"; then
	ok "it ramps back from MIN_WEIGHT (logged)"; else ko "return log" "$tmp/server.log"; fi
if wait_long "serving" 20 serving_everywhere "$s3" && wait_long "ramped" 20 tslot_is "$s3" Weight 4; then
	ok "serving on every HAProxy again, ramped to MAX_WEIGHT"; else ko "not serving again"; fi

# ---- failing again: twice as long --------------------------------------------------
fail b3
if wait_long "ejected again" 40 tslot_is "$s3" EjectCount 2; then
	ok "failing again: ejected a second time"; else ko "second ejection" "$tmp/server.log"; fi
if grep -qE "slot $s3 i-b3 .* ejected for 12 s:" "$tmp/server.log"; then
	ok "the second ejection lasts twice as long (12 s)"; else ko "backoff" "$tmp/server.log"; fi
heal b3
wait_long "back" 40 eval '[[ -z $(tslot "$s3" Ejected) ]]' && wait_long "serving" 20 serving_everywhere "$s3"

# ---- failing for one HAProxy only ------------------------------------------------------
s2=$(slot_of_b b2)
fail b2 h1
if wait_long "h1 sees it" 30 grep -q "slot $s2 failing for this HAProxy" "$tmp/h1/client.log"; then
	ok "b2 fails for h1's traffic only: h1 calls it failing"; else ko "h1 verdict" "$tmp/h1/client.log"; fi
sleep 4
if [[ -z $(tslot "$s2" Ejected) ]] && serving_everywhere "$s2"; then
	ok "... and it is never ejected (1 of 3 is no quorum)"; else ko "ejected on one HAProxy's word" "$tmp/server.log"; fi
heal b2

# ---- three of four fail: the cap -----------------------------------------------------
fail b1; fail b2; fail b4
max=0 seen=0
for i in $(seq 1 60); do
	n=$(ejected_count)
	((n > max)) && max=$n
	((n > 0)) && seen=1
	sleep 0.2
done
if ((seen == 1 && max == 1)); then ok "three of four failing: one ejected at a time, the cap (20 % of 4, at least one)"; else ko "ejected at once: max $max (seen $seen)" "$tmp/server.log"; fi
if grep -qE "not ejected: .* but the cap of group web is reached \(1 of 4 ejected, HEALTH_MAX_EJECTED_PERCENT 20\)" "$tmp/server.log"; then
	ok "the capped slots are logged"; else ko "cap log" "$tmp/server.log"; fi
# The first HAProxy to see a fleet-wide failure may look like an outlier
# for a cycle or two (docs/health.md); once every window shows it, none is.
if [[ $(metric hsdo_health_outlier_clients "$MP") == 0 ]]; then
	ok "every client agrees: none is an outlier"; else ko "outliers while the fleet agrees: $(metric hsdo_health_outlier_clients "$MP")" "$tmp/server.log"; fi
heal
wait_long "none ejected" 30 eval '[[ $(ejected_count) == 0 ]]'
for s in 1 2 3 4; do wait_long "serving" 20 serving_everywhere "$s"; done

# ---- an outlier client -----------------------------------------------------------------------
for b in b1 b2 b3 b4; do fail "$b" h3 reset; done
if wait_long "outlier" 40 grep -qE "client h3 is an outlier: it calls [34] of 4 slots failing" "$tmp/server.log"; then
	ok "h3, whose every backend fails, is named an outlier"; else ko "no outlier" "$tmp/server.log" "$tmp/h3/client.log"; fi
if [[ $(metric 'hsdo_health_outlier{client="h3"}' "$MP") == 1 && $(metric hsdo_health_outlier_clients "$MP") == 1 ]]; then
	ok "hsdo_health_outlier{client=\"h3\"} 1"; else ko "outlier metric"; fi
sleep 3
if [[ $(ejected_count) == 0 ]]; then ok "nothing is ejected on an outlier's word"; else ko "ejected: $(ejected_count)" "$tmp/server.log"; fi
heal

# ---- reports stop --------------------------------------------------------------------------------
fail b4
s4=$(slot_of_b b4)
wait_long "ejected" 40 eval '[[ -n $(tslot "$s4" Ejected) ]]' || ko "b4 not ejected" "$tmp/server.log"
for h in "${HAPS[@]}"; do pid=CPID_$h; kill -9 "${!pid}"; done
if wait_long "expired" 70 eval '[[ -z $(tslot "$s4" Ejected) ]]'; then
	ok "clients killed: the ejection in progress expires"; else ko "still ejected" "$tmp/server.log"; fi
sleep 5
if [[ $(ejected_count) == 0 && $(metric 'hsdo_health_reports{state="fresh"}' "$MP") == 0 ]]; then
	ok "no fresh report: nothing new is ejected, though b4 still fails"; else ko "ejected without reports: $(ejected_count)" "$tmp/server.log"; fi
if ! grep -q "SECRET\|AWS_SECRET" "$tmp/server.log"; then ok "no secret in the log"; else ko "secret"; fi
load 0
finish
