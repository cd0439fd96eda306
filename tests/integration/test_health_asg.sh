#!/usr/bin/env bash
# Fleet health's last resort against the EC2/Auto Scaling fixture (the Query
# protocol, SigV4 checked on every call): the server discovers four
# instances of an Auto Scaling group (SERVER_MODE=aws, a termination
# lifecycle hook), three real HAProxies with their clients see one of them
# fail, and with HEALTH_ASG_SET_UNHEALTHY an instance that stays bad past
# HEALTH_ASG_AFTER gets one SetInstanceHealth (Unhealthy,
# ShouldRespectGracePeriod=true), signed, with the right parameters; the
# group replaces it, and the server drains its slot, completes the hook
# and frees the slot.
source "$(dirname "$0")/lib/peers.sh"
source "$(dirname "$0")/lib/health.sh"
HEALTH_STORE=file

AKID=AKIDHSDOASG SECRET='asg/secret+KEY0123456789'
node "$SRC/tests/fixtures/aws_query_fixture.js" --port 0 --region us-east-1 \
	--creds "[{\"accessKeyId\":\"$AKID\",\"secretAccessKey\":\"$SECRET\"}]" >"$tmp/fixture.log" 2>&1 &
pids+=($!)
wait_log "$tmp/fixture.log" "LISTENING [0-9]+" || { ko "fixture did not start" "$tmp/fixture.log"; finish; exit 1; }
F=http://127.0.0.1:$(sed -nE 's/.*LISTENING ([0-9]+).*/\1/p' "$tmp/fixture.log" | head -1)
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_EC2=$F AWS_ENDPOINT_URL_AUTO_SCALING=$F
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB
calls() { curl -s "$F/__calls?action=$1"; }
ncalls() { node -e 'console.log(JSON.parse(process.argv[1]).length)' "$(calls "$1")"; }
metric() { curl -s "http://127.0.0.1:$2/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# Four instances on four loopback addresses, one port, as in an ASG.
HEALTH_BACKEND_PORT=$(free_port)
HEALTH_HOSTS=127.0.0.11,127.0.0.12,127.0.0.13,127.0.0.14
gi() { printf '{"id":"i-b%s","lifecycle":"InService","health":"Healthy","az":"us-east-1a"}' "$1"; }
ei() { printf '{"id":"i-b%s","state":"running","ip":"127.0.0.1%s","az":"us-east-1a"}' "$1" "$1"; }
curl -s -X POST -H 'Content-Type: application/json' --data "{\"groups\":[{\"name\":\"asg-web\",
	\"hooks\":[\"drain-hook\"],\"instances\":[$(gi 1),$(gi 2),$(gi 3),$(gi 4)]}],
	\"instances\":[$(ei 1),$(ei 2),$(ei 3),$(ei 4)]}" "$F/__state" >/dev/null
HEALTH_SOURCE_YAML="SERVER_MODE: aws
SERVER_ASG_NAMES: [asg-web]
SERVER_LIFECYCLE_HOOK_NAME: drain-hook
AWS_DEFAULT_REGION: us-east-1"
HEALTH_EJECT_TIME_S=2
health_all_up "HEALTH_ASG_SET_UNHEALTHY: true
HEALTH_ASG_AFTER: 3" || { finish; exit 1; }
ok "the aws source's four instances serve on three HAProxies"

s3=$(slot_of_b b3)
fail b3
if wait_long "ejected" 40 eval '[[ -n $(tslot "$s3" Ejected) ]]'; then ok "b3 failing: slot $s3 ejected"; else ko "no ejection" "$tmp/server.log"; fi
if [[ $(ncalls SetInstanceHealth) == 0 ]]; then ok "no SetInstanceHealth before HEALTH_ASG_AFTER"; else ko "called early: $(calls SetInstanceHealth)"; fi
if wait_long "asg" 60 eval '[[ $(ncalls SetInstanceHealth) -ge 1 ]]'; then
	ok "it stays bad past HEALTH_ASG_AFTER: SetInstanceHealth reaches Auto Scaling"; else ko "no SetInstanceHealth" "$tmp/server.log"; fi
c=$(calls SetInstanceHealth)
if node -e 'const c = JSON.parse(process.argv[1])[0];
	process.exit(c.service === "autoscaling" && c.status === 200 && c.params.InstanceId === "i-b3" &&
		c.params.HealthStatus === "Unhealthy" && c.params.ShouldRespectGracePeriod === "true" &&
		c.params.Version === "2011-01-01" ? 0 : 1)' "$c"; then
	ok "InstanceId i-b3, HealthStatus Unhealthy, ShouldRespectGracePeriod true"; else ko "params: $c"; fi
if grep -qE "instance i-b3: SetInstanceHealth Unhealthy sent \(failing for [0-9]+ s\); Auto Scaling replaces it" "$tmp/server.log"; then
	ok "the server logs it"; else ko "log" "$tmp/server.log"; fi
# The drain lasts SERVER_DRAIN_TIME (about a second here): on a loaded
# machine the table may be polled only after it, so the server's own line
# for the write that started it (after the SetInstanceHealth line) counts too.
drained_after_asg() {
	tslot_is "$s3" Draining true || awk '/SetInstanceHealth Unhealthy sent/ { s = 1 }
		s && /wrote 1 slot .*draining 1,/ { f = 1 } END { exit !f }' "$tmp/server.log"
}
if wait_long "draining" 30 drained_after_asg; then
	ok "the group replaces it: the slot drains (Terminating:Wait, Unhealthy)"; else ko "not draining: $(tslot "$s3" BackendServerStatus) $(tslot "$s3" Ejected)" "$tmp/server.log"; fi
if wait_long "hook" 30 eval '[[ $(ncalls CompleteLifecycleAction) -ge 1 ]]' && calls CompleteLifecycleAction | grep -q '"InstanceId":"i-b3"'; then
	ok "after SERVER_DRAIN_TIME the lifecycle hook is completed"; else ko "no hook completion" "$tmp/server.log"; fi
if wait_long "freed" 30 tslot_is "$s3" ServerName none; then ok "then the slot is freed"; else ko "not freed" "$tmp/server.log"; fi
sleep 2
if [[ $(ncalls SetInstanceHealth) == 1 ]]; then ok "SetInstanceHealth was sent once"; else ko "sent $(ncalls SetInstanceHealth) times"; fi
if [[ $(metric 'hsdo_health_asg_calls_total{result="ok"}' "$MP") == 1 ]]; then ok "hsdo_health_asg_calls_total{result=\"ok\"} 1"; else ko "asg metric"; fi
if [[ $(curl -s "$F/__stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).bad))') == 0 ]]; then
	ok "every EC2 and Auto Scaling call was signed correctly"; else ko "bad signatures: $(curl -s "$F/__stats")"; fi
if ! grep -q "$SECRET" "$tmp/server.log"; then ok "the secret never reaches the log"; else ko "secret in log"; fi
load 0
finish
