/* Client mode cycle: see include/hsdo/client.h. */
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "hsdo/alloc.h"
#include "hsdo/client.h"
#include "hsdo/clock.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/rtapi.h"
#include "hsdo/rtapi_client.h"

/* Bound on the replies of a batch: what HAProxy says for one server or
 * one `set server` is well under REPLY_PER_LINE bytes. */
#define REPLY_BASE     (64u * 1024)
#define REPLY_PER_LINE 1024u

/* The operation running (hsdo_client_*_start), and where it is. */
enum op_kind { OP_NONE = 0, OP_CHECK, OP_CYCLE, OP_VERIFY };
enum op_phase { PH_STORE = 0, PH_OPEN, PH_STATE, PH_APPLY };

struct hsdo_client {
	struct hsdo_rtapi_target target;
	struct hsdo_client_loop loop;           /* .wait NULL: blocking use */
	int timeout_ms;
	size_t list_size;
	struct hsdo_config_backend *backends;   /* primaries then fallback */
	size_t nbackends;
	struct hsdo_plan_client_backend *pbe;   /* views of backends[] */
	bool *be_missing;                       /* per backend, last state read */
	char **asg_names;
	size_t nasg;
	struct hsdo_plan_client_settings settings;
	struct hsdo_store *store;               /* borrowed */
	struct hsdo_table table;                /* last good desired table */
	bool have_table;
	struct hsdo_plan_client_result plan;    /* last cycle's plan */
	struct hsdo_servers_state state;        /* last cycle's HAProxy state */
	uint64_t connections;
	char what[512];                         /* "table T" / "file P", for logs */
	bool file_store;
	int64_t full_read_ms;                   /* CLIENT_FULL_READ_INTERVAL, 0 = never */
	int64_t last_full_ms;                   /* monotonic time of the last full read */
	bool unversioned;                       /* the last table read had generation 0 */
	bool told;                              /* that state was logged */
	/* The operation in flight. */
	struct {
		enum op_kind kind;
		enum op_phase phase;
		int64_t since_ms;               /* the phase started (CLOCK_MONOTONIC) */
		bool dry_run;
		bool full;                      /* a full read, no generation poll */
		struct hsdo_rtapi_client *conn;
		uint64_t gen;                   /* store refresh: the generation read */
		struct hsdo_table t;            /* store refresh: the table read */
		struct hsdo_servers_state st;   /* HAProxy's state, merged */
		char missing[512];              /* backends HAProxy does not know */
		struct hsdo_client_report rep;  /* what the cycle did */
		char err[1024];
		hsdo_client_check_fn check_done;
		hsdo_client_cycle_fn cycle_done;
		hsdo_client_verify_fn verify_done;
		void *arg;
	} op;
	/* The last operation's report, handed to its callback. */
	struct hsdo_client_report done_rep;
};

void hsdo_client_free(struct hsdo_client *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nasg; i++)
		hsdo_free(c->asg_names[i]);
	hsdo_free(c->asg_names);
	hsdo_free(c->backends);
	hsdo_free(c->pbe);
	hsdo_free(c->be_missing);
	hsdo_rtapi_client_close(c->op.conn);
	hsdo_rtapi_servers_state_free(&c->op.st);
	hsdo_table_free(&c->table);
	hsdo_table_free(&c->op.t);
	hsdo_plan_client_result_free(&c->plan);
	hsdo_rtapi_servers_state_free(&c->state);
	hsdo_free(c);
}

int hsdo_client_new(const struct hsdo_config *cfg, struct hsdo_store *store,
		    const struct hsdo_client_loop *loop, struct hsdo_client **out,
		    char *err, size_t errlen)
{
	const struct hsdo_config_backends *bl = &cfg->client_haproxy_backend_list;
	bool fb = cfg->client_haproxy_fallback_backend.name[0] != '\0';
	struct hsdo_client *c;
	size_t i;
	int rc;

	c = hsdo_calloc(1, sizeof(*c));
	if (c == NULL)
		return -HSDO_ENOMEM;
	rc = hsdo_rtapi_client_parse_target(cfg->client_haproxy_socket_path, &c->target,
					    err, errlen);
	if (rc != 0) {
		hsdo_free(c);
		return rc;
	}
	if (loop != NULL)
		c->loop = *loop;
	c->timeout_ms = (int)cfg->client_haproxy_timeout_ms;
	c->list_size = (size_t)cfg->haproxy_backend_servers_list_size;
	c->store = store;
	c->full_read_ms = cfg->client_full_read_interval_ms;
	c->file_store = strcmp(hsdo_store_name(store), "file") == 0;
	snprintf(c->what, sizeof(c->what), "%s %s", c->file_store ? "file" : "table",
		 c->file_store ? cfg->store_file_path : cfg->dynamodb_table_name);
	c->nbackends = bl->n + (fb ? 1 : 0);
	c->backends = hsdo_calloc(c->nbackends, sizeof(*c->backends));
	c->pbe = hsdo_calloc(c->nbackends, sizeof(*c->pbe));
	c->be_missing = hsdo_calloc(c->nbackends, sizeof(*c->be_missing));
	c->asg_names = hsdo_calloc(cfg->client_asg_names.n, sizeof(*c->asg_names));
	if (c->backends == NULL || c->pbe == NULL || c->be_missing == NULL ||
	    c->asg_names == NULL) {
		hsdo_client_free(c);
		return -HSDO_ENOMEM;
	}
	for (i = 0; i < bl->n; i++)
		c->backends[i] = bl->v[i];
	if (fb)
		c->backends[bl->n] = cfg->client_haproxy_fallback_backend;
	for (i = 0; i < c->nbackends; i++) {
		c->pbe[i].name = c->backends[i].name;
		c->pbe[i].base_name = c->backends[i].base_name;
		c->pbe[i].port = c->backends[i].port;
	}
	for (i = 0; i < cfg->client_asg_names.n; i++) {
		c->asg_names[i] = hsdo_strdup(cfg->client_asg_names.v[i]);
		if (c->asg_names[i] == NULL) {
			hsdo_client_free(c);
			return -HSDO_ENOMEM;
		}
		c->nasg++;
	}
	c->settings.primary = c->pbe;
	c->settings.nprimary = bl->n;
	c->settings.fallback = fb ? &c->pbe[bl->n] : NULL;
	c->settings.dedicated_asg = cfg->client_dedicated_asg;
	c->settings.asg_names = (const char *const *)c->asg_names;
	c->settings.nasg = c->nasg;
	c->settings.all_in_fallback = cfg->client_all_servers_in_fallback_backend;
	*out = c;
	return 0;
}

static void set_phase(struct hsdo_client *c, enum op_phase ph)
{
	c->op.phase = ph;
	c->op.since_ms = hsdo_clock_mono_ms();
}

/* Tell the caller's loop where the operation now waits. */
static void rearm(struct hsdo_client *c)
{
	if (c->loop.wait == NULL)
		return;
	if (c->op.kind == OP_NONE || c->op.conn == NULL)
		c->loop.wait(c->loop.ctx, -1, 0, -1);
	else
		c->loop.wait(c->loop.ctx, hsdo_rtapi_client_fd(c->op.conn),
			     hsdo_rtapi_client_events(c->op.conn),
			     hsdo_rtapi_client_timeout(c->op.conn));
}

/* End the operation with rc and hand its outcome to its callback. The
 * callback may free c or start another operation: nothing touches c after
 * it, and every caller of finish returns at once. */
static void finish(struct hsdo_client *c, int rc)
{
	enum op_kind kind = c->op.kind;
	hsdo_client_check_fn check_done = c->op.check_done;
	hsdo_client_cycle_fn cycle_done = c->op.cycle_done;
	hsdo_client_verify_fn verify_done = c->op.verify_done;
	struct hsdo_plan_client_result plan = { 0 };
	bool converged = false;
	char err[sizeof(c->op.err)];
	void *arg = c->op.arg;

	if (kind == OP_VERIFY && rc == 0) {
		rc = hsdo_plan_client(&c->table, &c->settings, &c->op.st, &plan);
		converged = rc == 0 && plan.ncmds == 0 && plan.nskips == 0;
		hsdo_plan_client_result_free(&plan);
	}
	hsdo_rtapi_client_close(c->op.conn);
	if (kind == OP_CYCLE && c->op.rep.haproxy_ok) {
		/* kept for the report: fleet health reads its checks */
		hsdo_rtapi_servers_state_free(&c->state);
		c->state = c->op.st;
		memset(&c->op.st, 0, sizeof(c->op.st));
		c->op.rep.state = &c->state;
	}
	hsdo_rtapi_servers_state_free(&c->op.st);
	hsdo_table_free(&c->op.t);
	memcpy(err, c->op.err, sizeof(err));
	c->done_rep = c->op.rep;
	c->done_rep.connections = c->connections;
	memset(&c->op, 0, sizeof(c->op));
	rearm(c);
	if (kind == OP_CHECK)
		check_done(arg, rc, err);
	else if (kind == OP_CYCLE)
		cycle_done(arg, rc, &c->done_rep);
	else if (kind == OP_VERIFY)
		verify_done(arg, rc, converged, err);
}

/* Where HAProxy errors of this operation go. */
static char *op_err(struct hsdo_client *c, size_t *len)
{
	if (c->op.kind == OP_CYCLE) {
		*len = sizeof(c->op.rep.haproxy_error);
		return c->op.rep.haproxy_error;
	}
	*len = sizeof(c->op.err);
	return c->op.err;
}

/* The cycle's outcome once HAProxy is done with (or never reached). */
static int cycle_rc(struct hsdo_client *c, int rc)
{
	c->op.rep.connections = c->connections;
	if (rc == 0 && !c->op.rep.store_ok)
		return -HSDO_EIO;
	return rc;
}

/* ---- HAProxy: connect, read the state, apply the plan ---------------------------- */

static void haproxy_open(struct hsdo_client *c)
{
	size_t elen;
	char *err = op_err(c, &elen);
	int rc;

	set_phase(c, PH_OPEN);
	rc = hsdo_rtapi_client_start(&c->target, c->timeout_ms, &c->op.conn, err, elen);
	if (rc != 0) {
		finish(c, c->op.kind == OP_CYCLE ? cycle_rc(c, rc) : rc);
		return;
	}
	c->connections++;
	rearm(c);
}

/* Ask for `show servers state` of every configured backend. */
static int send_state(struct hsdo_client *c, char *err, size_t errlen)
{
	char **cmds, esc[2 * HSDO_CONFIG_BACKEND_LEN + 1];
	size_t i;
	int rc = -HSDO_ENOMEM;

	cmds = hsdo_calloc(c->nbackends, sizeof(*cmds));
	if (cmds == NULL)
		return hsdo_seterr(err, errlen, rc, "out of memory");
	for (i = 0; i < c->nbackends; i++) {
		if (hsdo_rtapi_escape(esc, sizeof(esc), c->backends[i].name) < 0) {
			rc = hsdo_seterr(err, errlen, -HSDO_EINVAL, "backend name '%s' cannot be "
					 "sent to the Runtime API", c->backends[i].name);
			goto out;
		}
		cmds[i] = hsdo_malloc(strlen(esc) + 32);
		if (cmds[i] == NULL) {
			rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
			goto out;
		}
		snprintf(cmds[i], strlen(esc) + 32, "show servers state %s", esc);
	}
	/* A state line is under 1 KiB: a reply far larger than the slots
	 * asked for is not HAProxy's, and is not read to its end. */
	hsdo_rtapi_client_set_limits(c->op.conn, 0, REPLY_BASE + c->nbackends *
				     (c->list_size + 16) * REPLY_PER_LINE);
	rc = hsdo_rtapi_client_send(c->op.conn, (const char *const *)cmds, c->nbackends, err,
				    errlen);
out:
	for (i = 0; i < c->nbackends; i++)
		hsdo_free(cmds[i]);
	hsdo_free(cmds);
	return rc;
}

/* Parse the replies of send_state into one merged state in c->op.st.
 * Backends HAProxy does not know are named in c->op.missing
 * (comma-separated) and skipped; any other failure is an error. */
static int parse_state(struct hsdo_client *c, const struct hsdo_rtapi_result *res,
		       char *err, size_t errlen)
{
	struct hsdo_servers_state *parts, *out = &c->op.st;
	size_t i, total = 0, mlen = 0, missinglen = sizeof(c->op.missing);
	char *missing = c->op.missing;
	int rc = 0;

	missing[0] = '\0';
	parts = hsdo_calloc(c->nbackends, sizeof(*parts));
	if (parts == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	for (i = 0; i < c->nbackends; i++) {
		char perr[200];

		rc = hsdo_rtapi_client_parse_state(res, i, &parts[i], perr, sizeof(perr));
		c->be_missing[i] = rc == -HSDO_ENOTFOUND;
		if (rc == -HSDO_ENOTFOUND) {
			int n = snprintf(missing + mlen, missinglen - mlen, "%sbackend %s",
					 mlen ? ", " : "", c->backends[i].name);

			if (n > 0 && (size_t)n < missinglen - mlen)
				mlen += (size_t)n;
			rc = 0;
			continue;
		}
		if (rc != 0) {
			rc = hsdo_seterr(err, errlen, rc, "show servers state %s: %s",
					 c->backends[i].name, perr);
			goto out;
		}
		total += parts[i].n;
	}
	out->srv = hsdo_calloc(total ? total : 1, sizeof(*out->srv));
	if (out->srv == NULL) {
		rc = hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < c->nbackends; i++) {
		if (parts[i].n)
			memcpy(out->srv + out->n, parts[i].srv, parts[i].n * sizeof(*out->srv));
		out->n += parts[i].n;
	}
out:
	for (i = 0; i < c->nbackends; i++)
		hsdo_rtapi_servers_state_free(&parts[i]);
	hsdo_free(parts);
	if (rc != 0)
		hsdo_rtapi_servers_state_free(out);
	return rc;
}

/* Name in err every configured backend HAProxy does not know (its name
 * appears in missing_be) and every slot <base>1..<base>N it lacks. */
static bool find_missing_slots(const struct hsdo_client *c, const struct hsdo_servers_state *st,
			       const char *missing_be, char *err, size_t errlen)
{
	bool *present;
	size_t i, s, len = 0;
	bool any = missing_be[0] != '\0';
	int n;

	if (errlen == 0)
		return any;
	err[0] = '\0';
	if (any) {
		n = snprintf(err, errlen, "missing in HAProxy: %s", missing_be);
		len = n > 0 ? (size_t)n : 0;
	}
	present = hsdo_calloc(c->list_size + 1, sizeof(*present));
	if (present == NULL) {
		snprintf(err, errlen, "out of memory");
		return true;
	}
	for (i = 0; i < c->nbackends; i++) {
		const struct hsdo_config_backend *be = &c->backends[i];
		size_t first = 0, last = 0, nmiss = 0;

		if (c->be_missing[i])
			continue;  /* the whole backend is missing: named above */
		/* One pass over the state marks the slots <base><k> present. */
		memset(present, 0, (c->list_size + 1) * sizeof(*present));
		for (s = 0; s < st->n; s++) {
			const char *name = st->srv[s].srv_name;
			uint32_t k;

			if (strcmp(st->srv[s].be_name, be->name) == 0 &&
			    hsdo_slot_from_name(be->base_name, name, strlen(name),
						(uint32_t)c->list_size, &k) == 0)
				present[k] = true;
		}
		for (s = 1; s <= c->list_size; s++) {
			if (present[s])
				continue;
			if (nmiss++ == 0)
				first = s;
			last = s;
		}
		if (nmiss == 0 || len >= errlen)
			continue;
		n = snprintf(err + len, errlen - len,
			     "%s%s/%s%zu..%zu (%zu of the %zu slots HAPROXY_BACKEND_SERVERS_LIST_SIZE "
			     "asks for)", any ? "; " : "missing in HAProxy: ", be->name,
			     be->base_name, first, last, nmiss, c->list_size);
		len += n > 0 ? (size_t)n : 0;
		any = true;
	}
	hsdo_free(present);
	return any;
}

/* Send the plan as one batch. */
static int send_plan(struct hsdo_client *c, char *err, size_t errlen)
{
	const char **cmds;
	size_t i;
	int rc;

	cmds = hsdo_calloc(c->plan.ncmds, sizeof(*cmds));
	if (cmds == NULL)
		return hsdo_seterr(err, errlen, -HSDO_ENOMEM, "out of memory");
	for (i = 0; i < c->plan.ncmds; i++)
		cmds[i] = c->plan.cmds[i].line;
	hsdo_rtapi_client_set_limits(c->op.conn, 0, REPLY_BASE + c->plan.ncmds * REPLY_PER_LINE);
	rc = hsdo_rtapi_client_send(c->op.conn, cmds, c->plan.ncmds, err, errlen);
	hsdo_free(cmds);
	return rc;
}

/* Classify each reply of the plan's batch. */
static int plan_replies(struct hsdo_client *c, const struct hsdo_rtapi_result *res,
			char *err, size_t errlen)
{
	struct hsdo_client_report *rep = &c->op.rep;
	size_t i;
	int rc, first = 0;

	rep->sent = c->plan.ncmds;
	for (i = 0; i < c->plan.ncmds && i < res->n; i++) {
		char why[200];

		rc = hsdo_rtapi_set_server_reply(res->reply[i], res->len[i], why, sizeof(why));
		if (rc == 0)
			continue;
		rep->failed++;
		hsdo_log_err("slot %u: '%s' failed: %s", c->plan.cmds[i].slot,
			     c->plan.cmds[i].line, why);
		if (first == 0) {
			first = rc;
			hsdo_seterr(err, errlen, rc, "'%s': %s", c->plan.cmds[i].line, why);
		}
	}
	return first;
}

/* HAProxy's state is in: the next step of the operation. */
static void after_state(struct hsdo_client *c)
{
	struct hsdo_client_report *rep = &c->op.rep;
	size_t elen;
	char *err = op_err(c, &elen);
	int rc;

	if (c->op.kind == OP_CHECK) {
		finish(c, find_missing_slots(c, &c->op.st, c->op.missing, c->op.err,
					     sizeof(c->op.err)) ? -HSDO_ECONFIG : 0);
		return;
	}
	if (c->op.kind == OP_VERIFY) {
		finish(c, 0);
		return;
	}
	rep->haproxy_ok = true;
	rep->missing = find_missing_slots(c, &c->op.st, c->op.missing, rep->haproxy_error,
					  sizeof(rep->haproxy_error));
	rc = hsdo_plan_client(&c->table, &c->settings, &c->op.st, &c->plan);
	if (rc != 0) {
		snprintf(rep->haproxy_error, sizeof(rep->haproxy_error), "plan: %s",
			 hsdo_strerror(rc));
		finish(c, cycle_rc(c, rc));
		return;
	}
	rep->plan = &c->plan;
	if (c->op.dry_run || c->plan.ncmds == 0) {
		finish(c, cycle_rc(c, 0));
		return;
	}
	set_phase(c, PH_APPLY);
	rc = send_plan(c, err, elen);
	if (rc != 0) {
		rep->lost = c->plan.ncmds;
		finish(c, cycle_rc(c, rc));
		return;
	}
	rearm(c);
}

void hsdo_client_io(struct hsdo_client *c)
{
	struct hsdo_rtapi_result res;
	size_t elen;
	char *err;
	int rc;

	if (c == NULL || c->op.kind == OP_NONE || c->op.conn == NULL)
		return;
	err = op_err(c, &elen);
	rc = hsdo_rtapi_client_io(c->op.conn, &res, err, elen);
	if (rc == -HSDO_EAGAIN) {
		rearm(c);
		return;
	}
	if (rc != 0) {
		if (c->op.phase == PH_APPLY)
			c->op.rep.lost = c->plan.ncmds;
		finish(c, c->op.kind == OP_CYCLE ? cycle_rc(c, rc) : rc);
		return;
	}
	switch (c->op.phase) {
	case PH_OPEN:
		set_phase(c, PH_STATE);
		rc = send_state(c, err, elen);
		if (rc != 0) {
			finish(c, c->op.kind == OP_CYCLE ? cycle_rc(c, rc) : rc);
			return;
		}
		rearm(c);
		return;
	case PH_STATE:
		rc = parse_state(c, &res, err, elen);
		hsdo_rtapi_result_free(&res);
		if (rc != 0) {
			finish(c, c->op.kind == OP_CYCLE ? cycle_rc(c, rc) : rc);
			return;
		}
		after_state(c);
		return;
	case PH_APPLY:
		rc = plan_replies(c, &res, err, elen);
		hsdo_rtapi_result_free(&res);
		finish(c, cycle_rc(c, rc));
		return;
	default:
		hsdo_rtapi_result_free(&res);
		return;
	}
}

/* ---- the store: generation, then the table when it changed -------------------------- */

/* Whether this cycle reads the whole table without polling the generation
 * first: the first read, every read of an unversioned table (generation 0:
 * its writer announces nothing), and one every CLIENT_FULL_READ_INTERVAL in
 * case a writer forgot to bump the generation. */
static bool full_read_due(const struct hsdo_client *c)
{
	if (!c->have_table || c->table.generation == 0)
		return true;
	return c->full_read_ms > 0 && hsdo_clock_mono_ms() - c->last_full_ms >= c->full_read_ms;
}

/* Slots that differ between a and b (a slot only one has counts). */
static size_t slots_differ(const struct hsdo_table *a, const struct hsdo_table *b)
{
	size_t i, n = a->n < b->n ? a->n : b->n, d = a->n > b->n ? a->n - b->n : b->n - a->n;

	for (i = 0; i < n; i++)
		d += !hsdo_slot_equal(&a->slots[i], &b->slots[i]);
	return d;
}

/* Say once at start, and on every change, whether the table has a
 * generation: without one every cycle reads it whole. */
static void note_versioning(struct hsdo_client *c, uint64_t gen)
{
	bool unversioned = gen == 0;

	if (c->told && unversioned == c->unversioned)
		return;
	if (unversioned && c->file_store)
		hsdo_log_warn("%s has no generation: reading the whole document every cycle",
			      c->what);
	else if (unversioned)
		hsdo_log_warn("%s has no control item: written by an original HSDO server? "
			      "reading the whole table every cycle", c->what);
	else if (c->told && c->file_store)
		hsdo_log_info("%s has a generation again (%" PRIu64 "): reading the whole "
			      "document only when it changes", c->what, gen);
	else if (c->told)
		hsdo_log_info("%s has a control item again (generation %" PRIu64 "): reading "
			      "one item per cycle", c->what, gen);
	c->unversioned = unversioned;
	c->told = c->told || unversioned;
}

/* Record a refresh's outcome in the report; on success take the table read
 * as the desired one. An empty table counts as a failure; the last good
 * table stays on any failure. A full read that finds other slots under the
 * same generation found a change nobody announced: logged and counted. */
static void refresh_finish(struct hsdo_client *c, int rc, const char *why)
{
	struct hsdo_client_report *rep = &c->op.rep;
	struct hsdo_table *t = &c->op.t;
	char err[200];
	size_t ndiff;

	snprintf(err, sizeof(err), "%s", why != NULL ? why : "");
	if (rc == 0 && t->n == 0) {
		hsdo_table_free(t);
		rc = hsdo_seterr(err, sizeof(err), -HSDO_EPROTO, "the table has no slots");
	}
	/* A slot HAProxy has no server for is a table meant for another N:
	 * following only part of it would silently leave its instances out. */
	if (rc == 0 && t->n > c->list_size) {
		rc = hsdo_seterr(err, sizeof(err), -HSDO_EPROTO, "slot %zu (BackendServerID %zu) is "
				 "beyond the %zu slots of HAPROXY_BACKEND_SERVERS_LIST_SIZE (the table "
				 "has %zu)", c->list_size + 1, c->list_size + 1, c->list_size, t->n);
		hsdo_table_free(t);
	}
	if (rc != 0) {
		rep->store_read_errors++;
		snprintf(rep->store_error, sizeof(rep->store_error), "%s%s%s",
			 hsdo_strerror(rc), err[0] ? ": " : "", err);
		return;
	}
	rep->store_ok = true;
	rep->full_read = c->op.full;
	c->last_full_ms = hsdo_clock_mono_ms();
	note_versioning(c, t->generation);
	ndiff = c->have_table ? slots_differ(&c->table, t) : t->n;
	if (c->have_table && t->generation == c->table.generation && ndiff == 0) {
		hsdo_table_free(t);   /* read again, unchanged */
		return;
	}
	if (c->op.full && c->have_table && t->generation != 0 &&
	    t->generation == c->table.generation) {
		hsdo_log_warn("%s changed without a new generation (still %" PRIu64 "): %zu %s; "
			      "a writer did not bump it (found by the full read every "
			      "CLIENT_FULL_READ_INTERVAL)", c->what, t->generation, ndiff,
			      ndiff == 1 ? "slot differs" : "slots differ");
		rep->unannounced++;
	}
	hsdo_table_free(&c->table);
	c->table = *t;
	memset(t, 0, sizeof(*t));
	c->have_table = true;
	rep->table_changed = true;
	/* Fewer slots than HAProxy has: those are not touched (a table from a
	 * server with a smaller N, or a resize under way); the caller says so. */
	rep->slots_missing_from = c->table.n < c->list_size ? c->table.n + 1 : 0;
}

/* The store part of a cycle is over: on to HAProxy, with the last good
 * table; with none yet, touch nothing. */
static void after_store(struct hsdo_client *c)
{
	struct hsdo_client_report *rep = &c->op.rep;

	hsdo_plan_client_result_free(&c->plan);
	hsdo_rtapi_servers_state_free(&c->state);
	rep->generation = c->table.generation;
	rep->table = c->have_table ? &c->table : NULL;
	rep->unversioned = c->have_table && c->unversioned;
	if (!c->have_table) {
		finish(c, cycle_rc(c, -HSDO_ENOTFOUND));
		return;
	}
	haproxy_open(c);
}

static void on_table(void *arg, int rc, const char *err)
{
	struct hsdo_client *c = arg;

	refresh_finish(c, rc, err);
	after_store(c);
}

static void on_generation(void *arg, int rc, const char *err)
{
	struct hsdo_client *c = arg;
	int rc2;

	if (rc == 0 && c->op.gen == c->table.generation) {
		c->op.rep.store_ok = true;
		after_store(c);
		return;
	}
	if (rc != 0) {
		refresh_finish(c, rc, err);
		after_store(c);
		return;
	}
	c->op.rep.store_reads++;
	rc2 = hsdo_store_read_table_async(c->store, &c->op.t, on_table, c);
	if (rc2 != 0) {
		refresh_finish(c, rc2, "could not start the table read");
		after_store(c);
	}
}

/* ---- operations ---------------------------------------------------------------------- */

static int op_begin(struct hsdo_client *c, enum op_kind kind, void *arg)
{
	if (c == NULL)
		return -HSDO_EINVAL;
	if (c->op.kind != OP_NONE)
		return -HSDO_EAGAIN;
	memset(&c->op, 0, sizeof(c->op));
	c->op.kind = kind;
	c->op.arg = arg;
	return 0;
}

int hsdo_client_check_start(struct hsdo_client *c, hsdo_client_check_fn done, void *arg)
{
	int rc = op_begin(c, OP_CHECK, arg);

	if (rc != 0)
		return rc;
	c->op.check_done = done;
	haproxy_open(c);
	return 0;
}

int hsdo_client_verify_start(struct hsdo_client *c, hsdo_client_verify_fn done, void *arg)
{
	int rc;

	if (c != NULL && !c->have_table)
		return -HSDO_ENOTFOUND;
	rc = op_begin(c, OP_VERIFY, arg);
	if (rc != 0)
		return rc;
	c->op.verify_done = done;
	haproxy_open(c);
	return 0;
}

int hsdo_client_cycle_start(struct hsdo_client *c, bool dry_run, hsdo_client_cycle_fn done,
			    void *arg)
{
	int rc = op_begin(c, OP_CYCLE, arg);

	if (rc != 0)
		return rc;
	c->op.cycle_done = done;
	c->op.dry_run = dry_run;
	set_phase(c, PH_STORE);
	c->op.full = full_read_due(c);
	c->op.rep.store_reads++;
	if (c->op.full)
		rc = hsdo_store_read_table_async(c->store, &c->op.t, on_table, c);
	else
		rc = hsdo_store_read_generation_async(c->store, &c->op.gen, on_generation, c);
	if (rc != 0) {
		refresh_finish(c, rc, c->op.full ? "could not start the table read"
				      : "could not start the generation read");
		after_store(c);
	}
	return 0;
}

enum hsdo_client_wait hsdo_client_waiting(const struct hsdo_client *c, int64_t *since_ms)
{
	if (c == NULL || c->op.kind == OP_NONE)
		return HSDO_CLIENT_IDLE;
	if (since_ms != NULL)
		*since_ms = c->op.since_ms;
	return c->op.phase == PH_STORE ? HSDO_CLIENT_WAIT_STORE : HSDO_CLIENT_WAIT_HAPROXY;
}

const char *hsdo_client_wait_str(enum hsdo_client_wait w)
{
	static const char *const names[HSDO_CLIENT_WAIT_COUNT] = { "idle", "store", "HAProxy" };

	return (unsigned)w < HSDO_CLIENT_WAIT_COUNT ? names[w] : "?";
}

/* ---- blocking use ------------------------------------------------------------------- */

struct wait_result {
	bool done, converged;
	int rc;
	char *err;
	size_t errlen;
	struct hsdo_client_report *rep;
};

static void on_check_done(void *arg, int rc, const char *err)
{
	struct wait_result *w = arg;

	w->done = true;
	w->rc = rc;
	if (w->errlen > 0)
		snprintf(w->err, w->errlen, "%s", err);
}

static void on_cycle_done(void *arg, int rc, const struct hsdo_client_report *rep)
{
	struct wait_result *w = arg;

	w->done = true;
	w->rc = rc;
	*w->rep = *rep;
}

static void on_verify_done(void *arg, int rc, bool converged, const char *err)
{
	struct wait_result *w = arg;

	w->done = true;
	w->rc = rc;
	w->converged = converged;
	if (w->errlen > 0)
		snprintf(w->err, w->errlen, "%s", err);
}

/* Drive the operation with poll(2) until its callback ran. A store that
 * needs an event loop cannot be waited for here: -HSDO_EINVAL. */
static int run_blocking(struct hsdo_client *c, struct wait_result *w)
{
	while (!w->done) {
		struct hsdo_rtapi_client *conn = c->op.conn;
		struct pollfd pfd;
		long t;
		int ev;

		if (conn == NULL)
			return -HSDO_EINVAL;   /* waiting on an event-driven store */
		ev = hsdo_rtapi_client_events(conn);
		t = hsdo_rtapi_client_timeout(conn);
		pfd.fd = hsdo_rtapi_client_fd(conn);
		pfd.events = (short)(((ev & HSDO_RTAPI_IO_READ) ? POLLIN : 0) |
				     ((ev & HSDO_RTAPI_IO_WRITE) ? POLLOUT : 0));
		pfd.revents = 0;
		(void)poll(&pfd, ev ? 1 : 0, t < 0 || t > INT_MAX ? INT_MAX : (int)t);
		hsdo_client_io(c);
	}
	return w->rc;
}

int hsdo_client_check(struct hsdo_client *c, char *err, size_t errlen)
{
	struct wait_result w = { .err = err, .errlen = errlen };
	int rc = hsdo_client_check_start(c, on_check_done, &w);

	return rc != 0 ? rc : run_blocking(c, &w);
}

int hsdo_client_cycle(struct hsdo_client *c, bool dry_run, struct hsdo_client_report *rep)
{
	struct wait_result w = { .rep = rep };
	int rc;

	memset(rep, 0, sizeof(*rep));
	rc = hsdo_client_cycle_start(c, dry_run, on_cycle_done, &w);
	return rc != 0 ? rc : run_blocking(c, &w);
}

int hsdo_client_verify(struct hsdo_client *c, bool *converged, char *err, size_t errlen)
{
	struct wait_result w = { .err = err, .errlen = errlen };
	int rc;

	*converged = false;
	rc = hsdo_client_verify_start(c, on_verify_done, &w);
	if (rc == -HSDO_ENOTFOUND)
		return hsdo_seterr(err, errlen, rc, "no slot table read yet");
	if (rc == 0)
		rc = run_blocking(c, &w);
	*converged = w.converged;
	return rc;
}
