/* The table of AWS operations HSDO sends (see aws_ops.h). Adding a call
 * means adding its row here and its action to the policy of docs/iam/ of
 * every principal that sends it: check_aws_ops.c fails until both agree. */
#include <string.h>

#include "hsdo/aws_ops.h"

#define SERVER HSDO_AWS_PRINCIPAL_SERVER
#define CLIENT HSDO_AWS_PRINCIPAL_CLIENT
#define ADMIN  HSDO_AWS_PRINCIPAL_TABLE_ADMIN
#define SOURCE HSDO_AWS_PRINCIPAL_ROLE_SOURCE

static const struct hsdo_aws_op ops[] = {
	{ HSDO_CREDS_SVC_DYNAMODB, "DescribeTable", SERVER | CLIENT | ADMIN, HSDO_AWS_SCOPE_TABLE,
	  "check the table's key at start; wait for ACTIVE after CreateTable" },
	{ HSDO_CREDS_SVC_DYNAMODB, "GetItem", SERVER | CLIENT, HSDO_AWS_SCOPE_TABLE,
	  "read the control item (generation, lease)" },
	{ HSDO_CREDS_SVC_DYNAMODB, "Scan", SERVER | CLIENT, HSDO_AWS_SCOPE_TABLE,
	  "read the slot table" },
	{ HSDO_CREDS_SVC_DYNAMODB, "PutItem", SERVER, HSDO_AWS_SCOPE_TABLE,
	  "write a slot (fenced by the lease's epoch)" },
	{ HSDO_CREDS_SVC_DYNAMODB, "UpdateItem", SERVER, HSDO_AWS_SCOPE_TABLE,
	  "bump the generation; take and renew the writer lease" },
	{ HSDO_CREDS_SVC_DYNAMODB, "CreateTable", ADMIN, HSDO_AWS_SCOPE_TABLE,
	  "--create-table (development; production tables come from IaC)" },
	{ HSDO_CREDS_SVC_AUTO_SCALING, "DescribeAutoScalingGroups", SERVER, HSDO_AWS_SCOPE_ANY,
	  "SERVER_MODE=aws: the groups' instances and lifecycle states" },
	{ HSDO_CREDS_SVC_EC2, "DescribeInstances", SERVER, HSDO_AWS_SCOPE_ANY,
	  "SERVER_MODE=aws: the instances' private addresses" },
	{ HSDO_CREDS_SVC_AUTO_SCALING, "CompleteLifecycleAction", SERVER, HSDO_AWS_SCOPE_ASG,
	  "SERVER_LIFECYCLE_HOOK_NAME: let a drained instance terminate" },
	/* fleet health (docs/health.md): the reports, and the instances that stay bad */
	{ HSDO_CREDS_SVC_DYNAMODB, "PutItem", CLIENT, HSDO_AWS_SCOPE_HEALTH_TABLE,
	  "HEALTH_EJECT: publish this client's health report" },
	{ HSDO_CREDS_SVC_DYNAMODB, "Scan", SERVER, HSDO_AWS_SCOPE_HEALTH_TABLE,
	  "HEALTH_EJECT: read every client's health report" },
	{ HSDO_CREDS_SVC_DYNAMODB, "CreateTable", ADMIN, HSDO_AWS_SCOPE_HEALTH_TABLE,
	  "--create-table with HEALTH_EJECT: the health table" },
	{ HSDO_CREDS_SVC_DYNAMODB, "DescribeTable", ADMIN, HSDO_AWS_SCOPE_HEALTH_TABLE,
	  "wait for the health table to be ACTIVE" },
	{ HSDO_CREDS_SVC_DYNAMODB, "UpdateTimeToLive", ADMIN, HSDO_AWS_SCOPE_HEALTH_TABLE,
	  "TTL on Expires: DynamoDB deletes the reports of clients gone for good" },
	{ HSDO_CREDS_SVC_AUTO_SCALING, "SetInstanceHealth", SERVER, HSDO_AWS_SCOPE_ASG,
	  "HEALTH_ASG_SET_UNHEALTHY: an instance that stays ejected, Unhealthy" },
	{ HSDO_CREDS_SVC_STS, "AssumeRole", SOURCE, HSDO_AWS_SCOPE_ROLE,
	  "a profile's role_arn: the source identity assumes the HSDO role" },
	{ HSDO_CREDS_SVC_STS, "AssumeRoleWithWebIdentity", 0, HSDO_AWS_SCOPE_NONE,
	  "AWS_WEB_IDENTITY_TOKEN_FILE: unsigned; the role's trust policy decides" },
};

const struct hsdo_aws_op *hsdo_aws_ops(size_t *n)
{
	if (n != NULL)
		*n = sizeof(ops) / sizeof(ops[0]);
	return ops;
}

const struct hsdo_aws_op *hsdo_aws_ops_find(enum hsdo_creds_service svc, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].service == svc && strcmp(ops[i].name, name) == 0)
			return &ops[i];
	return NULL;
}

bool hsdo_aws_ops_allowed(unsigned principals, enum hsdo_creds_service svc, const char *name)
{
	size_t i;

	if (principals == 0)
		return true;
	for (i = 0; name != NULL && i < sizeof(ops) / sizeof(ops[0]); i++)
		if (ops[i].service == svc && strcmp(ops[i].name, name) == 0 &&
		    (ops[i].principals & principals) != 0)
			return true;
	return false;
}

const char *hsdo_aws_principal_str(enum hsdo_aws_principal p)
{
	switch (p) {
	case HSDO_AWS_PRINCIPAL_SERVER: return "server";
	case HSDO_AWS_PRINCIPAL_CLIENT: return "client";
	case HSDO_AWS_PRINCIPAL_TABLE_ADMIN: return "table-admin";
	case HSDO_AWS_PRINCIPAL_ROLE_SOURCE: return "role-source";
	default: return "unknown";
	}
}

const char *hsdo_aws_scope_str(enum hsdo_aws_scope s)
{
	static const char *const names[HSDO_AWS_SCOPE_COUNT] = {
		[HSDO_AWS_SCOPE_TABLE] = "table", [HSDO_AWS_SCOPE_HEALTH_TABLE] = "health table",
		[HSDO_AWS_SCOPE_ASG] = "asg",
		[HSDO_AWS_SCOPE_ROLE] = "role", [HSDO_AWS_SCOPE_ANY] = "*",
		[HSDO_AWS_SCOPE_NONE] = "none",
	};

	if ((unsigned)s >= HSDO_AWS_SCOPE_COUNT)
		return "unknown";
	return names[s];
}

const char *hsdo_aws_ops_iam_service(enum hsdo_creds_service svc)
{
	return hsdo_creds_service_str(svc);
}
