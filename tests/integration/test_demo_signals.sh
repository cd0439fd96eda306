#!/usr/bin/env bash
# ./scripts/demo stops everything it started however it ends, and while it
# runs every endpoint it prints answers. It runs on a pseudo-terminal
# (`script`, in a session of its own, as in a terminal window):
#  - the terminal goes away (the `script` process is killed: the demo gets
#    SIGHUP and its terminal fails every write), with --dynamodb;
#  - Ctrl-C typed on the terminal (SIGINT to its foreground group);
#  - SIGTERM to the demo alone.
# Each time, HAProxy, both agents (and dynalite) are gone, no process still
# uses the demo's temp folder, and the folder is removed.
set -u
root=${HSDO_SOURCE_DIR:?}
: "${HSDO_AGENT:?HSDO_AGENT must point to hsdo-agent}"
export HSDO_AGENT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-demo-signals-XXXXXX")
spids=()
leftovers=()
cleanup() {
	local p
	for p in "${spids[@]}" "${leftovers[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; return 1; fi; }
command -v script >/dev/null && command -v setsid >/dev/null || { echo "FAIL - script/setsid missing"; exit 1; }

# start NAME ARGS...: the demo on a pty in its own session; its output in
# $tmp/NAME.out, keys typed through the fifo $tmp/NAME.in (fd 7).
start() {
	local name=$1
	shift
	rm -f "$tmp/$name.in"
	mkfifo "$tmp/$name.in"
	exec 7<>"$tmp/$name.in"
	# A background job of this shell starts with SIGINT ignored (POSIX),
	# which bash could not trap: give the terminal's session the default,
	# as a terminal window would.
	setsid env --default-signal=INT,QUIT script -qfec "$root/scripts/demo $*" /dev/null \
		<"$tmp/$name.in" >"$tmp/$name.out" 2>&1 &
	spid=$!
	spids+=("$spid")
}
# running NAME: wait (90 s) until the demo has started everything; sets
# dpid (the demo), pids (what it started) and dtmp (its folder).
running() {
	local out=$tmp/$1.out i
	for i in $(seq 1 900); do
		grep -q "^server: hsdo-agent --server (pid" "$out" 2>/dev/null && break
		kill -0 "$spid" 2>/dev/null || break
		sleep 0.1
	done
	dpid=$(sed -nE 's/^HSDO demo \(pid ([0-9]+)\).*/\1/p' "$out")
	dtmp=$(sed -nE 's#^HAProxy \(pid [0-9]+\) on .*, stats socket (.*)/admin.sock.*#\1#p' "$out")
	pids=$(grep -oE '\(pid [0-9]+\)' "$out" | grep -oE '[0-9]+' | grep -vx "${dpid:-x}" | sort -u | tr '\n' ' ')
	leftovers+=($pids)
	[[ -n $dpid && -n $dtmp && $(wc -w <<<"$pids") -ge 3 ]]
}
# gone: nothing the demo started runs, nothing uses its folder, the folder
# is removed (15 s).
gone() {
	local i p alive
	for i in $(seq 1 150); do
		alive=""
		for p in $pids $dpid; do kill -0 "$p" 2>/dev/null && alive+="$p "; done
		[[ -z $alive && -z $(pgrep -f "$dtmp") && ! -e $dtmp ]] && return 0
		sleep 0.1
	done
	echo "    still running: ${alive:-none}; using $dtmp: $(pgrep -f "$dtmp" | tr '\n' ' '); folder: $(ls -d "$dtmp" 2>/dev/null)"
	return 1
}

# ---- the terminal goes away, with --dynamodb ------------------------------------
start hup --dynamodb
running hup
check "the demo runs on a terminal (demo $dpid; HAProxy, agents, dynalite: $pids)" '[[ $? -eq 0 ]]' ||
	tail -n 20 "$tmp/hup.out"
# Every endpoint it printed answers HTTP while it runs.
urls=$(sed -nE '/^Open while it runs:/,/^$/ s#^ +(http://127\.0\.0\.1:[0-9]+/[^ ]*).*#\1#p' "$tmp/hup.out")
bad=""
# code URL: its HTTP status, 000 if nothing answers within 10 s.
code() {
	local c i
	for i in $(seq 1 20); do
		c=$(curl -s -o /dev/null -m 5 -w '%{http_code}' "$1")
		[[ $c != 000 ]] && break
		sleep 0.5
	done
	echo "$c"
}
for u in $urls; do
	code=$(code "$u")
	[[ $code =~ ^[2-5][0-9][0-9]$ ]] || bad+="$u ($code) "
	if [[ $u == */metrics ]]; then
		[[ $code == 200 ]] || bad+="$u ($code) "
		code=$(code "${u%/metrics}/healthz")
		[[ $code =~ ^(200|503)$ ]] || bad+="${u%/metrics}/healthz ($code) "
	fi
done
check "every endpoint it prints answers ($(wc -w <<<"$urls") URLs, and /healthz)${bad:+: $bad}" \
	'[[ -z $bad && $(wc -w <<<"$urls") -ge 6 ]]'
kill -9 "$spid"
check "terminal closed (script killed): HAProxy, both agents and dynalite stop, the folder is removed" gone

# ---- Ctrl-C typed on the terminal --------------------------------------------------
start int
running int
check "the demo runs again (demo $dpid; $pids)" '[[ $? -eq 0 ]]' || tail -n 20 "$tmp/int.out"
printf '\003' >&7
check "Ctrl-C: everything stops, the folder is removed" gone
wait "$spid"
rc=$?
check "... the demo says so and exits 130 ($rc)" '[[ $rc -eq 130 ]] && grep -q "^stopping: " "$tmp/int.out"'

# ---- SIGTERM to the demo alone -------------------------------------------------------
start term
running term
check "the demo runs again (demo $dpid; $pids)" '[[ $? -eq 0 ]]' || tail -n 20 "$tmp/term.out"
kill -TERM "$dpid"
check "SIGTERM: everything stops, the folder is removed" gone
wait "$spid"
rc=$?
check "... and it exits 143 ($rc)" '[[ $rc -eq 143 ]]'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
