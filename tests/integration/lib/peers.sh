# Shared by the shell tests: a real HAProxy in a temp dir, a file-store
# table writer, the stats socket, HTTP probes and TAP-like reporting.
# Source it; it sets up $tmp and an EXIT trap that stops what it started.
# shellcheck shell=bash
set -u
AGENT=${HSDO_AGENT:?HSDO_AGENT must point to hsdo-agent}
# shellcheck source=haproxy_series.sh
source "$(dirname "${BASH_SOURCE[0]}")/haproxy_series.sh"
haproxy_series_check || exit 1
command -v socat >/dev/null || { echo "FAIL - socat is not installed (./scripts/deps)"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-it-XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	[[ -f $tmp/haproxy.pid ]] && kill -9 "$(cat "$tmp/haproxy.pid")" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
# The agent must not pick up the caller's settings.
unset $(env | sed -nE 's/^((SERVER|CLIENT|STORE|EXPORTER|DYNAMODB)_[A-Z_]*|INTERVAL|DEBUG|STORE)=.*/\1/p') 2>/dev/null

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() {
	fail=$((fail + 1)); echo "FAIL - $1"
	local f
	for f in "${@:2}"; do [[ -f $f ]] && tail -n 30 "$f" | sed 's/^/    /'; done
}
finish() { echo "$pass passed, $fail failed"; [[ $fail -eq 0 ]]; }

# shellcheck source=free_port.sh
source "$(dirname "${BASH_SOURCE[0]}")/free_port.sh"

# hap_start CFG: start HAProxy in the background (pid in $tmp/haproxy.pid)
# and wait for its stats socket $tmp/admin.sock.
hap_start() {
	rm -f "$tmp/admin.sock"
	haproxy -f "$1" -D -p "$tmp/haproxy.pid" >"$tmp/haproxy.log" 2>&1 || return 1
	local i
	for i in $(seq 1 50); do [[ -S $tmp/admin.sock ]] && return 0; sleep 0.1; done
	return 1
}
hap_stop() {
	[[ -f $tmp/haproxy.pid ]] && kill "$(cat "$tmp/haproxy.pid")" 2>/dev/null
	local i
	for i in $(seq 1 50); do [[ -S $tmp/admin.sock ]] || break; kill -0 "$(cat "$tmp/haproxy.pid")" 2>/dev/null || break; sleep 0.1; done
	rm -f "$tmp/haproxy.pid" "$tmp/admin.sock"
}
# cli CMD: one Runtime API command, its reply on stdout.
cli() { echo "$1" | socat -t 2 - "UNIX-CONNECT:$tmp/admin.sock"; }
# state_field FIELD SERVER: one column of SERVER's line in the `show
# servers state` reply on stdin (columns named by its header).
state_field() {
	awk -v f="$1" -v s="$2" '
		/^# /{ for (i = 2; i <= NF; i++) col[$i] = i - 1; next }
		$4 == s { print $col[f] }'
}
# srv FIELD BACKEND SERVER: one column of `show servers state`.
srv() { cli "show servers state $2" | state_field "$1" "$3"; }
in_maint() { (( $(srv srv_admin_state "$1" "$2") & 0x23 )); }
in_drain() { (( $(srv srv_admin_state "$1" "$2") & 0x08 )); }

# table GEN SLOT... : write the file store atomically. SLOT is
# "id,state,ip,port,weight,group" with state active|draining|free.
table() {
	local gen=$1 first=1 id st ip port w grp item
	shift
	{
		printf '{"format":"hsdo-slots","version":1,"generation":%s,"slots":[\n' "$gen"
		for s in "$@"; do
			IFS=, read -r id st ip port w grp <<<"$s"
			if [[ $st == free ]]; then
				item=$(printf '{"BackendServerID":{"N":"%s"},"IPAddress":{"S":"none"},"ServerName":{"S":"none"},"ASG":{"S":"none"},"Weight":{"N":"0"},"BackendServerStatus":{"S":"disabled"},"LastWeightUpdate":{"S":"0-0-0 00:00:00.000000"}}' "$id")
			else
				item=$(printf '{"BackendServerID":{"N":"%s"},"IPAddress":{"S":"%s"},"ServerName":{"S":"i-%s"},"ASG":{"S":"%s"},"Weight":{"N":"%s"},"BackendServerStatus":{"S":"enabled"},"LastWeightUpdate":{"S":"2026-01-01 00:00:00.000000"},"Port":{"N":"%s"}%s}' \
					"$id" "$ip" "$id" "${grp:-asg-a}" "$w" "$port" "$([[ $st == draining ]] && echo ',"Draining":{"BOOL":true}')")
			fi
			[[ $first -eq 1 ]] || printf ',\n'
			printf '%s' "$item"
			first=0
		done
		printf '\n]}\n'
	} >"$tmp/slots.json.new" && mv "$tmp/slots.json.new" "$tmp/slots.json"
}

# hits N: N HTTP requests through the frontend; prints "A=x B=y C=z 503=w".
hits() {
	local i a=0 b=0 c=0 e=0 r
	for i in $(seq 1 "$1"); do
		r=$(curl -s -m 2 "http://127.0.0.1:$FE_PORT/" || true)
		case $r in A) a=$((a + 1)) ;; B) b=$((b + 1)) ;; C) c=$((c + 1)) ;; *) e=$((e + 1)) ;; esac
	done
	echo "A=$a B=$b C=$c 503=$e"
}

# wait_for DESC CMD...: up to 10 s for CMD to succeed.
wait_for() {
	local i
	for i in $(seq 1 100); do "${@:2}" >/dev/null 2>&1 && return 0; sleep 0.1; done
	return 1
}
wait_log() { wait_for "$1" grep -qE -- "$2" "$1"; }

# hap_cfg BODY NAME...: write $tmp/haproxy.cfg with the stats socket and
# timeouts every test uses, then BODY (frontends and backends), then one
# small backend server per NAME: `listen srvNAME` on port $P<NAME> that
# answers NAME to every request.
hap_cfg() {
	local body=$1 n port
	shift
	{
		printf 'global\n    stats socket %s/admin.sock mode 600 level admin\n' "$tmp"
		printf 'defaults\n    mode http\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n'
		printf '%s\n' "$body"
		for n in "$@"; do
			port=P$n
			printf 'listen srv%s\n    bind 127.0.0.1:%s\n    http-request return status 200 content-type text/plain string %s\n' \
				"$n" "${!port}" "$n"
		done
	} >"$tmp/haproxy.cfg"
}

# spoa_backend PORT [SERVER OPTIONS]: the agent's backend `hsdo_spoa` of
# spoe/hsdo.spoe.conf, with the agent at 127.0.0.1:PORT, and the origin
# server `listen origin` on $PO answering 200 "ok" (404/500/503/302 on
# paths starting so), for the SPOE tests' hap_cfg bodies.
spoa_backend() {
	printf 'backend hsdo_spoa\n    mode tcp\n    option spop-check\n    timeout connect 1s\n'
	printf '    timeout server 1m\n    server hsdo-agent 127.0.0.1:%s %s\n\n' "$1" "${2:-}"
	printf 'listen origin\n    bind 127.0.0.1:%s\n' "$PO"
	local s
	for s in 404 500 503; do
		printf '    http-request return status %s if { path_beg /%s }\n' "$s" "$s"
	done
	printf '    http-request return status 302 hdr location / if { path_beg /302 }\n'
	printf '    http-request return status 200 content-type text/plain string ok\n'
}

# The file store's slot table ($tmp/slots.json), read with node, for the
# server-mode tests.
# slot ID FIELD: a slot item's attribute (S, N or BOOL value) from the file.
slot() {
	node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const it = d.slots.find(x => x.BackendServerID.N === process.argv[2]);
		const v = it && it[process.argv[3]];
		console.log(v === undefined ? "" : (v.S ?? v.N ?? String(v.BOOL)));' \
		"$tmp/slots.json" "$1" "$2" 2>/dev/null
}
# slot_of NAME: the id of the slot holding instance NAME ("" if none).
slot_of() {
	node -e 'const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
		const it = d.slots.find(x => x.ServerName.S === process.argv[2]);
		console.log(it ? it.BackendServerID.N : "");' "$tmp/slots.json" "$1" 2>/dev/null
}
has() { [[ -n $(slot_of "$1") ]]; }
weight_of() { local id; id=$(slot_of "$1"); [[ -n $id ]] && slot "$id" Weight; }
gen() { node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).generation)' "$tmp/slots.json" 2>/dev/null; }
slot_is() { [[ $(slot "$1" "$2") == "$3" ]]; }
