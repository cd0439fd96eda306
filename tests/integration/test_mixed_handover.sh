#!/usr/bin/env bash
# Mixed fleet, steps 1 to 3 of docs/migration.md and the way back, in the
# time zone given as $1 (every process runs with TZ=$1: the original
# writes LastWeightUpdate in local time and so must we):
#  1. the original-style writer (tests/fixtures/original_hsdo.js server)
#     fills a 3-slot table and ramps it; our client follows into HAProxy;
#  2. hand-over: the writer stops, our server (static source, the same
#     fleet) takes the table over: no slot moves, no weight jumps, its
#     timestamps are read on the original's clock (a step lands exactly on
#     the original's grid) and written in local time; our client goes back
#     to one GetItem per cycle;
#  3. one instance leaves: our server drains its slot;
#  4. the way back: our server stops (the writer exits while item 0 is
#     there, as the original does), item 0 is deleted, the writer starts
#     again: it keeps every slot, frees the drained one and goes on ramping
#     from our timestamps; a new instance in the freed slot is served by our
#     client although the item still carries our Draining;
#  5. forward again: our server takes over once more, although the slots
#     still carry the first era's Epoch stamps.
source "$(dirname "$0")/lib/peers.sh"
source "$(dirname "$0")/lib/mixed.sh"
export TZ=${1:?usage: test_mixed_handover.sh ZONE (Europe/Paris, America/New_York)}
[[ -f /usr/share/zoneinfo/$TZ ]] || { echo "FAIL - no zone $TZ (tzdata: ./scripts/deps)"; exit 1; }
STEP=4   # SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL on both sides

verifier_start || { ko "verifier did not start" "$tmp/proxy.log"; finish; exit 1; }
FE_h=$(free_port) SP=$(free_port)
mixed_haproxy h "$(backend_app 3)" || { ko "HAProxy did not start" "$tmp/h.hap.log"; finish; exit 1; }
mixed_env 3 h "INTERVAL: 0.5
$(server_yaml 200 "$STEP" 300)"
writer() {   # writer LOG: the original-style server on $tmp/instances
	orig_bg "$1" server --instances "$tmp/instances" --size 3 --interval 1 --min 1 --max 200 \
		--increase 1 --increase-interval "$STEP"
	WRITER=$!
}
# snap: "name id weight last" per used slot, sorted by name (SDK read).
snap() { orig used; }
field() { awk -v n="$2" -v f="$3" '$1 == n { print $f }' <<<"$1"; }    # field SNAP NAME COL
last() { awk -v n="$2" '$1 == n { print $4 " " $5 }' <<<"$1"; }        # last SNAP NAME
# lms TEXT: a LastWeightUpdate read as local time (TZ), in Unix ms.
lms() {
	node -e 'const m = /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+)(?:\.(\d{3}))?/.exec(process.argv[1]);
		console.log(new Date(+m[1], m[2] - 1, +m[3], +m[4], +m[5], +m[6], +(m[7] || 0)).getTime())' "$1"
}
# served NAME IP: HAProxy serves instance NAME's slot at IP with the table's weight.
served() {
	local s id w
	s=$(snap)
	id=$(field "$s" "$1" 2) w=$(field "$s" "$1" 3)
	[[ -n $id && $(haddr h "web$id") == "$2:$SP" && $(hweight h "web$id") == "$w" ]]
}

# ---- 1. the original writes, our client follows ----------------------------------------------
fleet "127.0.0.1 i-a web" "127.0.0.2 i-b web"
writer "$tmp/writer1.log"
CP=$(free_port)
EXPORTER_PORT=$CP "$AGENT" --client -f "$tmp/env.yaml" >"$tmp/client.log" 2>&1 &
pids+=($!)
sleep 5
fleet "127.0.0.1 i-a web" "127.0.0.2 i-b web" "127.0.0.3 i-c web"
if wait_long "C ramps" 40 eval '[[ $(field "$(snap)" i-c 3) -ge 2 ]]'; then
	ok "1. the original-style writer fills the table and ramps it ($TZ)"; else ko "writer" "$tmp/writer1.log"; fi
if wait_for "served" eval 'served i-a 127.0.0.1 && served i-c 127.0.0.3'; then
	ok "1. our client serves what it writes"; else ko "client" "$tmp/client.log"; fi
kill "$WRITER"
wait "$WRITER" 2>/dev/null
before=$(snap)
now_ms=$(date +%s%3N)
d=$(( $(lms "$(last "$before" i-a)") - now_ms ))
if (( d > -60000 && d < 1000 )); then ok "1. its LastWeightUpdate is local time in $TZ (${d} ms from now)"; else ko "writer time $(last "$before" i-a) is ${d} ms from now"; fi

# ---- 2. hand-over: our server takes over the original's table ---------------------------------
static_list i-a=127.0.0.1 i-b=127.0.0.2 i-c=127.0.0.3
EXPORTER_PORT=$(free_port) "$AGENT" --server -f "$tmp/env.yaml" >"$tmp/server.log" 2>&1 &
SERVER=$!
pids+=($!)
if wait_log "$tmp/server.log" "generation [0-9]+: wrote 3 slots"; then
	ok "2. our server takes the lease and rewrites the 3 slots under its epoch"; else ko "takeover" "$tmp/server.log"; fi
after=$(snap)
t_after=$(date +%s%3N)
moved=0 jumped=""
for n in i-a i-b i-c; do
	[[ $(field "$before" $n 2) == "$(field "$after" $n 2)" ]] || moved=1
	# the steps that fell due on the original's clock by now: at most those,
	# each on its grid (last + k * INTERVAL)
	t0=$(lms "$(last "$before" $n)")
	due=$(( (t_after - t0) / (STEP * 1000) ))
	dw=$(( $(field "$after" $n 3) - $(field "$before" $n 3) ))
	dt=$(( $(lms "$(last "$after" $n)") - t0 ))
	(( dw >= 0 && dw <= due && dt == dw * STEP * 1000 )) || jumped+="$n: weight +$dw, clock +$dt ms, $due steps due; "
done
if (( moved == 0 )); then ok "2. no slot moves ($(tr '\n' ' ' <<<"$after"))"; else ko "slots moved: before $(tr '\n' ' ' <<<"$before") after $(tr '\n' ' ' <<<"$after")"; fi
if [[ -z $jumped ]]; then ok "2. every ramp goes on from where it was, on the original's clock"; else ko "2. ramps: $jumped (before $(tr '\n' ' ' <<<"$before"), after $(tr '\n' ' ' <<<"$after"))"; fi
wa=$(field "$after" i-a 3)
if wait_long "next step" 30 eval '[[ $(field "$(snap)" i-a 3) -gt $wa ]]'; then
	s=$(snap)
	dt=$(( $(lms "$(last "$s" i-a)") - $(lms "$(last "$before" i-a)") ))
	d=$(( $(lms "$(last "$s" i-a)") - $(date +%s%3N) ))
	if (( dt % (STEP * 1000) == 0 && dt > 0 )); then ok "2. our next ramp step lands on the original's grid (+$dt ms)"; else ko "2. step off the grid: +$dt ms"; fi
	if (( d > -60000 && d < 1000 )); then ok "2. and is written in local time ($(last "$s" i-a), ${d} ms from now)"; else ko "2. our time $(last "$s" i-a) is ${d} ms from now"; fi
else
	ko "2. our server does not ramp A" "$tmp/server.log"
fi
if wait_log "$tmp/client.log" "table $TABLE has a control item again \(generation [0-9]+\): reading one item per cycle" &&
	wait_for "served" eval 'served i-a 127.0.0.1 && served i-b 127.0.0.2 && served i-c 127.0.0.3'; then
	ok "2. our client follows our server, one GetItem per cycle"; else ko "2. client" "$tmp/client.log"; fi

# ---- 3. C leaves: our server drains its slot --------------------------------------------------------
sc=$(field "$after" i-c 2)
static_list i-a=127.0.0.1 i-b=127.0.0.2
if wait_long "drain" 20 eval '[[ $(item $sc Draining) == true && $(hweight h web$sc) == 0 ]]'; then
	ok "3. C's slot $sc drains (Draining, Weight 0) and HAProxy sends it nothing new"; else ko "3. drain" "$tmp/server.log"; fi

# ---- 4. the way back ----------------------------------------------------------------------------------
kill "$SERVER"
wait "$SERVER" 2>/dev/null
fleet "127.0.0.1 i-a web" "127.0.0.2 i-b web"
timeout 60 node "$ORIG" server --endpoint "http://127.0.0.1:$DP" --table "$TABLE" --instances "$tmp/instances" \
	--size 3 >"$tmp/writer0.log" 2>&1
rc=$?
if [[ $rc == 2 ]] && grep -q "HAProxy backend size is lower than registered servers" "$tmp/writer0.log"; then
	ok "4. with item 0 still there, the original server counts 4 items for 3 slots and exits"; else ko "4. writer with item 0: exit $rc" "$tmp/writer0.log"; fi
orig delete --id 0
back=$(snap)
writer "$tmp/writer2.log"
if wait_long "freed" 20 eval '[[ $(item $sc BackendServerStatus) == disabled ]]' && kill -0 "$WRITER" 2>/dev/null; then
	ok "4. the original-style writer runs on the table (item 0 deleted) and frees C's slot"; else ko "4. writer" "$tmp/writer2.log"; fi
s=$(snap)
if [[ $(field "$s" i-a 2) == "$(field "$back" i-a 2)" && $(field "$s" i-b 2) == "$(field "$back" i-b 2)" ]] &&
	(( $(field "$s" i-a 3) >= $(field "$back" i-a 3) && $(field "$s" i-b 3) >= $(field "$back" i-b 3) )); then
	ok "4. it keeps every slot and weight ($(tr '\n' ' ' <<<"$s"))"; else ko "4. slots: before $(tr '\n' ' ' <<<"$back") after $(tr '\n' ' ' <<<"$s")"; fi
wb=$(field "$back" i-b 3)
if wait_long "writer ramps" 30 eval '[[ $(field "$(snap)" i-b 3) -gt $wb ]]'; then
	s=$(snap)
	dt=$(( $(lms "$(last "$s" i-b)") - $(lms "$(last "$back" i-b)") ))
	# its first step comes once INTERVAL has passed since ours, not before
	# (our time read an hour or more in the past) nor never (in the future)
	if (( dt >= STEP * 1000 && dt < (STEP + 30) * 1000 )); then
		ok "4. and ramps on from our timestamps (B $wb -> $(field "$s" i-b 3), $dt ms after our last step)"
	else ko "4. the writer's step comes $dt ms after ours (B at $(last "$back" i-b), then $(last "$s" i-b))"; fi
else
	ko "4. the writer does not ramp B from $wb (our time $(last "$back" i-b))" "$tmp/writer2.log"
fi
fleet "127.0.0.1 i-a web" "127.0.0.2 i-b web" "127.0.0.3 i-d web"
if wait_long "D" 20 eval '[[ $(item $sc ServerName) == i-d ]]'; then
	if [[ $(item "$sc" Draining) == true ]]; then ok "4. D fills C's old slot $sc, which still says Draining (the original updates its six attributes)"; else ko "4. no stale Draining to test: $(orig dump)"; fi
	if wait_for "D served" eval '[[ $(haddr h web$sc) == 127.0.0.3:$SP && $(hweight h web$sc) -ge 1 ]]'; then
		ok "4. our client serves D (weight $(hweight h web$sc)), not a drain"; else ko "4. D: $(haddr h web$sc) weight $(hweight h web$sc)" "$tmp/client.log"; fi
else
	ko "4. the writer did not place D" "$tmp/writer2.log"
fi
if [[ $(grep -c "has no control item" "$tmp/client.log") == 2 ]]; then ok "4. our client reads the whole table again"; else ko "4. client messages" "$tmp/client.log"; fi

# ---- 5. forward again: the slots still carry the first era's Epoch stamps ------------------------
kill "$WRITER"
wait "$WRITER" 2>/dev/null
back=$(snap)
static_list i-a=127.0.0.1 i-b=127.0.0.2 i-d=127.0.0.3
EXPORTER_PORT=$(free_port) "$AGENT" --server -f "$tmp/env.yaml" >"$tmp/server2.log" 2>&1 &
pids+=($!)
if wait_log "$tmp/server2.log" "generation [0-9]+: wrote 3 slots" && ! grep -q "deposed" "$tmp/server2.log"; then
	ok "5. our server takes the table over again (a new epoch above the old stamps)"; else ko "5. second hand-over" "$tmp/server2.log"; fi
s=$(snap)
if [[ $(field "$s" i-a 2) == "$(field "$back" i-a 2)" && $(field "$s" i-d 2) == "$(field "$back" i-d 2)" ]] &&
	(( $(field "$s" i-a 3) >= $(field "$back" i-a 3) && $(field "$s" i-d 3) >= $(field "$back" i-d 3) )); then
	ok "5. no slot moves, no ramp restarts ($(tr '\n' ' ' <<<"$s"))"; else ko "5. slots: before $(tr '\n' ' ' <<<"$back") after $(tr '\n' ' ' <<<"$s")"; fi
if [[ $(stat_of bad) == 0 ]]; then ok "every request was signed"; else ko "bad signatures: $(stat_of bad)"; fi
finish
