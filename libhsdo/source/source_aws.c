/* The aws source: Auto Scaling groups (DescribeAutoScalingGroups, names in
 * batches of 50, NextToken pages), then EC2 DescribeInstances for their
 * instance ids (batches, pages), over the AWS client; and
 * CompleteLifecycleAction for a drained instance. Deciding what an
 * instance is (ready, leaving, not yet) is pure. See source.h and
 * docs/sources.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/aws.h"
#include "hsdo/aws_query.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/sigv4.h"
#include "hsdo/source.h"
#include "hsdo/source_aws.h"
#include "source_int.h"

#define ERR_LEN 512

/* ---- pure parts ------------------------------------------------------------------- */

static const char *const verdict_names[HSDO_SOURCE_AWS_VERDICT_COUNT] = {
	[HSDO_SOURCE_AWS_READY] = "ready",
	[HSDO_SOURCE_AWS_LEAVING] = "leaving",
	[HSDO_SOURCE_AWS_SKIP] = "skip",
};

const char *hsdo_source_aws_verdict_str(enum hsdo_source_aws_verdict v)
{
	if ((unsigned)v >= HSDO_SOURCE_AWS_VERDICT_COUNT)
		return "unknown";
	return verdict_names[v];
}

/* LifecycleStates of an instance on its way out of the group. */
static const char *const leaving_states[] = {
	"Terminating", "Terminating:Wait", "Terminating:Proceed", "Terminated",
	"Detaching", "Detached", "EnteringStandby", "Standby",
};

enum hsdo_source_aws_verdict hsdo_source_aws_classify(const struct hsdo_asg_instance *asg,
						      const struct hsdo_ec2_instance *ec2)
{
	size_t i;

	for (i = 0; i < sizeof(leaving_states) / sizeof(leaving_states[0]); i++)
		if (strcmp(asg->lifecycle, leaving_states[i]) == 0)
			return HSDO_SOURCE_AWS_LEAVING;
	/* Pending*, Warmed:* (warm pool), Quarantined, anything new: not
	 * serving yet. */
	if (strcmp(asg->lifecycle, "InService") != 0)
		return HSDO_SOURCE_AWS_SKIP;
	if (ec2 == NULL)
		return HSDO_SOURCE_AWS_LEAVING;      /* gone from EC2 */
	if (strcmp(asg->health, "Healthy") != 0)
		return HSDO_SOURCE_AWS_LEAVING;      /* the group replaces it */
	if (strcmp(ec2->state, "pending") == 0)
		return HSDO_SOURCE_AWS_SKIP;
	if (strcmp(ec2->state, "running") != 0)
		return HSDO_SOURCE_AWS_LEAVING;      /* stopping, stopped, shutting-down... */
	if (ec2->ip[0] == '\0')
		return HSDO_SOURCE_AWS_SKIP;         /* nothing to send traffic to */
	return HSDO_SOURCE_AWS_READY;
}

static int ec2_cmp(const void *a, const void *b)
{
	const struct hsdo_ec2_instance *const *x = a, *const *y = b;

	return strcmp((*x)->id, (*y)->id);
}

static int ec2_key_cmp(const void *key, const void *elem)
{
	const struct hsdo_ec2_instance *const *y = elem;

	return strcmp(key, (*y)->id);
}

int hsdo_source_aws_build(const char *const *wanted, size_t nwanted,
			  const struct hsdo_asg_group *groups, size_t ngroups,
			  const struct hsdo_ec2_instance *ec2, size_t nec2, bool hook,
			  struct hsdo_source_result *out, char *err, size_t errlen)
{
	struct hsdo_source_builder b = { out, 0, 0, 0 };
	const struct hsdo_ec2_instance **byid = NULL;
	struct hsdo_source_group *grp;
	bool *found = NULL;
	size_t i, j, k;
	int rc = 0;

	if (out == NULL || (nwanted > 0 && wanted == NULL) || (ngroups > 0 && groups == NULL) ||
	    (nec2 > 0 && ec2 == NULL))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "invalid arguments");
	memset(out, 0, sizeof(*out));
	for (i = 0; i < nwanted && rc == 0; i++)
		if (hsdo_source_group(&b, wanted[i], &rc, err, errlen) == NULL)
			break;
	if (rc == 0 && out->ngroups > 0 && (found = hsdo_calloc(out->ngroups, sizeof(*found))) == NULL)
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	if (rc == 0 && nec2 > 0) {
		byid = hsdo_reallocarray(NULL, nec2, sizeof(*byid));
		if (byid == NULL) {
			rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
		} else {
			for (i = 0; i < nec2; i++)
				byid[i] = &ec2[i];
			qsort(byid, nec2, sizeof(*byid), ec2_cmp);
		}
	}
	for (i = 0; i < ngroups && rc == 0; i++) {
		const struct hsdo_asg_group *g = &groups[i];

		for (k = 0; k < out->ngroups; k++)
			if (strcmp(out->groups[k].name, g->name) == 0)
				break;
		if (k == out->ngroups)
			continue;       /* not asked for */
		found[k] = true;
		grp = &out->groups[k];
		for (j = 0; j < g->ninstances && rc == 0; j++) {
			const struct hsdo_asg_instance *a = &g->instances[j];
			const struct hsdo_ec2_instance *const *hit = NULL;
			const struct hsdo_ec2_instance *e;
			enum hsdo_source_aws_verdict v;
			struct hsdo_instance in;

			if (byid != NULL)
				hit = bsearch(a->id, byid, nec2, sizeof(*byid), ec2_key_cmp);
			e = hit != NULL ? *hit : NULL;
			v = hsdo_source_aws_classify(a, e);
			grp->seen++;
			if (hook && strcmp(a->lifecycle, "Terminating:Wait") == 0)
				rc = hsdo_source_push_awaiting(&b, a->id, g->name, err, errlen);
			if (rc != 0)
				break;
			if (v == HSDO_SOURCE_AWS_SKIP) {
				grp->skipped++;
				continue;
			}
			if (v == HSDO_SOURCE_AWS_READY)
				grp->ready++;
			else
				grp->leaving++;
			if (e == NULL || e->ip[0] == '\0')
				continue;       /* leaving with no address: drains as vanished */
			memset(&in, 0, sizeof(in));
			memcpy(in.id, a->id, sizeof(in.id));
			memcpy(in.ip, e->ip, sizeof(in.ip));
			memcpy(in.group, g->name, sizeof(in.group));
			memcpy(in.az, a->az[0] != '\0' ? a->az : e->az, sizeof(in.az));
			in.leaving = v == HSDO_SOURCE_AWS_LEAVING;
			rc = hsdo_source_push(&b, &in, err, errlen);
		}
	}
	for (k = 0; rc == 0 && k < out->ngroups; k++) {
		if (!found[k]) {
			char show[64];

			hsdo_source_warn(out, "Auto Scaling group %s not found",
					 hsdo_source_show(out->groups[k].name,
							  strlen(out->groups[k].name), show,
							  sizeof(show)));
		}
	}
	hsdo_free(found);
	hsdo_free(byid);
	if (rc == 0 && hsdo_source_finish(out) != 0)
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	if (rc != 0)
		hsdo_source_result_free(out);
	return rc;
}

size_t hsdo_source_aws_notfound_ids(const char *message, const char *const *ids, size_t n,
				    bool *gone)
{
	const char *p, *q, *end, *a, *z;
	size_t i, marked = 0;

	if (message == NULL || ids == NULL || gone == NULL)
		return 0;
	p = strchr(message, '\'');
	if (p == NULL)
		return 0;
	end = strchr(p + 1, '\'');
	if (end == NULL)
		return 0;
	for (q = p + 1; q < end; q = z + 1) {
		for (z = q; z < end && *z != ','; z++)
			;
		for (a = q; a < z && *a == ' '; a++)
			;
		p = z;
		while (p > a && p[-1] == ' ')
			p--;
		for (i = 0; i < n && p > a; i++) {
			if (!gone[i] && ids[i] != NULL && strlen(ids[i]) == (size_t)(p - a) &&
			    memcmp(ids[i], a, (size_t)(p - a)) == 0) {
				gone[i] = true;
				marked++;
			}
		}
		if (z >= end)
			break;
	}
	return marked;
}

/* ---- the source ----------------------------------------------------------------------- */

enum phase { PH_IDLE = 0, PH_GROUPS, PH_INSTANCES };

struct complete_call;

struct aws_src {
	struct hsdo_source base;
	struct hsdo_aws *aws;
	char **names;
	size_t nnames;
	char *hook;                      /* NULL: none */
	size_t ids_per_call, names_per_call;
	int refs;                        /* calls in flight + frames */
	bool dead;
	struct hsdo_source_result res;   /* last delivered */

	/* the list in progress */
	bool listing;
	hsdo_source_done_fn done;
	void *arg;
	enum phase phase;
	bool stepping, again;            /* trampoline for blocking calls */
	struct complete_call *calls;     /* CompleteLifecycleAction in flight */
	int rc;
	char err[ERR_LEN];
	size_t pos, batch;               /* names or ids: current batch */
	char token[HSDO_AWS_TOKEN_LEN];
	size_t pages;
	struct hsdo_asg_group *groups;   /* every page's, instances owned */
	size_t ngroups, gcap;
	const char **ids;                /* borrowed from groups */
	bool *gone;                      /* per id: EC2 does not know it */
	size_t nids;
	struct hsdo_ec2_instance *ec2;
	size_t nec2, ec2cap;
	char *body;                      /* request body buffer */
	size_t bodycap;
};

static void job_clear(struct aws_src *s)
{
	size_t i;

	for (i = 0; i < s->ngroups; i++)
		hsdo_free(s->groups[i].instances);
	hsdo_free(s->groups);
	hsdo_free(s->ids);
	hsdo_free(s->gone);
	hsdo_free(s->ec2);
	hsdo_free(s->body);
	s->groups = NULL;
	s->ngroups = s->gcap = 0;
	s->ids = NULL;
	s->gone = NULL;
	s->nids = 0;
	s->ec2 = NULL;
	s->nec2 = s->ec2cap = 0;
	s->body = NULL;
	s->bodycap = 0;
	s->phase = PH_IDLE;
	s->pos = s->batch = s->pages = 0;
	s->token[0] = '\0';
	s->rc = 0;
	s->err[0] = '\0';
}

static void release(struct aws_src *s)
{
	size_t i;

	job_clear(s);
	for (i = 0; i < s->nnames; i++)
		hsdo_free(s->names[i]);
	hsdo_free(s->names);
	hsdo_free(s->hook);
	hsdo_source_result_free(&s->res);
	hsdo_free(s);
}

static void unref(struct aws_src *s)
{
	if (--s->refs == 0 && s->dead)
		release(s);
}

static void finish(struct aws_src *s, int rc, const char *err)
{
	struct hsdo_source_result r;
	hsdo_source_done_fn done = s->done;
	void *arg = s->arg;
	char e[ERR_LEN] = "";

	if (rc == 0)
		rc = hsdo_source_aws_build((const char *const *)s->names, s->nnames, s->groups,
					   s->ngroups, s->ec2, s->nec2, s->hook != NULL, &r, e,
					   sizeof(e));
	else
		snprintf(e, sizeof(e), "%s", err);
	job_clear(s);
	s->listing = false;
	s->done = NULL;
	s->arg = NULL;
	if (rc != 0) {
		done(arg, rc, NULL, e);
		return;
	}
	hsdo_source_result_free(&s->res);
	s->res = r;
	done(arg, 0, &s->res, "");
}

static int body_room(struct aws_src *s, size_t need)
{
	char *p;

	if (need <= s->bodycap)
		return 0;
	p = hsdo_realloc(s->body, need);
	if (p == NULL)
		return -HSDO_ENOMEM;
	s->body = p;
	s->bodycap = need;
	return 0;
}

static void on_reply(void *arg, int rc, const char *body, size_t len, const char *err);
static void run(struct aws_src *s);

/* Move a page's groups into the job. */
static int take_groups(struct aws_src *s, struct hsdo_asg_groups *page)
{
	size_t i, total = 0;

	for (i = 0; i < s->ngroups; i++)
		total += s->groups[i].ninstances;
	for (i = 0; i < page->n; i++)
		total += page->groups[i].ninstances;
	if (total > HSDO_SOURCE_INSTANCES_MAX)
		return hsdo_seterr(s->err, sizeof(s->err), -HSDO_ETOOBIG,
				   "more than %u instances in the groups", HSDO_SOURCE_INSTANCES_MAX);
	if (s->ngroups + page->n > s->gcap) {
		size_t ncap = s->gcap ? s->gcap : 16;
		struct hsdo_asg_group *p;

		while (ncap < s->ngroups + page->n)
			ncap *= 2;
		p = hsdo_reallocarray(s->groups, ncap, sizeof(*p));
		if (p == NULL)
			return hsdo_seterr(s->err, sizeof(s->err), -HSDO_ENOMEM, "out of memory");
		s->groups = p;
		s->gcap = ncap;
	}
	memcpy(s->groups + s->ngroups, page->groups, page->n * sizeof(*page->groups));
	s->ngroups += page->n;
	hsdo_free(page->groups);     /* the instances now belong to s->groups */
	memset(page, 0, sizeof(*page));
	return 0;
}

static int take_instances(struct aws_src *s, struct hsdo_ec2_instances *page)
{
	struct hsdo_ec2_instance *p;

	if (page->n == 0)
		return 0;
	if (s->nec2 + page->n > HSDO_SOURCE_INSTANCES_MAX)
		return hsdo_seterr(s->err, sizeof(s->err), -HSDO_ETOOBIG,
				   "more than %u EC2 instances", HSDO_SOURCE_INSTANCES_MAX);
	p = hsdo_reallocarray(s->ec2, s->nec2 + page->n, sizeof(*p));
	if (p == NULL)
		return hsdo_seterr(s->err, sizeof(s->err), -HSDO_ENOMEM, "out of memory");
	memcpy(p + s->nec2, page->instances, page->n * sizeof(*p));
	s->ec2 = p;
	s->nec2 += page->n;
	return 0;
}

/* After the last group page: the ids to describe, in group order. */
static int collect_ids(struct aws_src *s)
{
	size_t i, j, n = 0;

	for (i = 0; i < s->ngroups; i++)
		n += s->groups[i].ninstances;
	if (n == 0)
		return 0;
	s->ids = hsdo_reallocarray(NULL, n, sizeof(*s->ids));
	s->gone = hsdo_calloc(n, sizeof(*s->gone));
	if (s->ids == NULL || s->gone == NULL)
		return hsdo_seterr(s->err, sizeof(s->err), -HSDO_ENOMEM, "out of memory");
	for (i = 0; i < s->ngroups; i++)
		for (j = 0; j < s->groups[i].ninstances; j++)
			s->ids[s->nids++] = s->groups[i].instances[j].id;
	return 0;
}

/* The next id batch from s->pos skipping gone ones; 0 when done. */
static size_t id_batch(struct aws_src *s, const char **v)
{
	size_t k = 0;

	while (s->pos < s->nids && k == 0) {
		size_t i, end = s->pos + s->ids_per_call;

		if (end > s->nids)
			end = s->nids;
		for (i = s->pos; i < end; i++)
			if (!s->gone[i])
				v[k++] = s->ids[i];
		s->batch = end - s->pos;
		if (k == 0)
			s->pos = end;
	}
	return k;
}

/* Issue the call for the current phase, or finish. */
static void step(struct aws_src *s)
{
	struct hsdo_aws_request req;
	const char **v = NULL;
	size_t k, i, need;
	int rc;

	if (s->phase == PH_GROUPS && s->pos >= s->nnames) {
		rc = collect_ids(s);
		if (rc != 0) {
			finish(s, rc, s->err);
			return;
		}
		s->phase = PH_INSTANCES;
		s->pos = 0;
		s->token[0] = '\0';
	}
	if (++s->pages > HSDO_SOURCE_PAGES_MAX) {
		finish(s, -HSDO_ETOOBIG, "more than 10000 pages in one list");
		return;
	}
	memset(&req, 0, sizeof(req));
	req.protocol = HSDO_AWS_QUERY;
	if (s->phase == PH_GROUPS) {
		s->batch = s->nnames - s->pos;
		if (s->batch > s->names_per_call)
			s->batch = s->names_per_call;
		need = 128 + 3 * HSDO_AWS_TOKEN_LEN;
		for (i = 0; i < s->batch; i++)
			need += 48 + 3 * strlen(s->names[s->pos + i]);
		rc = body_room(s, need);
		if (rc == 0)
			rc = hsdo_asg_describe_groups_body((const char *const *)s->names + s->pos,
							   s->batch, s->token, s->body, s->bodycap,
							   s->err, sizeof(s->err));
		req.service = HSDO_CREDS_SVC_AUTO_SCALING;
		req.operation = "DescribeAutoScalingGroups";
	} else {
		v = hsdo_reallocarray(NULL, s->ids_per_call, sizeof(*v));
		if (v == NULL) {
			finish(s, -HSDO_ENOMEM, "out of memory");
			return;
		}
		k = id_batch(s, v);
		if (k == 0) {
			hsdo_free(v);
			finish(s, 0, NULL);
			return;
		}
		need = 128 + 3 * HSDO_AWS_TOKEN_LEN;
		for (i = 0; i < k; i++)
			need += 32 + 3 * strlen(v[i]);
		rc = body_room(s, need);
		if (rc == 0)
			rc = hsdo_ec2_describe_instances_body(v, k, s->token, s->body, s->bodycap,
							      s->err, sizeof(s->err));
		hsdo_free(v);
		req.service = HSDO_CREDS_SVC_EC2;
		req.operation = "DescribeInstances";
	}
	if (rc < 0) {
		finish(s, rc, s->err[0] ? s->err : "out of memory");
		return;
	}
	req.body = s->body;
	req.len = (size_t)rc;
	s->refs++;
	rc = hsdo_aws_call(s->aws, &req, on_reply, s);
	if (rc != 0) {
		s->refs--;
		snprintf(s->err, sizeof(s->err), "%s: cannot send the request: %s", req.operation,
			 hsdo_strerror(rc));
		finish(s, rc, s->err);
	}
}

/* Run steps until one waits for a reply; a reply that arrives during a
 * step (blocking transport) asks for the next step instead of recursing. */
static void run(struct aws_src *s)
{
	if (s->stepping) {
		s->again = true;
		return;
	}
	s->stepping = true;
	s->refs++;
	do {
		s->again = false;
		if (s->listing && !s->dead)
			step(s);
	} while (s->again && s->listing && !s->dead);
	s->stepping = false;
	unref(s);
}

/* InvalidInstanceID.NotFound: mark the ids it names in the current batch
 * gone and ask again without them. true when the batch is to be retried. */
static bool drop_unknown_ids(struct aws_src *s, const char *body, size_t len)
{
	struct hsdo_aws_query_error *e;
	size_t marked = 0;

	if (body == NULL || len == 0 || s->nids == 0)
		return false;
	e = hsdo_malloc(sizeof(*e));
	if (e == NULL)
		return false;
	if (hsdo_aws_query_parse_error(body, len, e, NULL, 0) == 0 &&
	    strcmp(e->code, "InvalidInstanceID.NotFound") == 0)
		marked = hsdo_source_aws_notfound_ids(e->message, s->ids + s->pos, s->batch,
						      s->gone + s->pos);
	hsdo_free(e);
	if (marked > 0)
		hsdo_log_debug("aws source: %zu instance id(s) unknown to EC2, asking again "
			       "without them", marked);
	return marked > 0;
}

static void on_reply(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct aws_src *s = arg;
	const char *op = s->phase == PH_GROUPS ? "DescribeAutoScalingGroups" : "DescribeInstances";
	char e[ERR_LEN];

	if (s->dead || !s->listing) {
		unref(s);
		return;
	}
	if (rc == -HSDO_EAWS && s->phase == PH_INSTANCES && drop_unknown_ids(s, body, len)) {
		s->token[0] = '\0';
		goto next;
	}
	if (rc != 0) {
		finish(s, rc, err != NULL && err[0] != '\0' ? err : hsdo_strerror(rc));
		unref(s);
		return;
	}
	if (s->phase == PH_GROUPS) {
		struct hsdo_asg_groups page;

		rc = hsdo_asg_parse_groups(body, len, &page, e, sizeof(e));
		if (rc == 0) {
			snprintf(s->token, sizeof(s->token), "%s", page.next_token);
			rc = take_groups(s, &page);
			if (rc != 0)
				snprintf(e, sizeof(e), "%s", s->err);
			hsdo_asg_groups_free(&page);
		}
	} else {
		struct hsdo_ec2_instances page;

		rc = hsdo_ec2_parse_instances(body, len, &page, e, sizeof(e));
		if (rc == 0) {
			snprintf(s->token, sizeof(s->token), "%s", page.next_token);
			rc = take_instances(s, &page);
			if (rc != 0)
				snprintf(e, sizeof(e), "%s", s->err);
			hsdo_ec2_instances_free(&page);
		}
	}
	if (rc != 0) {
		char msg[ERR_LEN + 64];

		snprintf(msg, sizeof(msg), "%s: %s", op, e);
		finish(s, rc, msg);
		unref(s);
		return;
	}
	if (s->token[0] == '\0')
		s->pos += s->batch;      /* this batch is complete */
next:
	run(s);
	unref(s);
}

static int aws_list(struct hsdo_source *src, hsdo_source_done_fn done, void *arg)
{
	struct aws_src *s = src->impl;

	if (s->listing || s->dead)
		return -HSDO_EINVAL;
	job_clear(s);
	s->listing = true;
	s->done = done;
	s->arg = arg;
	s->phase = PH_GROUPS;
	run(s);
	return 0;
}

/* An Auto Scaling call that is not a list: CompleteLifecycleAction or
 * SetInstanceHealth. */
struct complete_call {
	struct aws_src *s;
	hsdo_source_op_done_fn done;    /* NULL once cancelled by free */
	void *arg;
	char *body;
	const char *operation;
	const char *gone;               /* a ValidationError saying this: -HSDO_ENOTFOUND */
	struct complete_call *next, *prev;
};

static void on_complete(void *arg, int rc, const char *body, size_t len, const char *err)
{
	struct complete_call *c = arg;
	struct aws_src *s = c->s;
	char msg[ERR_LEN] = "";

	if (rc == -HSDO_EAWS && body != NULL && len > 0) {
		struct hsdo_aws_query_error *e = hsdo_malloc(sizeof(*e));

		/* Nothing to act on: no pending action (completed already, or
		 * the hook timed out); an instance the group no longer has. */
		if (e != NULL && hsdo_aws_query_parse_error(body, len, e, NULL, 0) == 0 &&
		    strcmp(e->code, "ValidationError") == 0 && strstr(e->message, c->gone) != NULL)
			rc = -HSDO_ENOTFOUND;
		hsdo_free(e);
	}
	if (rc != 0)   /* the client's err names the call: "autoscaling CompleteLifecycleAction: ..." */
		snprintf(msg, sizeof(msg), "%s", err != NULL && err[0] != '\0' ? err :
			 "autoscaling call failed");
	hsdo_free(c->body);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		s->calls = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	if (c->done != NULL)
		c->done(c->arg, rc, rc == 0 ? "" : msg);
	hsdo_free(c);
	unref(s);
}

/* Send an Auto Scaling call whose body c holds (len bytes); c is owned by
 * the call from here on. */
static int aws_call_one(struct aws_src *s, struct complete_call *c, size_t len)
{
	struct hsdo_aws_request req;
	int rc;

	memset(&req, 0, sizeof(req));
	req.service = HSDO_CREDS_SVC_AUTO_SCALING;
	req.protocol = HSDO_AWS_QUERY;
	req.operation = c->operation;
	req.body = c->body;
	req.len = len;
	s->refs++;
	c->next = s->calls;
	if (s->calls != NULL)
		s->calls->prev = c;
	s->calls = c;
	rc = hsdo_aws_call(s->aws, &req, on_complete, c);
	if (rc != 0) {
		s->calls = c->next;
		if (c->next != NULL)
			c->next->prev = NULL;
		s->refs--;
		hsdo_free(c->body);
		hsdo_free(c);
	}
	return rc;
}

static struct complete_call *call_new(struct aws_src *s, size_t cap, const char *operation,
				      const char *gone, hsdo_source_op_done_fn done, void *arg)
{
	struct complete_call *c = hsdo_calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	if ((c->body = hsdo_malloc(cap)) == NULL) {
		hsdo_free(c);
		return NULL;
	}
	c->s = s;
	c->operation = operation;
	c->gone = gone;
	c->done = done;
	c->arg = arg;
	return c;
}

static void call_drop(struct complete_call *c)
{
	hsdo_free(c->body);
	hsdo_free(c);
}

static int aws_complete(struct hsdo_source *src, const char *group, const char *id,
			hsdo_source_op_done_fn done, void *arg)
{
	struct aws_src *s = src->impl;
	struct complete_call *c;
	size_t cap;
	int rc;

	if (s->hook == NULL || s->dead)
		return -HSDO_EINVAL;
	cap = 256 + 3 * (strlen(group) + strlen(s->hook) + strlen(id));
	c = call_new(s, cap, "CompleteLifecycleAction", "No active Lifecycle Action", done, arg);
	if (c == NULL)
		return -HSDO_ENOMEM;
	rc = hsdo_asg_complete_lifecycle_body(group, s->hook, id, c->body, cap, NULL, 0);
	if (rc < 0) {
		call_drop(c);
		return rc;
	}
	return aws_call_one(s, c, (size_t)rc);
}

static int aws_set_unhealthy(struct hsdo_source *src, const char *id,
			     hsdo_source_op_done_fn done, void *arg)
{
	struct aws_src *s = src->impl;
	struct complete_call *c;
	size_t cap = 160 + 3 * strlen(id);
	int rc;

	if (s->dead)
		return -HSDO_EINVAL;
	/* "Instance Id not found - No managed instance found for instance ID" */
	c = call_new(s, cap, "SetInstanceHealth", "Instance Id not found", done, arg);
	if (c == NULL)
		return -HSDO_ENOMEM;
	rc = hsdo_asg_set_instance_health_body(id, true, c->body, cap, NULL, 0);
	if (rc < 0) {
		call_drop(c);
		return rc;
	}
	return aws_call_one(s, c, (size_t)rc);
}

static void aws_free(struct hsdo_source *src)
{
	struct aws_src *s = src->impl;
	hsdo_source_done_fn done = s->done;
	void *arg = s->arg;
	struct complete_call *c;

	if (s->dead)
		return;
	s->dead = true;
	s->refs++;
	if (s->listing) {
		s->listing = false;
		s->done = NULL;
		done(arg, -HSDO_EAGAIN, NULL, "cancelled");
	}
	for (c = s->calls; c != NULL; c = c->next) {
		hsdo_source_op_done_fn cd = c->done;

		c->done = NULL;
		if (cd != NULL)
			cd(c->arg, -HSDO_EAGAIN, "cancelled");
	}
	unref(s);
}

static const struct hsdo_source_ops aws_ops = {
	.name = "aws",
	.list = aws_list,
	.complete_lifecycle = aws_complete,
	.set_unhealthy = aws_set_unhealthy,
	.free = aws_free,
};

int hsdo_source_aws_open(const char *const *groups, size_t n, const char *hook,
			 struct hsdo_aws *aws, const struct hsdo_source_aws_options *opt,
			 struct hsdo_source **out, char *err, size_t errlen)
{
	struct aws_src *s;
	size_t i;

	if (out == NULL || aws == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "aws source needs an AWS client");
	if (n == 0 || groups == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "aws source: no Auto Scaling group names");
	if (n > HSDO_SOURCE_GROUPS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "aws source: more than %u groups",
				   HSDO_SOURCE_GROUPS_MAX);
	for (i = 0; i < n; i++)
		if (groups[i] == NULL || groups[i][0] == '\0' || strlen(groups[i]) >= HSDO_GROUP_LEN)
			return hsdo_seterr(err, errlen, -HSDO_EINVAL,
					   "aws source: group %zu is empty or longer than %d bytes",
					   i + 1, HSDO_GROUP_LEN - 1);
	if (hook != NULL && strlen(hook) > 255)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "aws source: hook name over 255 bytes");
	if (opt != NULL && (opt->ids_per_call > HSDO_EC2_IDS_MAX ||
			    opt->names_per_call > HSDO_ASG_NAMES_MAX))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "aws source: at most %u ids and %u names per call",
				   HSDO_EC2_IDS_MAX, HSDO_ASG_NAMES_MAX);
	s = hsdo_calloc(1, sizeof(*s));
	if (s == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	s->base.ops = &aws_ops;
	s->base.impl = s;
	s->aws = aws;
	s->ids_per_call = opt != NULL && opt->ids_per_call > 0 ? opt->ids_per_call
							       : HSDO_SOURCE_EC2_BATCH;
	s->names_per_call = opt != NULL && opt->names_per_call > 0 ? opt->names_per_call
								   : HSDO_ASG_NAMES_MAX;
	s->names = hsdo_calloc(n, sizeof(*s->names));
	if (s->names == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		s->names[i] = hsdo_strdup(groups[i]);
		if (s->names[i] == NULL)
			goto nomem;
		s->nnames++;
	}
	if (hook != NULL && hook[0] != '\0' && (s->hook = hsdo_strdup(hook)) == NULL)
		goto nomem;
	*out = &s->base;
	return 0;
nomem:
	release(s);
	return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
}
