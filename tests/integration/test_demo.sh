#!/usr/bin/env bash
# ./scripts/demo --quick runs its whole story (server with the static source,
# file store, client, real HAProxy with the SPOE filter), shows slots staying
# stable, weights ramping, the leaving server draining at effective weight
# 0, requests following, the SPOE side (slot_state, per-slot counts), every
# endpoint, no HAProxy start-up noise, a failing server ejected by fleet
# health and back, and stops everything it started.
# test_demo_dynamodb.sh runs it with --dynamodb; test_demo_signals.sh ends
# it with a closed terminal, Ctrl-C and SIGTERM.
set -u
root=${HSDO_SOURCE_DIR:?}
# shellcheck source=lib/haproxy_series.sh
source "$(dirname "$0")/lib/haproxy_series.sh"
haproxy_series_check || { echo "0 passed, 1 failed"; exit 1; }
HSDO_DEMO_ARGS=${HSDO_DEMO_ARGS:-}
out=$(mktemp)
trap 'rm -f "$out" "$out.fail" "$out.back"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; fi; }
timeout 300 "$root/scripts/demo" --quick $HSDO_DEMO_ARGS >"$out" 2>&1
rc=$?
check "demo exits 0" '[[ $rc -eq 0 ]]'
check "two instances ramp to weight 10 and share the requests" \
	'grep -qE "web1 +srv1 \([^)]*\) +10 +ready +(1[6-9]|2[0-4]) " "$out" && grep -qE "web2 +srv2 \([^)]*\) +10 +ready" "$out"'
check "new instances are seen ramping (weight 2 or 6)" 'grep -qE "web[34] +srv[34] \([^)]*\) +(2|6) +ready" "$out"'
check "the leaving instance drains in its slot: effective weight 0, as the header says, and no new request" \
	'grep -q "srv1 drains in its slot (effective weight 0" "$out" && grep -qE "web1 +srv1 \([^)]*\) +0 +drain +0 " "$out" && ! grep -qE "web1 +srv1 \([^)]*\) +[1-9][0-9]* +drain" "$out"'
check "srv2 never leaves slot 2" '! grep -qE "web[13-9] +srv2 " "$out"'
check "srv3 and srv4 take slots 3 and 4 and reach weight 10" \
	'grep -qE "web3 +srv3 \([^)]*\) +10 +ready" "$out" && grep -qE "web4 +srv4 \([^)]*\) +10 +ready" "$out"'
check "after the drain, slot 1 is free" '[[ $(grep -E "^  web1 " "$out" | tail -1) =~ free ]]'
check "the server logged what it wrote, the client what it applied" \
	'grep -qE "server: generation [0-9]+: wrote" "$out" && grep -qE "client: slot [0-9]+ be_app:" "$out"'
check "no HAProxy start-up message on the screen" '! grep -qE "^\[(NOTICE|WARNING|ALERT)\]" "$out"'
check "the SPOE side: each served slot shows slot_state=active from the client's SPOE agent" \
	'grep -qE "web2 +srv2 \([^)]*\) +10 +ready +[0-9]+ +#+ +active +[1-9][0-9]*$" "$out"'
spoe=$(grep -E "^  web2 +srv2 .* active +[0-9]+$" "$out" | awk '{ print $NF }')
check "... and its SPOE count for the slot grows table after table ($(echo $spoe | tr ' ' ,))" \
	'[[ $(head -n1 <<<"$spoe") -lt $(tail -n1 <<<"$spoe") ]]'
check "... HAProxy's log lines carry txn.hsdo.slot_state" 'grep -qE "haproxy: .* be_app/web[0-9]+ .*slot_state=active" "$out"'
check "... and the agent's counters are shown" 'grep -qE "client: hsdo_spoe_responses_total\{backend=\"be_app\",slot=\"2\",class=\"2xx\"\} [1-9]" "$out"'
check "every endpoint is printed: frontend, stats page, both exporters, SPOE agent, backends, socket" \
	'[[ $(grep -cE "^  http://127\.0\.0\.1:[0-9]+/(metrics)? " "$out") -ge 4 ]] && grep -q "HAProxy.s stats page" "$out" && grep -q "SPOE agent (SPOP" "$out" && grep -q "backend servers srv1..srv4" "$out" && grep -q "admin.sock   HAProxy.s Runtime API" "$out"'
sed -n '/^== srv3 starts answering 500/,/^== srv3 answers 200 again/p' "$out" >"$out.fail"
sed -n '/^== srv3 answers 200 again/,$p' "$out" >"$out.back"
check "srv3 failing: its errors are seen (x), then its slot is drained with no new request" \
	'grep -qE "web3 +srv3 \([^)]*\) +[0-9]+ +(ready|drain) +[0-9]+ +#*x+ " "$out.fail" && grep -qE "web3 +srv3 \([^)]*\) +0 +drain +0 " "$out.fail"'
check "the server logged the ejection with the votes, and the return" \
	'grep -qE "server: slot 3 i-srv3 [^ ]+ ejected for 10 s: 1 of 1 HAProxy sees (errors|its check DOWN)" "$out" && grep -qE "server: slot 3 i-srv3 [^ ]+ back in service, ramping from weight 2" "$out"'
check "the client logged its verdict" 'grep -qE "client: slot 3 failing for this HAProxy" "$out"'
check "srv3 well again: back in slot 3, ramping from weight 2 to 10" \
	'grep -qE "web3 +srv3 \([^)]*\) +(2|6) +ready" "$out.back" && grep -qE "web3 +srv3 \([^)]*\) +10 +ready +[0-9]+ +#+ " "$out.back"'
hpid=$(sed -nE 's/^HAProxy \(pid ([0-9]+)\).*/\1/p' "$out")
gone() { local i; for i in $(seq 1 30); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
check "the HAProxy it started is stopped" '[[ -n $hpid ]] && gone "$hpid"'
[[ $fail -eq 0 ]] || sed 's/^/    /' "$out" | tail -40
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
