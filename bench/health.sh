#!/usr/bin/env bash
# Fleet health benchmark, run by hand (./scripts/bench, or
# HSDO_AGENT=build/bench/hsdo-agent bench/health.sh BUILD_DIR). The fleet of
# the integration tests (tests/integration/lib/health.sh): three real
# HAProxies with filter spoe and their clients, one server, four backends,
# 30 requests a second through each HAProxy.
#  1. detection: one backend starts answering 500 to everyone; the time from
#     its first failing answer to its slot in drain on all three HAProxies,
#     10 trials (a different backend each time, back in service between),
#     against the bound HEALTH_WINDOW + HEALTH_REPORT_INTERVAL + 2 server
#     cycles + 1 client cycle (the issue's), file store;
#  2. DynamoDB: the same fleet on dynalite behind the SigV4 verifier for
#     120 s at the default intervals; the requests the verifier counted
#     and the report items' size give the requests and capacity units an
#     hour for 10, 100 and 1,000 clients;
#  3. the server's step and cycle with 1,000 reports: bench_health.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export HSDO_SOURCE_DIR=${HSDO_SOURCE_DIR:-$(cd "$here/.." && pwd)}
build=${1:-$HSDO_SOURCE_DIR/build/bench}
export HSDO_AGENT=${HSDO_AGENT:-$build/hsdo-agent}
source "$HSDO_SOURCE_DIR/tests/integration/lib/peers.sh"
source "$HSDO_SOURCE_DIR/tests/integration/lib/health.sh"
TRIALS=${TRIALS:-10}
HEALTH_EJECT_TIME_S=1   # a trial's slot is back soon; the backoff stays short
now_ms() { date +%s%3N; }
stop_all() {
	local p
	for p in "${pids[@]}"; do { kill -9 "$p" && wait "$p"; } 2>/dev/null; done
	pids=()
}
failing_since() { counts | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).failingSince[process.argv[1]]||""))' "$1"; }

# ---- 1. detection --------------------------------------------------------------------
HEALTH_STORE=file
health_all_up || exit 1
# settings of lib/health.sh
WINDOW=2 REPORT=1 INTERVAL=0.3
bound=$(node -e "console.log(($WINDOW + $REPORT + 2 * $INTERVAL + $INTERVAL).toFixed(1))")
ours=$(node -e "console.log(($WINDOW + 4 * $INTERVAL).toFixed(1))")
times=()
for t in $(seq 1 "$TRIALS"); do
	b=b$(( (t - 1) % 4 + 1 ))
	s=$(slot_of_b "$b")
	sleep 3      # every window clean again
	fail "$b"
	deadline=$(( $(now_ms) + 120000 ))
	until drained_everywhere "$s"; do
		(( $(now_ms) < deadline )) || { echo "slot $s was not drained within 120 s" >&2; exit 1; }
		sleep 0.05
	done
	t1=$(now_ms)
	t0=$(failing_since "$b")
	heal "$b"
	d=$(node -e "console.log((($t1 - $t0) / 1000).toFixed(2))")
	times+=("$d")
	echo "trial $t: $b (slot $s) drained on 3 HAProxies $d s after its first 500"
	wait_long "back" 60 serving_everywhere "$s" || { echo "slot $s did not come back" >&2; exit 1; }
done
load 0
read -r med max < <(printf '%s\n' "${times[@]}" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[NR] }')
echo
echo "| detection (${TRIALS} trials) | median | max | bound (issue) | bound (one write per cycle) |"
echo "|---|---|---|---|---|"
echo "| first 500 -> drained on 3 HAProxies | ${med} s | ${max} s | ${bound} s | ${ours} s |"
echo "(HEALTH_WINDOW ${WINDOW} s, HEALTH_REPORT_INTERVAL ${REPORT} s, INTERVAL ${INTERVAL} s, 30 req/s per HAProxy, polled every 50 ms)"
stop_all

# ---- 2. DynamoDB requests and capacity --------------------------------------------------------
HEALTH_STORE=dynamodb
AKID=AKIDHSDOBENCH SECRET='bench/secret+KEY0123456789'
node "$SRC/tests/fixtures/sigv4_proxy.js" --embed --port 0 --region us-east-1 \
	--creds "[{\"accessKeyId\":\"$AKID\",\"secretAccessKey\":\"$SECRET\"},{\"accessKeyId\":\"AKIDORIGINAL\",\"secretAccessKey\":\"original\"}]" \
	>"$tmp/proxy.log" 2>&1 &
pids+=($!)
wait_log "$tmp/proxy.log" "LISTENING [0-9]+" || { echo "verifier did not start" >&2; exit 1; }
DP=$(sed -nE 's/.*LISTENING ([0-9]+).*/\1/p' "$tmp/proxy.log" | head -1)
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DP AWS_EC2_METADATA_DISABLED=true
{ health_store_yaml; echo "HEALTH_EJECT: true"; } >"$tmp/create.yaml"
"$AGENT" --create-table --config "$tmp/create.yaml" >/dev/null 2>&1 || { echo "create-table failed" >&2; exit 1; }
rm -f "$tmp/slots.json"
# The agents' default intervals (INTERVAL 1 s, HEALTH_REPORT_INTERVAL 10 s):
# the counts are those of a production fleet of three clients.
HEALTH_INTERVAL_S=1 HEALTH_REPORT_S=10 health_all_up || exit 1
sleep 15     # past the first reports
curl -s -X POST "http://127.0.0.1:$DP/__reset" >/dev/null
SECONDS_RUN=${DDB_SECONDS:-120}
sleep "$SECONDS_RUN"
stats=$(curl -s "http://127.0.0.1:$DP/__stats")
load 0
node - "$stats" "$SECONDS_RUN" "$SRC" "$AWS_ENDPOINT_URL_DYNAMODB" <<'JS'
const [stats, secs, src, endpoint] = [JSON.parse(process.argv[2]), +process.argv[3], process.argv[4], process.argv[5]];
const path = require('path');
const { DynamoDBClient, ScanCommand } = require(path.join(src, 'tests/node_modules/@aws-sdk/client-dynamodb'));
const SLOTS = 'hsdo-health-it', HEALTH = SLOTS + '-health', CLIENTS = 3;
const n = (op, table) => stats.byTable[`${op} ${table}`] || 0;
/* DynamoDB's item size: attribute names + values (S: UTF-8 bytes; N:
 * about one byte per two digits, plus one). */
function itemSize(it) {
	let z = 0;
	for (const [k, v] of Object.entries(it)) {
		z += Buffer.byteLength(k);
		if (v.S !== undefined) z += Buffer.byteLength(v.S);
		else if (v.N !== undefined) z += Math.ceil(v.N.replace(/^-/, '').length / 2) + 1;
		else z += 1;
	}
	return z;
}
(async () => {
	const c = new DynamoDBClient({ endpoint, region: 'us-east-1',
		credentials: { accessKeyId: 'AKIDORIGINAL', secretAccessKey: 'original' } });
	const r = await c.send(new ScanCommand({ TableName: HEALTH }));
	const slotsOf = (i) => (i.Slots ? i.Slots.S.split(' ').length : 0);
	const big = r.Items.reduce((a, i) => (slotsOf(i) > slotsOf(a) ? i : a));
	const size = itemSize(big), slots = slotsOf(big);
	const bare = itemSize(Object.fromEntries(Object.entries(big).filter(([k]) => k !== 'Slots')));
	const perSlot = (size - bare - 'Slots'.length) / slots;
	const writesH = n('PutItem', HEALTH) / CLIENTS / secs * 3600;
	const scansH = n('Scan', HEALTH) / secs * 3600;
	console.log(`\nmeasured over ${secs} s, ${CLIENTS} clients, INTERVAL 1 s, HEALTH_REPORT_INTERVAL 10 s:`);
	console.log(`  health table: ${n('PutItem', HEALTH)} PutItem (reports), ${n('Scan', HEALTH)} Scan (the server)`);
	console.log(`  slot table (without fleet health too): ${n('GetItem', SLOTS)} GetItem, ` +
		`${n('Scan', SLOTS)} Scan, ${n('UpdateItem', SLOTS)} UpdateItem, ${n('PutItem', SLOTS)} PutItem`);
	console.log(`  report item: ${size} bytes with ${slots} slots (${bare} without them, ${perSlot.toFixed(1)} a slot)`);
	console.log(`  => ${writesH.toFixed(0)} report writes an hour per client, ${scansH.toFixed(0)} Scans of the health table an hour\n`);
	console.log('| clients | slots per report | report writes/h | write units/h | health Scans/h | read units/h | on-demand $/h (us-east-1: $0.625 per M write units, $0.125 per M read units) |');
	console.log('|---|---|---|---|---|---|---|');
	for (const per of [4, 100])
		for (const k of [10, 100, 1000]) {
			const sz = bare + 'Slots'.length + per * perSlot;
			const writes = writesH * k;
			const wru = writes * Math.ceil(sz / 1024);
			/* one Scan reads every report: 4 KB a unit, halved (eventually consistent) */
			const rru = scansH * Math.ceil(k * sz / 4096) * 0.5;
			const cost = wru / 1e6 * 0.625 + rru / 1e6 * 0.125;
			console.log(`| ${k} | ${per} | ${writes.toFixed(0)} | ${wru.toFixed(0)} | ${scansH.toFixed(0)} | ${rru.toFixed(0)} | ${cost.toFixed(3)} |`);
		}
})().catch((e) => { console.error(e); process.exit(1); });
JS

# ---- 3. the server with 1,000 reports ----------------------------------------------------------
echo
"$build/bench_health"
stop_all
