#!/usr/bin/env bash
# Mixed fleet, step 1 of docs/migration.md: the original server still
# writes the table, our clients already read it. The original-style writer
# (tests/fixtures/original_hsdo.js server: its Scan, its attributes, its
# timestamps, its ramp +INCREASE every INTERVAL up to MAX, its freeing of a
# slot, no item 0) runs against DynamoDB (dynalite behind the SigV4
# verifier); a running hsdo-agent --client follows a scale-out, a whole
# ramp and a scale-in into a real HAProxy, each within two client cycles
# (counted with hsdo_cycles_total, not timed).
source "$(dirname "$0")/lib/peers.sh"
source "$(dirname "$0")/lib/mixed.sh"

verifier_start || { ko "verifier did not start" "$tmp/proxy.log"; finish; exit 1; }
FE_h=$(free_port) SP=$(free_port)
mixed_haproxy h "$(backend_app 4)" || { ko "HAProxy did not start" "$tmp/h.hap.log"; finish; exit 1; }
mixed_env 4 h "INTERVAL: 1"

# ---- the original server writes, our client follows -----------------------------------
fleet "127.0.0.1 i-a web" "127.0.0.2 i-b web"
orig_bg "$tmp/writer.log" server --instances "$tmp/instances" --size 4 --interval 1 \
	--min 1 --max 4 --increase 1 --increase-interval 3
CP=$(free_port)
EXPORTER_PORT=$CP "$AGENT" --client -f "$tmp/env.yaml" >"$tmp/client.log" 2>&1 &
pids+=($!)

# slot_of_ip IP: the slot the writer gave IP (its last "write" line for it).
slot_of_ip() { sed -nE "s/^[0-9]+ write ([0-9]+) ip=$1 .*/\\1/p" "$tmp/writer.log" | tail -n1; }
# written IP FIELD: FIELD of the writer's last write of IP's slot (last: to the end).
written() {
	local re="s/.* $2=([^ ]*).*/\\1/p"
	[[ $2 == last ]] && re="s/.* last=(.*)$/\\1/p"
	grep -E "^[0-9]+ write [0-9]+ ip=$1 " "$tmp/writer.log" | tail -n1 | sed -nE "$re"
}
if wait_long "A and B" 20 eval '[[ -n $(slot_of_ip 127.0.0.1) && -n $(slot_of_ip 127.0.0.2) ]]'; then
	ok "the original-style writer creates items 1..4 and places A and B"; else ko "writer start" "$tmp/writer.log"; fi
sa=$(slot_of_ip 127.0.0.1) sb=$(slot_of_ip 127.0.0.2)
if wait_long "A and B served" 20 eval '[[ $(haddr h web$sa) == 127.0.0.1:$SP && $(haddr h web$sb) == 127.0.0.2:$SP ]]'; then
	ok "our client serves them (slots $sa and $sb)"; else ko "A, B in HAProxy" "$tmp/client.log"; fi
if [[ $(orig dump | node -e 'console.log(JSON.parse(require("fs").readFileSync(0)).length)') == 4 ]]; then
	ok "no item 0: the table is the original's, 4 items"; else ko "items: $(orig dump)"; fi
if grep -q "has no control item: written by an original HSDO server" "$tmp/client.log"; then ok "the client says it reads the whole table every cycle"; else ko "unversioned message" "$tmp/client.log"; fi

# ---- scale-out --------------------------------------------------------------------------
fleet "127.0.0.1 i-a web" "127.0.0.2 i-b web" "127.0.0.3 i-c web"
if wait_long "C written" 20 eval '[[ -n $(slot_of_ip 127.0.0.3) ]]'; then
	sc=$(slot_of_ip 127.0.0.3)
	if n=$(within_cycles "$CP" 2 eval '[[ $(haddr h web$sc) == 127.0.0.3:$SP ]]'); then
		ok "scale-out: C (slot $sc) serves within two client cycles ($n)"; else ko "scale-out ($n)" "$tmp/client.log"; fi
else
	ko "the writer did not place C" "$tmp/writer.log"
fi

# ---- a whole ramp: every step the writer makes reaches HAProxy within two cycles ----------
for w in 2 3 4; do
	if ! wait_long "C at $w" 30 eval '[[ $(written 127.0.0.3 weight) -ge $w ]]'; then
		ko "the writer did not ramp C to $w" "$tmp/writer.log"; continue
	fi
	if n=$(within_cycles "$CP" 2 eval '[[ $(hweight h web$sc) -ge $w ]]'); then
		ok "ramp step to $w reaches HAProxy ($n cycles; writer wrote last=$(written 127.0.0.3 last))"
	else ko "ramp step $w ($n): web$sc=$(hweight h web$sc)" "$tmp/client.log"; fi
done
if [[ $(written 127.0.0.3 weight) == 4 ]] && sleep 4 && [[ $(written 127.0.0.3 weight) == 4 && $(hweight h web$sc) == 4 ]]; then
	ok "the ramp stops at MAX (4) on both sides"; else ko "ramp end: writer $(written 127.0.0.3 weight), HAProxy $(hweight h web$sc)"; fi

# ---- scale-in: the original frees B's slot ------------------------------------------------
fleet "127.0.0.1 i-a web" "127.0.0.3 i-c web"
if wait_long "B freed" 20 grep -qE "^[0-9]+ write $sb ip=none name=none asg=none weight=0 status=disabled last=0-0-0 00:00:00.000000" "$tmp/writer.log"; then
	if n=$(within_cycles "$CP" 2 eval '[[ $(haddr h web$sb) == maint ]]'); then
		ok "scale-in: B's slot freed by the original goes to maint within two cycles ($n)"; else ko "scale-in ($n)" "$tmp/client.log"; fi
else
	ko "the writer did not free B" "$tmp/writer.log"
fi
h=$(nhits h 16)
if [[ $h =~ A=([0-9]+)\ B=0\ C=([0-9]+)\ 503=0 ]] && (( BASH_REMATCH[1] + BASH_REMATCH[2] == 16 && BASH_REMATCH[1] >= 6 && BASH_REMATCH[2] >= 6 )); then
	ok "traffic: A and C at weight 4 each, B gone ($h)"; else ko "traffic $h"; fi
if [[ $(grep -c "has no control item" "$tmp/client.log") == 1 && $(stat_of bad) == 0 ]]; then
	ok "unversioned all along (said once); every request was signed"; else ko "messages or signatures" "$tmp/client.log"; fi
finish
