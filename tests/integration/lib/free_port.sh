# free_port: a TCP port nobody listens on (HAProxy refuses port 0), below
# the kernel's ephemeral range: a port there may be the local end of one of
# the tests' own client connections (curl, socat, in TIME_WAIT for a minute),
# which makes a later bind() fail with "Address already in use". Sourced by
# peers.sh, dynalite.sh and scripts/demo.
# shellcheck shell=bash
free_port() {
	local p low=32768
	read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || low=32768
	((low > 11024)) || low=32768
	while :; do
		p=$((10000 + RANDOM % (low - 10000)))
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
	done
}
