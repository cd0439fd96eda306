/* Fuzz the AWS Query reply parsers: any bytes given to the
 * DescribeAutoScalingGroups and DescribeInstances parsers and to both error
 * helpers either parse into NUL-terminated fixed fields and bounded lists, or
 * fail with a known code and a reason, leaving nothing allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/aws_query.h"
#include "hsdo/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static void check_rc(int rc, const char *err)
{
	if (rc != 0 && rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG && rc != -HSDO_EAWS &&
	    rc != -HSDO_ENOMEM)
		abort();
	if (rc != 0 && err[0] == '\0')
		abort();
}

static void check_asg(const char *buf, size_t size)
{
	struct hsdo_asg_groups g;
	char err[512] = "";
	size_t i, j, total = 0;
	int rc = hsdo_asg_parse_groups(buf, size, &g, err, sizeof(err));

	check_rc(rc, err);
	if (rc != 0) {
		if (g.groups != NULL || g.n != 0)
			abort();
		return;
	}
	if (g.n > HSDO_AWS_QUERY_GROUPS_MAX || (g.n > 0) != (g.groups != NULL) ||
	    !terminated(g.next_token, sizeof(g.next_token)) ||
	    !terminated(g.request_id, sizeof(g.request_id)))
		abort();
	for (i = 0; i < g.n; i++) {
		const struct hsdo_asg_group *gr = &g.groups[i];

		if (!terminated(gr->name, sizeof(gr->name)) || gr->name[0] == '\0')
			abort();
		total += gr->ninstances;
		for (j = 0; j < gr->ninstances; j++) {
			const struct hsdo_asg_instance *in = &gr->instances[j];

			if (!terminated(in->id, sizeof(in->id)) || in->id[0] == '\0' ||
			    !terminated(in->az, sizeof(in->az)) ||
			    !terminated(in->lifecycle, sizeof(in->lifecycle)) ||
			    !terminated(in->health, sizeof(in->health)) ||
			    strchr(in->id, ' ') != NULL)
				abort();
		}
	}
	if (total > HSDO_AWS_QUERY_INSTANCES_MAX)
		abort();
	hsdo_asg_groups_free(&g);
	if (g.groups != NULL || g.n != 0)
		abort();
}

static void check_ec2(const char *buf, size_t size)
{
	struct hsdo_ec2_instances r;
	char err[512] = "";
	size_t i;
	int rc = hsdo_ec2_parse_instances(buf, size, &r, err, sizeof(err));

	check_rc(rc, err);
	if (rc != 0) {
		if (r.instances != NULL || r.n != 0)
			abort();
		return;
	}
	if (r.n > HSDO_AWS_QUERY_INSTANCES_MAX || !terminated(r.next_token, sizeof(r.next_token)))
		abort();
	for (i = 0; i < r.n; i++) {
		const struct hsdo_ec2_instance *in = &r.instances[i];

		if (!terminated(in->id, sizeof(in->id)) || in->id[0] == '\0' ||
		    !terminated(in->state, sizeof(in->state)) || in->state[0] == '\0' ||
		    !terminated(in->ip, sizeof(in->ip)) || !terminated(in->az, sizeof(in->az)))
			abort();
	}
	hsdo_ec2_instances_free(&r);
}

static void check_errors(const char *buf, size_t size)
{
	struct hsdo_aws_query_error e;
	char err[512] = "";
	int rc = hsdo_aws_query_parse_error(buf, size, &e, err, sizeof(err));
	int crc;

	if (rc != 0 && rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG && rc != -HSDO_ENOTFOUND)
		abort();
	if (rc == 0 && (e.code[0] == '\0' || !terminated(e.message, sizeof(e.message))))
		abort();
	err[0] = '\0';
	crc = hsdo_aws_query_check_error(buf, size, err, sizeof(err));
	/* the two agree: an error document is EAWS, anything else is not */
	if ((rc == 0) != (crc == -HSDO_EAWS) || (crc != 0 && err[0] == '\0'))
		abort();
	if (rc == 0 && strncmp(err, e.code, strlen(e.code)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;

	check_asg(buf, size);
	check_ec2(buf, size);
	check_errors(buf, size);
	return 0;
}
