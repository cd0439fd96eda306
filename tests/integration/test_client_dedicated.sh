#!/usr/bin/env bash
# Dedicated ASG through the agent, against a real HAProxy: instances of
# CLIENT_ASG_NAMES go to the primary backend, the others to the fallback;
# a slot that moves or is freed is put in maint in the backend it left (the
# original left it in rotation there); CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND
# puts the primaries in the fallback too; use_backend spills to the fallback
# when the primary has no server.
source "$(dirname "$0")/lib/peers.sh"

FE_PORT=$(free_port) PA=$(free_port) PB=$(free_port) PC=$(free_port)
hap_cfg "frontend fe
    bind 127.0.0.1:$FE_PORT
    use_backend be_fallback if { nbsrv(be_primary) lt 1 }
    default_backend be_primary
backend be_primary
    balance roundrobin
    server-template web 1-3 127.0.0.2:80 disabled
backend be_fallback
    balance roundrobin
    server-template fb 1-3 127.0.0.2:80 disabled" A B C
write_env() {
	cat >"$tmp/env.yaml" <<YAML
INTERVAL: 0.2
STORE: file
STORE_FILE_PATH: $tmp/slots.json
CLIENT_HAPROXY_SOCKET_PATH: $tmp/admin.sock
CLIENT_HAPROXY_BACKEND_LIST:
  be_primary: { baseName: web, serverPort: 80 }
CLIENT_DEDICATED_ASG: true
CLIENT_ASG_NAMES: asg-local
CLIENT_HAPROXY_FALLBACK_BACKEND_NAME: be_fallback
CLIENT_HAPROXY_FALLBACK_BACKEND_BASE_NAME: fb
CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND: $1
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 3
YAML
}
hap_start "$tmp/haproxy.cfg" || ko "haproxy starts" "$tmp/haproxy.log"
once() { "$AGENT" -c --once -f "$tmp/env.yaml" >"$tmp/once.log" 2>&1; }

# A and B are local (primary), C is in another ASG (fallback only).
write_env false
table 1 "1,active,127.0.0.1,$PA,10,asg-local" "2,active,127.0.0.1,$PB,10,asg-local" "3,active,127.0.0.1,$PC,10,asg-remote"
once && ok "--once converges" || ko "--once converges" "$tmp/once.log"
! in_maint be_primary web1 && ! in_maint be_primary web2 && in_maint be_primary web3 \
	&& ok "primary holds the local ASG's slots 1, 2; slot 3 in maint there" || ko "primary holds slots 1, 2 only"
in_maint be_fallback fb1 && in_maint be_fallback fb2 && ! in_maint be_fallback fb3 \
	&& ok "fallback holds only the other ASG's slot 3" || ko "fallback holds only slot 3"
h=$(hits 10)
[[ $h == "A=5 B=5 C=0 503=0" ]] && ok "traffic stays on the primary ($h)" || ko "traffic stays on the primary ($h)"

# Slot 2 moves to the other ASG: maint in the primary, ready in the fallback.
table 2 "1,active,127.0.0.1,$PA,10,asg-local" "2,active,127.0.0.1,$PB,10,asg-remote" "3,active,127.0.0.1,$PC,10,asg-remote"
once && in_maint be_primary web2 && ! in_maint be_fallback fb2 \
	&& ok "a slot moving ASG leaves the primary (maint there) for the fallback" \
	|| ko "a slot moving ASG leaves the primary" "$tmp/once.log"
h=$(hits 10)
[[ $h == "A=10 B=0 C=0 503=0" ]] && ok "only the local server gets traffic ($h)" || ko "only the local server gets traffic ($h)"

# The last local server is freed: maint in the primary (the original bug
# left it ready there), and use_backend spills to the fallback.
table 3 "1,free" "2,active,127.0.0.1,$PB,10,asg-remote" "3,active,127.0.0.1,$PC,10,asg-remote"
once && in_maint be_primary web1 && ok "a freed local slot goes to maint in the primary" \
	|| ko "a freed local slot goes to maint in the primary" "$tmp/once.log"
h=$(hits 10)
[[ $h == "A=0 B=5 C=5 503=0" ]] && ok "empty primary: traffic spills to the fallback ($h)" \
	|| ko "empty primary: traffic spills to the fallback ($h)"

# All servers in the fallback too.
write_env true
table 4 "1,active,127.0.0.1,$PA,10,asg-local" "2,active,127.0.0.1,$PB,10,asg-remote" "3,active,127.0.0.1,$PC,10,asg-remote"
once && ! in_maint be_primary web1 && ! in_maint be_fallback fb1 && ! in_maint be_fallback fb2 \
	&& ! in_maint be_fallback fb3 && in_maint be_primary web2 \
	&& ok "all-in-fallback: the local server is in both backends" || ko "all-in-fallback" "$tmp/once.log"
[[ $(srv srv_port be_fallback fb1) == "$PA" ]] && ok "fallback slot 1 points at the local server" \
	|| ko "fallback slot 1 points at the local server"
h=$(hits 10)
[[ $h == "A=10 B=0 C=0 503=0" ]] && ok "with a local server, traffic stays local ($h)" || ko "traffic stays local ($h)"
finish
