#!/usr/bin/env bash
# haproxy-examples/*.cfg against the real HAProxy:
#  - every example passes `haproxy -c` (exit status 0; warnings are printed,
#    not failures),
#    binds loopback only and has the admin socket hsdo-agent expects;
#  - single-backend.cfg runs: every slot starts in maintenance, the frontend
#    answers 503, and a slot driven like hsdo-agent does (addr/port, weight,
#    state ready) serves a request;
#  - reload-safe.cfg runs, and a reload (state saved with `show servers
#    state`, new process with -sf) restores the slots' address, port, weight
#    and admin state from the state file; the same round trip with an
#    IP-literal template prints, for information only, what HAProxy gives
#    back (its address is lost: haproxy #3265).
# The copies run from a temp dir: socket and state paths point into it,
# chroot/user/group and syslog are dropped, and each bind gets a free port.
# A TCP admin socket is added next to the Unix one so bash's /dev/tcp can
# talk to it (no socat or netcat needed).
# check() evals its condition, given in single quotes on purpose:
# shellcheck disable=SC2016,SC2034
set -u
src=${HSDO_SOURCE_DIR:?HSDO_SOURCE_DIR must point to the source tree}
examples=$src/haproxy-examples
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-hapex-XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -9 "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
ko() { fail=$((fail + 1)); echo "FAIL - $1"; [[ -n "${2:-}" && -f "$2" ]] && sed 's/^/    /' "$2"; }
# check DESC CONDITION [FILE TO SHOW ON FAILURE]
check() { if eval "$2"; then ok "$1"; else ko "$1" "${3:-}"; fi; }

# shellcheck source=lib/haproxy_series.sh
source "$(dirname "$0")/lib/haproxy_series.sh"
if ! haproxy_series_check; then
	echo "0 passed, 1 failed"
	exit 1
fi

# ---- helpers -------------------------------------------------------------

# free_port: a TCP port on 127.0.0.1 that nothing accepts on and that this
# script has not handed out yet, in $REPLY. Below the kernel's ephemeral
# range, where a client connection of a test running alongside could hold it.
given=" "
free_port() {
	local p i low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	((low > 11024)) || low=32768
	for i in $(seq 1 500); do
		p=$((10000 + RANDOM % (low - 10000)))
		[[ $given == *" $p "* ]] && continue
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			given+="$p "
			REPLY=$p
			return 0
		fi
	done
	return 1
}

# cli PORT COMMAND: one Runtime API command on the TCP admin socket,
# non-interactive mode (HAProxy answers, then closes).
cli() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
		printf "%s\n" "$1" >&3
		cat <&3' "$1" "$2" 2>/dev/null
}

# http_status PORT: status code of GET / through 127.0.0.1:PORT.
http_status() {
	timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
		printf "GET / HTTP/1.0\r\nHost: test\r\n\r\n" >&3
		head -n1 <&3' "$1" 2>/dev/null | awk '{print $2}'
}

# prepare SRC DIR [run]: copy SRC to DIR/haproxy.cfg with the admin socket
# and the state file inside DIR, and the SPOE filter reading the tree's
# spoe/hsdo.spoe.conf. With "run", also drop what needs root or
# syslog, give every bind a free port (listed in DIR/ports, in order) and
# add a TCP admin socket on a free port (in DIR/cli_port).
prepare() {
	local in=$1 dir=$2 mode=${3:-} out=$2/haproxy.cfg line port
	mkdir -p "$dir"
	sed -E \
		-e "s#^([[:space:]]*stats socket )/var/run/haproxy/admin\.sock#\1$dir/admin.sock#" \
		-e "s#^([[:space:]]*server-state-file )[^[:space:]]+#\1$dir/server-state#" \
		-e "s#^([[:space:]]*filter spoe .*config )/etc/haproxy/hsdo\.spoe\.conf#\1$src/spoe/hsdo.spoe.conf#" \
		"$in" >"$out"
	[[ $mode == run ]] || return 0
	: >"$dir/ports"
	local tmpcfg=$dir/haproxy.cfg.new
	while IFS= read -r line; do
		if [[ $line =~ ^([[:space:]]*bind[[:space:]]+127\.0\.0\.1:)[0-9]+(.*)$ ]]; then
			free_port || return 1
			echo "$REPLY" >>"$dir/ports"
			line="${BASH_REMATCH[1]}$REPLY${BASH_REMATCH[2]}"
		elif [[ $line =~ ^[[:space:]]*(chroot|user|group|daemon)([[:space:]]|$) ]] ||
			[[ $line =~ ^[[:space:]]*log[[:space:]]+/dev/log ]]; then
			continue
		elif [[ $line =~ ^([[:space:]]*)stats\ socket\  ]]; then
			free_port || return 1
			port=$REPLY
			echo "$port" >"$dir/cli_port"
			printf '%s\n' "$line"
			line="${BASH_REMATCH[1]}stats socket ipv4@127.0.0.1:$port level admin"
		fi
		printf '%s\n' "$line"
	done <"$out" >"$tmpcfg"
	mv "$tmpcfg" "$out"
}

# start DIR [haproxy args...]: run DIR/haproxy.cfg in the foreground in the
# background (its pid in $REPLY and in pids), output to DIR/haproxy.log,
# and wait up to 10 s for the admin socket. 0 when it answers.
start() {
	local dir=$1 i
	shift
	haproxy -db -f "$dir/haproxy.cfg" "$@" >>"$dir/haproxy.log" 2>&1 &
	REPLY=$!
	pids+=("$REPLY")
	for i in $(seq 1 100); do
		cli "$(cat "$dir/cli_port")" "show info" | grep -q '^Name: HAProxy' && return 0
		kill -0 "$REPLY" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_fresh SRC DIR: prepare DIR from SRC with free ports ("run") and
# start it. A port someone else took between the check and HAProxy's bind
# (tests of other worktrees run alongside) gets fresh ports, 3 tries.
start_fresh() {
	local i
	for i in 1 2 3; do
		rm -rf "$2"
		prepare "$1" "$2" run || return 1
		start "$2" && return 0
		grep -q "Address already in use" "$2/haproxy.log" || return 1
		echo "    $(basename "$1"): a port was taken meanwhile, new ports"
	done
	return 1
}

# wait_exit PID: up to 10 s for PID to end.
wait_exit() {
	local i
	for i in $(seq 1 100); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}

# templates CFG: one line "backend base low high" per server-template.
templates() {
	awk '$1 == "backend" || $1 == "listen" { be = $2 }
	     $1 == "server-template" {
	         n = split($3, r, "-")
	         if (n == 2) print be, $2, r[1], r[2]; else print be, $2, 1, r[1]
	     }' "$1"
}

# srv FILE BACKEND SERVER: that server's `show servers state` line.
srv() { awk -v b="$2" -v s="$3" '$2 == b && $4 == s' "$1"; }

# all_slots_maint STATEFILE CFG: every template slot is listed, with the
# FMAINT bit (0x01) in srv_admin_state, and nothing else is in its backend.
all_slots_maint() {
	local state=$1 cfg=$2 be base lo hi i line admin n bad=0
	while read -r be base lo hi; do
		for ((i = lo; i <= hi; i++)); do
			line=$(srv "$state" "$be" "$base$i")
			admin=$(awk '{print $7}' <<<"$line")
			if [[ -z $line || ! $admin =~ ^[0-9]+$ ]] || ((!(admin & 1))); then
				echo "    $be/$base$i: ${line:-missing}"
				bad=1
			fi
		done
		n=$(awk -v b="$be" '$2 == b' "$state" | wc -l)
		if ((n != hi - lo + 1)); then
			echo "    $be: $n servers, want $((hi - lo + 1))"
			bad=1
		fi
	done < <(templates "$cfg")
	return $bad
}

# ---- every example: haproxy -c -------------------------------------------

shopt -s nullglob
cfgs=("$examples"/*.cfg)
for name in single-backend multi-backend dedicated-asg reload-safe; do
	check "haproxy-examples/$name.cfg exists" '[[ -f $examples/$name.cfg ]]'
done
for f in "${cfgs[@]}"; do
	check "README.md documents $(basename "$f")" 'grep -qF "$(basename "$f")" "$examples/README.md"'
done

for f in "${cfgs[@]}"; do
	name=$(basename "$f" .cfg)
	dir=$tmp/check-$name
	prepare "$f" "$dir"
	haproxy -c -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1
	rc=$?
	# The exit status is the verdict: 3.x prints "Configuration file is
	# valid" only with -V, 2.6 always.
	check "$name.cfg: haproxy -c exits 0" '[[ $rc -eq 0 ]]' "$dir/check.log"
	# On success, still show what HAProxy warned about (on failure, check
	# already printed the whole output).
	if [[ $rc -eq 0 ]] && grep -qE '\[(WARNING|ALERT)\]' "$dir/check.log"; then
		echo "    $name.cfg: haproxy -c printed:"
		grep -E '\[(WARNING|ALERT)\]' "$dir/check.log" | sed "s#$dir#<tmp>#g; s/^/      /"
	fi
	check "$name.cfg: binds 127.0.0.1 only" \
		'! grep -E "^[[:space:]]*bind[[:space:]]" "$f" | grep -vqE "^[[:space:]]*bind[[:space:]]+127\.0\.0\.1:[0-9]+"'
	check "$name.cfg: admin socket at hsdo-agent's default path, Debian's mode 660 level admin" \
		'grep -qE "^[[:space:]]*stats socket /var/run/haproxy/admin\.sock mode 660 level admin" "$f"'
	check "$name.cfg: has server-template slots" '[[ -n $(templates "$f") ]]'
done

# ---- single-backend.cfg: running ------------------------------------------

f=$examples/single-backend.cfg
if [[ -f $f ]]; then
	dir=$tmp/run-single
	if start_fresh "$f" "$dir"; then
		cport=$(cat "$dir/cli_port")
		fport=$(head -n1 "$dir/ports")
		ok "single-backend.cfg: haproxy starts"
		check "single-backend.cfg: Unix admin socket created" '[[ -S $dir/admin.sock ]]'
		cli "$cport" "show servers state" >"$dir/state"
		check "single-backend.cfg: every slot starts in maintenance" \
			'all_slots_maint "$dir/state" "$dir/haproxy.cfg"' "$dir/state"
		code=$(http_status "$fport")
		check "single-backend.cfg: no server yet, the frontend answers 503 (got '$code')" '[[ $code == 503 ]]'

		# An origin for slot 1: a second HAProxy that answers 200 to anything.
		free_port
		oport=$REPLY
		odir=$tmp/origin
		mkdir -p "$odir"
		free_port
		echo "$REPLY" >"$odir/cli_port"
		cat >"$odir/haproxy.cfg" <<-EOF
			global
			    stats socket ipv4@127.0.0.1:$REPLY level admin
			defaults
			    mode http
			    timeout connect 2s
			    timeout client 5s
			    timeout server 5s
			frontend origin
			    bind 127.0.0.1:$oport
			    http-request return status 200 content-type text/plain string ok
		EOF
		if start "$odir"; then
			be=$(templates "$dir/haproxy.cfg" | awk 'NR == 1 {print $1}')
			s1=$(templates "$dir/haproxy.cfg" | awk 'NR == 1 {print $2 $3}')
			# The order hsdo-agent uses: addr/port, weight, state.
			# Silent success is an empty line, so $(...) is empty.
			r1=$(cli "$cport" "set server $be/$s1 addr 127.0.0.1 port $oport")
			r2=$(cli "$cport" "set server $be/$s1 weight 10")
			r3=$(cli "$cport" "set server $be/$s1 state ready")
			check "single-backend.cfg: $s1 takes addr/port, weight, state ready ('$r1')" \
				'[[ $r1 == *"port changed from"* && -z $r2 && -z $r3 ]]'
			code=""
			for i in $(seq 1 50); do
				code=$(http_status "$fport")
				[[ $code == 200 ]] && break
				sleep 0.1
			done
			check "single-backend.cfg: a request reaches the slot's instance (got '$code')" '[[ $code == 200 ]]'
			cli "$cport" "show servers state" >"$dir/state2"
			line=$(srv "$dir/state2" "$be" "$s1")
			admin=$(awk '{print $7}' <<<"$line")
			check "single-backend.cfg: $s1 is out of maintenance (admin & 0x23 = 0, got ${admin:-?})" \
				'[[ $admin =~ ^[0-9]+$ ]] && ((!(admin & 0x23)))' "$dir/state2"
		else
			ko "origin haproxy starts" "$odir/haproxy.log"
		fi
	else
		ko "single-backend.cfg: haproxy starts" "$dir/haproxy.log"
	fi
fi

# ---- reload-safe.cfg: running, then a reload -----------------------------

f=$examples/reload-safe.cfg
if [[ -f $f ]]; then
	dir=$tmp/run-reload
	if start_fresh "$f" "$dir"; then
		old=$REPLY
		cport=$(cat "$dir/cli_port")
		check "reload-safe.cfg: has a server-state-file (rewritten into the temp dir)" \
			'grep -qE "^[[:space:]]*server-state-file $dir/server-state$" "$dir/haproxy.cfg"'
		ok "reload-safe.cfg: haproxy starts"
		cli "$cport" "show servers state" >"$dir/state"
		check "reload-safe.cfg: every slot starts in maintenance" \
			'all_slots_maint "$dir/state" "$dir/haproxy.cfg"' "$dir/state"

		read -r be base lo hi < <(templates "$dir/haproxy.cfg")
		s1=$base$lo s2=$base$((lo + 1))
		# s1: serving at 127.0.0.1:18081 with weight 7. Where localhost
		# resolves to 127.0.0.1 that address proves nothing, so s2 stays in
		# maintenance at 127.0.0.3:18082, an address only the state file
		# can give back.
		cli "$cport" "set server $be/$s1 addr 127.0.0.1 port 18081" >/dev/null
		cli "$cport" "set server $be/$s1 weight 7" >/dev/null
		cli "$cport" "set server $be/$s1 state ready" >/dev/null
		r2=$(cli "$cport" "set server $be/$s2 addr 127.0.0.3 port 18082")
		check "reload-safe.cfg: set server addr works on a hostname template ('$r2')" \
			'[[ $r2 == *"IP changed from"*"port changed from"* ]]'

		# What the ExecReload lines in README.md do: save, then reload.
		cli "$cport" "show servers state" >"$dir/server-state.tmp" &&
			mv "$dir/server-state.tmp" "$dir/server-state"
		check "reload-safe.cfg: state saved with show servers state" \
			'[[ -n $(srv "$dir/server-state" "$be" "$s2") ]]' "$dir/server-state"
		echo "--- reload" >>"$dir/haproxy.log"
		if start "$dir" -sf "$old" && wait_exit "$old"; then
			ok "reload-safe.cfg: a new process takes over (-sf), the old one exits"
			cli "$cport" "show servers state" >"$dir/state2"
			l1=$(srv "$dir/state2" "$be" "$s1")
			l2=$(srv "$dir/state2" "$be" "$s2")
			read -r _ _ _ _ a1 _ ad1 w1 _ <<<"$l1"
			read -r _ _ _ _ a2 _ ad2 _ <<<"$l2"
			p1=$(awk '{print $19}' <<<"$l1")
			p2=$(awk '{print $19}' <<<"$l2")
			check "reload-safe.cfg: $s1 came back at 127.0.0.1:18081 (got ${a1:-?}:${p1:-?})" \
				'[[ $a1 == 127.0.0.1 && $p1 == 18081 ]]' "$dir/state2"
			check "reload-safe.cfg: $s2 came back at 127.0.0.3:18082 (got ${a2:-?}:${p2:-?})" \
				'[[ $a2 == 127.0.0.3 && $p2 == 18082 ]]' "$dir/state2"
			check "reload-safe.cfg: $s1 came back out of maintenance with weight 7 (admin ${ad1:-?}, weight ${w1:-?})" \
				'[[ $ad1 =~ ^[0-9]+$ ]] && ((!(ad1 & 0x23))) && [[ $w1 == 7 ]]' "$dir/state2"
			check "reload-safe.cfg: $s2 came back in maintenance (admin ${ad2:-?})" \
				'[[ $ad2 =~ ^[0-9]+$ ]] && ((ad2 & 1))' "$dir/state2"
		else
			ko "reload-safe.cfg: a new process takes over (-sf), the old one exits" "$dir/haproxy.log"
		fi
	else
		ko "reload-safe.cfg: haproxy starts" "$dir/haproxy.log"
	fi
fi

# The same round trip with the template declared by IP literal, as in
# single-backend.cfg: the pitfall reload-safe.cfg avoids (haproxy #3265).
# Informational only, so that a fixed HAProxy does not fail the test.
f=$examples/reload-safe.cfg
if [[ -f $f ]]; then
	dir=$tmp/run-literal
	mkdir -p "$dir"
	sed -E 's/^([[:space:]]*server-template[[:space:]]+[^[:space:]]+[[:space:]]+[^[:space:]]+[[:space:]]+)localhost(:[0-9]+.*) init-addr [^[:space:]]+/\1127.0.0.2\2/' \
		"$f" >"$tmp/literal.cfg"
	if start_fresh "$tmp/literal.cfg" "$dir"; then
		old=$REPLY
		cport=$(cat "$dir/cli_port")
		read -r be base lo hi < <(templates "$dir/haproxy.cfg")
		s2=$base$((lo + 1))
		cli "$cport" "set server $be/$s2 addr 127.0.0.3 port 18082" >/dev/null
		cli "$cport" "show servers state" >"$dir/server-state"
		if start "$dir" -sf "$old" && wait_exit "$old"; then
			cli "$cport" "show servers state" >"$dir/state2"
			l2=$(srv "$dir/state2" "$be" "$s2")
			echo "note - IP-literal template ($(grep -m1 -oE 'server-template .*' "$dir/haproxy.cfg")):" \
				"$s2 saved at 127.0.0.3:18082 came back at $(awk '{print $5 ":" $19}' <<<"$l2")"
		fi
	fi
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
