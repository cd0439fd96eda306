#!/usr/bin/env bash
# hsdo-agent --server with SERVER_MODE=aws against the EC2 + Auto Scaling
# fixture (tests/fixtures/aws_query_fixture.js: the Query protocol, XML in
# the shapes of the AWS samples, SigV4 verified on every call), event-driven
# transport, file store: only InService+Healthy+running instances are added,
# Pending ones wait, pagination, a Terminating:Wait instance drains and then
# the lifecycle hook is completed (once, with the right parameters),
# throttling is retried, and an access error writes nothing.
source "$(dirname "$0")/lib/peers.sh"
root=${HSDO_SOURCE_DIR:?}
command -v node >/dev/null || { echo "FAIL - node is not installed (./scripts/deps)"; exit 1; }

AKID=AKIDHSDOAWS SECRET='aws/it+secret0123456789'
node "$root/tests/fixtures/aws_query_fixture.js" --port 0 --region us-east-1 \
	--creds "[{\"accessKeyId\":\"$AKID\",\"secretAccessKey\":\"$SECRET\"}]" >"$tmp/fixture.log" 2>&1 &
pids+=($!)
wait_log "$tmp/fixture.log" "LISTENING [0-9]+" || { ko "fixture did not start" "$tmp/fixture.log"; finish; exit 1; }
FP=$(sed -nE 's/.*LISTENING ([0-9]+).*/\1/p' "$tmp/fixture.log" | head -1)
F=http://127.0.0.1:$FP
export AWS_ACCESS_KEY_ID=$AKID AWS_SECRET_ACCESS_KEY=$SECRET AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL_EC2=$F AWS_ENDPOINT_URL_AUTO_SCALING=$F
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_ENDPOINT_URL AWS_ENDPOINT_URL_DYNAMODB

# world 'JSON': replace the fixture's groups and instances.
world() { curl -s -X POST -H 'Content-Type: application/json' --data "$1" "$F/__state" >/dev/null; }
calls() { curl -s "$F/__calls?action=$1"; }
ncalls() { node -e 'console.log(JSON.parse(process.argv[1]).length)' "$(calls "$1")"; }
metric() { curl -s "http://127.0.0.1:$MP/metrics" | awk -v m="$1" '$1 == m { print $2 }'; }

# ASG instance "id lifecycle health" and EC2 instance "id state ip".
gi() { printf '{"id":"%s","lifecycle":"%s","health":"%s","az":"us-east-1a"}' "$1" "$2" "$3"; }
ei() { printf '{"id":"%s","state":"%s","ip":"%s","az":"us-east-1a"}' "$1" "$2" "$3"; }

world "{\"asgPageSize\":1,\"ec2PageSize\":1,
  \"groups\":[{\"name\":\"asg-web\",\"hooks\":[\"drain-hook\"],\"instances\":[$(gi i-0001 InService Healthy),$(gi i-0002 InService Healthy),$(gi i-0003 Pending Healthy)]},
              {\"name\":\"asg-web-2\",\"hooks\":[],\"instances\":[$(gi i-0004 InService Unhealthy)]}],
  \"instances\":[$(ei i-0001 running 10.0.0.1),$(ei i-0002 running 10.0.0.2),$(ei i-0003 pending 10.0.0.3),$(ei i-0004 running 10.0.0.4)]}"

MP=$(free_port)
cat >"$tmp/env.yaml" <<YAML
INTERVAL: 0.3
STORE: file
STORE_FILE_PATH: $tmp/slots.json
SERVER_MODE: aws
SERVER_ASG_NAMES: [asg-web, asg-web-2]
SERVER_LIFECYCLE_HOOK_NAME: drain-hook
AWS_DEFAULT_REGION: us-east-1
HAPROXY_BACKEND_SERVERS_LIST_SIZE: 5
SERVER_HAPROXY_BACKEND_SERVER_MIN_WEIGHT: 10
SERVER_HAPROXY_BACKEND_SERVER_MAX_WEIGHT: 10
SERVER_DRAIN_TIME: 1.5
SERVER_LEASE_TTL: 0
EXPORTER_PORT: $MP
YAML
"$AGENT" --server -f "$tmp/env.yaml" >"$tmp/server.log" 2>&1 &
pids+=($!)

if wait_for "placed" slot_is 2 ServerName i-0002; then ok "InService+Healthy+running instances get slots"; else ko "first list" "$tmp/server.log" "$tmp/fixture.log"; fi
if [[ $(slot 1 ServerName) == i-0001 && $(slot 1 IPAddress) == 10.0.0.1 && $(slot 1 ASG) == asg-web && $(slot 3 ServerName) == none ]]; then
	ok "Pending and Unhealthy instances are not added"; else ko "slots: $(slot 1 ServerName) $(slot 3 ServerName)"; fi
if (( $(ncalls DescribeAutoScalingGroups) >= 2 && $(ncalls DescribeInstances) >= 2 )) &&
	calls DescribeInstances | grep -q '"NextToken"' && ! calls DescribeInstances | grep -q '"params":{"Action":"DescribeInstances","Version":"2016-11-15"}'; then
	ok "groups and instances paged with NextToken; DescribeInstances always names ids"; else ko "pagination: $(calls DescribeInstances | head -c 600)"; fi
if [[ $(curl -s "$F/__stats" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).bad))') == 0 ]]; then
	ok "every EC2 and Auto Scaling call carried a valid SigV4 signature"; else ko "bad signatures: $(curl -s "$F/__stats")"; fi

# i-0003 becomes InService: added.
world "{\"asgPageSize\":1,\"ec2PageSize\":1,
  \"groups\":[{\"name\":\"asg-web\",\"hooks\":[\"drain-hook\"],\"instances\":[$(gi i-0001 InService Healthy),$(gi i-0002 InService Healthy),$(gi i-0003 InService Healthy)]},
              {\"name\":\"asg-web-2\",\"hooks\":[],\"instances\":[]}],
  \"instances\":[$(ei i-0001 running 10.0.0.1),$(ei i-0002 running 10.0.0.2),$(ei i-0003 running 10.0.0.3)]}"
if wait_for "scale out" slot_is 3 ServerName i-0003; then ok "scale-out: the new instance takes slot 3"; else ko "scale-out" "$tmp/server.log"; fi

# Scale-in: i-0001 held in Terminating:Wait by the hook.
world "{\"groups\":[{\"name\":\"asg-web\",\"hooks\":[\"drain-hook\"],\"instances\":[$(gi i-0001 Terminating:Wait Healthy),$(gi i-0002 InService Healthy),$(gi i-0003 InService Healthy)]},
              {\"name\":\"asg-web-2\",\"hooks\":[],\"instances\":[]}],
  \"instances\":[$(ei i-0001 running 10.0.0.1),$(ei i-0002 running 10.0.0.2),$(ei i-0003 running 10.0.0.3)]}"
if wait_for "drain" slot_is 1 Weight 0; then ok "Terminating:Wait: the slot drains (weight 0, address kept)"; else ko "drain" "$tmp/server.log"; fi
t0=$(date +%s.%N)
if [[ $(ncalls CompleteLifecycleAction) == 0 ]]; then ok "the hook is not completed before the drain time"; else ko "completed early: $(calls CompleteLifecycleAction)"; fi
if wait_for "hook" eval '[[ $(ncalls CompleteLifecycleAction) -ge 1 ]]'; then
	ok "after SERVER_DRAIN_TIME the server completes the lifecycle hook"; else ko "no CompleteLifecycleAction" "$tmp/server.log"; fi
c=$(calls CompleteLifecycleAction)
if node -e 'const c = JSON.parse(process.argv[1])[0].params;
	process.exit(c.AutoScalingGroupName === "asg-web" && c.LifecycleHookName === "drain-hook" &&
		c.InstanceId === "i-0001" && c.LifecycleActionResult === "CONTINUE" ? 0 : 1)' "$c"; then
	ok "CompleteLifecycleAction names the group, the hook, the instance, CONTINUE"; else ko "params: $c"; fi
sleep 1
if [[ $(ncalls CompleteLifecycleAction) == 1 ]]; then ok "completed once, not every cycle"; else ko "completed $(ncalls CompleteLifecycleAction) times"; fi
if wait_for "freed" slot_is 1 ServerName none; then ok "then the slot is freed"; else ko "free" "$tmp/server.log"; fi
if [[ $(metric 'hsdo_lifecycle_completions_total{result="ok"}') == 1 ]]; then ok "lifecycle completion counted"; else ko "lifecycle metric"; fi

# Throttling is retried; the list still succeeds.
curl -s -X POST -H 'Content-Type: application/json' \
	--data '{"action":"DescribeAutoScalingGroups","count":2,"status":400,"code":"Throttling","message":"Rate exceeded"}' "$F/__inject" >/dev/null
sleep 1.5
if [[ $(metric 'hsdo_aws_retries_total{service="autoscaling",operation="DescribeAutoScalingGroups"}') -ge 2 ]] && ! grep -q "source aws: .*Throttling" "$tmp/server.log"; then
	ok "throttling is retried with backoff, the list goes on"; else ko "throttling: $(metric 'hsdo_aws_retries_total{service="autoscaling",operation="DescribeAutoScalingGroups"}')" "$tmp/server.log"; fi

# A non-retryable error: logged with AWS's code, nothing written.
g1=$(gen)
world "{\"groups\":[{\"name\":\"asg-web\",\"hooks\":[],\"instances\":[]}], \"instances\":[]}"
curl -s -X POST -H 'Content-Type: application/json' \
	--data '{"action":"DescribeAutoScalingGroups","count":1000,"status":403,"code":"AccessDenied","message":"User is not authorized"}' "$F/__inject" >/dev/null
if wait_log "$tmp/server.log" "source aws: .*AccessDenied"; then ok "an access error is logged with AWS's code"; else ko "access error" "$tmp/server.log"; fi
sleep 1
g2=$(gen)
if [[ $g1 == "$g2" && $(slot 2 ServerName) == i-0002 ]]; then ok "a source error writes nothing"; else ko "generation $g1 -> $g2"; fi
if ! grep -q "$SECRET" "$tmp/server.log"; then ok "the secret key never reaches the log"; else ko "secret in log"; fi
finish
