#!/usr/bin/env bash
# The systemd units as the build writes them: `systemd-analyze verify`
# accepts each with no message (directives, the ExecStart/ExecReload
# binaries, the man page of Documentation=); `systemd-analyze security
# --offline` rates each at an exposure of 2.0 or less; they run the agent
# as Type=notify with a watchdog, reload with SIGHUP, as the user hsdo (the
# client with the haproxy group), sandboxed; systemd-sysusers creates that
# user from the installed sysusers.d entry. Where the agent's side of the
# protocol is tested: tests/unit/check_agent_notify.c.
#   usage: test_systemd_units.sh [UNIT_DIR MAN_DIR SYSUSERS_FILE AGENT]
#   (default: the build tree's; test_package.sh passes the package's)
set -u
build=${HSDO_BINARY_DIR:?HSDO_BINARY_DIR must point to the build tree}
unitdir=${1:-$build/systemd}
mandir=${2:-$build/man}
sysusers=${3:-$(dirname "$0")/../../systemd/hsdo.sysusers}
agent=${4:-${HSDO_AGENT:?HSDO_AGENT must point to hsdo-agent}}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-units-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; return 1; fi; }
command -v systemd-analyze >/dev/null || { echo "FAIL - systemd-analyze is missing (./scripts/deps)"; exit 1; }

# man hsdo-agent(8) must resolve, as Documentation= says.
mkdir -p "$tmp/man/man8"
cp "$mandir"/hsdo-agent.8* "$tmp/man/man8/" 2>/dev/null
check "the man page is there for Documentation=man:hsdo-agent(8)" '[[ -n $(ls "$tmp/man/man8") ]]'

for role in client server; do
	unit=$unitdir/hsdo-$role.service
	check "hsdo-$role.service exists" '[[ -f $unit ]]' || continue
	get() { sed -nE "s/^$1=(.*)/\\1/p" "$unit"; }
	# verify wants every binary it names to exist: the one that would be
	# installed stands in for its installed path, nothing else changes.
	exe=$(get ExecStart | cut -d' ' -f1)
	sed "s#^ExecStart=$exe #ExecStart=$agent #" "$unit" >"$tmp/hsdo-$role.service"
	out=$(cd "$tmp" && MANPATH=$tmp/man systemd-analyze verify "$tmp/hsdo-$role.service" 2>&1)
	rc=$?
	check "systemd-analyze verify hsdo-$role.service: no message${out:+ ($out)}" '[[ $rc -eq 0 && -z $out ]]'

	sec=$(systemd-analyze security --offline=true --threshold=20 "$tmp/hsdo-$role.service" 2>&1)
	rc=$?
	score=$(sed -nE 's/.*Overall exposure level for [^:]*: ([0-9.]+).*/\1/p' <<<"$sec")
	echo "# hsdo-$role.service: systemd-analyze security exposure $score"
	grep -E '^✗' <<<"$sec" | sed 's/^/#   /'
	check "hsdo-$role.service exposure $score <= 2.0" '[[ $rc -eq 0 && -n $score ]]'

	check "hsdo-$role.service: Type=notify, NotifyAccess=main, WatchdogSec" \
		'[[ $(get Type) == notify && $(get NotifyAccess) == main && -n $(get WatchdogSec) ]]'
	check "hsdo-$role.service: ExecStart runs --$role with --config" \
		'[[ $(get ExecStart) =~ hsdo-agent\ --$role\ --config\ /.+/hsdo/env.yaml$ ]]'
	check "hsdo-$role.service: ExecReload sends SIGHUP" '[[ $(get ExecReload) == "/bin/kill -HUP \$MAINPID" ]]'
	check "hsdo-$role.service: Restart=on-failure" '[[ $(get Restart) == on-failure ]]'
	check "hsdo-$role.service: User=hsdo, Group=hsdo" '[[ $(get User) == hsdo && $(get Group) == hsdo ]]'
	check "hsdo-$role.service: no capability, no new privileges" \
		'grep -qx "CapabilityBoundingSet=" "$unit" && [[ $(get NoNewPrivileges) == yes ]]'
	check "hsdo-$role.service: ProtectSystem=strict, @system-service, Unix+IP sockets only" \
		'[[ $(get ProtectSystem) == strict && $(get SystemCallFilter | head -n1) == @system-service && $(get RestrictAddressFamilies) == "AF_UNIX AF_INET AF_INET6" ]]'
	check "hsdo-$role.service: /var/lib/hsdo writable (StateDirectory=hsdo)" '[[ $(get StateDirectory) == hsdo ]]'
done
check "the client reaches HAProxy's socket through the haproxy group" \
	'grep -qx "SupplementaryGroups=haproxy" "$unitdir/hsdo-client.service"'
check "the server has no supplementary group" '! grep -q "^SupplementaryGroups=" "$unitdir/hsdo-server.service"'

# The hsdo user, from the sysusers.d entry, in an empty root.
mkdir -p "$tmp/root/etc"
cp "$sysusers" "$tmp/hsdo.conf"
systemd-sysusers --root="$tmp/root" "$tmp/hsdo.conf" >"$tmp/sysusers.log" 2>&1
check "systemd-sysusers creates the user and group hsdo" \
	'grep -qE "^hsdo:x:[0-9]+:[0-9]+:HSDO agent:/var/lib/hsdo:/usr/sbin/nologin$" "$tmp/root/etc/passwd" && grep -qE "^hsdo:x:[0-9]+:" "$tmp/root/etc/group"'
uid=$(cut -d: -f3 "$tmp/root/etc/passwd")
check "... as a system user (uid $uid < 1000)" '[[ -n $uid && $uid -lt 1000 ]]'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
