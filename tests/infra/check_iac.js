'use strict';
/* The infrastructure code against docs/iam/: the Terraform module
 * (deploy/terraform, parsed with @cdktf/hcl2json) and the CloudFormation
 * template (deploy/cloudformation/hsdo.json) must create the slot table
 * with the original's key schema (hash key BackendServerID, N), on-demand
 * billing and point-in-time recovery, the fleet health table (hash key
 * ClientId, S, TTL on Expires), and give the server and client roles
 * exactly the statements of docs/iam/hsdo-server.json and hsdo-client.json
 * (same Sids, actions, resources and conditions once each tool's
 * references are read back as the documents' placeholders). The template
 * is also checked for structure: known resource types, every Ref, GetAtt
 * and Condition pointing at something that exists.
 *
 *   node tests/infra/check_iac.js        (exit 0: "N checks passed")
 */
const fs = require('fs');
const path = require('path');
const assert = require('assert');

const root = path.join(__dirname, '..', '..');
const nm = path.join(__dirname, '..', 'node_modules');
const { parse } = require(path.join(nm, '@cdktf', 'hcl2json'));

let checks = 0;
function check(cond, msg) {
	assert.ok(cond, msg);
	checks++;
}
function same(a, b, msg) {
	assert.deepStrictEqual(a, b, msg);
	checks++;
}

const TABLE_ARN = 'arn:aws:dynamodb:REGION:ACCOUNT_ID:table/TABLE_NAME';
const HEALTH_ARN = 'arn:aws:dynamodb:REGION:ACCOUNT_ID:table/HEALTH_TABLE_NAME';
const ASG_ARN = 'arn:aws:autoscaling:REGION:ACCOUNT_ID:autoScalingGroup:*:autoScalingGroupName/ASG_NAME';

const list = (v) => (Array.isArray(v) ? v : [v]);

/* A statement as {sid, actions (sorted), resources (sorted), condition}. */
function norm(sid, actions, resources, condition) {
	return { sid, actions: list(actions).slice().sort(), resources: list(resources).slice().sort(),
		condition: condition || null };
}

function docStatements(file) {
	const doc = JSON.parse(fs.readFileSync(path.join(root, 'docs', 'iam', file), 'utf8'));
	return doc.Statement.map((s) => norm(s.Sid, s.Action, s.Resource,
		s.Condition ? JSON.stringify(s.Condition) : null)).sort((a, b) => a.sid.localeCompare(b.sid));
}

/* ---- Terraform ---------------------------------------------------------------- */

function tfString(s) {
	return s.replace(/\$\{aws_dynamodb_table\.slots\.arn\}/g, TABLE_ARN)
		.replace(/\$\{aws_dynamodb_table\.health\.arn\}/g, HEALTH_ARN)
		.replace(/\$\{data\.aws_partition\.current\.partition\}/g, 'aws')
		.replace(/\$\{data\.aws_region\.current\.name\}/g, 'REGION')
		.replace(/\$\{data\.aws_caller_identity\.current\.account_id\}/g, 'ACCOUNT_ID')
		.replace(/\$\{name\}/g, 'ASG_NAME');
}

/* resources: a list, or a "${[for name in var.asg_names : "ARN"]}" expression. */
function tfResources(r) {
	if (Array.isArray(r))
		return r.map(tfString);
	const m = /for name in var\.asg_names :\s*"(.*)"\s*\]\}$/s.exec(r);
	check(m !== null, `terraform: resources expression ${r} is not a for over var.asg_names`);
	return [tfString(m[1])];
}

function tfStatement(s) {
	let cond = null;
	if (s.condition) {
		check(s.condition.length === 1, 'terraform: one condition');
		const c = s.condition[0];
		cond = JSON.stringify({ [c.test]: { [c.variable]: tfString(c.values[0]) } });
		check(c.values.length === 1, 'terraform: one condition value');
	}
	return norm(s.sid, s.actions, tfResources(s.resources), cond);
}

function tfPolicy(tf, name) {
	const d = tf.data.aws_iam_policy_document[name][0];
	const st = (d.statement || []).map(tfStatement);
	for (const dyn of (d.dynamic && d.dynamic.statement) || []) {
		check(/length\(var\.asg_names\) > 0/.test(dyn.for_each),
			'terraform: the group statements exist only with groups');
		st.push(tfStatement(dyn.content[0]));
	}
	return st.sort((a, b) => a.sid.localeCompare(b.sid));
}

async function terraform() {
	const dir = path.join(root, 'deploy', 'terraform');
	const tf = { data: {}, resource: {}, variable: {}, output: {} };
	for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.tf'))) {
		const j = await parse(f, fs.readFileSync(path.join(dir, f), 'utf8'));
		for (const k of Object.keys(j)) {
			if (k === 'terraform')
				continue;
			for (const [type, v] of Object.entries(j[k]))
				tf[k][type] = Object.assign(tf[k][type] || {}, v);
		}
	}
	const t = tf.resource.aws_dynamodb_table.slots[0];
	same(t.billing_mode, 'PAY_PER_REQUEST', 'terraform: on-demand billing');
	same(t.hash_key, 'BackendServerID', 'terraform: hash key');
	check(t.range_key === undefined, 'terraform: no range key');
	same(t.attribute, [{ name: 'BackendServerID', type: 'N' }], 'terraform: the key is a number');
	same(t.point_in_time_recovery, [{ enabled: true }], 'terraform: point-in-time recovery');
	same(t.name, '${var.table_name}', 'terraform: table name from var.table_name');

	const h = tf.resource.aws_dynamodb_table.health[0];
	same(h.billing_mode, 'PAY_PER_REQUEST', 'terraform: health table on demand');
	same(h.hash_key, 'ClientId', 'terraform: health table hash key');
	same(h.attribute, [{ name: 'ClientId', type: 'S' }], 'terraform: the health key is a string');
	same(h.ttl, [{ attribute_name: 'Expires', enabled: true }], 'terraform: TTL on Expires');

	same(tfPolicy(tf, 'server'), docStatements('hsdo-server.json'), 'terraform: the server policy');
	same(tfPolicy(tf, 'client'), docStatements('hsdo-client.json'), 'terraform: the client policy');
	for (const role of ['server', 'client']) {
		const r = tf.resource.aws_iam_role[role][0];
		same(r.assume_role_policy, '${data.aws_iam_policy_document.ec2_trust.json}',
			`terraform: ${role} role trusts EC2`);
		const p = tf.resource.aws_iam_role_policy[role][0];
		same(p.policy, `\${data.aws_iam_policy_document.${role}.json}`,
			`terraform: ${role} role gets the ${role} policy`);
		same(p.role, `\${aws_iam_role.${role}.id}`, `terraform: ${role} policy on its role`);
		same(tf.resource.aws_iam_instance_profile[role][0].role, `\${aws_iam_role.${role}.name}`,
			`terraform: ${role} instance profile`);
	}
	const trust = tf.data.aws_iam_policy_document.ec2_trust[0].statement;
	same(trust.map((s) => [s.actions, s.principals]), [[['sts:AssumeRole'],
		[{ type: 'Service', identifiers: ['ec2.amazonaws.com'] }]]], 'terraform: EC2 trust');
	/* nothing else grants anything */
	same(Object.keys(tf.resource).sort(), ['aws_dynamodb_table', 'aws_iam_instance_profile',
		'aws_iam_role', 'aws_iam_role_policy'], 'terraform: resource types');
	same(Object.keys(tf.data.aws_iam_policy_document).sort(), ['client', 'ec2_trust', 'server'],
		'terraform: policy documents');
}

/* ---- CloudFormation ---------------------------------------------------------------- */

const CFN_TYPES = new Set(['AWS::DynamoDB::Table', 'AWS::IAM::Role', 'AWS::IAM::RolePolicy',
	'AWS::IAM::InstanceProfile']);
const PSEUDO = new Set(['AWS::Region', 'AWS::AccountId', 'AWS::Partition', 'AWS::StackName',
	'AWS::URLSuffix', 'AWS::NoValue']);

function cfnValue(v) {
	if (typeof v === 'string')
		return v;
	if (v['Fn::GetAtt'] && v['Fn::GetAtt'][0] === 'SlotTable' && v['Fn::GetAtt'][1] === 'Arn')
		return TABLE_ARN;
	if (v['Fn::GetAtt'] && v['Fn::GetAtt'][0] === 'HealthTable' && v['Fn::GetAtt'][1] === 'Arn')
		return HEALTH_ARN;
	if (v.Ref === 'AWS::Region')
		return 'REGION';
	if (typeof v['Fn::Sub'] === 'string')
		return v['Fn::Sub'].replace('${AWS::Partition}', 'aws').replace('${AWS::Region}', 'REGION')
			.replace('${AWS::AccountId}', 'ACCOUNT_ID').replace('${Group}', 'ASG_NAME');
	throw new Error(`cloudformation: cannot read ${JSON.stringify(v)}`);
}

function cfnStatement(s) {
	let cond = null;
	if (s.Condition) {
		const out = {};
		for (const [op, kv] of Object.entries(s.Condition)) {
			out[op] = {};
			for (const [k, v] of Object.entries(kv))
				out[op][k] = cfnValue(v);
		}
		cond = JSON.stringify(out);
	}
	check(s.Effect === 'Allow', 'cloudformation: Allow only');
	return norm(s.Sid, s.Action, list(s.Resource).map(cfnValue), cond);
}

/* Every Ref, GetAtt and Condition names something of the template. */
function refsResolve(node, names, where) {
	if (Array.isArray(node)) {
		node.forEach((n, i) => refsResolve(n, names, `${where}[${i}]`));
		return;
	}
	if (node === null || typeof node !== 'object')
		return;
	for (const [k, v] of Object.entries(node)) {
		if (k === 'Ref')
			check(names.has(v) || PSEUDO.has(v), `cloudformation: ${where}: Ref ${v} names nothing`);
		else if (k === 'Fn::GetAtt')
			check(names.has(v[0]), `cloudformation: ${where}: GetAtt ${v[0]} names nothing`);
		else if (k === 'Fn::Sub' && typeof v === 'string')
			for (const m of v.matchAll(/\$\{([^}!]+)\}/g))
				check(names.has(m[1]) || PSEUDO.has(m[1]) || m[1] === 'Group',
					`cloudformation: ${where}: Sub \${${m[1]}} names nothing`);
		refsResolve(v, names, `${where}.${k}`);
	}
}

function cloudformation() {
	const t = JSON.parse(fs.readFileSync(path.join(root, 'deploy', 'cloudformation', 'hsdo.json'),
		'utf8'));
	same(t.AWSTemplateFormatVersion, '2010-09-09', 'cloudformation: format version');
	const res = {};
	let forEach = null;
	for (const [id, r] of Object.entries(t.Resources)) {
		if (id.startsWith('Fn::ForEach::')) {
			forEach = r;
			continue;
		}
		res[id] = r;
		check(CFN_TYPES.has(r.Type), `cloudformation: ${id}: type ${r.Type}`);
	}
	check(t.Transform === 'AWS::LanguageExtensions' && forEach !== null,
		'cloudformation: one policy per group through Fn::ForEach');
	const names = new Set([...Object.keys(res), ...Object.keys(t.Parameters || {})]);
	refsResolve(t.Resources, names, 'Resources');
	refsResolve(t.Outputs, names, 'Outputs');
	for (const [id, r] of Object.entries(res))
		if (r.Condition)
			check(t.Conditions[r.Condition] !== undefined, `cloudformation: ${id}: condition`);

	const p = res.SlotTable.Properties;
	same(p.BillingMode, 'PAY_PER_REQUEST', 'cloudformation: on-demand billing');
	same(p.KeySchema, [{ AttributeName: 'BackendServerID', KeyType: 'HASH' }],
		'cloudformation: hash key');
	same(p.AttributeDefinitions, [{ AttributeName: 'BackendServerID', AttributeType: 'N' }],
		'cloudformation: the key is a number');
	same(p.PointInTimeRecoverySpecification, { PointInTimeRecoveryEnabled: true },
		'cloudformation: point-in-time recovery');
	same(res.SlotTable.DeletionPolicy, 'Retain', 'cloudformation: the table outlives the stack');
	const hp = res.HealthTable.Properties;
	same(hp.BillingMode, 'PAY_PER_REQUEST', 'cloudformation: health table on demand');
	same(hp.KeySchema, [{ AttributeName: 'ClientId', KeyType: 'HASH' }],
		'cloudformation: health table hash key');
	same(hp.AttributeDefinitions, [{ AttributeName: 'ClientId', AttributeType: 'S' }],
		'cloudformation: the health key is a string');
	same(hp.TimeToLiveSpecification, { AttributeName: 'Expires', Enabled: true },
		'cloudformation: TTL on Expires');

	const [loopVar, collection, body] = forEach;
	same([loopVar, collection], ['Group', { Ref: 'AsgNames' }], 'cloudformation: for each group');
	const hookPolicy = Object.values(body)[0];
	same(hookPolicy.Type, 'AWS::IAM::RolePolicy', 'cloudformation: a role policy per group');
	same(hookPolicy.Properties.RoleName, { Ref: 'ServerRole' }, 'cloudformation: on the server role');
	check(t.Conditions[hookPolicy.Condition] !== undefined, 'cloudformation: only with groups');

	const server = res.ServerRole.Properties.Policies[0].PolicyDocument.Statement
		.concat(hookPolicy.Properties.PolicyDocument.Statement).map(cfnStatement)
		.sort((a, b) => a.sid.localeCompare(b.sid));
	same(server, docStatements('hsdo-server.json'), 'cloudformation: the server policy');
	const client = res.ClientRole.Properties.Policies[0].PolicyDocument.Statement.map(cfnStatement)
		.sort((a, b) => a.sid.localeCompare(b.sid));
	same(client, docStatements('hsdo-client.json'), 'cloudformation: the client policy');
	for (const role of ['ServerRole', 'ClientRole']) {
		same(res[role].Properties.Policies.length, 1, `cloudformation: ${role}: one inline policy`);
		same(res[role].Properties.AssumeRolePolicyDocument.Statement, [{ Effect: 'Allow',
			Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' }],
			`cloudformation: ${role} trusts EC2`);
		check(res[role].Properties.ManagedPolicyArns === undefined,
			`cloudformation: ${role}: no managed policy`);
	}
	same(res.ServerInstanceProfile.Properties.Roles, [{ Ref: 'ServerRole' }],
		'cloudformation: server instance profile');
	same(res.ClientInstanceProfile.Properties.Roles, [{ Ref: 'ClientRole' }],
		'cloudformation: client instance profile');
}

terraform().then(() => {
	cloudformation();
	console.log(`${checks} checks passed`);
}).catch((e) => {
	console.error(`FAIL: ${e.message}`);
	process.exit(1);
});
