# Fleet health against real peers (tests/integration/test_health_*.sh,
# bench/health.sh): four small HTTP backends and a traffic generator
# (tests/fixtures/health_peers.js), three real HAProxies h1..h3, each with
# `filter spoe` (spoe/hsdo.spoe.conf) and its own hsdo-agent --client
# (CLIENT_ID h1..h3), and one hsdo-agent --server with the static source
# listing the four backends as instances i-b1..i-b4. Source it after
# lib/peers.sh; set HEALTH_STORE (file | dynamodb) and, for dynamodb, start
# dynalite (lib/dynalite.sh) and export the AWS variables first.
# shellcheck shell=bash
SRC=${HSDO_SOURCE_DIR:?HSDO_SOURCE_DIR must point to the source tree}
command -v node >/dev/null || { echo "FAIL - node is not installed (./scripts/deps)"; exit 1; }
HEALTH_STORE=${HEALTH_STORE:-file}
HAPS=(h1 h2 h3)

# health_peers_up: the backends and the traffic generator; sets CTL (control
# URL) and BP1..BP4 (backend ports).
# With HEALTH_HOSTS (a comma-separated list of loopback addresses) and
# HEALTH_BACKEND_PORT, each backend listens on its own address and that port.
health_peers_up() {
	local args=(--backends 4)
	[[ -n ${HEALTH_HOSTS:-} ]] && args=(--hosts "$HEALTH_HOSTS" --port "$HEALTH_BACKEND_PORT")
	node "$SRC/tests/fixtures/health_peers.js" "${args[@]}" >"$tmp/peers.log" 2>&1 &
	pids+=($!)
	wait_log "$tmp/peers.log" "LISTENING( [0-9]+){5}" || return 1
	read -r _ CP BP1 BP2 BP3 BP4 < <(grep LISTENING "$tmp/peers.log" | head -1)
	CTL=http://127.0.0.1:$CP
}
ctl() { curl -s -m 5 -X POST -H 'Content-Type: application/json' --data "$2" "$CTL$1" >/dev/null; }
# fail BACKEND [HAPROXY [MODE]]: the backend answers 500 (or resets, MODE
# reset) to every request, or only to those of one HAProxy.
fail() {
	ctl /__fail "{\"backend\":\"$1\",\"status\":500$([[ -n ${2:-} ]] && printf ',"from":"%s"' "$2")$([[ -n ${3:-} ]] && printf ',"mode":"%s"' "$3")}"
}
heal() { ctl /__heal "{$([[ -n ${1:-} ]] && printf '"backend":"%s"' "$1")}"; }
# load RATE: RATE requests a second to each HAProxy (0 stops).
load() {
	local t="" h
	for h in "${HAPS[@]}"; do
		local fe=FE_$h
		t+="${t:+,}{\"name\":\"$h\",\"url\":\"http://127.0.0.1:${!fe}/\"}"
	done
	ctl /__load "{\"targets\":[$t],\"rate\":$1}"
}
counts() { curl -s -m 5 "$CTL/__counts"; }
# backend_total BACKEND: requests the backend got so far.
backend_total() { counts | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).backends[process.argv[1]].total))' "$1"; }

# health_instances [NAME...]: the static list with backends b1..b4 (or the
# ones named) as instances i-b1..i-b4 on their ports.
health_instances() {
	local b names=("$@") port
	((${#names[@]})) || names=(b1 b2 b3 b4)
	: >"$tmp/list.new"
	for b in "${names[@]}"; do
		port=BP${b#b}
		printf -- '- name: i-%s\n  ip: 127.0.0.1\n  port: %s\n  group: web\n' "$b" "${!port}" >>"$tmp/list.new"
	done
	mv "$tmp/list.new" "$tmp/list.yaml"
}

# The store settings both roles share.
health_store_yaml() {
	if [[ $HEALTH_STORE == dynamodb ]]; then
		printf 'STORE: dynamodb\nDYNAMODB_TABLE_NAME: hsdo-health-it\nAWS_DEFAULT_REGION: us-east-1\n'
	else
		printf 'STORE: file\nSTORE_FILE_PATH: %s/slots.json\n' "$tmp"
	fi
}

# health_haproxy_up H: HAProxy H with filter spoe, its own stats socket,
# frontend port FE_H and SPOE agent port SPOA_H; backend be_app has the
# template web1..web4, checked with an HTTP request that carries the same
# X-HSDO-HAProxy header as the traffic (so a backend failing for one
# HAProxy fails its checks too: HAProxy's own 502s never reach the SPOE
# agent, its checks do). A request with header x-slot: N goes to webN, even
# drained or down, as persistence would. Runs in the foreground of a background job.
health_haproxy_up() {
	local h=$1 fe sp
	fe=$(free_port)
	sp=$(free_port)
	printf -v "FE_$h" '%s' "$fe"
	printf -v "SPOA_$h" '%s' "$sp"
	mkdir -p "$tmp/$h"
	cat >"$tmp/$h/haproxy.cfg" <<CFG
global
    stats socket $tmp/$h/admin.sock mode 600 level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:$fe
    filter spoe engine hsdo config $SRC/spoe/hsdo.spoe.conf
    http-request set-header X-HSDO-HAProxy $h
    http-response set-header X-HSDO-Slot-State %[var(txn.hsdo.slot_state)]
    default_backend be_app
backend be_app
    balance roundrobin
    retries 0
    option httpchk
    http-check send meth GET uri /health hdr X-HSDO-HAProxy $h
    force-persist if { req.hdr(x-slot) -m found }
    use-server web1 if { req.hdr(x-slot) -m str 1 }
    use-server web2 if { req.hdr(x-slot) -m str 2 }
    use-server web3 if { req.hdr(x-slot) -m str 3 }
    use-server web4 if { req.hdr(x-slot) -m str 4 }
    server-template web 1-4 127.0.0.2:80 disabled check inter 2s fall 3 rise 2
backend hsdo_spoa
    mode tcp
    option spop-check
    timeout connect 1s
    timeout server 1m
    server hsdo-agent 127.0.0.1:$sp check inter 300ms downinter 300ms rise 1 fall 2
CFG
	haproxy -f "$tmp/$h/haproxy.cfg" -db >"$tmp/$h/haproxy.log" 2>&1 &
	pids+=($!)
	printf -v "HAPID_$h" '%s' "$!"
	local i
	for i in $(seq 1 50); do [[ -S $tmp/$h/admin.sock ]] && return 0; sleep 0.1; done
	return 1
}

# health_client_up H [YAML]: hsdo-agent --client for HAProxy H (CLIENT_ID H),
# exporter port EP_H; YAML is appended to its configuration.
health_client_up() {
	local h=$1 ep sp=SPOA_$1
	ep=$(free_port)
	printf -v "EP_$h" '%s' "$ep"
	{
		printf 'INTERVAL: %s\n' "${HEALTH_INTERVAL_S:-0.3}"
		health_store_yaml
		cat <<YAML
CLIENT_HAPROXY_SOCKET_PATH: $tmp/$h/admin.sock
CLIENT_HAPROXY_BACKEND_NAME: be_app
CLIENT_HAPROXY_BACKEND_BASE_NAME: web
CLIENT_HAPROXY_BACKEND_SERVER_PORT: ${HEALTH_BACKEND_PORT:-80}
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4
EXPORTER_PORT: $ep
SPOA_LISTEN: 127.0.0.1:${!sp}
CLIENT_ID: $h
HEALTH_EJECT: true
HEALTH_WINDOW: 2
HEALTH_MIN_REQUESTS: 5
HEALTH_REPORT_INTERVAL: ${HEALTH_REPORT_S:-1}
YAML
		printf '%s\n' "${2:-}"
	} >"$tmp/$h/env.yaml"
	"$AGENT" --client --config "$tmp/$h/env.yaml" >"$tmp/$h/client.log" 2>&1 &
	pids+=($!)
	printf -v "CPID_$h" '%s' "$!"
}

# health_server_up [YAML]: hsdo-agent --server, static source (or the
# HEALTH_SOURCE_YAML lines), exporter MP.
health_server_up() {
	MP=$(free_port)
	{
		printf 'INTERVAL: %s\n' "${HEALTH_INTERVAL_S:-0.3}"
		health_store_yaml
		cat <<YAML
${HEALTH_SOURCE_YAML:-SERVER_MODE: static
SERVER_STATIC_FILE: $tmp/list.yaml}
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4
SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 1
SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 4
SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT: 1
SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL: 0.5
SERVER_DRAIN_TIME: 1
SERVER_LEASE_TTL: 0
EXPORTER_PORT: $MP
HEALTH_EJECT: true
HEALTH_EJECT_TIME: ${HEALTH_EJECT_TIME_S:-6}
HEALTH_MAX_EJECTED_PERCENT: 20
YAML
		printf '%s\n' "${1:-}"
	} >"$tmp/server.yaml"
	"$AGENT" --server --config "$tmp/server.yaml" >"$tmp/server.log" 2>&1 &
	pids+=($!)
	SPID=$!
}

# hcli H CMD: one Runtime API command on HAProxy H.
hcli() { echo "$2" | socat -t 2 - "UNIX-CONNECT:$tmp/$1/admin.sock"; }
# hsrv H FIELD SERVER: one column of `show servers state be_app` on HAProxy H.
hsrv() { hcli "$1" "show servers state be_app" | state_field "$2" "$3"; }
# drained_everywhere SLOT: the slot's server is in drain on every HAProxy.
drained_everywhere() {
	local h a
	for h in "${HAPS[@]}"; do
		a=$(hsrv "$h" srv_admin_state "web$1")
		[[ -n $a ]] && (( a & 0x08 )) || return 1
	done
}
# serving_everywhere SLOT: ready (no maint, no drain) with a weight on every HAProxy.
serving_everywhere() {
	local h a w
	for h in "${HAPS[@]}"; do
		a=$(hsrv "$h" srv_admin_state "web$1")
		w=$(hsrv "$h" srv_uweight "web$1")
		[[ -n $a ]] && (( (a & 0x2b) == 0 && w > 0 )) || return 1
	done
}

# The slot table, from whichever store: tslot ID FIELD.
tslot() {
	if [[ $HEALTH_STORE == dynamodb ]]; then
		node "$SRC/tests/fixtures/ddb_original_scan.js" "$AWS_ENDPOINT_URL_DYNAMODB" hsdo-health-it --raw 2>/dev/null |
			node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const d=JSON.parse(s);
				const it=d.raw.find(x=>x.BackendServerID.N===process.argv[1]);const v=it&&it[process.argv[2]];
				console.log(v===undefined?"":(v.S??v.N??String(v.BOOL)));})' "$1" "$2"
	else
		slot "$1" "$2"
	fi
}
tslot_is() { [[ $(tslot "$1" "$2") == "$3" ]]; }
# slot_of_b BACKEND: the slot of instance i-BACKEND.
slot_of_b() {
	local i
	for i in 1 2 3 4; do [[ $(tslot "$i" ServerName) == "i-$1" ]] && { echo "$i"; return; }; done
}

# wait_long DESC SECONDS CMD...: like wait_for, with a longer bound (a
# loaded machine runs cycles late; never asserted as a duration).
wait_long() {
	local i n=$(($2 * 10))
	for i in $(seq 1 "$n"); do "${@:3}" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}

# health_all_up: everything, converged and serving with traffic flowing.
health_all_up() {
	health_peers_up || { ko "health peers did not start" "$tmp/peers.log"; return 1; }
	health_instances
	local h
	for h in "${HAPS[@]}"; do
		health_haproxy_up "$h" || { ko "HAProxy $h did not start" "$tmp/$h/haproxy.log"; return 1; }
	done
	health_server_up "${1:-}"
	for h in "${HAPS[@]}"; do health_client_up "$h" "${2:-}"; done
	local s
	for s in 1 2 3 4; do
		wait_long "slot $s serving" 30 serving_everywhere "$s" ||
			{ ko "slot $s never served on every HAProxy" "$tmp/server.log" "$tmp/h1/client.log"; return 1; }
	done
	load "${HEALTH_RATE:-30}"
}
