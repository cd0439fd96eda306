/* AWS Query protocol: request bodies byte for byte, the AWS docs and botocore
 * samples in tests/data/aws-samples (botocore ones compared with the JSON
 * botocore parses them into), pagination tokens, both error shapes, broken
 * documents (table, every prefix), bounds and allocation failures. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "hsdo/alloc.h"
#include "hsdo/aws_query.h"
#include "hsdo/err.h"
#include "hsdo_test.h"

#define ASG_DOCS "aws-samples/awsdocs/autoscaling-describe-auto-scaling-groups.xml"
#define EC2_DOCS "aws-samples/awsdocs/ec2-describe-instances-2016-11-15.xml"
#define BC "aws-samples/botocore/"

/* ---- request bodies ------------------------------------------------------------ */

static const char *const two_ids[] = { "i-1", "i-2" };
static const char *const odd[] = { "a b/c+d~e_f.g-h", "x=y&z:%\xc3\xa9" };

static const struct {
	int ec2;
	const char *const *v;
	size_t n;
	const char *token;
	const char *want;
} body_cases[] = {
	{ 1, two_ids, 2, NULL,
	  "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&InstanceId.2=i-2" },
	{ 1, two_ids, 1, "", "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1" },
	{ 1, two_ids, 1, "eyJ2IjoiMiJ9+/=",
	  "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=i-1&NextToken=eyJ2IjoiMiJ9%2B%2F%3D" },
	{ 1, odd, 2, NULL,
	  "Action=DescribeInstances&Version=2016-11-15&InstanceId.1=a%20b%2Fc%2Bd~e_f.g-h"
	  "&InstanceId.2=x%3Dy%26z%3A%25%C3%A9" },
	{ 0, two_ids, 2, NULL,
	  "Action=DescribeAutoScalingGroups&Version=2011-01-01&AutoScalingGroupNames.member.1=i-1"
	  "&AutoScalingGroupNames.member.2=i-2&MaxRecords=100" },
	{ 0, odd, 2, "tok en",
	  "Action=DescribeAutoScalingGroups&Version=2011-01-01"
	  "&AutoScalingGroupNames.member.1=a%20b%2Fc%2Bd~e_f.g-h"
	  "&AutoScalingGroupNames.member.2=x%3Dy%26z%3A%25%C3%A9&NextToken=tok%20en&MaxRecords=100" },
	/* botocore protocol tests: "2015-01-25T08:00:00Z" and "dmFsdWU=" */
	{ 0, (const char *const[]){ "2015-01-25T08:00:00Z", "dmFsdWU=" }, 2, NULL,
	  "Action=DescribeAutoScalingGroups&Version=2011-01-01"
	  "&AutoScalingGroupNames.member.1=2015-01-25T08%3A00%3A00Z"
	  "&AutoScalingGroupNames.member.2=dmFsdWU%3D&MaxRecords=100" },
};

static int body(int ec2, const char *const *v, size_t n, const char *token, char *out,
		size_t outlen, char *err, size_t errlen)
{
	return ec2 ? hsdo_ec2_describe_instances_body(v, n, token, out, outlen, err, errlen) :
		     hsdo_asg_describe_groups_body(v, n, token, out, outlen, err, errlen);
}

START_TEST(body_table)
{
	char out[1024], err[256] = "";
	const char *want = body_cases[_i].want;
	size_t wl = strlen(want), k;
	int rc = body(body_cases[_i].ec2, body_cases[_i].v, body_cases[_i].n, body_cases[_i].token,
		      out, sizeof(out), err, sizeof(err));

	ck_assert_msg(rc >= 0, "%s", err);
	ck_assert_str_eq(out, want);
	ck_assert_int_eq(rc, (int)wl);
	/* exactly wl + 1 bytes is enough; every smaller buffer is ETOOBIG */
	for (k = 1; k <= wl + 1; k++) {
		char *small = malloc(k);

		rc = body(body_cases[_i].ec2, body_cases[_i].v, body_cases[_i].n,
			  body_cases[_i].token, small, k, err, sizeof(err));
		if (k == wl + 1) {
			ck_assert_int_eq(rc, (int)wl);
			ck_assert_str_eq(small, want);
		} else {
			ck_assert_int_eq(rc, -HSDO_ETOOBIG);
			ck_assert_str_eq(small, "");
		}
		free(small);
	}
}
END_TEST

START_TEST(body_refusals)
{
	static char big[300], tok[HSDO_AWS_TOKEN_LEN + 1];
	const char *many[HSDO_EC2_IDS_MAX + 1];
	const char *bad[2] = { "i-1", NULL };
	char out[64], err[256];
	size_t i;
	int ec2;

	for (i = 0; i <= HSDO_EC2_IDS_MAX; i++)
		many[i] = "i-1";
	memset(big, 'a', sizeof(big) - 1);
	memset(tok, 't', sizeof(tok) - 1);
	for (ec2 = 0; ec2 <= 1; ec2++) {
		/* an empty list would describe the whole region */
		err[0] = '\0';
		ck_assert_int_eq(body(ec2, two_ids, 0, NULL, out, sizeof(out), err, sizeof(err)),
				 -HSDO_EINVAL);
		ck_assert_ptr_nonnull(strstr(err, "empty"));
		ck_assert_str_eq(out, "");
		ck_assert_int_eq(body(ec2, NULL, 0, NULL, out, sizeof(out), err, sizeof(err)),
				 -HSDO_EINVAL);
		ck_assert_int_eq(body(ec2, NULL, 1, NULL, out, sizeof(out), err, sizeof(err)),
				 -HSDO_EINVAL);
		ck_assert_int_eq(body(ec2, bad, 2, NULL, out, sizeof(out), err, sizeof(err)),
				 -HSDO_EINVAL);
		bad[1] = "";
		ck_assert_int_eq(body(ec2, bad, 2, NULL, out, sizeof(out), err, sizeof(err)),
				 -HSDO_EINVAL);
		bad[1] = big;
		ck_assert_int_eq(body(ec2, bad, 2, NULL, out, sizeof(out), err, sizeof(err)),
				 -HSDO_EINVAL);
		bad[1] = NULL;
		ck_assert_int_eq(body(ec2, two_ids, 1, tok, out, sizeof(out), err, sizeof(err)),
				 -HSDO_EINVAL);
		ck_assert_int_eq(body(ec2, two_ids, 1, NULL, NULL, 10, err, sizeof(err)),
				 -HSDO_EINVAL);
		ck_assert_int_eq(body(ec2, two_ids, 1, NULL, out, 0, err, sizeof(err)),
				 -HSDO_EINVAL);
	}
	/* batch limits: 50 names, 1000 ids */
	ck_assert_int_eq(hsdo_asg_describe_groups_body(many, HSDO_ASG_NAMES_MAX + 1, NULL, out,
						       sizeof(out), err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_ec2_describe_instances_body(many, HSDO_EC2_IDS_MAX + 1, NULL, out,
							  sizeof(out), err, sizeof(err)),
			 -HSDO_EINVAL);
	/* NULL err is fine */
	ck_assert_int_eq(hsdo_ec2_describe_instances_body(two_ids, 0, NULL, out, sizeof(out),
							  NULL, 0), -HSDO_EINVAL);
}
END_TEST

START_TEST(body_full_batches)
{
	const char *many[HSDO_EC2_IDS_MAX];
	char *out = malloc(1 << 16), err[256] = "", *p;
	size_t i;
	int rc;

	for (i = 0; i < HSDO_EC2_IDS_MAX; i++)
		many[i] = "i-0123456789abcdef0";
	rc = hsdo_ec2_describe_instances_body(many, HSDO_EC2_IDS_MAX, NULL, out, 1 << 16, err,
					      sizeof(err));
	ck_assert_msg(rc > 0, "%s", err);
	ck_assert_uint_eq(strlen(out), (size_t)rc);
	p = strstr(out, "&InstanceId.1000=i-0123456789abcdef0");
	ck_assert_ptr_nonnull(p);
	ck_assert_str_eq(p, "&InstanceId.1000=i-0123456789abcdef0");
	rc = hsdo_asg_describe_groups_body(many, HSDO_ASG_NAMES_MAX, "n", out, 1 << 16, err,
					   sizeof(err));
	ck_assert_msg(rc > 0, "%s", err);
	ck_assert_ptr_nonnull(strstr(out, "&AutoScalingGroupNames.member.50=i-0123456789abcdef0"
				      "&NextToken=n&MaxRecords=100"));
	ck_assert_ptr_null(strstr(out, ".member.51="));
	free(out);
}
END_TEST

/* ---- samples ---------------------------------------------------------------------- */

static cJSON *load_json(const char *rel)
{
	size_t len;
	char *s = hsdo_test_load_data(rel, &len);
	cJSON *j = cJSON_ParseWithLength(s, len);

	free(s);
	ck_assert_msg(j != NULL, "%s: bad JSON", rel);
	return j;
}

/* String member k of o, "" when absent (botocore omits empty optionals). */
static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

START_TEST(asg_awsdocs)
{
	struct hsdo_asg_groups g;
	char err[256] = "";
	size_t len;
	char *buf = hsdo_test_load_data(ASG_DOCS, &len);
	int rc = hsdo_asg_parse_groups(buf, len, &g, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(g.groups[0].name, "my-asg");
	ck_assert_uint_eq(g.groups[0].ninstances, 1);
	ck_assert_str_eq(g.groups[0].instances[0].id, "i-1234567890abcdef0");
	ck_assert_str_eq(g.groups[0].instances[0].az, "us-east-1c");
	ck_assert_str_eq(g.groups[0].instances[0].lifecycle, "InService");
	ck_assert_str_eq(g.groups[0].instances[0].health, "Healthy");
	ck_assert_str_eq(g.next_token, "");
	ck_assert_str_eq(g.request_id, "7c6e177f-f082-11e1-ac58-3714bEXAMPLE");
	ck_assert_int_eq(hsdo_aws_query_check_error(buf, len, err, sizeof(err)), 0);
	/* the wrong parser names the root it found */
	{
		struct hsdo_ec2_instances r;

		ck_assert_int_eq(hsdo_ec2_parse_instances(buf, len, &r, err, sizeof(err)),
				 -HSDO_EPROTO);
		ck_assert_str_eq(err, "root element <DescribeAutoScalingGroupsResponse>, "
				      "expected <DescribeInstancesResponse>");
		ck_assert_ptr_null(r.instances);
	}
	hsdo_asg_groups_free(&g);
	ck_assert_ptr_null(g.groups);
	hsdo_asg_groups_free(&g);
	hsdo_asg_groups_free(NULL);
	free(buf);
}
END_TEST

START_TEST(asg_botocore)
{
	struct hsdo_asg_groups g;
	char err[256] = "";
	size_t len;
	char *buf = hsdo_test_load_data(BC "responses_autoscaling-describe-auto-scaling-groups.xml",
					&len);
	cJSON *j = load_json(BC "responses_autoscaling-describe-auto-scaling-groups.json");
	int rc = hsdo_asg_parse_groups(buf, len, &g, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_int_eq((int)g.n, cJSON_GetArraySize(cJSON_GetObjectItem(j, "AutoScalingGroups")));
	ck_assert_uint_eq(g.n, 0);
	ck_assert_ptr_null(g.groups);
	ck_assert_str_eq(g.request_id, jstr(cJSON_GetObjectItem(j, "ResponseMetadata"), "RequestId"));
	ck_assert_str_eq(g.next_token, "");
	hsdo_asg_groups_free(&g);
	cJSON_Delete(j);
	free(buf);
}
END_TEST

START_TEST(ec2_awsdocs)
{
	struct hsdo_ec2_instances r;
	char err[256] = "";
	size_t len;
	char *buf = hsdo_test_load_data(EC2_DOCS, &len);
	int rc = hsdo_ec2_parse_instances(buf, len, &r, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s", err);
	ck_assert_uint_eq(r.n, 1);
	ck_assert_str_eq(r.instances[0].id, "i-1234567890abcdef0");
	ck_assert_str_eq(r.instances[0].state, "running");
	/* the instance's own address, not the ENI's copies deeper down */
	ck_assert_str_eq(r.instances[0].ip, "192.168.1.88");
	ck_assert_str_eq(r.instances[0].az, "eu-west-1c");
	ck_assert_str_eq(r.request_id, "8f7724cf-496f-496e-8fe3-example");
	ck_assert_str_eq(r.next_token, "");
	hsdo_ec2_instances_free(&r);
	hsdo_ec2_instances_free(&r);
	hsdo_ec2_instances_free(NULL);
	free(buf);
}
END_TEST

START_TEST(ec2_botocore)
{
	struct hsdo_ec2_instances r;
	char err[256] = "";
	size_t len, k = 0;
	char *buf = hsdo_test_load_data(BC "responses_ec2-describe-instances.xml", &len);
	cJSON *j = load_json(BC "responses_ec2-describe-instances.json"), *res, *in;
	int rc = hsdo_ec2_parse_instances(buf, len, &r, err, sizeof(err));

	ck_assert_msg(rc == 0, "%s", err);
	cJSON_ArrayForEach(res, cJSON_GetObjectItem(j, "Reservations")) {
		cJSON_ArrayForEach(in, cJSON_GetObjectItem(res, "Instances")) {
			ck_assert_uint_lt(k, r.n);
			ck_assert_str_eq(r.instances[k].id, jstr(in, "InstanceId"));
			ck_assert_str_eq(r.instances[k].state,
					 jstr(cJSON_GetObjectItem(in, "State"), "Name"));
			ck_assert_str_eq(r.instances[k].ip, jstr(in, "PrivateIpAddress"));
			ck_assert_str_eq(r.instances[k].az,
					 jstr(cJSON_GetObjectItem(in, "Placement"), "AvailabilityZone"));
			k++;
		}
	}
	ck_assert_uint_eq(k, 2);
	ck_assert_uint_eq(r.n, k);
	/* and the values read by eye: a stopped instance has no private IP */
	ck_assert_str_eq(r.instances[0].id, "i-fde9cece");
	ck_assert_str_eq(r.instances[0].state, "stopped");
	ck_assert_str_eq(r.instances[0].ip, "");
	ck_assert_str_eq(r.instances[1].ip, "10.253.17.74");
	ck_assert_str_eq(r.instances[1].az, "us-west-2b");
	ck_assert_str_eq(r.request_id, jstr(cJSON_GetObjectItem(j, "ResponseMetadata"), "RequestId"));
	hsdo_ec2_instances_free(&r);
	cJSON_Delete(j);
	free(buf);
}
END_TEST

/* Replies to other calls: both parsers refuse them by root, and they are
 * not error documents. */
static const struct {
	const char *rel;
	const char *root;
} other_samples[] = {
	{ BC "responses_autoscaling-describe-auto-scaling-instances.xml",
	  "DescribeAutoScalingInstancesResponse" },
	{ BC "responses_ec2-describe-instance-status.xml", "DescribeInstanceStatusResponse" },
};

START_TEST(other_calls_refused)
{
	struct hsdo_asg_groups g;
	struct hsdo_ec2_instances r;
	struct hsdo_aws_query_error e;
	char err[256], want[256];
	size_t len;
	char *buf = hsdo_test_load_data(other_samples[_i].rel, &len);

	snprintf(want, sizeof(want), "root element <%s>, expected <DescribeInstancesResponse>",
		 other_samples[_i].root);
	ck_assert_int_eq(hsdo_ec2_parse_instances(buf, len, &r, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_str_eq(err, want);
	snprintf(want, sizeof(want),
		 "root element <%s>, expected <DescribeAutoScalingGroupsResponse>",
		 other_samples[_i].root);
	ck_assert_int_eq(hsdo_asg_parse_groups(buf, len, &g, err, sizeof(err)), -HSDO_EPROTO);
	ck_assert_str_eq(err, want);
	ck_assert_int_eq(hsdo_aws_query_check_error(buf, len, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_aws_query_parse_error(buf, len, &e, err, sizeof(err)),
			 -HSDO_ENOTFOUND);
	free(buf);
}
END_TEST

/* ---- errors ---------------------------------------------------------------------------- */

static const struct {
	const char *xml;
	const char *json;
	const char *detail;
} error_samples[] = {
	{ BC "errors_ec2-describe-instances.xml", BC "errors_ec2-describe-instances.json",
	  "InvalidInstanceID.Malformed: Invalid id: \"foobar\"" },
	{ BC "errors_autoscaling-delete-policy.xml", BC "errors_autoscaling-delete-policy.json",
	  "ValidationError: The AutoScaling Group name is required when specifying a policy by "
	  "its name" },
};

START_TEST(error_shapes)
{
	struct hsdo_aws_query_error e;
	struct hsdo_asg_groups g;
	struct hsdo_ec2_instances r;
	char err[512] = "";
	size_t len;
	char *buf = hsdo_test_load_data(error_samples[_i].xml, &len);
	cJSON *j = load_json(error_samples[_i].json);
	const cJSON *je = cJSON_GetObjectItem(j, "Error");

	ck_assert_msg(hsdo_aws_query_parse_error(buf, len, &e, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(e.code, jstr(je, "Code"));
	ck_assert_str_eq(e.message, jstr(je, "Message"));
	ck_assert_str_eq(e.type, jstr(je, "Type"));
	ck_assert_str_eq(e.request_id, jstr(cJSON_GetObjectItem(j, "ResponseMetadata"), "RequestId"));
	ck_assert_str_ne(e.request_id, "");

	ck_assert_int_eq(hsdo_aws_query_check_error(buf, len, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_str_eq(err, error_samples[_i].detail);
	err[0] = '\0';
	ck_assert_int_eq(hsdo_asg_parse_groups(buf, len, &g, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_str_eq(err, error_samples[_i].detail);
	ck_assert_ptr_null(g.groups);
	err[0] = '\0';
	ck_assert_int_eq(hsdo_ec2_parse_instances(buf, len, &r, err, sizeof(err)), -HSDO_EAWS);
	ck_assert_str_eq(err, error_samples[_i].detail);
	cJSON_Delete(j);
	free(buf);
}
END_TEST

START_TEST(error_variants)
{
	struct hsdo_aws_query_error e;
	char err[256];
	const char *two = "<Response><Errors><Error><Code>First</Code><Message>a\nb</Message></Error>"
			  "<Error><Code>Second</Code></Error></Errors><RequestID>r</RequestID></Response>";
	const char *nomsg = "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>";
	const char *nocode = "<ErrorResponse><Error><Message>m</Message></Error></ErrorResponse>";
	const char *noerr = "<Response><Errors/></Response>";
	const char *noerrs = "<Response><RequestID>r</RequestID></Response>";

	ck_assert_int_eq(hsdo_aws_query_parse_error(two, strlen(two), &e, err, sizeof(err)), 0);
	ck_assert_str_eq(e.code, "First");
	ck_assert_str_eq(e.request_id, "r");
	/* control bytes do not reach the log line */
	ck_assert_int_eq(hsdo_aws_query_check_error(two, strlen(two), err, sizeof(err)), -HSDO_EAWS);
	ck_assert_str_eq(err, "First: a b");
	ck_assert_int_eq(hsdo_aws_query_check_error(nomsg, strlen(nomsg), err, sizeof(err)),
			 -HSDO_EAWS);
	ck_assert_str_eq(err, "Throttling");
	ck_assert_int_eq(hsdo_aws_query_check_error(nocode, strlen(nocode), err, sizeof(err)),
			 -HSDO_EPROTO);
	ck_assert_str_eq(err, "ErrorResponse/Error: missing <Code>");
	ck_assert_int_eq(hsdo_aws_query_parse_error(nocode, strlen(nocode), &e, err, sizeof(err)),
			 -HSDO_EPROTO);
	ck_assert_str_eq(e.message, "");
	ck_assert_int_eq(hsdo_aws_query_check_error(noerr, strlen(noerr), err, sizeof(err)),
			 -HSDO_EPROTO);
	ck_assert_str_eq(err, "Response/Errors: missing <Error>");
	ck_assert_int_eq(hsdo_aws_query_check_error(noerrs, strlen(noerrs), err, sizeof(err)),
			 -HSDO_EPROTO);
	ck_assert_str_eq(err, "Response: missing <Errors>");
	/* not XML: not an error document either; the parsers say why */
	ck_assert_int_eq(hsdo_aws_query_check_error("<html>", 6, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_aws_query_parse_error("<html>", 6, &e, err, sizeof(err)),
			 -HSDO_EPROTO);
	ck_assert_int_eq(hsdo_aws_query_parse_error("x", 1, NULL, err, sizeof(err)), -HSDO_EINVAL);
}
END_TEST

/* ---- pagination ------------------------------------------------------------------- */

START_TEST(pagination_tokens)
{
	struct hsdo_asg_groups g;
	struct hsdo_ec2_instances r;
	char err[256] = "";
	const char *asg = "<DescribeAutoScalingGroupsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"
			  "<DescribeAutoScalingGroupsResult><AutoScalingGroups>"
			  "<member><AutoScalingGroupName>a</AutoScalingGroupName></member>"
			  "<member><AutoScalingGroupName>b</AutoScalingGroupName><Instances/></member>"
			  "</AutoScalingGroups><NextToken>tok/+=1</NextToken>"
			  "</DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>";
	const char *ec2 = "<DescribeInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">"
			  "<reservationSet/><nextToken>AAEA&amp;x</nextToken></DescribeInstancesResponse>";
	const char *ec2_empty = "<DescribeInstancesResponse><reservationSet/><nextToken/>"
				"</DescribeInstancesResponse>";

	ck_assert_msg(hsdo_asg_parse_groups(asg, strlen(asg), &g, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(g.next_token, "tok/+=1");
	ck_assert_uint_eq(g.n, 2);
	ck_assert_str_eq(g.groups[1].name, "b");
	ck_assert_uint_eq(g.groups[0].ninstances, 0);
	ck_assert_uint_eq(g.groups[1].ninstances, 0);
	ck_assert_str_eq(g.request_id, "");
	hsdo_asg_groups_free(&g);
	ck_assert_msg(hsdo_ec2_parse_instances(ec2, strlen(ec2), &r, err, sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(r.next_token, "AAEA&x");
	ck_assert_uint_eq(r.n, 0);
	hsdo_ec2_instances_free(&r);
	ck_assert_msg(hsdo_ec2_parse_instances(ec2_empty, strlen(ec2_empty), &r, err,
					       sizeof(err)) == 0, "%s", err);
	ck_assert_str_eq(r.next_token, "");
	hsdo_ec2_instances_free(&r);
}
END_TEST

START_TEST(namespace_prefix_and_many)
{
	struct hsdo_asg_groups g;
	char err[256] = "";
	const char *doc = "<?xml version=\"1.0\"?><a:DescribeAutoScalingGroupsResponse "
			  "xmlns:a=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">"
			  "<a:DescribeAutoScalingGroupsResult><a:AutoScalingGroups><!-- c -->"
			  "<a:member><a:AutoScalingGroupName><![CDATA[web]]> 1</a:AutoScalingGroupName>"
			  "<a:Instances>"
			  "<a:member><a:InstanceId>i-1</a:InstanceId><a:AvailabilityZone>z1</a:AvailabilityZone>"
			  "<a:LifecycleState>Terminating:Wait</a:LifecycleState><a:HealthStatus>Unhealthy</a:HealthStatus></a:member>"
			  "<a:member><a:InstanceId>i-2</a:InstanceId><a:AvailabilityZone>z2</a:AvailabilityZone>"
			  "<a:LifecycleState>Standby</a:LifecycleState><a:HealthStatus>Healthy</a:HealthStatus></a:member>"
			  "</a:Instances></a:member></a:AutoScalingGroups></a:DescribeAutoScalingGroupsResult>"
			  "</a:DescribeAutoScalingGroupsResponse>";

	ck_assert_msg(hsdo_asg_parse_groups(doc, strlen(doc), &g, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(g.n, 1);
	ck_assert_str_eq(g.groups[0].name, "web 1");
	ck_assert_uint_eq(g.groups[0].ninstances, 2);
	ck_assert_str_eq(g.groups[0].instances[0].lifecycle, "Terminating:Wait");
	ck_assert_str_eq(g.groups[0].instances[0].health, "Unhealthy");
	ck_assert_str_eq(g.groups[0].instances[1].id, "i-2");
	ck_assert_str_eq(g.groups[0].instances[1].az, "z2");
	hsdo_asg_groups_free(&g);
}
END_TEST

/* ---- broken documents ------------------------------------------------------------- */

#define ASG_HEAD "<DescribeAutoScalingGroupsResponse><DescribeAutoScalingGroupsResult>"
#define ASG_TAIL "</DescribeAutoScalingGroupsResult></DescribeAutoScalingGroupsResponse>"
#define ASG_GRP(x) ASG_HEAD "<AutoScalingGroups><member><AutoScalingGroupName>g</AutoScalingGroupName>" \
	"<Instances><member>" x "</member></Instances></member></AutoScalingGroups>" ASG_TAIL
#define ASG_OK_FIELDS "<AvailabilityZone>z</AvailabilityZone><LifecycleState>InService</LifecycleState>" \
	"<HealthStatus>Healthy</HealthStatus>"
#define EC2_HEAD "<DescribeInstancesResponse><reservationSet><item><instancesSet><item>"
#define EC2_TAIL "</item></instancesSet></item></reservationSet></DescribeInstancesResponse>"
#define EC2_ST "<instanceState><name>running</name></instanceState>"
#define A33 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct {
	int ec2;
	const char *doc;
	int rc;
	const char *err; /* exact detail, or a prefix when it ends in '*' */
} bad_cases[] = {
	{ 0, "not xml", -HSDO_EPROTO, "XML line 1: *" },
	{ 1, "<DescribeInstancesResponse>", -HSDO_EPROTO, "XML line 1: *" },
	{ 1, "<DescribeInstancesResponse></DescribeInstancesResponsX>", -HSDO_EPROTO, "XML line 1: *" },
	{ 0, "", -HSDO_EPROTO, "empty document" },
	{ 0, "<Foo/>", -HSDO_EPROTO, "root element <Foo>, expected <DescribeAutoScalingGroupsResponse>" },
	{ 0, "<DescribeAutoScalingGroupsResponse/>", -HSDO_EPROTO,
	  "DescribeAutoScalingGroupsResponse: missing <DescribeAutoScalingGroupsResult>" },
	{ 0, ASG_HEAD ASG_TAIL, -HSDO_EPROTO,
	  "DescribeAutoScalingGroupsResult: missing <AutoScalingGroups>" },
	{ 0, ASG_HEAD "<AutoScalingGroups/><AutoScalingGroups/>" ASG_TAIL, -HSDO_EPROTO,
	  "DescribeAutoScalingGroupsResult: duplicate <AutoScalingGroups>" },
	{ 0, ASG_HEAD "<AutoScalingGroups><item/></AutoScalingGroups>" ASG_TAIL, -HSDO_EPROTO,
	  "DescribeAutoScalingGroupsResult/AutoScalingGroups: unexpected <item> (expected <member>)" },
	{ 0, ASG_HEAD "<AutoScalingGroups><member/></AutoScalingGroups>" ASG_TAIL, -HSDO_EPROTO,
	  "AutoScalingGroups/member[1]: missing <AutoScalingGroupName>" },
	{ 0, ASG_GRP(ASG_OK_FIELDS), -HSDO_EPROTO,
	  "AutoScalingGroups/member[1]/Instances/member[1]: missing <InstanceId>" },
	{ 0, ASG_GRP("<InstanceId/>" ASG_OK_FIELDS), -HSDO_EPROTO,
	  "AutoScalingGroups/member[1]/Instances/member[1]: empty <InstanceId>" },
	{ 0, ASG_GRP("<InstanceId>i-1</InstanceId><InstanceId>i-2</InstanceId>" ASG_OK_FIELDS),
	  -HSDO_EPROTO, "AutoScalingGroups/member[1]/Instances/member[1]: duplicate <InstanceId>" },
	{ 0, ASG_GRP("<InstanceId>i 1</InstanceId>" ASG_OK_FIELDS), -HSDO_EPROTO,
	  "AutoScalingGroups/member[1]/Instances/member[1]/InstanceId: byte 0x20 not allowed in an id" },
	{ 0, ASG_GRP("<InstanceId><b>i</b></InstanceId>" ASG_OK_FIELDS), -HSDO_EPROTO,
	  "AutoScalingGroups/member[1]/Instances/member[1]/InstanceId: unexpected element <b> in a value" },
	{ 0, ASG_GRP("<InstanceId>i-1</InstanceId><LifecycleState>InService</LifecycleState>"
		     "<AvailabilityZone>z</AvailabilityZone>"), -HSDO_EPROTO,
	  "AutoScalingGroups/member[1]/Instances/member[1]: missing <HealthStatus>" },
	{ 0, ASG_GRP("<InstanceId>i-1</InstanceId><AvailabilityZone>" A33 "</AvailabilityZone>"
		     "<LifecycleState>InService</LifecycleState><HealthStatus>Healthy</HealthStatus>"),
	  -HSDO_ETOOBIG,
	  "AutoScalingGroups/member[1]/Instances/member[1]/AvailabilityZone: value longer than 31 bytes" },
	{ 0, "<!DOCTYPE x [<!ENTITY e \"i-1\">]>" ASG_GRP("<InstanceId>&e;</InstanceId>" ASG_OK_FIELDS),
	  -HSDO_EPROTO, "document has a DTD (not allowed)" },
	{ 0, "<!DOCTYPE x SYSTEM \"http://example.invalid/x.dtd\"><DescribeAutoScalingGroupsResponse/>",
	  -HSDO_EPROTO, "document has a DTD (not allowed)" },
	{ 1, "<DescribeInstancesResponse/>", -HSDO_EPROTO,
	  "DescribeInstancesResponse: missing <reservationSet>" },
	{ 1, "<DescribeInstancesResponse><reservationSet><item/></reservationSet></DescribeInstancesResponse>",
	  -HSDO_EPROTO, "reservationSet/item[1]: missing <instancesSet>" },
	{ 1, EC2_HEAD EC2_ST EC2_TAIL, -HSDO_EPROTO,
	  "reservationSet/item[1]/instancesSet/item[1]: missing <instanceId>" },
	{ 1, EC2_HEAD "<instanceId>i-1</instanceId>" EC2_TAIL, -HSDO_EPROTO,
	  "reservationSet/item[1]/instancesSet/item[1]: missing <instanceState>" },
	{ 1, EC2_HEAD "<instanceId>i-1</instanceId><instanceState><code>16</code></instanceState>" EC2_TAIL,
	  -HSDO_EPROTO, "reservationSet/item[1]/instancesSet/item[1]/instanceState: missing <name>" },
	{ 1, EC2_HEAD "<instanceId>i-1</instanceId>" EC2_ST EC2_ST EC2_TAIL, -HSDO_EPROTO,
	  "reservationSet/item[1]/instancesSet/item[1]: duplicate <instanceState>" },
	{ 1, EC2_HEAD "<instanceId>i-1</instanceId>" EC2_ST "<privateIpAddress>10.0.0.300</privateIpAddress>"
	  EC2_TAIL, -HSDO_EPROTO,
	  "reservationSet/item[1]/instancesSet/item[1]/privateIpAddress: not an IP address" },
	{ 1, EC2_HEAD "<instanceId>i-1</instanceId>" EC2_ST "<placement><availabilityZone>" A33
	  "</availabilityZone></placement>" EC2_TAIL, -HSDO_ETOOBIG,
	  "reservationSet/item[1]/instancesSet/item[1]/placement/availabilityZone: value longer than 31 bytes" },
	{ 1, "<DescribeInstancesResponse><reservationSet><member/></reservationSet></DescribeInstancesResponse>",
	  -HSDO_EPROTO, "DescribeInstancesResponse/reservationSet: unexpected <member> (expected <item>)" },
	{ 1, "<DescribeInstancesResponse><requestId>a</requestId><requestId>b</requestId>"
	  "<reservationSet/></DescribeInstancesResponse>", -HSDO_EPROTO,
	  "DescribeInstancesResponse: duplicate <requestId>" },
};

START_TEST(bad_documents)
{
	struct hsdo_asg_groups g;
	struct hsdo_ec2_instances r;
	char err[512] = "";
	const char *doc = bad_cases[_i].doc, *want = bad_cases[_i].err;
	size_t wl = strlen(want);
	int rc;

	if (bad_cases[_i].ec2) {
		rc = hsdo_ec2_parse_instances(doc, strlen(doc), &r, err, sizeof(err));
		ck_assert_ptr_null(r.instances);
		ck_assert_uint_eq(r.n, 0);
	} else {
		rc = hsdo_asg_parse_groups(doc, strlen(doc), &g, err, sizeof(err));
		ck_assert_ptr_null(g.groups);
		ck_assert_uint_eq(g.n, 0);
	}
	ck_assert_msg(rc == bad_cases[_i].rc, "rc %d (%s)", rc, err);
	if (want[wl - 1] == '*')
		ck_assert_msg(strncmp(err, want, wl - 1) == 0 && strlen(err) > wl, "err: %s", err);
	else
		ck_assert_str_eq(err, want);
}
END_TEST

/* Every proper prefix of every sample (up to its last '>') is an error for
 * every parser, with a reason; never a crash or a partial result. */
static const char *const all_samples[] = {
	ASG_DOCS, EC2_DOCS,
	BC "responses_autoscaling-describe-auto-scaling-groups.xml",
	BC "responses_autoscaling-describe-auto-scaling-instances.xml",
	BC "responses_ec2-describe-instance-status.xml",
	BC "responses_ec2-describe-instances.xml",
	BC "errors_ec2-describe-instances.xml",
	BC "errors_autoscaling-delete-policy.xml",
};

START_TEST(every_prefix)
{
	struct hsdo_asg_groups g;
	struct hsdo_ec2_instances r;
	struct hsdo_aws_query_error e;
	char err[512];
	size_t len, end, k;
	char *buf = hsdo_test_load_data(all_samples[_i], &len);
	int rc;

	for (end = len; end > 0 && buf[end - 1] != '>'; end--)
		;
	ck_assert_uint_gt(end, 0);
	for (k = 0; k < end; k++) {
		err[0] = '\0';
		rc = hsdo_asg_parse_groups(buf, k, &g, err, sizeof(err));
		ck_assert_msg(rc == -HSDO_EPROTO && err[0] != '\0', "asg prefix %zu: %d", k, rc);
		ck_assert_ptr_null(g.groups);
		err[0] = '\0';
		rc = hsdo_ec2_parse_instances(buf, k, &r, err, sizeof(err));
		ck_assert_msg(rc == -HSDO_EPROTO && err[0] != '\0', "ec2 prefix %zu: %d", k, rc);
		ck_assert_ptr_null(r.instances);
		rc = hsdo_aws_query_parse_error(buf, k, &e, err, sizeof(err));
		ck_assert_msg(rc == -HSDO_EPROTO, "error prefix %zu: %d", k, rc);
		ck_assert_int_eq(hsdo_aws_query_check_error(buf, k, err, sizeof(err)), 0);
	}
	free(buf);
}
END_TEST

START_TEST(bounds)
{
	struct hsdo_asg_groups g;
	struct hsdo_ec2_instances r;
	char err[256] = "", *doc, *p;
	size_t i, cap = (HSDO_AWS_QUERY_GROUPS_MAX + 1) * 80 + 256;
	char tok[HSDO_AWS_TOKEN_LEN + 64];

	/* size checked before any byte is read */
	ck_assert_int_eq(hsdo_ec2_parse_instances("x", HSDO_AWS_QUERY_DOC_MAX + 1u, &r, err,
						  sizeof(err)), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_asg_parse_groups(NULL, 1, &g, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_asg_parse_groups("x", 1, NULL, err, sizeof(err)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_ec2_parse_instances("x", 1, NULL, err, sizeof(err)), -HSDO_EINVAL);

	/* group count: 1000 fine, 1001 too many */
	doc = malloc(cap);
	p = doc + snprintf(doc, cap, ASG_HEAD "<AutoScalingGroups>");
	for (i = 0; i < HSDO_AWS_QUERY_GROUPS_MAX; i++)
		p += snprintf(p, cap - (size_t)(p - doc),
			      "<member><AutoScalingGroupName>g%zu</AutoScalingGroupName></member>", i);
	snprintf(p, cap - (size_t)(p - doc), "</AutoScalingGroups>" ASG_TAIL);
	ck_assert_msg(hsdo_asg_parse_groups(doc, strlen(doc), &g, err, sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(g.n, HSDO_AWS_QUERY_GROUPS_MAX);
	ck_assert_str_eq(g.groups[999].name, "g999");
	hsdo_asg_groups_free(&g);
	p += snprintf(p, cap - (size_t)(p - doc),
		      "<member><AutoScalingGroupName>x</AutoScalingGroupName></member>");
	snprintf(p, cap - (size_t)(p - doc), "</AutoScalingGroups>" ASG_TAIL);
	ck_assert_int_eq(hsdo_asg_parse_groups(doc, strlen(doc), &g, err, sizeof(err)),
			 -HSDO_ETOOBIG);
	ck_assert_str_eq(err, "more than 1000 groups in one reply");
	ck_assert_ptr_null(g.groups);
	free(doc);

	/* a token of 4095 bytes fits, 4096 does not */
	for (i = 0; i < 2; i++) {
		size_t tl = HSDO_AWS_TOKEN_LEN - 1 + i;
		char *d = malloc(tl + 200);

		memset(tok, 'T', tl);
		tok[tl] = '\0';
		snprintf(d, tl + 200, "<DescribeInstancesResponse><reservationSet/><nextToken>%s"
			 "</nextToken></DescribeInstancesResponse>", tok);
		if (i == 0) {
			ck_assert_msg(hsdo_ec2_parse_instances(d, strlen(d), &r, err, sizeof(err)) == 0,
				      "%s", err);
			ck_assert_str_eq(r.next_token, tok);
			hsdo_ec2_instances_free(&r);
		} else {
			ck_assert_int_eq(hsdo_ec2_parse_instances(d, strlen(d), &r, err, sizeof(err)),
					 -HSDO_ETOOBIG);
			ck_assert_str_eq(err, "DescribeInstancesResponse/nextToken: value longer than "
					      "4095 bytes");
		}
		free(d);
	}
}
END_TEST

/* ---- STS -------------------------------------------------------------------------------- */

#define STS_NS "https://sts.amazonaws.com/doc/2011-06-15/"
#define STS_SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"

static const char sts_assume[] =
	"<AssumeRoleResponse xmlns=\"" STS_NS "\">\n"
	"  <AssumeRoleResult>\n"
	"    <SourceIdentity>Alice</SourceIdentity>\n"
	"    <AssumedRoleUser>\n"
	"      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>\n"
	"      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>\n"
	"    </AssumedRoleUser>\n"
	"    <Credentials>\n"
	"      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
	"      <SecretAccessKey>" STS_SECRET "</SecretAccessKey>\n"
	"      <SessionToken>AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW</SessionToken>\n"
	"      <Expiration>2019-11-09T13:34:41Z</Expiration>\n"
	"    </Credentials>\n"
	"    <PackedPolicySize>6</PackedPolicySize>\n"
	"  </AssumeRoleResult>\n"
	"  <ResponseMetadata>\n"
	"    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>\n"
	"  </ResponseMetadata>\n"
	"</AssumeRoleResponse>\n";

static const char sts_web[] =
	"<AssumeRoleWithWebIdentityResponse xmlns=\"" STS_NS "\">\n"
	"  <AssumeRoleWithWebIdentityResult>\n"
	"    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>\n"
	"    <Credentials>\n"
	"      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>\n"
	"      <SecretAccessKey>" STS_SECRET "</SecretAccessKey>\n"
	"      <Expiration>2014-10-24T23:00:23.000Z</Expiration>\n"
	"      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
	"    </Credentials>\n"
	"    <Provider>www.amazon.com</Provider>\n"
	"  </AssumeRoleWithWebIdentityResult>\n"
	"</AssumeRoleWithWebIdentityResponse>\n";

START_TEST(sts_bodies)
{
	char out[HSDO_STS_BODY_MAX], err[256];
	char big[HSDO_STS_TOKEN_MAX + 2];

	ck_assert_int_gt(hsdo_sts_assume_role_body("arn:aws:iam::123456789012:role/app", "hsdo-1",
						   "ext id", 1800, out, sizeof(out), err,
						   sizeof(err)), 0);
	ck_assert_str_eq(out, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
			 "123456789012%3Arole%2Fapp&RoleSessionName=hsdo-1&DurationSeconds=1800"
			 "&ExternalId=ext%20id");
	ck_assert_int_gt(hsdo_sts_assume_role_body("arn:aws:iam::123456789012:role/app", "s@x.y",
						   NULL, 0, out, sizeof(out), err, sizeof(err)), 0);
	ck_assert_str_eq(out, "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A"
			 "123456789012%3Arole%2Fapp&RoleSessionName=s%40x.y");
	ck_assert_int_gt(hsdo_sts_web_identity_body("arn:aws:iam::123456789012:role/w", "pod",
						    "eyJ.a+b/c=", out, sizeof(out), err,
						    sizeof(err)), 0);
	ck_assert_str_eq(out, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3A"
			 "aws%3Aiam%3A%3A123456789012%3Arole%2Fw&RoleSessionName=pod"
			 "&WebIdentityToken=eyJ.a%2Bb%2Fc%3D");
	/* refusals name what is wrong, never a token */
	ck_assert_int_eq(hsdo_sts_assume_role_body("arn:short", "s1", NULL, 0, out, sizeof(out), err,
						   sizeof(err)), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "role ARN"));
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(hsdo_sts_assume_role_body("arn:aws:iam::123456789012:role/app", "a b",
						   NULL, 0, out, sizeof(out), err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "session name"));
	ck_assert_int_eq(hsdo_sts_assume_role_body("arn:aws:iam::123456789012:role/app", "s1",
						   NULL, 60, out, sizeof(out), err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "900..43200"));
	ck_assert_int_eq(hsdo_sts_assume_role_body("arn:aws:iam::123456789012:role/app", "s1",
						   "x", 0, out, sizeof(out), err, sizeof(err)),
			 -HSDO_EINVAL);
	memset(big, 'T', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(hsdo_sts_web_identity_body("arn:aws:iam::123456789012:role/w", "pod", big,
						    out, sizeof(out), err, sizeof(err)),
			 -HSDO_EINVAL);
	ck_assert_ptr_null(strstr(err, "TTTT"));
	ck_assert_int_eq(hsdo_sts_web_identity_body("arn:aws:iam::123456789012:role/w", "pod",
						    "eyJ.token", out, 40, err, sizeof(err)),
			 -HSDO_ETOOBIG);
}
END_TEST

START_TEST(sts_replies)
{
	static const char no_exp[] = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
		"<AccessKeyId>A</AccessKeyId><SecretAccessKey>" STS_SECRET "</SecretAccessKey>"
		"<SessionToken>T</SessionToken></Credentials></AssumeRoleResult></AssumeRoleResponse>";
	static const char bad_secret[] = "<AssumeRoleResponse><AssumeRoleResult><Credentials>"
		"<AccessKeyId>A</AccessKeyId><SecretAccessKey>" STS_SECRET " x</SecretAccessKey>"
		"<SessionToken>T</SessionToken><Expiration>2019-11-09T13:34:41Z</Expiration>"
		"</Credentials></AssumeRoleResult></AssumeRoleResponse>";
	static const char denied[] = "<ErrorResponse xmlns=\"" STS_NS "\"><Error><Type>Sender</Type>"
		"<Code>AccessDenied</Code><Message>not authorized to perform sts:AssumeRole</Message>"
		"</Error><RequestId>r-1</RequestId></ErrorResponse>";
	struct hsdo_creds c;
	char err[512];

	ck_assert_int_eq(hsdo_sts_parse_credentials(sts_assume, strlen(sts_assume), false, &c, err,
						    sizeof(err)), 0);
	ck_assert_str_eq(c.access_key_id, "ASIAIOSFODNN7EXAMPLE");
	ck_assert_str_eq(c.secret_access_key, STS_SECRET);
	ck_assert_str_eq(c.session_token,
			 "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQW");
	ck_assert_int_eq(c.expiration_s, 1573306481);
	ck_assert_str_eq(c.source, "sts");
	hsdo_creds_free(&c);
	ck_assert_int_eq(hsdo_sts_parse_credentials(sts_web, strlen(sts_web), true, &c, err,
						    sizeof(err)), 0);
	ck_assert_str_eq(c.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
	ck_assert_int_eq(c.expiration_s, 1414191623);
	hsdo_creds_free(&c);
	/* the other action's reply is not this one */
	ck_assert_int_eq(hsdo_sts_parse_credentials(sts_web, strlen(sts_web), false, &c, err,
						    sizeof(err)), -HSDO_EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "expected <AssumeRoleResponse>"));
	ck_assert_int_eq(hsdo_sts_parse_credentials(denied, strlen(denied), false, &c, err,
						    sizeof(err)), -HSDO_EAWS);
	ck_assert_str_eq(err, "AccessDenied: not authorized to perform sts:AssumeRole");
	ck_assert_int_eq(hsdo_sts_parse_credentials(no_exp, strlen(no_exp), false, &c, err,
						    sizeof(err)), -HSDO_EPROTO);
	ck_assert_ptr_nonnull(strstr(err, "missing <Expiration>"));
	ck_assert_ptr_null(c.access_key_id);
	ck_assert_int_eq(hsdo_sts_parse_credentials(bad_secret, strlen(bad_secret), false, &c, err,
						    sizeof(err)), -HSDO_EPROTO);
	ck_assert_ptr_null(strstr(err, "wJalr"));
	ck_assert_ptr_null(c.access_key_id);
}
END_TEST

START_TEST(sts_alloc_failures)
{
	struct hsdo_creds c;
	char err[256];
	unsigned long k;
	int rc = -HSDO_ENOMEM;

	for (k = 1; rc == -HSDO_ENOMEM && k < 200; k++) {
		hsdo_alloc_fail_at(k, 1);
		rc = hsdo_sts_parse_credentials(sts_assume, strlen(sts_assume), false, &c, err,
						sizeof(err));
		hsdo_alloc_fail_at(0, 0);
		if (rc == -HSDO_ENOMEM)
			ck_assert_ptr_null(c.access_key_id);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(k, 2);
	hsdo_creds_free(&c);
}
END_TEST

/* ---- allocation failures ----------------------------------------------------------- */

START_TEST(alloc_failures)
{
	static const char *const files[] = { ASG_DOCS, EC2_DOCS, BC "responses_ec2-describe-instances.xml" };
	char err[256];
	size_t len, f;
	unsigned long k;

	for (f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *buf = hsdo_test_load_data(files[f], &len);
		int rc = -HSDO_ENOMEM;
		int asg = f == 0;

		for (k = 1; rc == -HSDO_ENOMEM && k < 100; k++) {
			struct hsdo_asg_groups g;
			struct hsdo_ec2_instances r;

			hsdo_alloc_fail_at(k, 1);
			rc = asg ? hsdo_asg_parse_groups(buf, len, &g, err, sizeof(err)) :
				   hsdo_ec2_parse_instances(buf, len, &r, err, sizeof(err));
			hsdo_alloc_fail_at(0, 0);
			if (rc == -HSDO_ENOMEM) {
				ck_assert_ptr_null(asg ? (void *)g.groups : (void *)r.instances);
				ck_assert_str_eq(err, "out of memory");
			} else if (asg) {
				ck_assert_uint_eq(g.n, 1);
				hsdo_asg_groups_free(&g);
			} else {
				ck_assert_uint_ge(r.n, 1);
				hsdo_ec2_instances_free(&r);
			}
		}
		ck_assert_int_eq(rc, 0);
		ck_assert_uint_gt(k, 2); /* at least one failure was injected */
		free(buf);
	}
}
END_TEST

static Suite *aws_query_suite(void)
{
	Suite *s = suite_create("aws_query");
	TCase *tc = tcase_create("bodies");

	tcase_add_loop_test(tc, body_table, 0, (int)(sizeof(body_cases) / sizeof(body_cases[0])));
	tcase_add_test(tc, body_refusals);
	tcase_add_test(tc, body_full_batches);
	suite_add_tcase(s, tc);

	tc = tcase_create("samples");
	tcase_add_test(tc, asg_awsdocs);
	tcase_add_test(tc, asg_botocore);
	tcase_add_test(tc, ec2_awsdocs);
	tcase_add_test(tc, ec2_botocore);
	tcase_add_loop_test(tc, other_calls_refused, 0,
			    (int)(sizeof(other_samples) / sizeof(other_samples[0])));
	tcase_add_loop_test(tc, error_shapes, 0,
			    (int)(sizeof(error_samples) / sizeof(error_samples[0])));
	tcase_add_test(tc, error_variants);
	tcase_add_test(tc, pagination_tokens);
	tcase_add_test(tc, namespace_prefix_and_many);
	suite_add_tcase(s, tc);

	tc = tcase_create("robustness");
	tcase_set_timeout(tc, 240);
	tcase_add_loop_test(tc, bad_documents, 0, (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
	tcase_add_loop_test(tc, every_prefix, 0, (int)(sizeof(all_samples) / sizeof(all_samples[0])));
	tcase_add_test(tc, bounds);
	tcase_add_test(tc, alloc_failures);
	tcase_add_test(tc, sts_alloc_failures);
	suite_add_tcase(s, tc);

	tc = tcase_create("sts");
	tcase_add_test(tc, sts_bodies);
	tcase_add_test(tc, sts_replies);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(aws_query_suite());
}
