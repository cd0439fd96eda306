#!/usr/bin/env bash
# A running hsdo-agent --client following a table without a generation, as
# the original HSDO server writes it: DynamoDB (dynalite behind the SigV4
# verifier) changed with the official AWS SDK the way the original server
# changes it (tests/fixtures/original_hsdo.js), a real HAProxy. The client
# says once that the table is unversioned, reads it whole every cycle (one
# Scan, no GetItem: what the original client pays) and follows every
# change; when a control item 0 appears it goes back to one GetItem per
# cycle, a change nobody announced is still found by the full read every
# CLIENT_FULL_READ_INTERVAL (logged and counted), and when item 0 goes the
# full reads come back. The file store does the same for a document
# without a generation.
source "$(dirname "$0")/lib/peers.sh"
source "$(dirname "$0")/lib/mixed.sh"

verifier_start || { ko "verifier did not start" "$tmp/proxy.log"; finish; exit 1; }
FE_h=$(free_port) SP=$(free_port)
mixed_haproxy h "$(backend_app 4)
backend be_file
    balance roundrobin
    server-template file 1-2 127.0.0.9:80 disabled" \
	|| { ko "HAProxy did not start" "$tmp/h.hap.log"; finish; exit 1; }
mixed_env 4 h "INTERVAL: 0.5
CLIENT_FULL_READ_INTERVAL: 3"

# ---- the original's table: items 1..4, no item 0 ---------------------------------------
orig seed --size 4 --slot "1,127.0.0.1,i-a,web,10,enabled,now" --slot "2,127.0.0.2,i-b,web,10,enabled,now" \
	>"$tmp/seed.log" 2>&1 || ko "seed" "$tmp/seed.log"
CP=$(free_port)
EXPORTER_PORT=$CP "$AGENT" --client -f "$tmp/env.yaml" >"$tmp/client.log" 2>&1 &
pids+=($!)
if wait_long "start" 20 eval '[[ $(hweight h web1) == 10 && $(hweight h web2) == 10 && $(haddr h web3) == maint ]]'; then
	ok "the client applies the original's table at start"; else ko "start: web1=$(hweight h web1) web2=$(hweight h web2)" "$tmp/client.log"; fi
msg="table $TABLE has no control item: written by an original HSDO server\? reading the whole table every cycle"
if wait_log "$tmp/client.log" "$msg"; then ok "it says the table is unversioned"; else ko "unversioned message" "$tmp/client.log"; fi
if [[ $(metric "$CP" hsdo_client_table_unversioned) == 1 ]]; then ok "gauge hsdo_client_table_unversioned is 1"; else ko "gauge: $(metric "$CP" hsdo_client_table_unversioned)"; fi

# ---- the original server changes the table: every change is followed --------------------
orig update --id 2 --weight 3 --last now >>"$tmp/writes.log" 2>&1
if n=$(within_cycles "$CP" 2 eval '[[ $(hweight h web2) == 3 ]]'); then
	ok "a ramp step written without a generation reaches HAProxy ($n cycles)"; else ko "weight 3 not applied ($n): web2=$(hweight h web2)" "$tmp/client.log"; fi
orig update --id 1 --ip none --name none --asg none --weight 0 --status disabled --last "0-0-0 00:00:00.000000" >>"$tmp/writes.log" 2>&1
if n=$(within_cycles "$CP" 2 eval '[[ $(haddr h web1) == maint ]]'); then
	ok "a slot freed by the original goes to maint ($n cycles)"; else ko "free not applied ($n)" "$tmp/client.log"; fi
orig update --id 3 --ip 127.0.0.3 --name i-c --asg web --weight 1 --status enabled --last now >>"$tmp/writes.log" 2>&1
if n=$(within_cycles "$CP" 2 eval '[[ $(haddr h web3) == 127.0.0.3:$SP && $(hweight h web3) == 1 ]]'); then
	ok "a slot filled by the original serves ($n cycles)"; else ko "fill not applied ($n)" "$tmp/client.log"; fi
if [[ $(nhits h 8) =~ A=0\ B=(6|7|8)\ C=(0|1|2)\ 503=0 ]]; then ok "traffic follows: A gone, B at 3, C at 1"; else ko "traffic $(nhits h 8)"; fi
if [[ $(grep -c "has no control item" "$tmp/client.log") == 1 ]]; then ok "the unversioned message was logged once"; else ko "logged $(grep -c "has no control item" "$tmp/client.log") times" "$tmp/client.log"; fi

# ---- what it costs: one Scan per cycle, like the original, and no GetItem ----------------
reads_window "$CP" 4
if (( W_GET == 0 && W_CYC >= 3 && W_SCAN >= W_CYC - 2 && W_SCAN <= W_CYC + 2 )); then
	ok "unversioned: one Scan per cycle and no GetItem ($W_SCAN Scans in $W_CYC cycles)"; else ko "unversioned cost: $W_SCAN Scans, $W_GET GetItems in $W_CYC cycles"; fi

# ---- item 0 appears: back to one GetItem per cycle ------------------------------------------
orig put-control --generation 5
if wait_log "$tmp/client.log" "table $TABLE has a control item again \(generation 5\): reading one item per cycle"; then
	ok "item 0 appears: the client says it reads one item per cycle again"; else ko "control item message" "$tmp/client.log"; fi
if wait_for "gauge 0" eval '[[ $(metric "$CP" hsdo_client_table_unversioned) == 0 ]]'; then ok "the gauge goes to 0"; else ko "gauge $(metric "$CP" hsdo_client_table_unversioned)"; fi
sleep 1
reads_window "$CP" 2.5
if (( W_SCAN <= 1 && W_CYC >= 2 && W_GET >= W_CYC - 2 && W_GET <= W_CYC + 2 )); then
	ok "versioned: one GetItem per cycle, the Scan only every CLIENT_FULL_READ_INTERVAL ($W_GET GetItems, $W_SCAN Scans in $W_CYC cycles)"; else ko "versioned cost: $W_SCAN Scans, $W_GET GetItems in $W_CYC cycles"; fi

# ---- a writer that forgets the generation: found by the periodic full read -------------------
[[ $(metric "$CP" hsdo_client_unannounced_changes_total) == 0 ]] && ok "no unannounced change counted yet" || ko "counter $(metric "$CP" hsdo_client_unannounced_changes_total)"
orig update --id 2 --weight 7 >>"$tmp/writes.log" 2>&1
if wait_long "weight 7" 15 eval '[[ $(hweight h web2) == 7 ]]'; then
	ok "a change without a generation bump reaches HAProxy through the full read"; else ko "unannounced change not applied: web2=$(hweight h web2)" "$tmp/client.log"; fi
if grep -qE "table $TABLE changed without a new generation \(still 5\): 1 slot differs" "$tmp/client.log"; then
	ok "the unannounced change is logged"; else ko "unannounced log" "$tmp/client.log"; fi
if [[ $(metric "$CP" hsdo_client_unannounced_changes_total) == 1 ]]; then ok "and counted"; else ko "counter $(metric "$CP" hsdo_client_unannounced_changes_total)"; fi

# ---- item 0 goes: full reads again -------------------------------------------------------------
orig delete --id 0
if wait_for "back" eval '[[ $(grep -c "has no control item" "$tmp/client.log") == 2 ]]'; then
	ok "item 0 deleted: the unversioned message again"; else ko "second unversioned message" "$tmp/client.log"; fi
orig update --id 3 --weight 2 >>"$tmp/writes.log" 2>&1
if n=$(within_cycles "$CP" 2 eval '[[ $(hweight h web3) == 2 ]]'); then
	ok "and every change is followed again ($n cycles)"; else ko "after delete ($n)" "$tmp/client.log"; fi
[[ $(metric "$CP" hsdo_client_unannounced_changes_total) == 1 ]] && ok "changes of an unversioned table are not counted as unannounced" || ko "counter $(metric "$CP" hsdo_client_unannounced_changes_total)"

# ---- the file store: a document without a generation -----------------------------------------
filedoc() {   # filedoc WEIGHT1 ADDR2: slots 1 (127.0.0.1) and 2, no "generation"
	local s2
	if [[ $2 == none ]]; then
		s2='{"BackendServerID":{"N":"2"},"IPAddress":{"S":"none"},"ServerName":{"S":"none"},"ASG":{"S":"none"},"Weight":{"N":"0"},"BackendServerStatus":{"S":"disabled"},"LastWeightUpdate":{"S":"0-0-0 00:00:00.000000"}}'
	else
		s2='{"BackendServerID":{"N":"2"},"IPAddress":{"S":"'$2'"},"ServerName":{"S":"i-2"},"ASG":{"S":"web"},"Weight":{"N":"4"},"BackendServerStatus":{"S":"enabled"},"LastWeightUpdate":{"S":"2026-01-01 00:00:00"}}'
	fi
	printf '{"format":"hsdo-slots","version":1,"slots":[\n{"BackendServerID":{"N":"1"},"IPAddress":{"S":"127.0.0.1"},"ServerName":{"S":"i-1"},"ASG":{"S":"web"},"Weight":{"N":"%s"},"BackendServerStatus":{"S":"enabled"},"LastWeightUpdate":{"S":"2026-01-01 00:00:00"}},\n%s\n]}\n' "$1" "$s2" >"$tmp/doc.new"
	mv "$tmp/doc.new" "$tmp/doc.json"
}
filedoc 5 none
cat >"$tmp/file.yaml" <<YAML
INTERVAL: 0.5
STORE: file
STORE_FILE_PATH: $tmp/doc.json
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 2
CLIENT_HAPROXY_SOCKET_PATH: $tmp/h.sock
CLIENT_HAPROXY_BACKEND_NAME: be_file
CLIENT_HAPROXY_BACKEND_BASE_NAME: file
CLIENT_HAPROXY_BACKEND_SERVER_PORT: $SP
SPOA_LISTEN: "off"
YAML
FP=$(free_port)
EXPORTER_PORT=$FP "$AGENT" --client -f "$tmp/file.yaml" >"$tmp/file.log" 2>&1 &
pids+=($!)
fw() { hsrv h srv_uweight be_file "$1"; }
if wait_long "file start" 20 eval '[[ $(fw file1) == 5 ]]' && wait_log "$tmp/file.log" "file $tmp/doc.json has no generation: reading the whole document every cycle"; then
	ok "file store: a document without a generation is followed and reported"; else ko "file store start" "$tmp/file.log"; fi
filedoc 6 127.0.0.2
if n=$(within_cycles "$FP" 2 eval '[[ $(fw file1) == 6 && $(fw file2) == 4 ]]'); then
	ok "file store: each rewrite is followed ($n cycles)"; else ko "file store change ($n)" "$tmp/file.log"; fi
if [[ $(metric "$FP" hsdo_client_table_unversioned) == 1 ]]; then ok "file store: the gauge says unversioned"; else ko "file gauge"; fi
finish
