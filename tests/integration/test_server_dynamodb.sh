#!/usr/bin/env bash
# The whole system on DynamoDB, every request through the SigV4 verifier
# (tests/fixtures/sigv4_proxy.js, dynalite embedded): --create-table, a
# server --dry-run that reads and writes nothing, a server (static source)
# writing the table, a client on the event-driven transport (its keys from a
# credential_process) following it into a real HAProxy, the table read back by the
# official AWS SDK the way the original client reads it, zero writes when
# nothing changes, and two servers with a writer lease where the holder is
# SIGSTOPped, the standby takes over, and the resumed holder writes nothing.
source "$(dirname "$0")/lib/peers.sh"
root=${HSDO_SOURCE_DIR:?}
command -v node >/dev/null || { echo "FAIL - node is not installed (./scripts/deps)"; exit 1; }

# ---- the verifier with dynalite inside ----------------------------------------------
AKID=AKIDHSDOIT SECRET='it/secret+KEY0123456789'
node "$root/tests/fixtures/sigv4_proxy.js" --embed --port 0 --region us-east-1 \
	--creds "[{\"accessKeyId\":\"$AKID\",\"secretAccessKey\":\"$SECRET\"},{\"accessKeyId\":\"AKIDORIGINAL\",\"secretAccessKey\":\"original\"}]" \
	>"$tmp/proxy.log" 2>&1 &
pids+=($!)
wait_log "$tmp/proxy.log" "LISTENING [0-9]+" || { ko "verifier did not start" "$tmp/proxy.log"; finish; exit 1; }
DP=$(sed -nE 's/.*LISTENING ([0-9]+).*/\1/p' "$tmp/proxy.log" | head -1)
stats() { curl -s "http://127.0.0.1:$DP/__stats"; }
jnum() { node -e 'const o = JSON.parse(process.argv[1]); let v = o; for (const k of process.argv[2].split("/")) v = v == null ? undefined : v[k]; console.log(v ?? 0)' "$(stats)" "$1"; }
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DP AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION

FE_PORT=$(free_port) PA=$(free_port) PB=$(free_port) PC=$(free_port)
hap_cfg "frontend fe
    bind 127.0.0.1:$FE_PORT
    default_backend be_app
backend be_app
    balance roundrobin
    server-template web 1-4 127.0.0.2:80 disabled" A B C
hap_start "$tmp/haproxy.cfg" || { ko "HAProxy did not start" "$tmp/haproxy.log"; finish; exit 1; }

instances() {
	local e n port
	: >"$tmp/list.new"
	for e in "$@"; do
		read -r n port <<<"$e"
		printf -- '- name: %s\n  ip: 127.0.0.1\n  port: %s\n  group: web\n' "$n" "$port" >>"$tmp/list.new"
	done
	mv "$tmp/list.new" "$tmp/list.yaml"
}
cat >"$tmp/env.yaml" <<YAML
INTERVAL: 0.3
STORE: dynamodb
DYNAMODB_TABLE_NAME: hsdo-it
AWS_DEFAULT_REGION: us-east-1
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4
SERVER_MODE: static
SERVER_STATIC_FILE: $tmp/list.yaml
SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 10
SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 10
SERVER_DRAIN_TIME: 1
SERVER_LEASE_TTL: 2
CLIENT_HAPROXY_SOCKET_PATH: $tmp/admin.sock
CLIENT_HAPROXY_BACKEND_NAME: be_app
CLIENT_HAPROXY_BACKEND_BASE_NAME: web
YAML

# ---- table ---------------------------------------------------------------------------
if "$AGENT" --create-table -f "$tmp/env.yaml" >"$tmp/create.log" 2>&1 && grep -q "hsdo-it in us-east-1 is ACTIVE" "$tmp/create.log"; then
	ok "--create-table creates the table and waits for ACTIVE"; else ko "--create-table" "$tmp/create.log"; fi
if "$AGENT" --create-table -f "$tmp/env.yaml" >"$tmp/create2.log" 2>&1; then ok "--create-table again: the table exists, exit 0"; else ko "--create-table twice" "$tmp/create2.log"; fi
sed 's/^DYNAMODB_TABLE_NAME: .*/DYNAMODB_TABLE_NAME: no-such-table/' "$tmp/env.yaml" >"$tmp/missing.yaml"
if ! timeout 20 "$AGENT" --client --once -f "$tmp/missing.yaml" >"$tmp/missing.log" 2>&1 && grep -qE "no-such-table.*us-east-1|us-east-1.*no-such-table" "$tmp/missing.log"; then
	ok "a missing table is a clear error naming table and region"; else ko "missing table" "$tmp/missing.log"; fi

# ---- --dry-run: one cycle planned and printed, nothing written --------------------------------
# writes: the requests the verifier forwarded that are not reads.
writes() {
	node -e 'const t = JSON.parse(process.argv[1]).byTarget || {}; let n = 0;
		for (const [k, v] of Object.entries(t)) if (!/\.(Scan|GetItem|BatchGetItem|Query|DescribeTable)$/.test(k)) n += v;
		console.log(n)' "$(stats)"
}
instances "i-a $PA" "i-b $PB"
w0=$(writes)
"$AGENT" --server --dry-run -f "$tmp/env.yaml" >"$tmp/dry.out" 2>"$tmp/dry.log"
rc=$?
if [[ $rc -eq 0 ]] &&
   grep -qx '# dry run, nothing written: source static: 2 instances (0 leaving); store dynamodb: no table yet, planned from 4 free slots' "$tmp/dry.out" &&
   grep -qE "^slot 1 active weight=10 name=i-a ip=127.0.0.1 port=$PA " "$tmp/dry.out" &&
   grep -qE "^changed 2: free -> active weight=10 name=i-b ip=127.0.0.1 port=$PB " "$tmp/dry.out"; then
	ok "--dry-run on DynamoDB: the plan printed, exit 0"
else ko "--dry-run on DynamoDB (rc $rc)" "$tmp/dry.out" "$tmp/dry.log"; fi
if [[ $(writes) == "$w0" && $(jnum byTarget/DynamoDB_20120810.Scan) -gt 0 ]]; then
	ok "--dry-run on DynamoDB: reads only (no lease, no slot created: $w0 writes before and after)"
else ko "--dry-run wrote to DynamoDB: $(stats)"; fi

# ---- server + client + HAProxy ------------------------------------------------------------
SERVER_ID=srv-a EXPORTER_PORT=$(free_port) "$AGENT" --server -f "$tmp/env.yaml" >"$tmp/a.log" 2>&1 &
pa=$!
pids+=("$pa")
CP=$(free_port)
# The client gets its keys from a credential_process (run and reaped on its
# libev loop), not from the environment.
printf '#!/bin/sh\nprintf '"'"'{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s"}\\n'"'"'\n' "$AKID" "$SECRET" >"$tmp/creds.sh"
chmod 700 "$tmp/creds.sh"
printf '[default]\ncredential_process = %s\n' "$tmp/creds.sh" >"$tmp/aws-config"
env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY AWS_CONFIG_FILE="$tmp/aws-config" \
	AWS_SHARED_CREDENTIALS_FILE="$tmp/none" \
	EXPORTER_PORT=$CP SPOA_LISTEN=127.0.0.1:$(free_port) "$AGENT" --client -f "$tmp/env.yaml" >"$tmp/client.log" 2>&1 &
pc=$!
pids+=("$pc")
two_up() { [[ $(hits 20) =~ A=(9|10|11)\ B=(9|10|11)\ C=0\ 503=0 ]]; }
if wait_for "traffic" two_up; then ok "server -> DynamoDB -> client -> HAProxy: A and B share the traffic"; else ko "traffic: $(hits 20)" "$tmp/a.log" "$tmp/client.log"; fi
if ! grep -qF "$SECRET" "$tmp/client.log"; then ok "the client's keys came from credential_process, and its output is in no log"; else ko "credential_process output logged" "$tmp/client.log"; fi
if [[ $(jnum bad) == 0 && $(jnum ok) -gt 5 ]]; then ok "every request carried a valid SigV4 signature ($(jnum ok) verified)"; else ko "signatures: $(stats)"; fi

# The original client's view, with the official SDK.
if node "$root/tests/fixtures/ddb_original_scan.js" "http://127.0.0.1:$DP" hsdo-it >"$tmp/orig.json" 2>"$tmp/orig.err"; then
	ok "the official SDK scans the table and every item has the original schema"; else ko "original schema" "$tmp/orig.err"; fi
if node -e '
	const o = JSON.parse(require("fs").readFileSync(process.argv[1]));
	const by = {}; for (const s of o.slots) by[s.id] = s;
	const want = (c, m) => { if (!c) { console.error(m); process.exit(1); } };
	want(o.items === 5, "5 items (4 slots + control), got " + o.items);
	want(by[1].name === "i-a" && by[1].ip === "127.0.0.1" && by[1].weight === 10 && by[1].status === "enabled", "slot 1");
	want(by[2].name === "i-b" && by[2].status === "enabled", "slot 2");
	want(by[3].status === "disabled" && by[3].ip === "none" && by[4].status === "disabled", "free slots");
	want(by[0] && by[0].status === "disabled", "control item 0 looks like a free slot to the original");
' "$tmp/orig.json" 2>"$tmp/orig.chk"; then ok "item by item: slots 1-2 active with address and weight, 3-4 free, item 0 harmless"; else ko "item check: $(cat "$tmp/orig.chk")" "$tmp/orig.json"; fi

# ---- idle: zero writes, the client polls one item --------------------------------------------
curl -s -X POST "http://127.0.0.1:$DP/__reset" >/dev/null
sleep 3
puts=$(jnum byTarget/DynamoDB_20120810.PutItem)
gets=$(jnum byTarget/DynamoDB_20120810.GetItem)
scans=$(jnum byTarget/DynamoDB_20120810.Scan)
upd=$(jnum byTarget/DynamoDB_20120810.UpdateItem)
if [[ $puts == 0 && $scans == 0 ]]; then ok "idle for 3 s: no slot write, no Scan (GetItem $gets, lease UpdateItem $upd)"; else ko "idle: $(stats)"; fi
if (( gets >= 10 && upd <= 4 )); then ok "idle polls are single GetItems; the lease renews once per TTL/2"; else ko "idle counts get=$gets upd=$upd"; fi

# ---- a change reaches HAProxy ----------------------------------------------------------------
instances "i-b $PB" "i-c $PC"
bc_up() { [[ $(hits 20) =~ A=0\ B=(9|10|11)\ C=(9|10|11)\ 503=0 ]]; }
if wait_for "b c" bc_up; then ok "scale-in and scale-out reach HAProxy (A drained and gone, C in)"; else ko "change: $(hits 20)" "$tmp/a.log" "$tmp/client.log"; fi

# ---- standby and fencing ---------------------------------------------------------------------
SERVER_ID=srv-b EXPORTER_PORT=$(free_port) "$AGENT" --server -f "$tmp/env.yaml" >"$tmp/b.log" 2>&1 &
pb=$!
pids+=("$pb")
if wait_log "$tmp/b.log" "standby: the writer lease is held by srv-a"; then ok "a second server is a standby"; else ko "standby" "$tmp/b.log"; fi
kill -STOP "$pa"
if wait_log "$tmp/b.log" "took the writer lease \(epoch [0-9]+\) as srv-b"; then ok "holder SIGSTOPped past its lease: the standby takes over"; else ko "takeover" "$tmp/b.log"; fi
instances "i-a $PA" "i-b $PB" "i-c $PC"
if wait_for "abc" eval '[[ $(hits 30) =~ A=(9|10|11)\ B=(9|10|11)\ C=(9|10|11) ]]'; then ok "the new holder's writes reach HAProxy"; else ko "after takeover: $(hits 30)" "$tmp/b.log"; fi
mark=$(wc -l <"$tmp/a.log")
kill -CONT "$pa"
if wait_log "$tmp/a.log" "standby: the writer lease is held by srv-b"; then ok "the resumed holder stands by"; else ko "resumed" "$tmp/a.log"; fi
if ! tail -n +"$((mark + 1))" "$tmp/a.log" | grep -qE "generation [0-9]+: wrote"; then ok "the deposed holder wrote nothing"; else ko "deposed wrote" "$tmp/a.log"; fi
if [[ $(hits 30) =~ A=(9|10|11)\ B=(9|10|11)\ C=(9|10|11) ]]; then ok "HAProxy still follows the new holder's table"; else ko "final traffic $(hits 30)"; fi
if [[ $(jnum bad) == 0 ]]; then ok "no request was ever refused by the verifier"; else ko "bad signatures: $(stats)"; fi
finish
