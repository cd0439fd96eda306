# free_port: a TCP port nobody listens on (HAProxy refuses port 0), below
# the kernel's ephemeral range: a port there may be the local end of one of
# the tests' own client connections (curl, socat, in TIME_WAIT for a minute),
# which makes a later bind() fail with "Address already in use". The port is
# reserved for ten minutes by an atomic mkdir under ${TMPDIR:-/tmp}/hsdo-ports
# (shared with hsdo_test_free_port in tests/support/haproxy_peer.c), so that
# two tests running in parallel never draw the same one between the probe
# and the bind. Sourced by peers.sh, dynalite.sh and scripts/demo.
# shellcheck shell=bash
free_port() {
	local p low=32768 dir="${TMPDIR:-/tmp}/hsdo-ports"
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	((low > 11024)) || low=32768
	mkdir -p "$dir" 2>/dev/null && chmod 1777 "$dir" 2>/dev/null
	find "$dir" -mindepth 1 -maxdepth 1 -type d -mmin +10 -exec rmdir {} + 2>/dev/null
	while :; do
		p=$((10000 + RANDOM % (low - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue
		mkdir "$dir/$p" 2>/dev/null || [[ ! -d $dir ]] || continue
		echo "$p"
		return
	done
}
