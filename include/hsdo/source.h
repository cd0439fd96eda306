/* Discovery sources for server mode: where the instances that fill the
 * slots come from. Three backends behind one small interface (as the slot
 * store, a struct of function pointers):
 *   static  a YAML file listing the instances (SERVER_STATIC_FILE);
 *   consul  /v1/health/service/<name>?passing with blocking queries;
 *   aws     Auto Scaling groups (DescribeAutoScalingGroups, then EC2
 *           DescribeInstances), plus completing a termination lifecycle hook.
 *
 * A list is all or nothing: a source that fails (transport, AWS or Consul
 * error, malformed reply or file) reports an error and no instances, so the
 * caller keeps its previous good list; it never gets a partial one.
 * docs/sources.md has the rules for each backend; each backend has its
 * header (source_static.h, source_consul.h, source_aws.h). */
#ifndef HSDO_SOURCE_H
#define HSDO_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/config.h"
#include "hsdo/slot.h"

#define HSDO_SOURCE_INSTANCES_MAX  100000u      /* instances in one list */
#define HSDO_SOURCE_GROUPS_MAX     1000u        /* groups (ASGs, services) */
#define HSDO_SOURCE_PAGES_MAX      10000u       /* pages per list, all calls */
#define HSDO_SOURCE_WARNING_LEN    256

/* Per group: what the source saw. seen = ready + leaving + skipped, before
 * duplicates are removed. */
struct hsdo_source_group {
	char name[HSDO_GROUP_LEN];     /* ASG, Consul service, static group */
	size_t seen;
	size_t ready;                  /* listed with leaving = false */
	size_t leaving;                /* leaving; listed with leaving = true
					* when its address is known (a
					* terminated or vanished EC2 instance
					* has none: its slot drains as a
					* vanished one) */
	size_t skipped;                /* not listed: not yet in service (Pending,
					* no IP, warm pool...), unusable address */
};

/* An instance held in Terminating:Wait by the configured lifecycle hook:
 * the server completes the hook once the instance has drained. */
struct hsdo_source_lifecycle {
	char id[HSDO_NAME_LEN];
	char group[HSDO_GROUP_LEN];
};

struct hsdo_source_result {
	struct hsdo_instance *instances; /* sorted by id (strcmp), ids unique */
	size_t n;
	size_t nleaving;                 /* of those, leaving == true */
	struct hsdo_source_group *groups; /* every configured group (even when
					 * empty), in configuration order;
					 * static: groups in order of appearance */
	size_t ngroups;
	struct hsdo_source_lifecycle *awaiting; /* aws with a hook: sorted by id */
	size_t nawaiting;
	size_t duplicates;               /* instances reported more than once
					  * (kept once: a ready copy over a
					  * leaving one, then the first group) */
	/* The source knows the list is the same as the one it delivered last
	 * (static file unchanged; Consul index unchanged). */
	bool unchanged;
	/* The first thing worth a log line that did not fail the list ("" if
	 * none): an ASG that does not exist, a skipped Consul address... */
	char warning[HSDO_SOURCE_WARNING_LEN];
};

/* Release what a result owns and zero it; NULL is a no-op. */
void hsdo_source_result_free(struct hsdo_source_result *r);
/* Deep copy src into *dst (overwritten, not freed first). 0 or -HSDO_ENOMEM. */
int hsdo_source_result_copy(struct hsdo_source_result *dst, const struct hsdo_source_result *src);

/* ---- the interface ---------------------------------------------------------- */

struct hsdo_source;

/* Completion of hsdo_source_list: exactly once per accepted call, possibly
 * before list returns (always with a blocking transport and for the static
 * source; in event mode when the answer is already there). rc 0 with
 * res, or a negative hsdo_err with res NULL and the reason in err (never a
 * secret). res is owned by the source: it stays valid until the source
 * delivers another result or is freed; a failed list leaves it alone. */
typedef void (*hsdo_source_done_fn)(void *arg, int rc, const struct hsdo_source_result *res,
				    const char *err);
/* Completion of an operation without a result (complete_lifecycle). */
typedef void (*hsdo_source_op_done_fn)(void *arg, int rc, const char *err);

struct hsdo_source_ops {
	const char *name;                /* "static", "consul", "aws" */
	/* Start a list; 0 (done will be called) or a negative hsdo_err (done
	 * never called; -HSDO_EINVAL while another list is in progress). */
	int (*list)(struct hsdo_source *s, hsdo_source_done_fn done, void *arg);
	/* aws only (NULL elsewhere): CompleteLifecycleAction CONTINUE for
	 * instance id of group with the configured hook. done gets 0, or
	 * -HSDO_ENOTFOUND when AWS has no action pending for it (already
	 * completed, or timed out), or another error. */
	int (*complete_lifecycle)(struct hsdo_source *s, const char *group, const char *id,
				  hsdo_source_op_done_fn done, void *arg);
	/* aws only (NULL elsewhere): SetInstanceHealth Unhealthy with
	 * ShouldRespectGracePeriod=true for instance id, so that its group
	 * replaces it (fleet health). done gets 0, or -HSDO_ENOTFOUND when
	 * Auto Scaling does not know the instance (gone already). */
	int (*set_unhealthy)(struct hsdo_source *s, const char *id,
			     hsdo_source_op_done_fn done, void *arg);
	/* Release; a list in progress gets done(-HSDO_EAGAIN, "cancelled"). */
	void (*free)(struct hsdo_source *s);
};

struct hsdo_source {
	const struct hsdo_source_ops *ops;
	void *impl;
};

/* Wrappers over s->ops. complete_lifecycle is -HSDO_EINVAL (done never
 * called) for a source without lifecycle hooks or without a hook name.
 * free(NULL) is a no-op; name(NULL) is "none". */
int hsdo_source_list(struct hsdo_source *s, hsdo_source_done_fn done, void *arg);
int hsdo_source_complete_lifecycle(struct hsdo_source *s, const char *group, const char *id,
				   hsdo_source_op_done_fn done, void *arg);
/* -HSDO_EINVAL (done never called) for a source other than aws. */
int hsdo_source_set_unhealthy(struct hsdo_source *s, const char *id,
			      hsdo_source_op_done_fn done, void *arg);
void hsdo_source_free(struct hsdo_source *s);
const char *hsdo_source_name(const struct hsdo_source *s);

/* ---- from the configuration ------------------------------------------------- */

struct hsdo_http;
struct hsdo_aws;

/* The source SERVER_MODE names, from c: static needs nothing; consul needs
 * http (CONSUL_HTTP_TOKEN, else the first line of CONSUL_HTTP_TOKEN_FILE,
 * from envp is the token); aws needs aws. Default options. */
int hsdo_source_open_config(const struct hsdo_config *c, char *const *envp,
			    struct hsdo_http *http, struct hsdo_aws *aws,
			    struct hsdo_source **out, char *err, size_t errlen);

#endif
