#!/usr/bin/env bash
# hsdo-agent --server with the static source and the file store, as real
# processes: first start (slots created, instances placed), ramp timing,
# scale-out and scale-in (stable slots, drain then free), zero writes when
# nothing changes, a malformed list (nothing written, last table kept),
# overflow, the safety valve, a restart with an existing table, --dry-run
# (the plan printed, nothing written, on an empty store and on a table), two
# servers with a writer lease: the standby takes over when the holder is
# stopped with SIGSTOP, and the resumed holder writes nothing.
source "$(dirname "$0")/lib/peers.sh"
command -v node >/dev/null || { echo "FAIL - node is not installed (./scripts/deps)"; exit 1; }

# metric NAME_WITH_LABELS PORT: its value from /metrics.
metric() { curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# instances "name ip [port]"...: the static list.
instances() {
	local e n ip port
	: >"$tmp/list.new"
	for e in "$@"; do
		read -r n ip port <<<"$e"
		printf -- '- name: %s\n  ip: %s\n' "$n" "$ip" >>"$tmp/list.new"
		[[ -n $port ]] && printf '  port: %s\n' "$port" >>"$tmp/list.new"
		printf '  group: web\n' >>"$tmp/list.new"
	done
	mv "$tmp/list.new" "$tmp/list.yaml"
}

MP=$(free_port)
cat >"$tmp/env.yaml" <<YAML
INTERVAL: 0.2
STORE: file
STORE_FILE_PATH: $tmp/slots.json
SERVER_MODE: static
SERVER_STATIC_FILE: $tmp/list.yaml
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 6
SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 10
SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 30
SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT: 10
SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL: 1
SERVER_DRAIN_TIME: 1
SERVER_LEASE_TTL: 0
SERVER_VALVE_SECONDS: 1
EXPORTER_PORT: $MP
YAML

# files: the store's files (table, lock, lease) with size, inode and mtime.
files() { stat -c '%n %s %i %y' "$tmp"/slots.json* 2>/dev/null; }

# ---- --dry-run on an empty store: the plan printed, nothing created --------------------
instances "i-a 10.0.0.1" "i-b 10.0.0.2 8080"
"$AGENT" --server --dry-run --config "$tmp/env.yaml" >"$tmp/dry.out" 2>"$tmp/dry.log"
rc=$?
if [[ $rc -eq 0 ]] &&
   grep -qx '# dry run, nothing written: source static: 2 instances (0 leaving); store file: no table yet, planned from 6 free slots' "$tmp/dry.out" &&
   grep -qx '# 2 slots would change: added 2, back 0, draining 0, freed 0, ramped 0, updated 0' "$tmp/dry.out" &&
   grep -qE '^slot 1 active weight=10 name=i-a ip=10.0.0.1 port=0 group=web az= since=' "$tmp/dry.out" &&
   grep -qE '^slot 2 active weight=10 name=i-b ip=10.0.0.2 port=8080 group=web ' "$tmp/dry.out" &&
   grep -qx 'slot 6 free' "$tmp/dry.out" && grep -qE '^changed 2: free -> active weight=10 name=i-b ' "$tmp/dry.out" &&
   [[ $(grep -c '^slot ' "$tmp/dry.out") -eq 6 && $(grep -c '^changed ' "$tmp/dry.out") -eq 2 ]]; then
	ok "--dry-run: one cycle planned from the source, the table and each change printed, exit 0"
else ko "--dry-run output (rc $rc)" "$tmp/dry.out" "$tmp/dry.log"; fi
if [[ -z $(files) ]] && ! grep -q "exporter listening" "$tmp/dry.log"; then
	ok "--dry-run on an empty store creates nothing (no table, lock or lease file) and serves no exporter"
else ko "--dry-run wrote: $(files)" "$tmp/dry.log"; fi
SERVER_STATIC_FILE=$tmp/missing.yaml "$AGENT" --server --dry-run --config "$tmp/env.yaml" >"$tmp/dry.out" 2>"$tmp/dry.log"
rc=$?
if [[ $rc -eq 1 && ! -s $tmp/dry.out && -z $(files) ]] && grep -q "missing.yaml" "$tmp/dry.log"; then
	ok "--dry-run with a failing source: exit 1, nothing printed or written"
else ko "--dry-run, failing source (rc $rc)" "$tmp/dry.out" "$tmp/dry.log"; fi

# ---- first start, ramp --------------------------------------------------------
"$AGENT" --server --config "$tmp/env.yaml" >"$tmp/server.log" 2>&1 &
srv=$!
pids+=("$srv")
# The first table that names i-b, and slot 1's weight in that same read (a
# later read may already see the ramp on a loaded machine).
first_read() {
	node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const s = id => d.slots.find(x => x.BackendServerID.N === id) || {};
		if ((s("2").ServerName || {}).S !== "i-b") process.exit(1);
		console.log(s("1").Weight.N);' "$tmp/slots.json" 2>/dev/null
}
w0=""
for _ in $(seq 1 100); do w0=$(first_read) && break; sleep 0.1; done
if [[ -n $w0 ]]; then ok "first start: slots created, instances placed"; else ko "first start" "$tmp/server.log"; fi
if [[ $(slot 1 IPAddress) == 10.0.0.1 && $(slot 2 Port) == 8080 && $(slot 3 ServerName) == none && $(slot 6 BackendServerStatus) == disabled ]]; then
	ok "slot items: address, per-instance port, free slots up to 6"
else ko "slot items: $(slot 1 IPAddress) $(slot 2 Port) $(slot 3 ServerName)"; fi
if [[ $w0 == 10 || $w0 == 20 ]]; then ok "a new server starts at MIN_WEIGHT (saw $w0)"; else ko "start weight $w0"; fi
if wait_for "ramp" slot_is 1 Weight 30; then ok "ramps to MAX_WEIGHT, one step per interval"; else ko "ramp: $(slot 1 Weight)" "$tmp/server.log"; fi

# ---- nothing changes: zero writes -----------------------------------------------
g1=$(gen)
sleep 1.2
g2=$(gen)
if [[ -n $g1 && $g1 == "$g2" ]]; then ok "steady state: no write for 6 cycles (generation $g1)"; else ko "generation moved $g1 -> $g2"; fi
if [[ $(metric 'hsdo_server_cycles_total{outcome="unchanged"}' "$MP") -ge 3 ]]; then ok "unchanged cycles are counted"; else ko "unchanged cycles: $(metric 'hsdo_server_cycles_total{outcome="unchanged"}' "$MP")"; fi

# ---- scale out and in: stable slots, drain then free -------------------------------------
instances "i-b 10.0.0.2 8080" "i-c 10.0.0.3" "i-d 10.0.0.4"
if wait_for "scale" slot_is 4 ServerName i-d; then ok "scale-out: new instances take the lowest free slots (3, 4)"; else ko "scale-out" "$tmp/server.log"; fi
if [[ $(slot 3 ServerName) == i-c && $(slot 2 ServerName) == i-b ]]; then ok "i-b keeps slot 2"; else ko "slots moved: $(slot 2 ServerName) $(slot 3 ServerName)"; fi
if [[ $(slot 1 ServerName) == i-a && $(slot 1 Weight) == 0 ]]; then ok "scale-in: i-a drains in slot 1 at weight 0"; else
	# The drain may already be over (1 s): then the log must show it.
	grep -q "draining 1" "$tmp/server.log" && ok "scale-in: i-a drained (logged)" || ko "drain: $(slot 1 ServerName) $(slot 1 Weight)" "$tmp/server.log"; fi
if wait_for "free" slot_is 1 ServerName none; then ok "after SERVER_DRAIN_TIME the slot is freed"; else ko "free" "$tmp/server.log"; fi

# ---- a malformed list writes nothing ---------------------------------------------------------
wait_for "ramped" slot_is 4 Weight 30
g1=$(gen)
printf -- '- name: i-b\n  ip: [oops\n' >"$tmp/list.yaml"
if wait_log "$tmp/server.log" "source static: .*list.yaml:[0-9]+"; then ok "malformed list: error names FILE:LINE"; else ko "malformed list" "$tmp/server.log"; fi
sleep 0.6
if [[ $(gen) == "$g1" && $(slot 4 ServerName) == i-d ]]; then ok "malformed list: nothing written, the table stays"; else ko "table changed on a bad list"; fi
if curl -s "http://127.0.0.1:$MP/healthz" | grep -q "source static"; then ok "/healthz reports the source error"; else ko "healthz: $(curl -s "http://127.0.0.1:$MP/healthz")"; fi

# ---- overflow: 8 instances, 6 slots -----------------------------------------------------
instances "i-b 10.0.0.2 8080" "i-c 10.0.0.3" "i-d 10.0.0.4" "i-e 10.0.0.5" "i-f 10.0.0.6" "i-g 10.0.0.7" "i-h 10.0.0.8" "i-i 10.0.0.9"
# 3 slots are free (1, 5, 6) for 5 new instances: 2 are left out.
if wait_log "$tmp/server.log" "overflow: 2 in-service instances without a free slot \(i-h, i-i\)"; then ok "overflow is logged naming the instances left out"; else ko "overflow log" "$tmp/server.log"; fi
if [[ $(metric hsdo_server_overflow_instances "$MP") == 2 ]]; then ok "overflow metric"; else ko "overflow metric $(metric hsdo_server_overflow_instances "$MP")"; fi
sleep 0.5
if [[ $(slot 1 ServerName) == i-e && $(slot 6 ServerName) == i-g && $(grep -c "overflow:" "$tmp/server.log") -eq 1 ]]; then ok "free slots reused in order; overflow logged once"; else ko "overflow placement: $(slot 1 ServerName) $(slot 6 ServerName)" "$tmp/server.log"; fi

# ---- safety valve: 5 of 6 leave at once -----------------------------------------------------
instances "i-b 10.0.0.2 8080"
if wait_log "$tmp/server.log" "safety valve: .* out .*held for [0-9.]+ of 1.0 s"; then ok "safety valve holds a mass removal"; else ko "valve" "$tmp/server.log"; fi
if wait_log "$tmp/server.log" "safety valve: applied after 1\.[0-9] s"; then ok "...and applies it when it persists for SERVER_VALVE_SECONDS"; else ko "valve apply" "$tmp/server.log"; fi
if wait_for "drain" slot_is 3 Weight 0; then ok "the removal then drains"; else ko "valve drain $(slot 3 Weight)"; fi
# ---- restart with an existing table --------------------------------------------------------
instances "i-b 10.0.0.2 8080" "i-c 10.0.0.3"
wait_for "settled" eval '[[ $(weight_of i-c) == 30 && $(weight_of i-b) == 30 ]]'
wait_for "freed" eval '[[ $(grep -o "\"ServerName\":{\"S\":\"none\"}" "$tmp/slots.json" | wc -l) -eq 4 ]]'
sb=$(slot_of i-b) sc=$(slot_of i-c) g1=$(gen)
kill "$srv"; wait "$srv" 2>/dev/null
"$AGENT" --server --config "$tmp/env.yaml" >"$tmp/server2.log" 2>&1 &
srv=$!
pids+=("$srv")
wait_log "$tmp/server2.log" "slot table generation"
sleep 0.6
if [[ -n $sb && $(slot_of i-b) == "$sb" && $(slot_of i-c) == "$sc" && $(gen) == "$g1" ]]; then
	ok "restart: every instance keeps its slot ($sb, $sc), nothing written"; else ko "restart: $sb/$(slot_of i-b) $sc/$(slot_of i-c) gen $g1/$(gen)" "$tmp/server2.log"; fi
kill "$srv"; wait "$srv" 2>/dev/null

# ---- --dry-run on an existing table: what would change, nothing written, no lease ------------
before=$(files) sum=$(sha256sum <"$tmp/slots.json")
instances "i-b 10.0.0.2 8080" "i-y 10.0.0.25"
SERVER_LEASE_TTL=2 "$AGENT" --server --dry-run --config "$tmp/env.yaml" >"$tmp/dry.out" 2>"$tmp/dry.log"
rc=$?
if [[ $rc -eq 0 ]] &&
   grep -qx "# dry run, nothing written: source static: 2 instances (0 leaving); store file: generation $g1, 6 slots" "$tmp/dry.out" &&
   grep -qE "^changed $sc: active weight=30 name=i-c ip=10.0.0.3 port=0 group=web az= since=[^ ]+ -> draining weight=0 name=i-c " "$tmp/dry.out" &&
   grep -qE "^changed [0-9]+: free -> active weight=10 name=i-y ip=10.0.0.25 " "$tmp/dry.out" &&
   grep -qE "^slot $sb active weight=30 name=i-b " "$tmp/dry.out" && [[ $(grep -c '^changed ' "$tmp/dry.out") -eq 2 ]]; then
	ok "--dry-run on the table: i-c would drain in slot $sc, i-y take a free slot, i-b stay"
else ko "--dry-run on the table (rc $rc)" "$tmp/dry.out" "$tmp/dry.log"; fi
if [[ $(files) == "$before" && $(sha256sum <"$tmp/slots.json") == "$sum" && $(gen) == "$g1" && ! -e $tmp/slots.json.lease ]]; then
	ok "--dry-run wrote nothing: same table file (bytes, inode, mtime), same generation, no lease taken"
else ko "--dry-run changed the store: $(files)" "$tmp/dry.log"; fi
instances "i-b 10.0.0.2 8080" "i-c 10.0.0.3"

# ---- two servers, a writer lease, SIGSTOP ------------------------------------------------------
sed -i 's/^SERVER_LEASE_TTL: 0/SERVER_LEASE_TTL: 2/' "$tmp/env.yaml"
A=$(free_port) B=$(free_port)
SERVER_ID=srv-a EXPORTER_PORT=$A "$AGENT" --server --config "$tmp/env.yaml" >"$tmp/a.log" 2>&1 &
pa=$!
pids+=("$pa")
wait_log "$tmp/a.log" "took the writer lease"
SERVER_ID=srv-b EXPORTER_PORT=$B "$AGENT" --server --config "$tmp/env.yaml" >"$tmp/b.log" 2>&1 &
pb=$!
pids+=("$pb")
if wait_log "$tmp/b.log" "standby: the writer lease is held by srv-a"; then ok "second server is a standby"; else ko "standby" "$tmp/b.log"; fi
if [[ $(metric hsdo_server_lease_holder "$B") == 0 && $(metric hsdo_server_lease_holder "$A") == 1 ]]; then ok "lease holder metric (a=1, b=0)"; else ko "holder metric"; fi
kill -STOP "$pa"
if wait_log "$tmp/b.log" "took the writer lease \(epoch [0-9]+\) as srv-b"; then ok "SIGSTOP past the TTL: the standby takes over"; else ko "takeover" "$tmp/b.log"; fi
instances "i-b 10.0.0.2 8080" "i-c 10.0.0.3" "i-z 10.0.0.26"
if wait_for "b writes" has i-z; then ok "the new holder writes"; else ko "b writes" "$tmp/b.log"; fi
instances "i-b 10.0.0.2 8080" "i-c 10.0.0.3"
kill -CONT "$pa"
if wait_log "$tmp/a.log" "standby: the writer lease is held by srv-b"; then ok "the resumed holder sees it was deposed and stands by"; else ko "a after resume" "$tmp/a.log"; fi
if ! grep -qE "generation [0-9]+: wrote" <(sed -n '/received\|standby: the writer lease is held by srv-b/,$p' "$tmp/a.log" | tail -n +2); then ok "the deposed holder wrote nothing after resuming"; else ko "deposed holder wrote" "$tmp/a.log"; fi
if wait_for "drain z" eval '[[ $(weight_of i-z) == 0 ]]'; then ok "the standby-turned-holder keeps following the list (i-z drains)"; else ko "i-z drain $(weight_of i-z)" "$tmp/b.log"; fi
kill "$pb"; wait "$pb" 2>/dev/null
if wait_log "$tmp/b.log" "writer lease released" && wait_log "$tmp/a.log" "took the writer lease"; then ok "a clean stop releases the lease: the other takes over at once"; else ko "release" "$tmp/b.log" "$tmp/a.log"; fi
finish
