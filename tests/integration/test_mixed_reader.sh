#!/usr/bin/env bash
# Mixed fleet, step 2 of docs/migration.md: our server writes the table
# while some HAProxy nodes still run the original client. The
# original-style reader (tests/fixtures/original_hsdo.js client: a full
# Scan every cycle, three commands per used slot on a connection each,
# maint for a free slot) drives one real HAProxy, our running client
# another, both from our running server (DynamoDB: dynalite behind the
# SigV4 verifier), through a scale-out, a drain and a free. After each step
# both HAProxies serve the same: same address, same effective weight, same
# traffic; the slot we drain (enabled, Weight 0, address kept) drains on
# the original client too (weight 0: no new request), and item 0 costs it
# one rejected command.
source "$(dirname "$0")/lib/peers.sh"
source "$(dirname "$0")/lib/mixed.sh"

verifier_start || { ko "verifier did not start" "$tmp/proxy.log"; finish; exit 1; }
SP=$(free_port) FE_srv=$(free_port) FE_ours=$(free_port) FE_orig=$(free_port)
mixed_haproxy srv "backend be_app" yes || { ko "servers did not start" "$tmp/srv.hap.log"; finish; exit 1; }
mixed_haproxy ours "$(backend_app 4)" no || { ko "HAProxy (ours) did not start" "$tmp/ours.hap.log"; finish; exit 1; }
mixed_haproxy orig "$(backend_app 4)" no || { ko "HAProxy (original) did not start" "$tmp/orig.hap.log"; finish; exit 1; }
mixed_env 4 ours "INTERVAL: 0.5
$(server_yaml 3 1 30)"

static_list i-a=127.0.0.1 i-b=127.0.0.2
EXPORTER_PORT=$(free_port) "$AGENT" --server -f "$tmp/env.yaml" >"$tmp/server.log" 2>&1 &
pids+=($!)
EXPORTER_PORT=$(free_port) "$AGENT" --client -f "$tmp/env.yaml" >"$tmp/client.log" 2>&1 &
pids+=($!)
orig_bg "$tmp/reader.log" client --socket "$tmp/orig.sock" --interval 1 \
	--backends "{\"be_app\":{\"baseName\":\"web\",\"serverPort\":\"$SP\"}}"

# view NAME: what HAProxy NAME serves, slot by slot: address or maint, and
# the weight new requests see (0 in maintenance or drain).
view() {
	local i out=""
	for i in 1 2 3 4; do out+="web$i=$(haddr "$1" web$i)/$(hweight "$1" web$i) "; done
	echo "$out"
}
same() {
	local o g
	o=$(view ours) g=$(view orig)
	[[ $o == "$g" && $o == *"$1"* ]]
}
# slot_named NAME: the slot id of instance NAME in the table (SDK read).
slot_named() { orig used | awk -v n="$1" '$1 == n { print $2 }'; }
# same_traffic: 12 requests through each frontend reach the same servers,
# each as often within 2 (round-robin positions differ between the two).
same_traffic() {
	local a b x y k
	a=$(nhits ours 12) b=$(nhits orig 12)
	for k in A B C 503; do
		x=$(sed -nE "s/.*$k=([0-9]+).*/\1/p" <<<"$a") y=$(sed -nE "s/.*$k=([0-9]+).*/\1/p" <<<"$b")
		if (( (x == 0) != (y == 0) || x - y > 2 || y - x > 2 )) || [[ $k == 503 && $x != 0 ]]; then
			echo "ours $a, original $b"
			return 1
		fi
	done
	echo "ours $a, original $b"
}

# ---- start: A and B, ramped to MAX ---------------------------------------------------------------
if wait_long "ramped" 30 same "web1=127.0.0.1:$SP/3 web2=127.0.0.2:$SP/3 web3=maint/0 web4=maint/0"; then
	ok "start: both HAProxies serve A and B at weight 3 ($(view orig))"; else ko "start: ours $(view ours); original $(view orig)" "$tmp/server.log" "$tmp/reader.log"; fi
if t=$(same_traffic); then ok "same traffic through both ($t)"; else ko "traffic: $t"; fi
if grep -qE "cycle [0-9]+: 5 items, 9 commands" "$tmp/reader.log" && [[ $(hcli orig "set server be_app/web0 state maint") == *"No such server"* ]]; then
	ok "the original client reads item 0 as a free slot 0: one 'set server be_app/web0 state maint', which HAProxy refuses"
else ko "item 0 on the original client" "$tmp/reader.log"; fi

# ---- scale-out: C ----------------------------------------------------------------------------------
static_list i-a=127.0.0.1 i-b=127.0.0.2 i-c=127.0.0.3
if wait_long "C" 30 same "web3=127.0.0.3:$SP/3"; then
	ok "scale-out: C served by both after its ramp ($(view orig))"; else ko "scale-out: ours $(view ours); original $(view orig)" "$tmp/server.log"; fi
if t=$(same_traffic); then ok "same traffic through both ($t)"; else ko "traffic: $t"; fi

# ---- drain: B leaves; our server drains its slot (enabled, Weight 0, address kept) ----------------
sb=$(slot_named i-b)
static_list i-a=127.0.0.1 i-c=127.0.0.3
if wait_long "B drains" 20 eval '[[ $(item $sb Draining) == true ]]'; then
	if [[ $(item "$sb" BackendServerStatus) == enabled && $(item "$sb" Weight) == 0 && $(item "$sb" IPAddress) == 127.0.0.2 ]]; then
		ok "drain: B's slot $sb is written enabled, Weight 0, address kept, Draining"; else ko "drain item: $(orig dump)"; fi
else
	ko "B never drained" "$tmp/server.log"
fi
if wait_for "both drain" same "web$sb=127.0.0.2:$SP/0"; then
	ok "both HAProxies keep B's address and send it no new request ($(view orig))"; else ko "drain: ours $(view ours); original $(view orig)"; fi
oa=$(hsrv orig srv_admin_state be_app "web$sb") ow=$(hsrv orig srv_uweight be_app "web$sb") ua=$(hsrv ours srv_admin_state be_app "web$sb")
if (( (oa & 0x2b) == 0 && ow == 0 && (ua & 0x08) )); then
	ok "the original client drains it with 'weight 0' on a ready server; ours with 'state drain'"; else ko "drain states: original admin=$oa weight=$ow, ours admin=$ua"; fi
if t=$(same_traffic) && [[ $t == *"B=0"* ]]; then ok "same traffic, none to B ($t)"; else ko "traffic during the drain: $t"; fi

# ---- free: after SERVER_DRAIN_TIME ------------------------------------------------------------------
if wait_long "freed" 60 same "web$sb=maint/0"; then
	ok "free: B's slot is in maint on both after the drain time ($(view orig))"; else ko "free: ours $(view ours); original $(view orig)" "$tmp/server.log"; fi
if [[ $(item "$sb" BackendServerStatus) == disabled && $(item "$sb" IPAddress) == none ]]; then ok "the freed item is the original's free slot"; else ko "freed item: $(orig dump)"; fi
if t=$(same_traffic); then ok "same traffic through both ($t)"; else ko "traffic: $t"; fi
if [[ $(stat_of bad) == 0 ]]; then ok "every request was signed"; else ko "bad signatures: $(stat_of bad)"; fi
finish
