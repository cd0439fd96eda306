#!/usr/bin/env bash
# hsdo-agent as a process: command line and exit codes, --check-config,
# typed environment overrides, the file store watched by both modes, a
# corrupt store (last good table kept), SIGHUP reload (kept when invalid)
# and a clean stop on SIGTERM.
set -u
AGENT=${HSDO_AGENT:?HSDO_AGENT must point to hsdo-agent}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-cli-XXXXXX")
pid=""
cleanup() {
	[[ -n "$pid" ]] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
cd "$tmp"
# The agent must not pick up a config file or variables from the caller.
unset $(env | sed -nE 's/^((SERVER|CLIENT|STORE|HSDO|EXPORTER|DYNAMODB)_[A-Z_]*|INTERVAL|DEBUG|STORE)=.*/\1/p' | grep -v '^HSDO_AGENT$') 2>/dev/null

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; [[ -n "${2:-}" ]] && sed 's/^/    /' "$2"; }
# expect DESC RC PATTERN -- command...: exit code RC and output matching PATTERN.
expect() {
	local desc=$1 rc=$2 pat=$3
	shift 4
	"$@" >out.txt 2>&1
	local got=$?
	if [[ $got -eq $rc ]] && grep -qE -- "$pat" out.txt; then ok "$desc"; else
		echo "    exit $got (want $rc), pattern /$pat/"; ko "$desc" out.txt; fi
}
# wait_log FILE PATTERN: up to 10 s for PATTERN to appear in FILE.
wait_log() {
	local i
	for i in $(seq 1 100); do grep -qE -- "$2" "$1" && return 0; sleep 0.1; done
	return 1
}

expect "server and client together is a usage error" 2 "exclusive" -- "$AGENT" -s -c
expect "no mode is a usage error" 2 "choose --server or --client" -- "$AGENT"
expect "unknown option is a usage error" 2 "usage:" -- "$AGENT" --bogus
expect "--version" 0 "^hsdo-agent [0-9]+\.[0-9]+\.[0-9]+" -- "$AGENT" --version
expect "--help lists the short forms" 0 "-s, --server" -- "$AGENT" -h
expect "defaults alone are valid" 0 "^configuration OK$" -- "$AGENT" --check-config

cat >good.yaml <<'YAML'
INTERVAL: 0.2
STORE: file
STORE_FILE_PATH: ./slots.json
SERVER_STATIC_FILE: ./instances.yaml
SERVER_LEASE_TTL: 0
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4
CLIENT_HAPROXY_BACKEND_LIST:
  be_app:
    baseName: web
    serverPort: 8080
YAML
# A port of its own for the exporter of the running agent below, so tests
# running in parallel never compete for the default one; below the ephemeral
# range, where the tests' own client connections could hold it.
while :; do ep=$((10000 + RANDOM % 22000)); (exec 3<>"/dev/tcp/127.0.0.1/$ep") 2>/dev/null || break; done
echo "EXPORTER_PORT: $ep" >>good.yaml
expect "a valid file" 0 "^configuration OK$" -- "$AGENT" -c -n --config good.yaml
expect "a missing --config file is an error naming it" 1 "nope\.yaml" -- "$AGENT" -n --config nope.yaml

cat >bad.yaml <<'YAML'
INTERVAL: 0
EXPORTER_PORT: 70000
SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 300
CLIENT_HAPROXY_SOCKET_PAHT: /tmp/x
YAML
expect "every file error at once, with FILE:LINE: KEY" 1 "bad\.yaml:2: EXPORTER_PORT" -- "$AGENT" -n -f bad.yaml
grep -q "bad.yaml:1: INTERVAL" out.txt && grep -q "bad.yaml:3: SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT" out.txt \
	&& ok "all three errors reported" || ko "all three errors reported" out.txt
grep -q "did you mean CLIENT_HAPROXY_SOCKET_PATH" out.txt && ok "unknown key suggests the nearest" \
	|| ko "unknown key suggests the nearest" out.txt

expect "environment values are typed (the original crashes on INTERVAL=5)" 0 "configuration OK" \
	-- env INTERVAL=5 HAPROXY_BACKEND_SERVERS_LIST_SIZE=20 EXPORTER_PORT=9123 "$AGENT" -n
expect "a bad environment value names the variable" 1 "environment: INTERVAL" \
	-- env INTERVAL=soon "$AGENT" -n

echo "[]" >instances.yaml
expect "server --once creates slots 1..N in the file store" 0 "4 slots, 0 active" \
	-- "$AGENT" -s --once -f good.yaml
[[ $(grep -o '"BackendServerID"' slots.json | wc -l) -eq 4 ]] && ok "store file holds 4 items" \
	|| ko "store file holds 4 items" slots.json
expect "a second --once reads the table" 0 "generation 1: 4 slots" -- "$AGENT" -s --once -f good.yaml

cp slots.json slots.good
printf '{"format":"hsdo-slots","version":1,"generation":7,"slots":[' >slots.json
expect "a corrupt store fails --once with the reason" 1 \
	"slots.json: invalid JSON" -- "$AGENT" -s --once -f good.yaml

# A running server: corrupt store, repair, bad reload, good reload,
# SIGTERM. Server mode's own behaviour is tested in test_server_static.sh,
# client mode's cycle against HAProxy in test_client_haproxy.sh.
cp slots.good slots.json
cp good.yaml run.yaml
"$AGENT" -s -f run.yaml >run.log 2>&1 &
pid=$!
wait_log run.log "generation 1: 4 slots" && ok "running agent reads the table" || ko "running agent reads the table" run.log
# replaced in one step: a redirect truncates first, and a cycle that reads
# the empty file in between logs a second, different error
echo 'garbage' >slots.bad && mv slots.bad slots.json
wait_log run.log "store file: .*slots.json.*nothing written" && ok "corrupt store while running is reported" \
	|| ko "corrupt store while running is reported" run.log
sleep 0.5
[[ $(grep -c "nothing written, retrying" run.log) -eq 1 ]] && ok "the error is logged once, not every cycle" \
	|| ko "the error is logged once, not every cycle" run.log
cp slots.good slots.json
wait_log run.log "answers again" && ok "recovery is logged" || ko "recovery is logged" run.log

echo "INTERVAL: [oops" >>run.yaml
kill -HUP "$pid"
wait_log run.log "reload failed" && ok "an invalid reload is refused" || ko "an invalid reload is refused" run.log
kill -0 "$pid" 2>/dev/null && ok "still running after a bad reload" || ko "still running after a bad reload" run.log
cp good.yaml run.yaml
echo "DEBUG: true" >>run.yaml
kill -HUP "$pid"
wait_log run.log "configuration reloaded" && ok "a valid reload is applied" || ko "a valid reload is applied" run.log
wait_log run.log "debug: no change" && ok "the reloaded DEBUG takes effect" \
	|| ko "the reloaded DEBUG takes effect" run.log
kill -TERM "$pid"
wait "$pid"
rc=$?
pid=""
[[ $rc -eq 0 ]] && grep -q "stopping" run.log && grep -q "stopped" run.log && ok "SIGTERM stops cleanly (exit 0)" \
	|| { echo "    exit $rc"; ko "SIGTERM stops cleanly (exit 0)" run.log; }

# SPOA_LISTEN=off: a client without the SPOE agent (no listening socket).
while :; do sp=$((10000 + RANDOM % 22000)); (exec 3<>"/dev/tcp/127.0.0.1/$sp") 2>/dev/null || break; done
SPOA_LISTEN=off EXPORTER_PORT=$sp CLIENT_HAPROXY_SOCKET_PATH=./no.sock "$AGENT" -c -f good.yaml >off.log 2>&1 &
pid=$!
wait_log off.log "SPOE agent off" && ok "SPOA_LISTEN=off: no SPOE agent" || ko "SPOA_LISTEN=off: no SPOE agent" off.log
[[ -z $(ss -Hltnp 2>/dev/null | grep "pid=$pid," | grep -v ":$sp ") ]] && ok "... and no listener but the exporter" \
	|| ko "... and no listener but the exporter" off.log
kill -TERM "$pid"; wait "$pid"; pid=""

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
