#!/usr/bin/env bash
# ./scripts/demo --quick runs its whole story against a real HAProxy, shows
# the slots following the table, and stops everything it started.
set -u
root=${HSDO_SOURCE_DIR:?}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; fi; }
timeout 120 "$root/scripts/demo" --quick >"$out" 2>&1
check "demo exits 0" '[[ $? -eq 0 ]]'
check "two servers share the requests at weight 10" 'grep -qE "web1 +127\.0\.0\.1:[0-9]+ \(srv1\) 10 +ready +(1[89]|2[01]) " "$out"'
check "the leaving server drains with no new request" 'grep -qE "web1 +127\.0\.0\.1:[0-9]+ \(srv1\) [0-9]+ +drain +0 " "$out"'
check "a new server takes the lowest free slot" 'grep -qE "web1 +127\.0\.0\.1:[0-9]+ \(srv4\) 10 +ready" "$out"'
check "the agent logged one line per slot change" '[[ $(grep -cE "^  slot [0-9]+ be_app:" "$out") -eq 7 ]]'
hpid=$(sed -nE 's/^HAProxy \(pid ([0-9]+)\).*/\1/p' "$out")
gone() { local i; for i in $(seq 1 30); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
check "the HAProxy it started is stopped" '[[ -n $hpid ]] && gone "$hpid"'
[[ $fail -eq 0 ]] || sed 's/^/    /' "$out" | tail -40
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
