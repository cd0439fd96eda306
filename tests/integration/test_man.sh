#!/usr/bin/env bash
# The man page hsdo-agent(8): scdoc renders man/hsdo-agent.8.scd, mandoc's
# linter finds no error and groff no warning, `man` shows its sections; it
# documents every option `hsdo-agent --help` lists, names only real
# configuration keys, and gives the configuration search order that --help
# and docs/configuration.md give (--config, ./conf/env.yaml, the installed
# file). The build renders the same page (HSDO_BUILD_MAN) and installs it.
set -u
src=${HSDO_SOURCE_DIR:?}
build=${HSDO_BINARY_DIR:?}
agent=${HSDO_AGENT:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-man-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; return 1; fi; }
for t in scdoc mandoc groff man; do
	command -v "$t" >/dev/null || { echo "FAIL - $t is missing (./scripts/deps)"; exit 1; }
done

scdoc <"$src/man/hsdo-agent.8.scd" >"$tmp/hsdo-agent.8" 2>"$tmp/scdoc.err"
check "scdoc renders man/hsdo-agent.8.scd" '[[ $? -eq 0 && -s $tmp/hsdo-agent.8 && ! -s $tmp/scdoc.err ]]' || cat "$tmp/scdoc.err"
check "the build renders it too (HSDO_BUILD_MAN)" 'cmp -s <(grep -v "^\.TH" "$tmp/hsdo-agent.8") <(grep -v "^\.TH" "$build/man/hsdo-agent.8")'
out=$(mandoc -Tlint -Werror "$tmp/hsdo-agent.8" 2>&1)
check "mandoc -Tlint: no error${out:+ ($out)}" '[[ -z $out ]]'
out=$(groff -man -ww -z -Tutf8 "$tmp/hsdo-agent.8" 2>&1)
check "groff -man -ww: no warning${out:+ ($out)}" '[[ -z $out ]]'
out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$tmp/hsdo-agent.8" 2>"$tmp/man.err" | col -b)
check "man -l renders it without a warning" '[[ -n $out && ! -s $tmp/man.err ]]' || cat "$tmp/man.err"
missing=""
for s in NAME SYNOPSIS DESCRIPTION OPTIONS CONFIGURATION SIGNALS SYSTEMD FILES ENVIRONMENT "EXIT STATUS" EXAMPLES "SEE ALSO"; do
	grep -qx "$s" <<<"$out" || missing+="$s "
done
check "sections: NAME ... SEE ALSO${missing:+ (missing: $missing)}" '[[ -z $missing ]]'
check "NAME line" 'grep -q "hsdo-agent - keep HAProxy server-template slots in step with a fleet" <<<"$out"'

# Every option of --help, long and short.
help=$("$agent" --help)
opts=$(grep -oE -- '(^|[ ,])--?[a-zA-Z][-a-zA-Z]*' <<<"$help" | tr -d ' ,' | sort -u)
missing=""
for o in $opts; do grep -qE -- "(^|[^-a-zA-Z])$o([^-a-zA-Z]|$)" <<<"$out" || missing+="$o "; done
check "every option of --help is in the man page ($(wc -w <<<"$opts") options)${missing:+ (missing: $missing)}" '[[ -z $missing ]]'

# Keys it names are configuration keys (docs/configuration.md's table) or
# AWS variables (docs/aws.md).
keys=$(grep -oE '\*[A-Z][A-Z0-9_]{3,}\*' "$src/man/hsdo-agent.8.scd" | tr -d '*' | sort -u)
unknown=""
for k in $keys; do
	case $k in NOTIFY_SOCKET|WATCHDOG_USEC|WATCHDOG_PID|READY|STATUS|RELOADING|STOPPING|WATCHDOG|SIGHUP|SIGTERM|SIGINT|ACTIVE|CONFIGURATION|SYSTEMD) continue ;; esac
	# a setting, or one of the AWS variables docs/aws.md describes
	grep -q "^| \`$k\` |" "$src/docs/configuration.md" ||
		{ [[ $k == AWS_* ]] && grep -q "\`$k\`" "$src/docs/aws.md"; } || unknown+="$k "
done
check "every key it names is a configuration key${unknown:+ (unknown: $unknown)}" '[[ -z $unknown ]]'

# One search order: --help, the man page, docs/configuration.md.
order() { grep -oE -- '--config|\./conf/env\.yaml|installed' | awk '!seen[$0]++' | head -n3 | tr '\n' ' '; }
check "--help: --config, then ./conf/env.yaml, then the installed file" \
	'[[ $help == *"--config FILE   configuration file (default: ./conf/env.yaml, then"* ]]'
man_order=$(sed -n '/^CONFIGURATION$/,/^SIGNALS$/p' <<<"$out" | order)
check "the man page gives that order ($man_order)" '[[ $man_order == "--config ./conf/env.yaml installed " ]]'
doc_order=$(sed -n '/^## Where the agent finds its file/,/^## /p' "$src/docs/configuration.md" | order)
check "docs/configuration.md gives that order ($doc_order)" '[[ $doc_order == "--config ./conf/env.yaml installed " ]]'

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
