#!/usr/bin/env bash
# The install works anywhere: `cmake --install` at the configured prefix
# (staged with DESTDIR) and at another prefix (--prefix) gives an agent that
# starts with a clean environment (env -i, no LD_LIBRARY_PATH: RUNPATH is
# $ORIGIN-relative) and finds its own configuration file; libhsdo.pc and the
# CMake package config build and run a program against the installed
# library; a default configure needs neither `check` nor the benchmarks;
# every build option is documented in docs/install.md.
set -u
build=${HSDO_BINARY_DIR:?HSDO_BINARY_DIR must point to the build tree}
src=${HSDO_SOURCE_DIR:?HSDO_SOURCE_DIR must point to the source tree}
dest=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-install-XXXXXX")
trap 'rm -rf "$dest"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; return 1; fi; }
cache() { sed -nE "s/^$1:[A-Z]+=(.*)$/\\1/p" "$build/CMakeCache.txt"; }

prefix=$(cache CMAKE_INSTALL_PREFIX)
sanitize=$(cache HSDO_SANITIZE)
# A sanitized libhsdo.so needs the sanitizer runtime first in line: only the
# test's own consumer programs get these, never the agent.
consumer_env=(ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0)

# ---- 1. at the configured prefix, staged under DESTDIR -----------------------
stage=$dest/stage
DESTDIR=$stage cmake --install "$build" >"$dest/install.log" 2>&1
check "DESTDIR=... cmake --install succeeds" '[[ $? -eq 0 ]]'
root=$stage$prefix
libdir=$(cd "$root" && ls -d lib* | grep -v '^libexec' | head -n1)
[[ -d $root/$libdir/pkgconfig ]] || libdir=$(dirname "$(cd "$root" && ls -d lib*/*/pkgconfig lib*/pkgconfig 2>/dev/null | head -n1)")
check "agent in bin/" '[[ -x $root/bin/hsdo-agent ]]'
check "shared library with soname link" \
	'ls "$root/$libdir"/libhsdo.so.0* >/dev/null 2>&1 && [[ -L $root/$libdir/libhsdo.so ]]'
check "static library" '[[ -f $root/$libdir/libhsdo.a ]]'
check "public headers" '[[ -f $root/include/hsdo/slot.h && -f $root/include/hsdo/config.h ]]'
check "libhsdo.pc" '[[ -f $root/$libdir/pkgconfig/libhsdo.pc ]]'
check "CMake package config and version file" \
	'[[ -f $root/$libdir/cmake/hsdo/hsdo-config.cmake && -f $root/$libdir/cmake/hsdo/hsdo-config-version.cmake ]]'
check "man page hsdo-agent(8)" '[[ -f $root/share/man/man8/hsdo-agent.8 ]]'
check "systemd units and the sysusers entry" \
	'[[ -f $root/lib/systemd/system/hsdo-client.service && -f $root/lib/systemd/system/hsdo-server.service && -f $root/lib/sysusers.d/hsdo.conf ]]'
check "units start the installed agent" \
	'grep -qx "ExecStart=$prefix/bin/hsdo-agent --client --config $prefix/etc/hsdo/env.yaml" "$root/lib/systemd/system/hsdo-client.service"'
check "LICENSE, spoe/, haproxy-examples/, docs/" \
	'[[ -f $root/share/doc/hsdo/LICENSE && -f $root/share/hsdo/spoe/hsdo.spoe.conf && -f $root/share/hsdo/haproxy-examples/spoe.cfg && -f $root/share/doc/hsdo/deploy.md ]]'

runpath=$(readelf -d "$root/bin/hsdo-agent" | sed -nE 's/.*\((RUNPATH|RPATH)\).*\[(.*)\]/\1 \2/p')
check "the agent's RUNPATH is \$ORIGIN-relative ($runpath)" '[[ $runpath == "RUNPATH \$ORIGIN/../$libdir" ]]'
ver=$(env -i "$root/bin/hsdo-agent" --version 2>&1)
check "env -i: the installed agent starts ($ver)" '[[ $ver =~ ^hsdo-agent\ [0-9] ]]'
resolved=$(env -i ldd "$root/bin/hsdo-agent" | sed -nE 's/^\s*libhsdo\.so\.0 => (\S+).*/\1/p')
check "env -i: it loads the installed libhsdo ($resolved)" \
	'[[ $(readlink -f "$resolved") == $(readlink -f "$root/$libdir/libhsdo.so.0") ]]'

# The configuration: at <prefix>/etc/hsdo/env.yaml, and --help names it.
check "example env.yaml at the configured sysconfdir" '[[ -f $root/etc/hsdo/env.yaml ]]'
help=$(env -i "$root/bin/hsdo-agent" --help)
check "--help names ./conf/env.yaml then the installed file, in that order" \
	'[[ $help == *"./conf/env.yaml, then"*"$root/etc/hsdo/env.yaml"* ]]'
out=$(cd "$dest" && env -i "$root/bin/hsdo-agent" --check-config 2>&1)
check "env -i --check-config, no --config: reads the installed file" \
	'[[ $out == *"configuration OK"* ]]'
echo "INTERVAL: soon" >"$root/etc/hsdo/env.yaml.bad"
cp "$root/etc/hsdo/env.yaml" "$dest/env.yaml.good"
mv "$root/etc/hsdo/env.yaml.bad" "$root/etc/hsdo/env.yaml"
out=$(cd "$dest" && env -i "$root/bin/hsdo-agent" --check-config 2>&1)
check "... and it is that file it reads (a broken one fails: $out)" \
	'[[ $out == *"$root/etc/hsdo/env.yaml:1: INTERVAL"* ]]'
mkdir -p "$dest/cwd/conf" && cp "$dest/env.yaml.good" "$dest/cwd/conf/env.yaml"
out=$(cd "$dest/cwd" && env -i "$root/bin/hsdo-agent" --check-config 2>&1)
check "./conf/env.yaml comes first" '[[ $out == *"configuration OK"* ]]'
cp "$dest/env.yaml.good" "$root/etc/hsdo/env.yaml"

# ---- 2. libhsdo.pc and find_package(hsdo) against the staged install --------
cat >"$dest/consumer.c" <<'C'
#include <stdio.h>
#include <string.h>
#include <hsdo/err.h>
#include <hsdo/slot.h>
int main(void)
{
	printf("%s %s\n", hsdo_slot_state_str(HSDO_SLOT_DRAINING), hsdo_strerror(-HSDO_ENOTFOUND));
	return strcmp(hsdo_slot_state_str(HSDO_SLOT_ACTIVE), "active") != 0;
}
C
flags=()
[[ -n $sanitize ]] && flags=(-fsanitize="$sanitize")
pc=(env PKG_CONFIG_PATH="$root/$libdir/pkgconfig" pkg-config)
check "pkg-config --modversion libhsdo" '[[ $("${pc[@]}" --modversion libhsdo) == $(cache CMAKE_PROJECT_VERSION) ]]'
cc -o "$dest/consumer_pc" "$dest/consumer.c" $("${pc[@]}" --cflags --libs libhsdo) "${flags[@]}" \
	>"$dest/cc.log" 2>&1
check "a program builds with pkg-config --cflags --libs libhsdo" '[[ $? -eq 0 ]]' || cat "$dest/cc.log"
out=$(env "${consumer_env[@]}" LD_LIBRARY_PATH="$root/$libdir" "$dest/consumer_pc" 2>&1)
check "... and runs against the installed library ($out)" '[[ $out == "draining "* ]]'

mkdir -p "$dest/proj"
cp "$dest/consumer.c" "$dest/proj/"
cat >"$dest/proj/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.18)
project(consumer C)
find_package(hsdo 0.1 REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE hsdo::hsdo)
CM

# ---- 3. at another prefix: everything follows, nothing to set ------------------
moved=$dest/elsewhere/opt/hsdo
cmake --install "$build" --prefix "$moved" >"$dest/install2.log" 2>&1
check "cmake --install --prefix OTHER succeeds" '[[ $? -eq 0 ]]'
ver=$(env -i "$moved/bin/hsdo-agent" --version 2>&1)
check "env -i: the agent at the other prefix starts ($ver)" '[[ $ver =~ ^hsdo-agent\ [0-9] ]]'
help=$(env -i "$moved/bin/hsdo-agent" --help)
check "--help names the configuration at the other prefix" '[[ $help == *"$moved/etc/hsdo/env.yaml"* ]]'
out=$(cd "$dest" && env -i "$moved/bin/hsdo-agent" --check-config 2>&1)
check "env -i --check-config finds it there" '[[ $out == *"configuration OK"* ]]'
cmake -S "$dest/proj" -B "$dest/proj/build" -DCMAKE_PREFIX_PATH="$moved" \
	-DCMAKE_C_FLAGS="${flags[*]}" -DCMAKE_EXE_LINKER_FLAGS="${flags[*]}" >"$dest/proj.log" 2>&1 &&
	cmake --build "$dest/proj/build" >>"$dest/proj.log" 2>&1
check "find_package(hsdo) + hsdo::hsdo builds a program (installed tree moved)" '[[ $? -eq 0 ]]' ||
	tail -n 20 "$dest/proj.log"
out=$(env "${consumer_env[@]}" "$dest/proj/build/consumer" 2>&1)
check "... which runs against the installed library ($out)" '[[ $out == "draining "* ]]'
out=$(env "${consumer_env[@]}" PKG_CONFIG_PATH="$moved/$libdir/pkgconfig" pkg-config --libs libhsdo)
check "libhsdo.pc follows the move ($out)" '[[ $out == *"-L$moved/$libdir/pkgconfig/"*" -lhsdo"* || $out == *"-L$moved/$libdir -lhsdo"* ]]'

# ---- 4. a packager's configure: no check, no benchmarks --------------------------
# pkg-config that knows every package but check: configuring must not ask.
mkdir -p "$dest/bin"
cat >"$dest/bin/pkg-config" <<SH
#!/bin/sh
for a in "\$@"; do case \$a in check|check\ *) exit 1 ;; esac; done
exec $(command -v pkg-config) "\$@"
SH
chmod +x "$dest/bin/pkg-config"
cmake -S "$src" -B "$dest/plain" -DPKG_CONFIG_EXECUTABLE="$dest/bin/pkg-config" >"$dest/plain.log" 2>&1
check "default configure succeeds without check" '[[ $? -eq 0 ]]' || tail -n 20 "$dest/plain.log"
check "... with tests and benchmarks off" \
	'grep -qx "HSDO_BUILD_TESTS:BOOL=OFF" "$dest/plain/CMakeCache.txt" && grep -qx "HSDO_BUILD_BENCH:BOOL=OFF" "$dest/plain/CMakeCache.txt"'
cmake -S "$src" -B "$dest/plain" -DHSDO_BUILD_TESTS=ON >"$dest/plain2.log" 2>&1 \
	-DPKG_CONFIG_EXECUTABLE="$dest/bin/pkg-config"
check "... and HSDO_BUILD_TESTS=ON asks for check" '[[ $? -ne 0 ]] && grep -q "check" "$dest/plain2.log"'

# ---- 5. GNUInstallDirs' special prefixes, as configured ----------------------------
# /usr: the configuration in /etc/hsdo, no RUNPATH; /opt/P: /etc/opt/P. What
# the agent is compiled with, what the units start and where env.yaml goes.
for case in "/usr /etc/hsdo none" "/opt/hsdo /etc/opt/hsdo/hsdo \$ORIGIN/../lib"; do
	read -r pfx confdir rpath <<<"$case"
	b=$dest/cfg${pfx//\//_}
	cmake -S "$src" -B "$b" -DCMAKE_INSTALL_PREFIX="$pfx" >"$b.log" 2>&1
	flags=$(grep -ho 'HSDO_CONFDIR=[^ ]*' "$b/CMakeFiles/hsdo-agent.dir/flags.make")
	unit=$(sed -n 's/^ExecStart=//p' "$b/systemd/hsdo-client.service")
	newrp=$(grep -A3 'RPATH_CHANGE' "$b/cmake_install.cmake" | sed -nE 's/.*NEW_RPATH "(.*)"\).*/\1/p' | tr -d '\\')
	check "prefix $pfx: compiled-in $confdir ($flags)" '[[ $flags == "HSDO_CONFDIR=\\\"$confdir\\\"" ]]'
	check "prefix $pfx: ExecStart=$unit" '[[ $unit == "$pfx/bin/hsdo-agent --client --config $confdir/env.yaml" ]]'
	check "prefix $pfx: env.yaml installed to $confdir" 'grep -q "\"$confdir/env.yaml\"" "$b/cmake_install.cmake"'
	check "prefix $pfx: RUNPATH ${rpath} (${newrp:-none})" '[[ ${newrp:-none} == "$rpath" ]]'
done

# ---- 6. every option is documented ------------------------------------------------
missing=$(grep -hoE '^\s*(option\(HSDO_[A-Z_]+|set\(HSDO_[A-Z_]+[^)]*CACHE)' "$src/CMakeLists.txt" "$src"/cmake/*.cmake |
	sed -E 's/^\s*(option|set)\((HSDO_[A-Z_]+).*/\2/' | sort -u |
	while read -r o; do grep -q "\`$o\`" "$src/docs/install.md" || echo "$o"; done)
check "every build option is in docs/install.md${missing:+ (missing: $missing)}" '[[ -z $missing ]]'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
