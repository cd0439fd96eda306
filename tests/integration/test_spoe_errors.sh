#!/usr/bin/env bash
# What txn.hsdo.error (option set-on-error, spoe/hsdo.spoe.conf) holds when
# the SPOE agent cannot answer, per HAProxy version: the values an alert on
# the access log has to match (docs/spoa.md, "When the agent is away").
#  - the agent's server marked DOWN by `option spop-check`: 2 (resource
#    allocation) on 2.6 and 3.0; 257 on 3.2 (256 + SPOP status 1, I/O error,
#    raised by HAProxy's SPOP multiplexer itself: no agent ever answered);
#  - nothing listening and no health check (each connection refused):
#    1 (timeout processing) on every version;
#  - an agent that accepts and never answers: 1 on every version.
# Every request is still answered 200 and txn.hsdo.slot_state stays unset.
source "$(dirname "$0")/lib/peers.sh"
SRC=${HSDO_SOURCE_DIR:?HSDO_SOURCE_DIR must point to the source tree}

if haproxy_at_least 3.2; then down_err=257; else down_err=2; fi

# scenario NAME SERVER_OPTIONS: HAProxy with the filter and the agent's
# backend at $SP; prints the distinct "<status> <error> <slot_state>" of
# 10 requests.
scenario() {
	FE_PORT=$(free_port) PO=$(free_port)
	hap_cfg "frontend fe
    bind 127.0.0.1:$FE_PORT
    filter spoe engine hsdo config $SRC/spoe/hsdo.spoe.conf
    http-response set-header X-HSDO-Error %[var(txn.hsdo.error)]
    http-response set-header X-HSDO-Slot-State %[var(txn.hsdo.slot_state)]
    default_backend be_app

backend be_app
    server origin 127.0.0.1:$PO

$(spoa_backend "$SP" "$2")"
	hap_start "$tmp/haproxy.cfg" || { ko "$1: haproxy starts" "$tmp/haproxy.log"; return 1; }
	# with a check, wait until it has marked the agent DOWN
	if [[ -n $2 ]]; then
		wait_for "DOWN" bash -c "echo 'show stat' | socat -t 2 - UNIX-CONNECT:$tmp/admin.sock |
			awk -F, '\$1 == \"hsdo_spoa\" && \$2 == \"hsdo-agent\" { print \$18 }' | grep -q DOWN" ||
			ko "$1: the health check marks the agent DOWN"
	fi
	local i
	for i in $(seq 1 10); do
		curl -s -m 5 -o /dev/null -D - "http://127.0.0.1:$FE_PORT/" | tr -d '\r' |
			awk 'NR == 1 { st = $2 } tolower($1) == "x-hsdo-error:" { e = $2 }
			     tolower($1) == "x-hsdo-slot-state:" { ss = $2 }
			     END { print st, (e == "" ? "-" : e), (ss == "" ? "-" : ss) }'
	done | sort -u >"$tmp/$1.seen"
	hap_stop
	echo "    $1: $(tr '\n' ';' <"$tmp/$1.seen")"
}

SP=$(free_port)
scenario down "check inter 200ms downinter 200ms rise 1 fall 1" &&
	[[ $(cat "$tmp/down.seen") == "200 $down_err -" ]] &&
	ok "agent DOWN (spop-check): every response 200 with txn.hsdo.error $down_err on HAProxy $HAPROXY_VERSION" ||
	ko "agent DOWN: want '200 $down_err -'" "$tmp/down.seen" "$tmp/haproxy.log"

SP=$(free_port)
scenario refused "" && [[ $(cat "$tmp/refused.seen") == "200 1 -" ]] &&
	ok "agent port refused, no check: txn.hsdo.error 1 (timeout processing)" ||
	ko "agent refused: want '200 1 -'" "$tmp/refused.seen" "$tmp/haproxy.log"

SP=$(free_port)
node -e 'require("net").createServer(s => s.on("error", () => {})).listen(+process.argv[1], "127.0.0.1")' "$SP" &
pids+=($!)
wait_for "hung agent" bash -c "exec 3<>/dev/tcp/127.0.0.1/$SP" || ko "the silent listener starts"
scenario hung "" && [[ $(cat "$tmp/hung.seen") == "200 1 -" ]] && kill -0 "${pids[-1]}" &&
	ok "agent accepts and never answers (still listening): txn.hsdo.error 1 (timeout processing)" ||
	ko "agent hung: want '200 1 -'" "$tmp/hung.seen" "$tmp/haproxy.log"
finish
