#!/usr/bin/env bash
# hsdo-agent --server with SERVER_MODE=consul against the Consul fixture
# (tests/fixtures/consul.js: /v1/health/service/<name>?passing, blocking
# queries with index and wait, ACL token): instances placed from the
# service address (or the node's), a change answered by the held query
# reaches the table at once, the ramp still advances while the query is
# held, a wrong token is an error that writes nothing, and the token never
# reaches the log.
source "$(dirname "$0")/lib/peers.sh"
root=${HSDO_SOURCE_DIR:?}
command -v node >/dev/null || { echo "FAIL - node is not installed (./scripts/deps)"; exit 1; }

TOKEN='c0ffee00-hsdo-test-token'
node "$root/tests/fixtures/consul.js" --port 0 --token "$TOKEN" >"$tmp/consul.log" 2>&1 &
pids+=($!)
wait_log "$tmp/consul.log" "LISTENING [0-9]+" || { ko "fixture did not start" "$tmp/consul.log"; finish; exit 1; }
CP=$(sed -nE 's/.*LISTENING ([0-9]+).*/\1/p' "$tmp/consul.log" | head -1)
C=http://127.0.0.1:$CP
service() { curl -s -X POST -H 'Content-Type: application/json' --data "$1" "$C/__service/web" >/dev/null; }

service '[{"node":"n1","address":"10.1.0.1","id":"web-1","serviceAddress":"10.0.0.1","port":8080,"status":"passing"},
          {"node":"n2","address":"10.1.0.2","id":"web-2","serviceAddress":"","port":8081,"status":"passing"},
          {"node":"n3","address":"10.1.0.3","id":"web-3","serviceAddress":"10.0.0.3","port":8082,"status":"critical"}]'
MP=$(free_port)
cat >"$tmp/env.yaml" <<YAML
INTERVAL: 0.3
STORE: file
STORE_FILE_PATH: $tmp/slots.json
SERVER_MODE: consul
SERVER_CONSUL_API_URL: $C
SERVER_CONSUL_SERVICE_NAME: web
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 4
SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 10
SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 30
SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT: 10
SERVER_HAPROXY_BACKEND_SERVER_INCREASE_WEIGHT_INTERVAL: 1
SERVER_DRAIN_TIME: 1
SERVER_LEASE_TTL: 0
EXPORTER_PORT: $MP
YAML
CONSUL_HTTP_TOKEN=$TOKEN "$AGENT" --server -f "$tmp/env.yaml" >"$tmp/server.log" 2>&1 &
pids+=($!)

if wait_for "placed" slot_is 2 Port 8081; then ok "passing instances get slots"; else ko "first list" "$tmp/server.log" "$tmp/consul.log"; fi
if [[ $(slot 1 IPAddress) == 10.0.0.1 && $(slot 1 Port) == 8080 && $(slot 2 IPAddress) == 10.1.0.2 && $(slot 1 ASG) == web && $(slot 3 ServerName) == none ]]; then
	ok "service address, else the node's; service port; critical instance left out"; else ko "slots: $(slot 1 IPAddress) $(slot 2 IPAddress) $(slot 3 ServerName)"; fi
if wait_for "held" eval 'curl -s "$C/__stats" | grep -q "\"waiting\":1"' && curl -s "$C/__requests" | grep -qE '"query":"\?passing&index=[0-9]+&wait=30s"'; then
	ok "the source holds a blocking query (index + wait)"; else ko "no blocking query: $(curl -s "$C/__requests" | head -c 400)"; fi
if wait_for "ramp" slot_is 1 Weight 30; then ok "the ramp advances while the query is held"; else ko "ramp: $(slot 1 Weight)" "$tmp/server.log"; fi

t0=$(date +%s%N)
service '[{"node":"n1","address":"10.1.0.1","id":"web-1","serviceAddress":"10.0.0.1","port":8080,"status":"passing"},
          {"node":"n2","address":"10.1.0.2","id":"web-2","serviceAddress":"","port":8081,"status":"passing"},
          {"node":"n3","address":"10.1.0.3","id":"web-3","serviceAddress":"10.0.0.3","port":8082,"status":"passing"}]'
if wait_for "web-3" slot_is 3 IPAddress 10.0.0.3; then
	ms=$(( ($(date +%s%N) - t0) / 1000000 ))
	ok "a change answers the held query and reaches the table (${ms} ms)"; else ko "change" "$tmp/server.log"; fi

curl -s -X POST -H 'Content-Type: application/json' --data '{"status":403,"body":"ACL not found"}' "$C/__fail/web" >/dev/null
service '[]'
if wait_log "$tmp/server.log" "source consul: .*403"; then ok "an ACL error is logged"; else ko "403" "$tmp/server.log"; fi
sleep 1
if [[ $(slot 1 ServerName) != none && $(slot 1 Weight) == 30 ]]; then ok "a source error writes nothing"; else ko "table changed: $(slot 1 ServerName) $(slot 1 Weight)"; fi
if ! grep -q "$TOKEN" "$tmp/server.log"; then ok "the Consul token never reaches the log"; else ko "token in log"; fi
if curl -s "$C/__requests" | grep -q '"token":"good"' && ! curl -s "$C/__requests" | grep -q '"token":"none"'; then
	ok "every query carried the token"; else ko "token: $(curl -s "$C/__requests" | head -c 300)"; fi
finish
