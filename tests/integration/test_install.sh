#!/usr/bin/env bash
# `cmake --install` puts the binary, both libraries, the headers, the example
# env.yaml, spoe/ and haproxy-examples/ in the usual places, and the installed
# agent runs from there.
set -u
build=${HSDO_BINARY_DIR:?HSDO_BINARY_DIR must point to the build tree}
dest=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-install-XXXXXX")
trap 'rm -rf "$dest"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; fi; }

cmake --install "$build" --prefix "$dest/usr" >"$dest/install.log" 2>&1
check "cmake --install succeeds" '[[ $? -eq 0 ]]'
libdir=$(cd "$dest/usr" && ls -d lib* | head -n1)
check "agent in bin/" '[[ -x $dest/usr/bin/hsdo-agent ]]'
check "shared library with soname link" 'ls $dest/usr/$libdir/libhsdo.so.0* >/dev/null 2>&1 && [[ -L $dest/usr/$libdir/libhsdo.so ]]'
check "static library" '[[ -f $dest/usr/$libdir/libhsdo.a ]]'
check "public headers" '[[ -f $dest/usr/include/hsdo/slot.h && -f $dest/usr/include/hsdo/config.h ]]'
check "example env.yaml" '[[ -f $dest/usr/etc/hsdo/env.yaml ]]'
check "spoe/ and haproxy-examples/" '[[ -d $dest/usr/share/hsdo/spoe && -d $dest/usr/share/hsdo/haproxy-examples ]]'
check "installed example config validates" \
	'LD_LIBRARY_PATH=$dest/usr/$libdir $dest/usr/bin/hsdo-agent --check-config --config $dest/usr/etc/hsdo/env.yaml | grep -q "configuration OK"'
echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
