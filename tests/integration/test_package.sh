#!/usr/bin/env bash
# The Debian packages, built from this tree by ./scripts/package: lintian
# has nothing to say above info level (overrides justified in
# debian/*.lintian-overrides), each package holds what docs/install.md says,
# and the three unpacked into a scratch root (dpkg-deb -x) make a working
# system: the packaged agent, with its packaged library, writes a slot table
# (server, static source, file store) and brings a real HAProxy, configured
# from the packaged example (Debian's socket, mode 660, group haproxy), to it
# (client --once) as an unprivileged user with the group haproxy, as the
# client unit runs it (and cannot without the group); its units pass
# test_systemd_units.sh; the CMake package builds a program.
source "$(dirname "$0")/lib/peers.sh"
src=${HSDO_SOURCE_DIR:?}
for t in dpkg-buildpackage lintian dpkg-deb; do
	command -v "$t" >/dev/null || { echo "FAIL - $t is missing (./scripts/deps)"; exit 1; }
done

# ---- build -------------------------------------------------------------------
out=$tmp/out
if HSDO_PACKAGE_DIR=$out "$src/scripts/package" >"$tmp/package.log" 2>&1; then
	ok "./scripts/package builds the packages"
else
	ko "./scripts/package builds the packages" "$tmp/package.log" "$out/build.log"
	finish
	exit 1
fi
ver=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
deb=()
for p in hsdo-agent libhsdo0 libhsdo-dev; do
	deb[${#deb[@]}]=$out/${p}_${ver}_$arch.deb
	[[ -f ${deb[-1]} ]] && ok "$p ${ver} ($arch)" || ko "$p ${ver} ($arch)"
done

# ---- lintian ---------------------------------------------------------------------
# The source package and every binary one (the .changes lists them all), at
# every level lintian has; the overrides it applies are shown with their
# justification.
changes=$(ls "$out"/hsdo_"$ver"_*.changes 2>/dev/null | head -n1)
[[ -f $changes ]] && ok "source package and .changes ($(basename "$changes"))" || ko "source package and .changes"
lintian --pedantic -I -E --fail-on error,warning,info,pedantic,experimental \
	"$changes" >"$tmp/lintian.log" 2>&1
rc=$?
# (--show-overrides makes lintian exit 2: a second run only to show them)
lintian --pedantic -I -E --show-overrides "$changes" 2>&1 | grep -v '^running with root privileges' |
	sed 's/^/# lintian: /'
bad=$(grep -E '^[EWIPX]: ' "$tmp/lintian.log")
[[ $rc -eq 0 && -z $bad ]] && ok "lintian --pedantic -I -E: nothing but justified overrides" \
	|| ko "lintian: clean (exit $rc) $bad"

# ---- contents ----------------------------------------------------------------------
for d in "${deb[@]}"; do
	echo "# dpkg -c $(basename "$d"):"
	dpkg -c "$d" | awk '{ print "#   " $1 " " $6 ($7 ? " " $7 " " $8 : "") }'
done
has_file() { dpkg -c "$1" | awk '{ print $6 }' | grep -qxF "./$2"; }
for f in usr/bin/hsdo-agent etc/hsdo/env.yaml lib/systemd/system/hsdo-client.service \
	lib/systemd/system/hsdo-server.service usr/lib/sysusers.d/hsdo.conf \
	usr/share/man/man8/hsdo-agent.8.gz usr/share/hsdo/spoe/hsdo.spoe.conf \
	usr/share/hsdo/haproxy-examples/single-backend.cfg usr/share/hsdo/monitoring/hsdo-alerts.yml \
	usr/share/hsdo/monitoring/grafana-dashboard.json usr/share/doc/hsdo-agent/copyright; do
	has_file "${deb[0]}" "$f" && ok "hsdo-agent has /$f" || ko "hsdo-agent has /$f"
done
has_file "${deb[1]}" "usr/lib/$multiarch/libhsdo.so.0" && ok "libhsdo0 has libhsdo.so.0" || ko "libhsdo0 has libhsdo.so.0"
for f in usr/include/hsdo/slot.h "usr/lib/$multiarch/libhsdo.so" "usr/lib/$multiarch/libhsdo.a" \
	"usr/lib/$multiarch/pkgconfig/libhsdo.pc" "usr/lib/$multiarch/cmake/hsdo/hsdo-config.cmake"; do
	has_file "${deb[2]}" "$f" && ok "libhsdo-dev has /$f" || ko "libhsdo-dev has /$f"
done
[[ $(dpkg -c "${deb[1]}" | grep -c '\.so') -eq 2 ]] && ok "libhsdo0 holds only the runtime library" \
	|| ko "libhsdo0 holds only the runtime library"
dpkg-deb -e "${deb[0]}" "$tmp/ctl"
grep -qx /etc/hsdo/env.yaml "$tmp/ctl/conffiles" && ok "/etc/hsdo/env.yaml is a conffile" || ko "/etc/hsdo/env.yaml is a conffile"
dep=$(dpkg-deb -f "${deb[0]}" Depends)
[[ $dep == *"libhsdo0 (>= $ver)"* && $dep == *libsystemd0* ]] && ok "hsdo-agent depends on libhsdo0 and libsystemd0" \
	|| ko "hsdo-agent depends on libhsdo0 and libsystemd0 ($dep)"
grep -q "systemd-sysusers.*hsdo.conf" "$tmp/ctl/postinst" && ok "postinst creates the hsdo user (systemd-sysusers)" \
	|| ko "postinst creates the hsdo user" "$tmp/ctl/postinst"
# dh_installsystemd --no-enable: enable only a unit installed (and enabled) before.
grep -q "debian-installed 'hsdo-client.service'" "$tmp/ctl/postinst" && grep -q "debian-installed 'hsdo-server.service'" "$tmp/ctl/postinst" \
	&& ok "installing enables no unit (only re-enables on upgrade)" || ko "installing enables no unit" "$tmp/ctl/postinst"

# ---- a system in a scratch root -------------------------------------------------------
root=$tmp/root
for d in "${deb[@]}"; do dpkg-deb -x "$d" "$root"; done
agent=$root/usr/bin/hsdo-agent
export LD_LIBRARY_PATH=$root/usr/lib/$multiarch
rp=$(readelf -d "$agent" | grep -E 'RPATH|RUNPATH')
[[ -z $rp ]] && ok "no RPATH/RUNPATH in the packaged agent (a system libdir)" || ko "no RPATH/RUNPATH ($rp)"
lib=$(ldd "$agent" | sed -nE 's/^\s*libhsdo\.so\.0 => (\S+).*/\1/p')
[[ $lib == "$root/usr/lib/$multiarch/libhsdo.so.0" ]] && ok "it loads the packaged libhsdo ($lib)" || ko "it loads the packaged libhsdo ($lib)"
"$agent" --help | grep -q "then$" && "$agent" --help | grep -q " /etc/hsdo/env.yaml;" \
	&& ok "--help names /etc/hsdo/env.yaml" || ko "--help names /etc/hsdo/env.yaml"
"$agent" --check-config --config "$root/etc/hsdo/env.yaml" >"$tmp/check.log" 2>&1 \
	&& ok "the packaged env.yaml validates" || ko "the packaged env.yaml validates" "$tmp/check.log"
sed -n '/^## 5\. The configuration/,/^## 6/p' "$src/docs/deploy.md" | sed -n '/^```yaml$/,/^```$/p' | sed '1d;$d' >"$tmp/deploy.yaml"
[[ -s $tmp/deploy.yaml ]] && "$agent" --check-config --config "$tmp/deploy.yaml" >"$tmp/deploy-check.log" 2>&1 \
	&& ok "the env.yaml of docs/deploy.md validates" || ko "the env.yaml of docs/deploy.md validates" "$tmp/deploy-check.log"

# HAProxy from the packaged example, made runnable in $tmp, its socket as on
# Debian: "mode 660" in a setgid directory of group haproxy (/run/haproxy),
# HAProxy started as root.
FE_PORT=$(free_port) PA=$(free_port) PB=$(free_port)
mkdir -p "$tmp/run"
chgrp haproxy "$tmp/run" && chmod 2770 "$tmp/run" && chmod 0711 "$tmp"
sed -E -e '/^\s*(chroot|user|group|log \/dev\/log)/d' \
	-e "s#/var/run/haproxy/admin.sock#$tmp/run/admin.sock#" \
	-e "s#bind 127.0.0.1:8080#bind 127.0.0.1:$FE_PORT#" \
	"$root/usr/share/hsdo/haproxy-examples/single-backend.cfg" >"$tmp/haproxy.cfg"
for n in A B; do
	port=P$n
	printf '\nlisten srv%s\n    bind 127.0.0.1:%s\n    http-request return status 200 content-type text/plain string %s\n' \
		"$n" "${!port}" "$n" >>"$tmp/haproxy.cfg"
done
haproxy -f "$tmp/haproxy.cfg" -D -p "$tmp/haproxy.pid" >"$tmp/haproxy.log" 2>&1
for _ in $(seq 1 50); do [[ -S $tmp/run/admin.sock ]] && break; sleep 0.1; done
ln -sf run/admin.sock "$tmp/admin.sock"   # for peers.sh's cli and srv
[[ -S $tmp/run/admin.sock ]] && ok "HAProxy runs the packaged single-backend.cfg" || ko "HAProxy runs the packaged single-backend.cfg" "$tmp/haproxy.log"
perm=$(stat -c '%U:%G %a' "$tmp/run/admin.sock")
[[ $perm == "$(id -un):haproxy 660" ]] && ok "its Runtime API socket is group haproxy, mode 660 ($perm)" \
	|| ko "its Runtime API socket is group haproxy, mode 660 ($perm)"
printf -- '- name: i-a\n  ip: 127.0.0.1\n  port: %s\n  group: g\n- name: i-b\n  ip: 127.0.0.1\n  port: %s\n  group: g\n' \
	"$PA" "$PB" >"$tmp/instances.yaml"
cat >"$tmp/env.yaml" <<YAML
SERVER_MODE: static
SERVER_STATIC_FILE: $tmp/instances.yaml
STORE: file
STORE_FILE_PATH: $tmp/slots.json
CLIENT_HAPROXY_SOCKET_PATH: $tmp/run/admin.sock
CLIENT_HAPROXY_BACKEND_NAME: be_app
CLIENT_HAPROXY_BACKEND_BASE_NAME: web
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 10
SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 10
YAML
chmod 0644 "$tmp/env.yaml" "$tmp/instances.yaml"
"$agent" --server --once --config "$tmp/env.yaml" >"$tmp/server.log" 2>&1 \
	&& ok "the packaged agent writes the slot table (server --once)" || ko "server --once" "$tmp/server.log"

# The client as the units run it: an unprivileged user (nobody stands in for
# hsdo) with the supplementary group haproxy, nothing else.
as_user() { # GROUPS CMD...: run CMD as nobody:nogroup with GROUPS
	local sudo=()
	[[ $(id -u) -eq 0 ]] || sudo=(sudo -n)
	"${sudo[@]}" env LD_LIBRARY_PATH="$LD_LIBRARY_PATH" \
		setpriv --reuid=nobody --regid=nogroup "$1" --inh-caps=-all --bounding-set=-all -- "${@:2}"
}
as_user --clear-groups "$agent" --client --once --config "$tmp/env.yaml" >"$tmp/client-nogroup.log" 2>&1
rc=$?
[[ $rc -ne 0 ]] && grep -q "admin.sock: connect: Permission denied" "$tmp/client-nogroup.log" \
	&& ok "without the haproxy group the agent cannot open the socket (Permission denied)" \
	|| ko "without the haproxy group the agent cannot open the socket (exit $rc)" "$tmp/client-nogroup.log"
as_user --groups=haproxy "$agent" --client --once --config "$tmp/env.yaml" >"$tmp/client.log" 2>&1 \
	&& ok "with it, a client cycle as an unprivileged user brings HAProxy to the table (client --once exits 0)" \
	|| ko "client --once as nobody with the group haproxy" "$tmp/client.log"
grep -q "HAProxy matches the slot table" "$tmp/client.log" && ok "... and says HAProxy matches it" || ko "... HAProxy matches" "$tmp/client.log"
[[ $(srv srv_addr be_app web1):$(srv srv_port be_app web1) == "127.0.0.1:$PA" && $(srv srv_port be_app web2) == "$PB" ]] \
	&& ok "web1 and web2 hold the two instances" || ko "web1 and web2 hold the two instances"
h=$(hits 20)
[[ $h =~ A=([0-9]+)\ B=([0-9]+)\ C=0\ 503=0 ]] && ((BASH_REMATCH[1] >= 5 && BASH_REMATCH[2] >= 5)) \
	&& ok "requests through HAProxy reach both ($h)" || ko "requests through HAProxy reach both ($h)"
unset LD_LIBRARY_PATH

# ---- the packaged units ------------------------------------------------------------------
if bash "$(dirname "$0")/test_systemd_units.sh" "$root/lib/systemd/system" "$root/usr/share/man/man8" \
	"$root/usr/lib/sysusers.d/hsdo.conf" "$agent" >"$tmp/units.log" 2>&1; then
	ok "the packaged units pass test_systemd_units.sh"
	grep '^# hsdo-.*exposure' "$tmp/units.log"
else
	ko "the packaged units pass test_systemd_units.sh" "$tmp/units.log"
fi

# ---- libhsdo-dev: find_package(hsdo) from the root -------------------------------------
mkdir -p "$tmp/proj"
cat >"$tmp/proj/consumer.c" <<'C'
#include <stdio.h>
#include <hsdo/slot.h>
int main(void) { puts(hsdo_slot_state_str(HSDO_SLOT_FREE)); return 0; }
C
cat >"$tmp/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(hsdo 0.1 REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE hsdo::hsdo)
CM
cmake -S "$tmp/proj" -B "$tmp/proj/b" -DCMAKE_PREFIX_PATH="$root/usr" >"$tmp/proj.log" 2>&1 &&
	cmake --build "$tmp/proj/b" >>"$tmp/proj.log" 2>&1 && [[ $("$tmp/proj/b/consumer") == free ]] \
	&& ok "libhsdo-dev: find_package(hsdo) builds and runs a program" || ko "libhsdo-dev: find_package(hsdo)" "$tmp/proj.log"

finish
