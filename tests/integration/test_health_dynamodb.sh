#!/usr/bin/env bash
# Fleet health on DynamoDB (dynalite behind the SigV4 verifier, every
# request signed), with three real HAProxies and their clients, one server
# and four backends (lib/health.sh):
#  - --create-table makes the slot table and the health table, with TTL on
#    Expires;
#  - each client's report is one item of the health table (PutItem), the
#    server reads them with a Scan, never the slot table;
#  - a backend failing for everyone is ejected in DynamoDB (enabled,
#    Weight 0, Ejected, EjectReason) and drained on every HAProxy;
#  - an original-style client (the official AWS SDK reading the table the
#    way the original HSDO does, sending the original's commands to a
#    fourth HAProxy) sets the ejected slot's weight to 0: that HAProxy
#    drains it too;
#  - a report another version wrote is counted and named, the others count.
source "$(dirname "$0")/lib/peers.sh"
source "$(dirname "$0")/lib/health.sh"
HEALTH_STORE=dynamodb

AKID=AKIDHSDOHEALTH SECRET='health/secret+KEY0123456789'
node "$SRC/tests/fixtures/sigv4_proxy.js" --embed --port 0 --region us-east-1 \
	--creds "[{\"accessKeyId\":\"$AKID\",\"secretAccessKey\":\"$SECRET\"},{\"accessKeyId\":\"AKIDORIGINAL\",\"secretAccessKey\":\"original\"}]" \
	>"$tmp/proxy.log" 2>&1 &
pids+=($!)
wait_log "$tmp/proxy.log" "LISTENING [0-9]+" || { ko "verifier did not start" "$tmp/proxy.log"; finish; exit 1; }
DP=$(sed -nE 's/.*LISTENING ([0-9]+).*/\1/p' "$tmp/proxy.log" | head -1)
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DP AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION
pstat() { curl -s "http://127.0.0.1:$DP/__stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);let v=o;for(const k of process.argv[1].split("/"))v=v==null?undefined:v[k];console.log(v??0)})' "$1"; }

# ---- --create-table ---------------------------------------------------------------
{ health_store_yaml; echo "HEALTH_EJECT: true"; } >"$tmp/create.yaml"
if "$AGENT" --create-table --config "$tmp/create.yaml" >"$tmp/create.log" 2>&1 &&
	grep -q "table hsdo-health-it in us-east-1 is ACTIVE" "$tmp/create.log" &&
	grep -q "table hsdo-health-it-health in us-east-1 is ACTIVE (TTL on Expires)" "$tmp/create.log"; then
	ok "--create-table makes the slot table and the health table"; else ko "create" "$tmp/create.log"; fi
if curl -s "http://127.0.0.1:$DP/__ttl" | grep -q '"hsdo-health-it-health":"Expires"'; then
	ok "the health table has TTL on Expires"; else ko "TTL: $(curl -s "http://127.0.0.1:$DP/__ttl")"; fi
if "$AGENT" --create-table --config "$tmp/create.yaml" >"$tmp/create2.log" 2>&1; then
	ok "--create-table again: both exist, fine"; else ko "second create" "$tmp/create2.log"; fi

health_all_up || { finish; exit 1; }
ok "three HAProxies, their clients and a server on DynamoDB serve every slot"

# ---- a fourth HAProxy, driven by an original-style client ------------------------------
HAPS=(h1 h2 h3 h4)
health_haproxy_up h4 || ko "h4 did not start" "$tmp/h4/haproxy.log"
HAPS=(h1 h2 h3)
# original_pass: one pass of the original client over h4, from the SDK's
# read of the table: addr/port, weight and state ready per enabled slot,
# maint for the others (the original has one port per backend; this
# fleet's backends share an address, so the pass takes each slot's Port).
original_pass() {
	node "$SRC/tests/fixtures/ddb_original_scan.js" "$AWS_ENDPOINT_URL_DYNAMODB" hsdo-health-it --raw |
		node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const d=JSON.parse(s);
			for (const it of d.raw) { const id = it.BackendServerID.N; if (id === "0") continue;
				if (it.BackendServerStatus.S === "enabled") {
					console.log(`set server be_app/web${id} addr ${it.IPAddress.S} port ${it.Port.N}`);
					console.log(`set server be_app/web${id} weight ${it.Weight.N}`);
					console.log(`set server be_app/web${id} state ready`);
				} else console.log(`set server be_app/web${id} state maint`); } })' |
		while read -r line; do hcli h4 "$line" >/dev/null; done
}
( while :; do original_pass; sleep 0.5; done ) >/dev/null 2>&1 &
pids+=($!)
ctl /__load "{\"targets\":[$(for h in h1 h2 h3 h4; do fe=FE_$h; printf '%s{"name":"%s","url":"http://127.0.0.1:%s/"}' "$([[ $h != h1 ]] && echo ,)" "$h" "${!fe}"; done)],\"rate\":30}"
if wait_long "h4 serving" 20 eval '[[ $(hsrv h4 srv_uweight web1) -gt 0 && $(hsrv h4 srv_admin_state web1) == 4 ]]'; then
	ok "the original-style client serves the slots on h4"; else ko "h4 not serving: $(hcli h4 'show servers state be_app')"; fi

if wait_long "reports" 20 eval '[[ $(pstat byTarget/DynamoDB_20120810.PutItem) -ge 6 && $(pstat byTarget/DynamoDB_20120810.Scan) -ge 3 ]]'; then
	ok "clients write their reports (PutItem), the server scans them"; else ko "no report traffic: $(curl -s "http://127.0.0.1:$DP/__stats")" "$tmp/h1/client.log"; fi
items=$(node -e '
	const path = require("path");
	const { DynamoDBClient, ScanCommand } = require(path.join(process.argv[1], "tests/node_modules/@aws-sdk/client-dynamodb"));
	const c = new DynamoDBClient({ endpoint: process.argv[2], region: "us-east-1",
		credentials: { accessKeyId: "AKIDORIGINAL", secretAccessKey: "original" } });
	c.send(new ScanCommand({ TableName: "hsdo-health-it-health" })).then((r) =>
		console.log(r.Items.map((i) => i.ClientId.S + ":" + (i.Expires.N > Date.now() / 1000 ? "fresh" : "old")).sort().join(",")));' "$SRC" "$AWS_ENDPOINT_URL_DYNAMODB" 2>/dev/null)
if [[ $items == "h1:fresh,h2:fresh,h3:fresh" ]]; then ok "one item per client in the health table, each with its expiry"; else ko "health items: $items"; fi
if node "$SRC/tests/fixtures/ddb_original_scan.js" "$AWS_ENDPOINT_URL_DYNAMODB" hsdo-health-it | grep -q '"items":5,'; then
	ok "the slot table holds its four slots and item 0 only: no report in it"; else ko "slot table: $(node "$SRC/tests/fixtures/ddb_original_scan.js" "$AWS_ENDPOINT_URL_DYNAMODB" hsdo-health-it)"; fi

# ---- ejection in DynamoDB, on every HAProxy, and the original drains it ----------------------
s3=$(slot_of_b b3)
fail b3
if wait_long "ejected" 40 eval '[[ -n $(tslot "$s3" Ejected) ]]'; then
	ok "b3 failing: slot $s3 ejected in DynamoDB"; else ko "no ejection" "$tmp/server.log"; fi
if [[ $(tslot "$s3" BackendServerStatus) == enabled && $(tslot "$s3" Weight) == 0 &&
	$(tslot "$s3" EjectReason) =~ ^[0-9]+\ of\ [0-9]+\ HAProx && $(tslot "$s3" IPAddress) == 127.0.0.1 ]]; then
	ok "enabled, Weight 0, address kept, EjectReason with the votes"; else
	ko "item: $(tslot "$s3" BackendServerStatus) $(tslot "$s3" Weight) '$(tslot "$s3" EjectReason)' $(tslot "$s3" IPAddress)"; fi
if wait_long "drained" 20 drained_everywhere "$s3"; then ok "drained on the three HAProxies"; else ko "not drained"; fi
if wait_long "h4 weight 0" 20 eval '[[ $(hsrv h4 srv_uweight web'"$s3"') == 0 ]]'; then
	ok "the original-style client sets the ejected slot's weight to 0 on h4"; else ko "h4 weight $(hsrv h4 srv_uweight web$s3)"; fi
h4_before=$(counts | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).backends.b3.byFrom.h4||0))')
sleep 1.5
h4_after=$(counts | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).backends.b3.byFrom.h4||0))')
if [[ $h4_before == "$h4_after" ]]; then ok "h4 sends b3 no new request"; else ko "h4 still sends to b3: $h4_before -> $h4_after"; fi
heal b3

# ---- a report of another version ----------------------------------------------------------
node -e '
	const path = require("path");
	const { DynamoDBClient, PutItemCommand } = require(path.join(process.argv[1], "tests/node_modules/@aws-sdk/client-dynamodb"));
	const c = new DynamoDBClient({ endpoint: process.argv[2], region: "us-east-1",
		credentials: { accessKeyId: "AKIDORIGINAL", secretAccessKey: "original" } });
	c.send(new PutItemCommand({ TableName: "hsdo-health-it-health",
		Item: { ClientId: { S: "from-the-future" }, Version: { N: "2" } } })).then(() => console.log("put"));' "$SRC" "$AWS_ENDPOINT_URL_DYNAMODB" >/dev/null 2>&1
if wait_long "bad report" 20 grep -q "fleet health: 1 report not read: item from-the-future: Version 2 is not 1" "$tmp/server.log"; then
	ok "a report another version wrote is named, not fatal"; else ko "bad report log" "$tmp/server.log"; fi
if wait_long "fresh 3" 10 eval '[[ $(curl -s "http://127.0.0.1:$MP/metrics" | awk '"'"'$1 == "hsdo_health_reports{state=\"fresh\"}" { print $2 }'"'"') == 3 ]]'; then
	ok "the other three still count"; else ko "fresh reports"; fi
if [[ $(pstat bad) == 0 ]]; then ok "every request carried a valid SigV4 signature"; else ko "bad signatures: $(pstat lastBad)"; fi
if ! grep -q "$SECRET" "$tmp"/server.log "$tmp"/h*/client.log; then ok "the secret never reaches a log"; else ko "secret in a log"; fi
load 0
finish
