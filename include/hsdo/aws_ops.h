/* Every AWS operation HSDO can send, and which IAM principal sends it: the
 * one table the least-privilege policies of docs/iam/ are checked against
 * (tests/unit/check_aws_ops.c), and that the AWS client enforces for a
 * client made for one principal (hsdo_aws_options.principal): an
 * operation not granted to it is refused before anything is sent, so a
 * new call without a policy change fails where it is made. Pure. */
#ifndef HSDO_AWS_OPS_H
#define HSDO_AWS_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "hsdo/creds.h"

/* Who sends an operation, as a bit mask (0: anyone, no check). */
enum hsdo_aws_principal {
	HSDO_AWS_PRINCIPAL_SERVER = 1,        /* hsdo-agent --server: docs/iam/hsdo-server.json */
	HSDO_AWS_PRINCIPAL_CLIENT = 2,        /* hsdo-agent --client: docs/iam/hsdo-client.json */
	HSDO_AWS_PRINCIPAL_TABLE_ADMIN = 4,   /* --create-table: docs/iam/hsdo-create-table.json */
	HSDO_AWS_PRINCIPAL_ROLE_SOURCE = 8,   /* whoever assumes an HSDO role (a profile's
					       * source): docs/iam/hsdo-assume-role.json */
	HSDO_AWS_PRINCIPAL_ALL = 15
};

/* What an operation's policy statement may name as its Resource. */
enum hsdo_aws_scope {
	HSDO_AWS_SCOPE_TABLE = 0,    /* the slot table's ARN */
	HSDO_AWS_SCOPE_HEALTH_TABLE, /* the health table's ARN (docs/health.md) */
	HSDO_AWS_SCOPE_ASG,          /* the Auto Scaling groups' ARNs */
	HSDO_AWS_SCOPE_ROLE,         /* the HSDO role's ARN */
	HSDO_AWS_SCOPE_ANY,          /* "*": AWS has no resource-level permission for it */
	HSDO_AWS_SCOPE_NONE,         /* no permission at all (the role's trust policy) */
	HSDO_AWS_SCOPE_COUNT
};

struct hsdo_aws_op {
	enum hsdo_creds_service service;
	const char *name;            /* "GetItem": the IAM action is "<service>:<name>" */
	unsigned principals;         /* enum hsdo_aws_principal bits */
	enum hsdo_aws_scope scope;
	const char *why;             /* what HSDO does with it */
};

/* The table, n rows. */
const struct hsdo_aws_op *hsdo_aws_ops(size_t *n);

/* The row of an operation, or NULL. An operation sent to two tables (the
 * slot table and the health table) has a row for each: this is the first. */
const struct hsdo_aws_op *hsdo_aws_ops_find(enum hsdo_creds_service svc, const char *name);

/* Whether a client for principals (a mask; 0: no check) may send it. */
bool hsdo_aws_ops_allowed(unsigned principals, enum hsdo_creds_service svc, const char *name);

/* "server", "client", "table-admin", "role-source" (one bit); "unknown". */
const char *hsdo_aws_principal_str(enum hsdo_aws_principal p);
const char *hsdo_aws_scope_str(enum hsdo_aws_scope s);

/* The IAM service prefix of svc: "dynamodb", "ec2", "autoscaling", "sts". */
const char *hsdo_aws_ops_iam_service(enum hsdo_creds_service svc);

#endif
