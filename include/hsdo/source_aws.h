/* The Auto Scaling discovery source: DescribeAutoScalingGroups, then EC2
 * DescribeInstances, plus completing a termination lifecycle hook. See
 * source.h for the interface it implements. */
#ifndef HSDO_SOURCE_AWS_H
#define HSDO_SOURCE_AWS_H

#include <stdbool.h>
#include <stddef.h>

#include "hsdo/aws.h"
#include "hsdo/aws_query.h"
#include "hsdo/source.h"

#define HSDO_SOURCE_EC2_BATCH      100u         /* ids per DescribeInstances */

struct hsdo_source_aws_options {
	size_t ids_per_call;   /* instance ids per DescribeInstances, default
				* HSDO_SOURCE_EC2_BATCH, at most HSDO_EC2_IDS_MAX */
	size_t names_per_call; /* group names per DescribeAutoScalingGroups,
				* default and at most HSDO_ASG_NAMES_MAX */
};

/* Auto Scaling groups[0..n) through aws (borrowed; must outlive the
 * source). hook (NULL or "": none) is the termination lifecycle hook the
 * server completes. Instances that are InService, Healthy, running and
 * have a private IP are listed; Terminating*, Standby, EnteringStandby,
 * Detach*, unhealthy, stopped or gone ones are leaving (listed with
 * leaving = true when EC2 still gives their address); Pending and
 * warm-pool ones are not listed yet. */
int hsdo_source_aws_open(const char *const *groups, size_t n, const char *hook,
			 struct hsdo_aws *aws, const struct hsdo_source_aws_options *opt,
			 struct hsdo_source **out, char *err, size_t errlen);

/* ---- pure parts, exposed for tests and fuzzers ---------------------------- */

/* What the aws source does with one ASG instance. */
enum hsdo_source_aws_verdict {
	HSDO_SOURCE_AWS_READY = 0,     /* listed, leaving = false */
	HSDO_SOURCE_AWS_LEAVING,       /* listed, leaving = true */
	HSDO_SOURCE_AWS_SKIP,          /* not listed (not yet serving) */
	HSDO_SOURCE_AWS_VERDICT_COUNT
};
const char *hsdo_source_aws_verdict_str(enum hsdo_source_aws_verdict v);
/* From the ASG LifecycleState and HealthStatus and, when EC2 described it
 * (ec2 != NULL), its state and private IP; ec2 NULL means EC2 does not know
 * it (gone). */
enum hsdo_source_aws_verdict hsdo_source_aws_classify(const struct hsdo_asg_instance *asg,
						      const struct hsdo_ec2_instance *ec2);

/* Build the list from every group page (groups[0..ngroups), as parsed)
 * and every EC2 instance: wanted[0..nwanted) are the configured names (the
 * result's groups, in that order; a returned group not wanted is ignored);
 * with hook, Terminating:Wait instances go to out->awaiting. 0 or
 * -HSDO_ENOMEM / -HSDO_ETOOBIG. */
int hsdo_source_aws_build(const char *const *wanted, size_t nwanted,
			  const struct hsdo_asg_group *groups, size_t ngroups,
			  const struct hsdo_ec2_instance *ec2, size_t nec2, bool hook,
			  struct hsdo_source_result *out, char *err, size_t errlen);

/* The CompleteLifecycleAction body is hsdo_asg_complete_lifecycle_body()
 * (aws_query.h). */

/* Instance ids named by an EC2 InvalidInstanceID.NotFound message ("The
 * instance ID 'i-1' does not exist", "The instance IDs 'i-1, i-2' do not
 * exist"): for each ids[i] named there, gone[i] = true. Returns how many
 * were marked. */
size_t hsdo_source_aws_notfound_ids(const char *message, const char *const *ids, size_t n,
				    bool *gone);

#endif
