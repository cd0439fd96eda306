# Shared by the mixed-fleet tests (ours next to the original HSDO): the
# SigV4 verifier with dynalite inside, HAProxy in front of three servers
# on one port and three loopback addresses (the way an Auto Scaling group
# looks to the original client, which has one port per backend), the
# original-style peer (tests/fixtures/original_hsdo.js) and the agent's
# /metrics. Source it after peers.sh.
# shellcheck shell=bash
root=${HSDO_SOURCE_DIR:?}
command -v node >/dev/null || { echo "FAIL - node is not installed (./scripts/deps)"; exit 1; }
ORIG=$root/tests/fixtures/original_hsdo.js
TABLE=hsdo-mixed

# verifier_start: the verifier with dynalite embedded; sets DP (its port),
# exports our credentials and endpoint. The original-style peer signs with
# AKIDORIGINAL/original.
verifier_start() {
	AKID=AKIDHSDOIT SECRET='it/secret+KEY0123456789'
	node "$root/tests/fixtures/sigv4_proxy.js" --embed --port 0 --region us-east-1 \
		--creds "[{\"accessKeyId\":\"$AKID\",\"secretAccessKey\":\"$SECRET\"},{\"accessKeyId\":\"AKIDORIGINAL\",\"secretAccessKey\":\"original\"}]" \
		>"$tmp/proxy.log" 2>&1 &
	pids+=($!)
	wait_log "$tmp/proxy.log" "LISTENING [0-9]+" || return 1
	DP=$(sed -nE 's/.*LISTENING ([0-9]+).*/\1/p' "$tmp/proxy.log" | head -1)
	export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET
	export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DP AWS_EC2_METADATA_DISABLED=true
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION
}
# backend_app N: backend be_app with server-template web 1-N (nowhere until
# a client fills it).
backend_app() {
	printf 'backend be_app\n    balance roundrobin\n    server-template web 1-%s 127.0.0.9:80 disabled' "$1"
}
# mixed_env SLOTS SOCKET [YAML]: $tmp/env.yaml for our agents: the table on
# DynamoDB through the verifier, SLOTS slots, HAProxy SOCKET's be_app on port
# $SP, no SPOE agent, then YAML (INTERVAL...); creates the table.
mixed_env() {
	cat >"$tmp/env.yaml" <<YAML
STORE: dynamodb
DYNAMODB_TABLE_NAME: $TABLE
AWS_DEFAULT_REGION: us-east-1
HAPROXY_BACKEND_SERVERS_LIST_SIZE: $1
CLIENT_HAPROXY_SOCKET_PATH: $tmp/$2.sock
CLIENT_HAPROXY_BACKEND_NAME: be_app
CLIENT_HAPROXY_BACKEND_BASE_NAME: web
CLIENT_HAPROXY_BACKEND_SERVER_PORT: $SP
SPOA_LISTEN: "off"
${3:-}
YAML
	"$AGENT" --create-table -f "$tmp/env.yaml" >"$tmp/create.log" 2>&1 || ko "create table" "$tmp/create.log"
}
# server_yaml MAX INTERVAL DRAIN: our server on the static list $tmp/list.yaml,
# ramping from 1 to MAX by 1 every INTERVAL seconds, draining DRAIN seconds.
server_yaml() {
	printf 'SERVER_MODE: static\nSERVER_STATIC_FILE: %s\n' "$tmp/list.yaml"
	printf 'SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 1\nSERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: %s\n' "$1"
	printf 'SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT: 1\n'
	printf 'SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL: %s\nSERVER_DRAIN_TIME: %s\n' "$2" "$3"
}

# stat_of KEY [JSON]: a number from the verifier's /__stats
# (byTarget/DynamoDB_20120810.Scan...), or from JSON, one snapshot of it
# (stats_now), so that several numbers come from the same instant.
stat_of() {
	node -e 'let v = JSON.parse(process.argv[1]); for (const k of process.argv[2].split("/")) v = v == null ? undefined : v[k]; console.log(v ?? 0)' \
		"${2:-$(stats_now)}" "$1"
}
stats_now() { curl -s "http://127.0.0.1:$DP/__stats"; }
stats_reset() { curl -s -X POST "http://127.0.0.1:$DP/__reset" >/dev/null; }

# fleet "IP NAME ASG"...: the instances the original-style writer sees
# ($tmp/instances, what its source would list), replaced atomically.
fleet() { printf '%s\n' "$@" >"$tmp/instances.new" && mv "$tmp/instances.new" "$tmp/instances"; }
# static_list NAME=IP...: our server's static list ($tmp/list.yaml, group
# web, no port: the backend's), replaced atomically.
static_list() {
	local e
	: >"$tmp/list.new"
	for e in "$@"; do printf -- '- {name: %s, ip: %s, group: web}\n' "${e%%=*}" "${e#*=}" >>"$tmp/list.new"; done
	mv "$tmp/list.new" "$tmp/list.yaml"
}

# orig COMMAND ARGS...: one run of the original-style peer on the table.
orig() { node "$ORIG" "$1" --endpoint "http://127.0.0.1:$DP" --table "$TABLE" "${@:2}"; }
# orig_bg LOG COMMAND ARGS...: the same, in the background; pid in $!.
orig_bg() {
	local log=$1
	shift
	node "$ORIG" "$1" --endpoint "http://127.0.0.1:$DP" --table "$TABLE" "${@:2}" >"$log" 2>&1 &
	pids+=($!)
}
# item ID ATTR: one attribute of item ID, read with the SDK ("" if none).
item() { orig get --id "$1" --attr "$2"; }

# mixed_haproxy NAME BACKENDS: a HAProxy config with the stats socket
# $tmp/NAME.sock, frontend NAME on $FE_<NAME> (set by the caller) routing to
# backend be_app, BACKENDS as given (server-template lines), and the three
# servers A, B, C on 127.0.0.1, .2, .3 port $SP (shared by every HAProxy of
# the test; only the first one binds them).
mixed_haproxy() {
	local name=$1 body=$2 fe servers=${3:-yes}
	fe=FE_$name
	{
		printf 'global\n    stats socket %s/%s.sock mode 600 level admin\n' "$tmp" "$name"
		printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n'
		printf 'frontend fe\n    bind 127.0.0.1:%s\n    default_backend be_app\n' "${!fe}"
		printf '%s\n' "$body"
		if [[ $servers == yes ]]; then
			printf 'listen srvA\n    bind 127.0.0.1:%s\n    http-request return status 200 content-type text/plain string A\n' "$SP"
			printf 'listen srvB\n    bind 127.0.0.2:%s\n    http-request return status 200 content-type text/plain string B\n' "$SP"
			printf 'listen srvC\n    bind 127.0.0.3:%s\n    http-request return status 200 content-type text/plain string C\n' "$SP"
		fi
	} >"$tmp/$name.cfg"
	rm -f "$tmp/$name.sock"
	haproxy -f "$tmp/$name.cfg" -D -p "$tmp/$name.pid" >"$tmp/$name.hap.log" 2>&1 || return 1
	local i
	for i in $(seq 1 50); do [[ -S $tmp/$name.sock ]] && break; sleep 0.1; done
	[[ -S $tmp/$name.sock ]] || return 1
	mixed_haproxies+=("$tmp/$name.pid")
}
mixed_haproxies=()
mixed_cleanup() {
	local p
	for p in "${mixed_haproxies[@]}"; do [[ -f $p ]] && kill -9 "$(cat "$p")" 2>/dev/null; done
	cleanup
}
trap mixed_cleanup EXIT
# A stop by SIGTERM or SIGINT (timeout, Ctrl-C) exits through the cleanup too.
trap 'exit 143' TERM INT

# hcli NAME CMD: a Runtime API command on HAProxy NAME.
hcli() { echo "$2" | socat -t 2 - "UNIX-CONNECT:$tmp/$1.sock"; }
# hsrv NAME FIELD BACKEND SERVER: one column of `show servers state`.
hsrv() { hcli "$1" "show servers state $3" | state_field "$2" "$4"; }
# hweight NAME SERVER: the effective weight of be_app/SERVER, 0 when it
# takes no new traffic (maintenance or drain).
hweight() {
	local a w
	a=$(hsrv "$1" srv_admin_state be_app "$2")
	w=$(hsrv "$1" srv_uweight be_app "$2")
	[[ -z $a ]] && { echo "?"; return; }
	if (( a & 0x2b )); then echo 0; else echo "$w"; fi
}
# haddr NAME SERVER: "addr:port" of be_app/SERVER, "maint" when in maintenance.
haddr() {
	local a
	a=$(hsrv "$1" srv_admin_state be_app "$2")
	if (( a & 0x23 )); then echo maint; else echo "$(hsrv "$1" srv_addr be_app "$2"):$(hsrv "$1" srv_port be_app "$2")"; fi
}
# nhits NAME N: peers.sh's hits N through HAProxy NAME's frontend ($FE_<NAME>).
nhits() {
	local fe=FE_$1
	FE_PORT=${!fe} hits "$2"
}

# metric PORT NAME_AND_LABELS: a sample's value from the agent's /metrics
# ("" when absent), e.g. metric "$CP" 'hsdo_cycles_total{mode="client",result="ok"}'.
metric() {
	curl -s "http://127.0.0.1:$1/metrics" | awk -v m="$2" 'index($0, m " ") == 1 { print $2 }'
}
# cycles PORT: client cycles run so far (ok and error).
cycles() {
	local ok err
	ok=$(metric "$1" 'hsdo_cycles_total{mode="client",result="ok"}')
	err=$(metric "$1" 'hsdo_cycles_total{mode="client",result="error"}')
	echo $(( ${ok:-0} + ${err:-0} ))
}
# reads_window PORT SECONDS: over SECONDS of the agent on PORT, sets W_CYC
# (its cycles), W_SCAN and W_GET (the Scan and GetItem requests the verifier
# saw); each end reads the verifier and the agent back to back, so the two
# counts differ by a cycle in flight at either end at most.
reads_window() {
	local c0 snap
	stats_reset
	c0=$(cycles "$1")
	sleep "$2"
	snap=$(stats_now)
	W_CYC=$(( $(cycles "$1") - c0 ))
	W_SCAN=$(stat_of byTarget/DynamoDB_20120810.Scan "$snap")
	W_GET=$(stat_of byTarget/DynamoDB_20120810.GetItem "$snap")
}
# wait_long DESC SECONDS CMD...: like wait_for, up to SECONDS.
wait_long() {
	local i
	for i in $(seq 1 $(( $2 * 10 ))); do "${@:3}" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
# within_cycles PORT MAX CMD...: CMD becomes true within MAX client cycles
# of the agent on PORT after the call (counted with hsdo_cycles_total, not
# with a clock: a loaded machine runs cycles late, not fewer of them; one
# more is allowed for the sampling). Prints the cycles it took. Gives up
# after MAX + 1 cycles, or 60 s without any cycle.
within_cycles() {
	local port=$1 max=$2 c0 c i
	c0=$(cycles "$port")
	for i in $(seq 1 600); do
		"${@:3}" >/dev/null 2>&1 && { echo $(( $(cycles "$port") - c0 )); return 0; }
		c=$(cycles "$port")
		(( c - c0 > max + 1 )) && { echo "more than $max"; return 1; }
		sleep 0.1
	done
	echo "timeout"
	return 1
}
