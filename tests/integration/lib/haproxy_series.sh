# The HAProxy a test runs against: the first `haproxy` on PATH, which
# tests/CMakeLists.txt points at one series (2.6, 3.0, 3.2) and names in
# HSDO_HAPROXY_SERIES. haproxy_series_check prints what runs and fails
# unless it is that series, so a missing cache entry (scripts/deps-haproxy)
# cannot silently run the tests against another version. Sourced by the
# HAProxy-facing shell tests.
# shellcheck shell=bash

# HAPROXY_VERSION: "3.2.26-1" etc. once haproxy_series_check passed.
HAPROXY_VERSION=""
haproxy_series_check() {
	local exe line want=${HSDO_HAPROXY_SERIES:-}
	exe=$(command -v haproxy) || { echo "FAIL - haproxy is not on PATH (./scripts/deps)"; return 1; }
	line=$("$exe" -v 2>&1)
	line=${line%%$'\n'*}
	HAPROXY_VERSION=$(awk '{ print $3 }' <<<"$line")
	echo "# haproxy: $exe: $line"
	if [[ -n $want && $HAPROXY_VERSION != "$want".* ]]; then
		echo "FAIL - this test is for HAProxy $want, but $exe is ${HAPROXY_VERSION:-unknown} (./scripts/deps-haproxy installs 3.0 and 3.2)"
		return 1
	fi
}
# haproxy_at_least MAJOR.MINOR: the running HAProxy is that version or newer.
haproxy_at_least() {
	local v=${HAPROXY_VERSION%%-*}
	[[ $(printf '%s\n%s\n' "$1" "$v" | sort -V | head -n1) == "$1" ]]
}
