/* AWS Query-protocol calls for server mode, without an AWS SDK: form-encoded
 * request bodies and libxml2 parsers for EC2 Auto Scaling
 * DescribeAutoScalingGroups (awsQuery, 2011-01-01) and EC2 DescribeInstances
 * (ec2Query, 2016-11-15), and for both error shapes:
 *   EC2:   <Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/>
 *   Query: <ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>
 * Pure: bytes in, structs out; no I/O, clock or logging. Elements are matched
 * by local name (any namespace: live replies and the docs differ), unknown
 * elements are skipped, a DTD is refused, entities are never expanded, and a
 * value that does not fit its fixed field is an error, never truncated.
 * Samples: tests/data/aws-samples (SOURCES.md). */
#ifndef HSDO_AWS_QUERY_H
#define HSDO_AWS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "hsdo/creds.h"

#include "hsdo/slot.h"

/* Content-Type for the POST bodies built below. */
#define HSDO_AWS_QUERY_CONTENT_TYPE "application/x-www-form-urlencoded; charset=utf-8"

#define HSDO_ASG_NAMES_MAX      50u          /* names per DescribeAutoScalingGroups */
#define HSDO_ASG_MAX_RECORDS    100u         /* MaxRecords sent: the API maximum */
#define HSDO_EC2_IDS_MAX        1000u        /* ids per DescribeInstances */
#define HSDO_AWS_QUERY_DOC_MAX  (16u << 20)  /* largest response parsed */
#define HSDO_AWS_QUERY_GROUPS_MAX    1000u   /* groups in one reply */
#define HSDO_AWS_QUERY_INSTANCES_MAX 100000u /* instances in one reply */

#define HSDO_AWS_TOKEN_LEN   4096  /* NextToken, with NUL */
#define HSDO_AWS_REQID_LEN   128
#define HSDO_AWS_CODE_LEN    128
#define HSDO_AWS_TYPE_LEN    32
#define HSDO_AWS_MESSAGE_LEN 8192  /* UnauthorizedOperation messages are long */
#define HSDO_AWS_STATE_LEN   64    /* "Terminating:Wait", "running", "Healthy" */

/* ---- requests --------------------------------------------------------------- */

/* Body of DescribeAutoScalingGroups for names[0..n) (1..HSDO_ASG_NAMES_MAX;
 * none would list every group in the region) with MaxRecords=100 and
 * next_token (NULL or "" on the first page). Writes a NUL-terminated body
 * into out; returns its length, -HSDO_EINVAL or -HSDO_ETOOBIG. */
int hsdo_asg_describe_groups_body(const char *const *names, size_t n,
				  const char *next_token, char *out, size_t outlen,
				  char *err, size_t errlen);

/* Body of DescribeInstances for ids[0..n) (1..HSDO_EC2_IDS_MAX). An empty
 * list is -HSDO_EINVAL: EC2 would then describe every instance in the region.
 * Same output contract as hsdo_asg_describe_groups_body. */
int hsdo_ec2_describe_instances_body(const char *const *ids, size_t n,
				     const char *next_token, char *out, size_t outlen,
				     char *err, size_t errlen);

/* Body of CompleteLifecycleAction with LifecycleActionResult=CONTINUE for
 * instance id of group, held by lifecycle hook `hook`. Same output contract
 * as hsdo_asg_describe_groups_body; -HSDO_EINVAL for an empty or too long
 * group (< HSDO_GROUP_LEN), hook (<= 255) or id (<= 19). */
int hsdo_asg_complete_lifecycle_body(const char *group, const char *hook, const char *id,
				     char *out, size_t outlen, char *err, size_t errlen);

/* Body of SetInstanceHealth with HealthStatus=Unhealthy for instance id
 * (1..19 characters), ShouldRespectGracePeriod as given (fleet health:
 * docs/health.md). Same output contract as hsdo_asg_describe_groups_body. */
int hsdo_asg_set_instance_health_body(const char *id, bool respect_grace, char *out,
				      size_t outlen, char *err, size_t errlen);

/* ---- DescribeAutoScalingGroups ------------------------------------------------ */

struct hsdo_asg_instance {
	char id[HSDO_NAME_LEN];              /* InstanceId */
	char az[HSDO_AZ_LEN];                /* AvailabilityZone */
	char lifecycle[HSDO_AWS_STATE_LEN];  /* LifecycleState: "InService", ... */
	char health[HSDO_AWS_STATE_LEN];     /* HealthStatus: "Healthy", ... */
};

struct hsdo_asg_group {
	char name[HSDO_GROUP_LEN];           /* AutoScalingGroupName */
	struct hsdo_asg_instance *instances; /* owned by the enclosing result */
	size_t ninstances;
};

struct hsdo_asg_groups {
	struct hsdo_asg_group *groups;
	size_t n;
	char next_token[HSDO_AWS_TOKEN_LEN]; /* "" on the last page */
	char request_id[HSDO_AWS_REQID_LEN]; /* "" if absent */
};

/* Parse len bytes of a DescribeAutoScalingGroups reply into *out (caller
 * frees with hsdo_asg_groups_free). On failure *out is zeroed: -HSDO_EAWS
 * with "Code: Message" for an error document, -HSDO_EPROTO naming the
 * element at fault, -HSDO_ETOOBIG, -HSDO_ENOMEM. */
int hsdo_asg_parse_groups(const char *buf, size_t len, struct hsdo_asg_groups *out,
			  char *err, size_t errlen);

/* Free what hsdo_asg_parse_groups stored and zero *g; NULL is a no-op. */
void hsdo_asg_groups_free(struct hsdo_asg_groups *g);

/* ---- DescribeInstances ---------------------------------------------------------- */

struct hsdo_ec2_instance {
	char id[HSDO_NAME_LEN];              /* instanceId */
	char state[HSDO_AWS_STATE_LEN];      /* instanceState/name: "running", ... */
	char ip[HSDO_IP_LEN];                /* privateIpAddress; "" if none */
	char az[HSDO_AZ_LEN];                /* placement/availabilityZone; "" if none */
};

struct hsdo_ec2_instances {
	struct hsdo_ec2_instance *instances; /* every reservation's, in order */
	size_t n;
	char next_token[HSDO_AWS_TOKEN_LEN]; /* "" on the last page */
	char request_id[HSDO_AWS_REQID_LEN]; /* "" if absent */
};

/* Parse len bytes of a DescribeInstances reply into *out (caller frees with
 * hsdo_ec2_instances_free). Errors as for hsdo_asg_parse_groups; a present
 * privateIpAddress must be an IP literal. */
int hsdo_ec2_parse_instances(const char *buf, size_t len, struct hsdo_ec2_instances *out,
			     char *err, size_t errlen);

/* Free what hsdo_ec2_parse_instances stored and zero *r; NULL is a no-op. */
void hsdo_ec2_instances_free(struct hsdo_ec2_instances *r);

/* ---- STS (version 2011-06-15) ---------------------------------------------------- */

#define HSDO_STS_BODY_MAX        32768   /* a web identity token is up to 20,000 bytes */
#define HSDO_STS_TOKEN_MAX       20000
#define HSDO_STS_ROLE_ARN_MAX    2048
#define HSDO_STS_SESSION_MAX     64

/* Body of AssumeRole: RoleArn (20..2048 bytes), RoleSessionName (2..64 of
 * [A-Za-z0-9+=,.@_-]), ExternalId (NULL: none; 2..1224 printable) and
 * DurationSeconds (0: none; else 900..43200). Same output contract as
 * hsdo_asg_describe_groups_body; -HSDO_EINVAL naming the bad part. */
int hsdo_sts_assume_role_body(const char *role_arn, const char *session,
			      const char *external_id, int duration_s, char *out,
			      size_t outlen, char *err, size_t errlen);

/* Body of AssumeRoleWithWebIdentity (sent unsigned): role and session as
 * above, the token 4..HSDO_STS_TOKEN_MAX printable bytes (a secret: never
 * in err). */
int hsdo_sts_web_identity_body(const char *role_arn, const char *session, const char *token,
			       char *out, size_t outlen, char *err, size_t errlen);

/* The <Credentials> of an AssumeRoleResponse (web_identity false) or an
 * AssumeRoleWithWebIdentityResponse into *out (source "sts"; Expiration
 * required). An <ErrorResponse> is -HSDO_EAWS "Code: Message"; other
 * failures as hsdo_asg_parse_groups. The document's text is wiped before
 * it is freed; on failure *out owns nothing. */
int hsdo_sts_parse_credentials(const char *buf, size_t len, bool web_identity,
			       struct hsdo_creds *out, char *err, size_t errlen);

/* ---- errors ------------------------------------------------------------------------ */

struct hsdo_aws_query_error {
	char type[HSDO_AWS_TYPE_LEN];        /* "Sender"/"Receiver"; "" for EC2 */
	char code[HSDO_AWS_CODE_LEN];        /* "InvalidInstanceID.Malformed" */
	char message[HSDO_AWS_MESSAGE_LEN];  /* "" if absent */
	char request_id[HSDO_AWS_REQID_LEN]; /* RequestID / RequestId; "" if absent */
};

/* Parse an error document of either shape into *out: 0, -HSDO_ENOTFOUND for
 * well-formed XML of another kind, -HSDO_EPROTO (malformed, or no <Code>),
 * -HSDO_ETOOBIG. *out is zeroed on failure. */
int hsdo_aws_query_parse_error(const char *buf, size_t len,
			       struct hsdo_aws_query_error *out, char *err, size_t errlen);

/* -HSDO_EAWS with "Code: Message" in err when buf is an error document of
 * either shape; 0 when it is not one (or is not XML at all: the response
 * parser then says why); -HSDO_EPROTO/-HSDO_ETOOBIG for a broken error. */
int hsdo_aws_query_check_error(const char *buf, size_t len, char *err, size_t errlen);

#endif
