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
 * docs/sources.md has the rules for each backend. */
#ifndef HSDO_SOURCE_H
#define HSDO_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/aws.h"
#include "hsdo/aws_query.h"
#include "hsdo/config.h"
#include "hsdo/http.h"
#include "hsdo/slot.h"

#define HSDO_SOURCE_INSTANCES_MAX  100000u      /* instances in one list */
#define HSDO_SOURCE_GROUPS_MAX     1000u        /* groups (ASGs, services) */
#define HSDO_SOURCE_STATIC_FILE_MAX (16u << 20) /* bytes of a static file */
#define HSDO_SOURCE_EC2_BATCH      100u         /* ids per DescribeInstances */
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
void hsdo_source_free(struct hsdo_source *s);
const char *hsdo_source_name(const struct hsdo_source *s);

/* ---- constructors ----------------------------------------------------------- */

/* The static file at path (copied). Nothing is read before the first list;
 * each list stat()s the file and parses it again only when its device,
 * inode, size, mtime or ctime changed, or when it was modified less than
 * 2 s before it was last read (a rewrite within the timestamp granularity
 * would keep all five). A malformed file fails the list with "FILE:LINE:
 * reason" (the same error again, without re-reading, until the file
 * changes). list always completes before returning. */
int hsdo_source_static_open(const char *path, struct hsdo_source **out,
			    char *err, size_t errlen);

struct hsdo_source_consul_options {
	long wait_ms;          /* blocking-query wait; 0: 30000 (Consul's bound
				* is 10 min); < 0: plain polling, no index */
};

/* Consul at base url (http:// or https://, any path prefix) for the
 * services[0..n) (group = the service name), with token (NULL or "": none)
 * sent as X-Consul-Token and wiped on free. TLS uses http's CA option.
 * http is borrowed and must outlive the source.
 *
 * list asks every service (index=<its last X-Consul-Index>, wait=...) and
 * completes at the first answer once every service has answered at least
 * once: with blocking queries that is when something changed or the wait
 * ran out, so a list may take up to wait_ms (with a blocking transport,
 * each service in turn: up to n * wait_ms). The server loop should call it
 * with the event-driven transport, and start one list no sooner than
 * INTERVAL after the previous one started: Consul asks clients to
 * rate-limit blocking loops, and the source never sleeps. Requests still
 * running when a list completes keep running; their answers are folded
 * into the next list. An index that goes backwards restarts at 0, and a
 * service that failed is asked again without an index (Consul's rules). */
int hsdo_source_consul_open(const char *url, const char *const *services, size_t n,
			    const char *token, struct hsdo_http *http,
			    const struct hsdo_source_consul_options *opt,
			    struct hsdo_source **out, char *err, size_t errlen);

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

/* The source SERVER_MODE names, from c: static needs nothing; consul needs
 * http (CONSUL_HTTP_TOKEN, else the first line of CONSUL_HTTP_TOKEN_FILE,
 * from envp is the token); aws needs aws. Default options. */
int hsdo_source_open_config(const struct hsdo_config *c, char *const *envp,
			    struct hsdo_http *http, struct hsdo_aws *aws,
			    struct hsdo_source **out, char *err, size_t errlen);

/* ---- pure parts, exposed for tests and fuzzers ----------------------------------- */

/* Parse a static instance list (YAML) from buf[0..len); fname labels
 * errors. 0 with *out (hsdo_source_result_free), or -HSDO_EPROTO with
 * "FNAME:LINE: reason" in err (*out zeroed), -HSDO_ETOOBIG, -HSDO_ENOMEM.
 * The document is a list of mappings with keys name, ip (required), port,
 * group, az, leaving; unknown keys, duplicates and bad values are errors. */
int hsdo_source_static_parse(const char *buf, size_t len, const char *fname,
			     struct hsdo_source_result *out, char *err, size_t errlen);

/* One Consul service's instances, appended to *out (instances unsorted,
 * the group entry for service added or updated): parse a
 * /v1/health/service/<service> reply. 0, or -HSDO_EPROTO / -HSDO_ETOOBIG /
 * -HSDO_ENOMEM with err, *out then unchanged. Instance id is
 * "<Node.Node>/<Service.ID>" (service ids are only unique per agent); ip
 * is Service.Address, else Node.Address; port Service.Port. An entry
 * without an IP-literal address is skipped (counted, and named in
 * out->warning). */
int hsdo_source_consul_parse(const char *buf, size_t len, const char *service,
			     struct hsdo_source_result *out, char *err, size_t errlen);

/* The next blocking-query index from the previous one and the
 * X-Consul-Index text of an answer: the new value, 0 when it went
 * backwards or is missing/garbled (start over without blocking). */
uint64_t hsdo_source_consul_next_index(uint64_t prev, const char *header);

/* Request URL for service: base + "/v1/health/service/<service>?passing",
 * plus "&index=N&wait=Ws" when index > 0 and wait_ms >= 0. Returns the
 * length, or -HSDO_ETOOBIG / -HSDO_EINVAL. */
int hsdo_source_consul_url(const char *base, const char *service, uint64_t index, long wait_ms,
			   char *out, size_t outlen);

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
