#!/usr/bin/env bash
# monitoring/: the Prometheus alert rules pass `promtool check rules` and
# their unit tests (`promtool test rules`: each alert fires on the series it
# is about, with its labels and text, and not on a healthy fleet); every
# query of the Grafana dashboard is valid PromQL (promtool parses them as
# recording rules, the dashboard's variables substituted); every metric the
# rules and the dashboard name is one the agent exports (its family table,
# agent/agent_metrics.c); every runbook link leads to a heading of
# docs/troubleshooting.md.
set -u
src=${HSDO_SOURCE_DIR:?}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/hsdo-monitoring-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "FAIL - $1"; return 1; fi; }
command -v promtool >/dev/null || { echo "FAIL - promtool is missing (./scripts/deps: prometheus)"; exit 1; }
mon=$src/monitoring

out=$(promtool check rules "$mon/hsdo-alerts.yml" 2>&1)
check "promtool check rules hsdo-alerts.yml ($(grep -o '[0-9]* rules found' <<<"$out"))" '[[ $out == *SUCCESS* ]]' || echo "$out"
out=$(cd "$mon" && promtool test rules hsdo-alerts.test.yml 2>&1)
check "promtool test rules hsdo-alerts.test.yml" '[[ $out == *SUCCESS* ]]' || echo "$out"
tested=$(grep -oE 'alertname: [A-Za-z]+' "$mon/hsdo-alerts.test.yml" | sort -u | wc -l)
rules=$(grep -cE '^\s*- alert:' "$mon/hsdo-alerts.yml")
fired=$(grep -cE '^\s*- exp_labels:' "$mon/hsdo-alerts.test.yml")
check "every alert is unit-tested ($tested of $rules; $fired firing cases)" '[[ $tested -eq $rules ]]'

# The dashboard's queries as recording rules (JSON is YAML), and the names.
node - "$src" "$tmp" <<'JS' >"$tmp/node.log" 2>&1
const fs = require("fs");
const [src, tmp] = process.argv.slice(2);
const dash = JSON.parse(fs.readFileSync(`${src}/monitoring/grafana-dashboard.json`, "utf8"));
const alerts = fs.readFileSync(`${src}/monitoring/hsdo-alerts.yml`, "utf8");
const problems = [];
const subst = (e) => e.replace(/\$__rate_interval|\$__interval|\$__range/g, "5m")
	.replace(/\$job/g, "hsdo").replace(/\$instance/g, ".*");
const exprs = [];
const ids = new Set();
for (const p of dash.panels) {
	if (ids.has(p.id)) problems.push(`panel id ${p.id} twice`);
	ids.add(p.id);
	if (p.type === "row") continue;
	if (!p.datasource || p.datasource.uid !== "${datasource}")
		problems.push(`panel "${p.title}": datasource is not the \${datasource} variable`);
	if (!p.targets || p.targets.length === 0) problems.push(`panel "${p.title}": no query`);
	for (const t of p.targets || []) exprs.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
}
for (const v of dash.templating.list)
	if (v.type === "query") {
		const m = /^label_values\((.*),\s*\w+\)$/.exec(v.definition);
		if (!m) problems.push(`variable ${v.name}: not label_values(selector, label)`);
		else exprs.push({ where: `variable ${v.name}`, expr: m[1] });
	}
if (!dash.templating.list.some((v) => v.type === "datasource" && v.name === "datasource"))
	problems.push("no datasource variable");
const rules = { groups: [{ name: "dashboard", rules: exprs.map((x, i) => ({ record: `dashboard:q${i}`, expr: subst(x.expr) })) }] };
fs.writeFileSync(`${tmp}/dashboard-rules.yml`, JSON.stringify(rules, null, 1));
fs.writeFileSync(`${tmp}/dashboard-where.txt`, exprs.map((x, i) => `q${i}: ${x.where}`).join("\n") + "\n");

// The families the agent exports, from its table: counters get _total,
// histograms _bucket, _sum and _count.
const code = fs.readFileSync(`${src}/agent/agent_metrics.c`, "utf8");
const known = new Set(["up"]);
for (const m of code.matchAll(/\[M_\w+\] = \{ "(\w+)",[\s\S]*?HSDO_METRICS_(GAUGE|COUNTER|HISTOGRAM)/g)) {
	if (m[2] === "COUNTER") known.add(`${m[1]}_total`);
	else if (m[2] === "HISTOGRAM") ["_bucket", "_sum", "_count"].forEach((s) => known.add(m[1] + s));
	else known.add(m[1]);
}
if (known.size < 30) problems.push(`only ${known.size} families found in agent_metrics.c: has its table changed shape?`);
const used = new Map();
const note = (text, where) => {
	for (const m of text.matchAll(/\b((?:hsdo|process)_[a-z_]+)\b/g)) used.set(m[1], where);
};
exprs.forEach((x) => note(x.expr, x.where));
for (const m of alerts.matchAll(/expr:\s*\|?\s*([\s\S]*?)\n\s*(?:for|labels):/g)) note(m[1], "hsdo-alerts.yml");
for (const [name, where] of used)
	if (!known.has(name)) problems.push(`${where}: ${name} is not a metric the agent exports`);
console.log(`dashboard: ${dash.panels.filter((p) => p.type !== "row").length} panels, ${exprs.length} queries; metrics used: ${used.size}`);

// Runbook links: GitHub's heading anchors of docs/troubleshooting.md.
const doc = fs.readFileSync(`${src}/docs/troubleshooting.md`, "utf8");
const anchors = new Set([...doc.matchAll(/^#+ (.*)$/gm)].map((m) =>
	m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-")));
for (const m of alerts.matchAll(/runbook: "docs\/troubleshooting\.md#([^"]+)"/g))
	if (!anchors.has(m[1])) problems.push(`runbook anchor #${m[1]} is not a heading of docs/troubleshooting.md`);
if (!/runbook:/.test(alerts)) problems.push("no runbook links");
for (const p of problems) console.log(`PROBLEM ${p}`);
JS
rc=$?
check "the dashboard and the rules read ($(head -n1 "$tmp/node.log"))" '[[ $rc -eq 0 ]]' || cat "$tmp/node.log"
problems=$(grep '^PROBLEM ' "$tmp/node.log" | sed 's/^PROBLEM /  /')
check "panels use \${datasource}, names are exported metrics, runbooks resolve${problems:+:
$problems}" '[[ -z $problems ]]'
out=$(promtool check rules "$tmp/dashboard-rules.yml" 2>&1)
check "every dashboard query parses as PromQL ($(grep -o '[0-9]* rules found' <<<"$out"))" '[[ $out == *SUCCESS* ]]' ||
	{ echo "$out"; cat "$tmp/dashboard-where.txt"; }

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
