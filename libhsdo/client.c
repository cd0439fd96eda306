/* Client mode cycle: see include/hsdo/client.h. */
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/client.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/rtapi.h"
#include "hsdo/rtapi_client.h"

struct hsdo_client {
	struct hsdo_rtapi_target target;
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
	/* Asynchronous refresh (hsdo_client_refresh_async) in flight/done. */
	struct {
		bool busy, ready;
		uint64_t gen;
		struct hsdo_table t;
		struct hsdo_client_report rep;  /* store_* fields only */
		void (*done)(void *arg);
		void *arg;
	} ar;
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
	hsdo_table_free(&c->table);
	hsdo_table_free(&c->ar.t);
	hsdo_plan_client_result_free(&c->plan);
	hsdo_rtapi_servers_state_free(&c->state);
	hsdo_free(c);
}

int hsdo_client_new(const struct hsdo_config *cfg, struct hsdo_store *store,
		    struct hsdo_client **out, char *err, size_t errlen)
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
	c->timeout_ms = (int)cfg->client_haproxy_timeout_ms;
	c->list_size = (size_t)cfg->haproxy_backend_servers_list_size;
	c->store = store;
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

static int open_conn(struct hsdo_client *c, struct hsdo_rtapi_client **conn,
		     char *err, size_t errlen)
{
	int rc = hsdo_rtapi_client_open(&c->target, c->timeout_ms, conn, err, errlen);

	if (rc == 0)
		c->connections++;
	return rc;
}

/* Read `show servers state` of every configured backend on conn into one
 * merged state. Backends HAProxy does not know are named in `missing`
 * (comma-separated) and skipped; any other failure is an error. */
static int read_state(struct hsdo_client *c, struct hsdo_rtapi_client *conn,
		      struct hsdo_servers_state *out, char *missing, size_t missinglen,
		      char *err, size_t errlen)
{
	struct hsdo_servers_state *parts = NULL;
	struct hsdo_rtapi_result res = { 0 };
	char **cmds = NULL, esc[2 * HSDO_CONFIG_BACKEND_LEN + 1];
	size_t i, total = 0, mlen = 0;
	int rc = -HSDO_ENOMEM;

	memset(out, 0, sizeof(*out));
	if (missinglen)
		missing[0] = '\0';
	cmds = hsdo_calloc(c->nbackends, sizeof(*cmds));
	parts = hsdo_calloc(c->nbackends, sizeof(*parts));
	if (cmds == NULL || parts == NULL)
		goto out;
	for (i = 0; i < c->nbackends; i++) {
		if (hsdo_rtapi_escape(esc, sizeof(esc), c->backends[i].name) < 0) {
			rc = hsdo_seterr(err, errlen, -HSDO_EINVAL, "backend name '%s' cannot be "
					 "sent to the Runtime API", c->backends[i].name);
			goto out;
		}
		cmds[i] = hsdo_malloc(strlen(esc) + 32);
		if (cmds[i] == NULL)
			goto out;
		snprintf(cmds[i], strlen(esc) + 32, "show servers state %s", esc);
	}
	rc = hsdo_rtapi_client_exec(conn, (const char *const *)cmds, c->nbackends, &res,
				    err, errlen);
	if (rc != 0)
		goto out;
	for (i = 0; i < c->nbackends; i++) {
		char perr[200];

		rc = hsdo_rtapi_client_parse_state(&res, i, &parts[i], perr, sizeof(perr));
		c->be_missing[i] = rc == -HSDO_ENOTFOUND;
		if (rc == -HSDO_ENOTFOUND) {
			int n = snprintf(missing + mlen, missinglen - mlen, "%sbackend %s",
					 mlen ? ", " : "", c->backends[i].name);

			if (n > 0 && (size_t)n < missinglen - mlen)
				mlen += (size_t)n;
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
		rc = -HSDO_ENOMEM;
		goto out;
	}
	for (i = 0; i < c->nbackends; i++) {
		if (parts[i].n)
			memcpy(out->srv + out->n, parts[i].srv, parts[i].n * sizeof(*out->srv));
		out->n += parts[i].n;
	}
	rc = 0;
out:
	for (i = 0; cmds != NULL && i < c->nbackends; i++)
		hsdo_free(cmds[i]);
	hsdo_free(cmds);
	for (i = 0; parts != NULL && i < c->nbackends; i++)
		hsdo_rtapi_servers_state_free(&parts[i]);
	hsdo_free(parts);
	hsdo_rtapi_result_free(&res);
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
		size_t blen = strlen(be->base_name), first = 0, last = 0, nmiss = 0;

		if (c->be_missing[i])
			continue;  /* the whole backend is missing: named above */
		/* One pass over the state marks the slots <base><k> present. */
		memset(present, 0, (c->list_size + 1) * sizeof(*present));
		for (s = 0; s < st->n; s++) {
			const char *name = st->srv[s].srv_name, *p;
			size_t k = 0;

			if (strcmp(st->srv[s].be_name, be->name) != 0 ||
			    strncmp(name, be->base_name, blen) != 0 || name[blen] == '0')
				continue;
			for (p = name + blen; *p >= '0' && *p <= '9' && k <= c->list_size; p++)
				k = k * 10 + (size_t)(*p - '0');
			if (*p == '\0' && p > name + blen && k >= 1 && k <= c->list_size)
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

int hsdo_client_check(struct hsdo_client *c, char *err, size_t errlen)
{
	struct hsdo_rtapi_client *conn = NULL;
	struct hsdo_servers_state st;
	char missing[512];
	int rc;

	rc = open_conn(c, &conn, err, errlen);
	if (rc != 0)
		return rc;
	rc = read_state(c, conn, &st, missing, sizeof(missing), err, errlen);
	hsdo_rtapi_client_close(conn);
	if (rc != 0)
		return rc;
	if (find_missing_slots(c, &st, missing, err, errlen))
		rc = -HSDO_ECONFIG;
	hsdo_rtapi_servers_state_free(&st);
	return rc;
}

/* Record a refresh's outcome in rep; on success take *t (a new table) as
 * the desired one. An empty table counts as a failure; the last good table
 * stays on any failure. */
static void refresh_finish(struct hsdo_client *c, struct hsdo_client_report *rep, int rc,
			   struct hsdo_table *t, const char *why)
{
	char err[200];

	snprintf(err, sizeof(err), "%s", why != NULL ? why : "");
	if (rc == 0 && t->n == 0) {
		hsdo_table_free(t);
		rc = hsdo_seterr(err, sizeof(err), -HSDO_EPROTO, "the table has no slots");
	}
	if (rc != 0) {
		rep->store_read_errors++;
		snprintf(rep->store_error, sizeof(rep->store_error), "%s%s%s",
			 hsdo_strerror(rc), err[0] ? ": " : "", err);
		return;
	}
	hsdo_table_free(&c->table);
	c->table = *t;
	memset(t, 0, sizeof(*t));
	c->have_table = true;
	rep->store_ok = true;
	rep->table_changed = true;
}

/* Refresh the desired table from the store (synchronously). */
static void refresh_table(struct hsdo_client *c, struct hsdo_client_report *rep)
{
	struct hsdo_table t = { 0 };
	uint64_t gen = 0;
	char err[200] = "";
	int rc;

	rep->store_reads++;
	rc = hsdo_store_read_generation(c->store, &gen, err, sizeof(err));
	if (rc == 0 && c->have_table && gen == c->table.generation) {
		rep->store_ok = true;
		return;
	}
	if (rc == 0) {
		rep->store_reads++;
		rc = hsdo_store_read_table(c->store, &t, err, sizeof(err));
	}
	refresh_finish(c, rep, rc, &t, err);
}

static void ar_complete(struct hsdo_client *c)
{
	c->ar.busy = false;
	c->ar.ready = true;
	if (c->ar.done != NULL)
		c->ar.done(c->ar.arg);
}

static void ar_table_done(void *arg, int rc, const char *err)
{
	struct hsdo_client *c = arg;

	refresh_finish(c, &c->ar.rep, rc, &c->ar.t, err);
	ar_complete(c);
}

static void ar_gen_done(void *arg, int rc, const char *err)
{
	struct hsdo_client *c = arg;
	int rc2;

	if (rc == 0 && c->have_table && c->ar.gen == c->table.generation) {
		c->ar.rep.store_ok = true;
		ar_complete(c);
		return;
	}
	if (rc != 0) {
		refresh_finish(c, &c->ar.rep, rc, &c->ar.t, err);
		ar_complete(c);
		return;
	}
	c->ar.rep.store_reads++;
	rc2 = hsdo_store_read_table_async(c->store, &c->ar.t, ar_table_done, c);
	if (rc2 != 0) {
		refresh_finish(c, &c->ar.rep, rc2, &c->ar.t, "could not start the table read");
		ar_complete(c);
	}
}

int hsdo_client_refresh_async(struct hsdo_client *c, void (*done)(void *arg), void *arg)
{
	int rc;

	if (c->ar.busy)
		return -HSDO_EAGAIN;
	memset(&c->ar.rep, 0, sizeof(c->ar.rep));
	hsdo_table_free(&c->ar.t);
	c->ar.busy = true;
	c->ar.ready = false;
	c->ar.done = done;
	c->ar.arg = arg;
	c->ar.rep.store_reads++;
	rc = hsdo_store_read_generation_async(c->store, &c->ar.gen, ar_gen_done, c);
	if (rc != 0)
		c->ar.busy = false;
	return rc;
}

/* Send the plan as one batch; classify each reply. */
static int apply_plan(struct hsdo_client *c, struct hsdo_rtapi_client *conn,
		      struct hsdo_client_report *rep, char *err, size_t errlen)
{
	struct hsdo_rtapi_result res = { 0 };
	const char **cmds;
	size_t i;
	int rc, first = 0;

	cmds = hsdo_calloc(c->plan.ncmds, sizeof(*cmds));
	if (cmds == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < c->plan.ncmds; i++)
		cmds[i] = c->plan.cmds[i].line;
	rc = hsdo_rtapi_client_exec(conn, cmds, c->plan.ncmds, &res, err, errlen);
	hsdo_free(cmds);
	if (rc != 0) {
		rep->lost = c->plan.ncmds;
		return rc;
	}
	rep->sent = c->plan.ncmds;
	for (i = 0; i < c->plan.ncmds; i++) {
		char why[200];

		rc = hsdo_rtapi_set_server_reply(res.reply[i], res.len[i], why, sizeof(why));
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
	hsdo_rtapi_result_free(&res);
	return first;
}

static int cycle_rest(struct hsdo_client *c, bool dry_run, struct hsdo_client_report *rep);

int hsdo_client_cycle(struct hsdo_client *c, bool dry_run, struct hsdo_client_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	if (c->ar.ready) {
		/* A refresh finished in the background: use its outcome. */
		rep->store_ok = c->ar.rep.store_ok;
		rep->table_changed = c->ar.rep.table_changed;
		rep->store_reads = c->ar.rep.store_reads;
		rep->store_read_errors = c->ar.rep.store_read_errors;
		memcpy(rep->store_error, c->ar.rep.store_error, sizeof(rep->store_error));
		c->ar.ready = false;
	} else if (c->ar.busy) {
		rep->store_read_errors++;
		snprintf(rep->store_error, sizeof(rep->store_error), "a store read is still running");
	} else {
		refresh_table(c, rep);
	}
	return cycle_rest(c, dry_run, rep);
}

static int cycle_rest(struct hsdo_client *c, bool dry_run, struct hsdo_client_report *rep)
{
	struct hsdo_rtapi_client *conn = NULL;
	struct hsdo_servers_state st = { 0 };
	char missing[512];
	int rc;

	hsdo_plan_client_result_free(&c->plan);
	hsdo_rtapi_servers_state_free(&c->state);
	rep->generation = c->table.generation;
	rep->table = c->have_table ? &c->table : NULL;
	if (!c->have_table) {
		/* Nothing to follow yet: touch nothing. */
		rep->connections = c->connections;
		return -HSDO_ENOTFOUND;
	}
	rc = open_conn(c, &conn, rep->haproxy_error, sizeof(rep->haproxy_error));
	if (rc == 0)
		rc = read_state(c, conn, &st, missing, sizeof(missing), rep->haproxy_error,
				sizeof(rep->haproxy_error));
	if (rc == 0) {
		rep->haproxy_ok = true;
		rep->missing = find_missing_slots(c, &st, missing, rep->haproxy_error,
						  sizeof(rep->haproxy_error));
		rc = hsdo_plan_client(&c->table, &c->settings, &st, &c->plan);
		if (rc != 0)
			snprintf(rep->haproxy_error, sizeof(rep->haproxy_error), "plan: %s",
				 hsdo_strerror(rc));
		else
			rep->plan = &c->plan;
	}
	if (rc == 0 && !dry_run && c->plan.ncmds > 0)
		rc = apply_plan(c, conn, rep, rep->haproxy_error, sizeof(rep->haproxy_error));
	if (rep->haproxy_ok) {
		c->state = st;   /* kept for the report: fleet health reads its checks */
		rep->state = &c->state;
	} else {
		hsdo_rtapi_servers_state_free(&st);
	}
	hsdo_rtapi_client_close(conn);
	rep->connections = c->connections;
	if (rc == 0 && !rep->store_ok)
		return -HSDO_EIO;
	return rc;
}

int hsdo_client_verify(struct hsdo_client *c, bool *converged, char *err, size_t errlen)
{
	struct hsdo_rtapi_client *conn = NULL;
	struct hsdo_servers_state st = { 0 };
	struct hsdo_plan_client_result plan = { 0 };
	char missing[512];
	int rc;

	*converged = false;
	if (!c->have_table)
		return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "no slot table read yet");
	rc = open_conn(c, &conn, err, errlen);
	if (rc == 0)
		rc = read_state(c, conn, &st, missing, sizeof(missing), err, errlen);
	hsdo_rtapi_client_close(conn);
	if (rc == 0)
		rc = hsdo_plan_client(&c->table, &c->settings, &st, &plan);
	if (rc == 0)
		*converged = plan.ncmds == 0 && plan.nskips == 0;
	hsdo_plan_client_result_free(&plan);
	hsdo_rtapi_servers_state_free(&st);
	return rc;
}
