/* Fleet health on the agent's loop: see fleet_health.h. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hsdo/alloc.h"
#include "hsdo/client.h"
#include "hsdo/clock.h"
#include "hsdo/config.h"
#include "hsdo/eject.h"
#include "hsdo/err.h"
#include "hsdo/log.h"
#include "hsdo/report.h"
#include "hsdo/reports.h"
#include "hsdo/reports_ddb.h"
#include "hsdo/reports_file.h"
#include "hsdo/server.h"
#include "hsdo/source.h"
#include "hsdo/store.h"
#include "hsdo/verdict.h"

#include "agent.h"
#include "agent_metrics.h"
#include "fleet_health.h"
#include "spoa.h"

/* Backends a client can have: the list's bound and the fallback. */
#define BACKENDS_MAX 260

/* An instance told to Auto Scaling (or being told): once is enough. */
struct asg_sent {
	char id[HSDO_NAME_LEN];
	bool inflight;
};

struct fleet_health {
	struct agent *a;
	struct hsdo_reports *rs;
	bool open_failed;
	char opened_for[320];            /* the table or directory rs reads */
	/* client */
	char client_id[HSDO_REPORT_ID_LEN];
	struct hsdo_report_slot *last;   /* the verdicts of the last cycle */
	size_t nlast;
	struct hsdo_report_slot *written; /* the last report written */
	size_t nwritten;
	struct hsdo_report_slot *pending; /* the report being written */
	size_t npending;
	int64_t last_write_ms;           /* monotonic, -1: never */
	bool writing;
	char write_error[512];
	/* server */
	uint32_t *capped;
	size_t ncapped;
	char (*outliers)[HSDO_REPORT_ID_LEN];
	size_t noutliers;
	char read_error[512];
	char first_bad[256];
	struct asg_sent *asg;
	size_t nasg, capasg;
};

static int64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* CLIENT_ID, or the host name made into one ([A-Za-z0-9._-], 128 at most). */
static void client_id_of(const struct hsdo_config *c, char *out, size_t len)
{
	char host[256] = "";
	size_t i;

	if (c->client_id[0] != '\0') {
		snprintf(out, len, "%s", c->client_id);
		return;
	}
	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		snprintf(host, sizeof(host), "hsdo-client");
	for (i = 0; host[i] != '\0' && i + 1 < len && i < HSDO_REPORT_ID_LEN - 1; i++)
		out[i] = (host[i] >= 'a' && host[i] <= 'z') || (host[i] >= 'A' && host[i] <= 'Z') ||
			 (host[i] >= '0' && host[i] <= '9') || host[i] == '.' || host[i] == '_' ||
			 host[i] == '-' ? host[i] : '-';
	out[i] = '\0';
	if (!hsdo_report_id_valid(out))
		snprintf(out, len, "hsdo-client");
}

static struct fleet_health *get(struct agent *a)
{
	struct fleet_health *fh = a->fleet_health;

	if (fh != NULL)
		return fh;
	fh = hsdo_calloc(1, sizeof(*fh));
	if (fh == NULL)
		return NULL;
	fh->a = a;
	fh->last_write_ms = -1;
	client_id_of(a->cfg, fh->client_id, sizeof(fh->client_id));
	a->fleet_health = fh;
	return fh;
}

void fleet_health_close(struct fleet_health *fh)
{
	if (fh == NULL)
		return;
	hsdo_reports_free(fh->rs);
	hsdo_free(fh->last);
	hsdo_free(fh->written);
	hsdo_free(fh->pending);
	hsdo_free(fh->capped);
	hsdo_free(fh->outliers);
	hsdo_free(fh->asg);
	hsdo_free(fh);
}

/* The reports store of the configuration, opened once. */
static struct hsdo_reports *open_reports(struct fleet_health *fh)
{
	const struct hsdo_config *c = fh->a->cfg;
	char err[512] = "", what[320], *dir = NULL;
	int rc;

	if (c->store == HSDO_CONFIG_STORE_DYNAMODB)
		snprintf(what, sizeof(what), "DynamoDB table %s", c->health_table_name);
	else if ((dir = hsdo_reports_file_dir(c->store_file_path)) != NULL)
		snprintf(what, sizeof(what), "directory %s", dir);
	else
		snprintf(what, sizeof(what), "?");
	if (fh->rs != NULL) {
		if (strcmp(what, fh->opened_for) != 0 && !fh->open_failed) {
			hsdo_log_warn("fleet health: reports stay in %s until hsdo-agent restarts",
				      fh->opened_for);
			fh->open_failed = true;   /* said once */
		}
		hsdo_free(dir);
		return fh->rs;
	}
	if (c->store == HSDO_CONFIG_STORE_DYNAMODB)
		rc = fh->a->aws == NULL ? -HSDO_ECONFIG :
		     hsdo_reports_ddb_open(c->health_table_name, fh->a->aws, 0, &fh->rs, err,
					   sizeof(err));
	else
		rc = dir == NULL ? -HSDO_ENOMEM : hsdo_reports_file_open(dir, &fh->rs, err, sizeof(err));
	hsdo_free(dir);
	if (rc != 0) {
		if (!fh->open_failed)
			hsdo_log_err("fleet health: reports in %s: %s%s%s", what, hsdo_strerror(rc),
				     err[0] ? ": " : "", err);
		fh->open_failed = true;
		return NULL;
	}
	snprintf(fh->opened_for, sizeof(fh->opened_for), "%s", what);
	hsdo_log_info("fleet health: reports in %s", what);
	return fh->rs;
}

/* ---- client ----------------------------------------------------------------------- */

static const struct hsdo_report_slot *find_entry(const struct hsdo_report_slot *e, size_t n,
						 uint32_t slot)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (e[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && e[lo].slot == slot ? &e[lo] : NULL;
}

/* One line per slot whose verdict changed since the last cycle. */
static void log_verdicts(struct fleet_health *fh, const struct hsdo_report_slot *e, size_t n)
{
	const struct hsdo_report_slot *p;
	size_t i;

	for (i = 0; i < n; i++) {
		p = find_entry(fh->last, fh->nlast, e[i].slot);
		if (e[i].verdict == HSDO_VERDICT_FAILING &&
		    (p == NULL || p->verdict != HSDO_VERDICT_FAILING)) {
			if (e[i].check == HSDO_CHECK_DOWN)
				hsdo_log_warn("slot %" PRIu32 " failing for this HAProxy: its health "
					      "check is DOWN (%" PRIu32 " of %" PRIu32 " responses were "
					      "errors)", e[i].slot, e[i].errors, e[i].responses);
			else
				hsdo_log_warn("slot %" PRIu32 " failing for this HAProxy: %" PRIu32
					      " of %" PRIu32 " responses were errors", e[i].slot,
					      e[i].errors, e[i].responses);
		} else if (e[i].verdict == HSDO_VERDICT_OK && p != NULL &&
			   p->verdict == HSDO_VERDICT_FAILING) {
			hsdo_log_info("slot %" PRIu32 " ok again for this HAProxy", e[i].slot);
		}
	}
	for (i = 0; i < fh->nlast; i++) {
		p = find_entry(e, n, fh->last[i].slot);
		if (fh->last[i].verdict == HSDO_VERDICT_FAILING &&
		    (p == NULL || p->verdict == HSDO_VERDICT_IDLE))
			hsdo_log_info("slot %" PRIu32 " no longer judged by this HAProxy (no traffic)",
				      fh->last[i].slot);
	}
}

static void on_written(void *arg, int rc, const char *err)
{
	struct fleet_health *fh = arg;
	char msg[sizeof(fh->write_error)];

	fh->writing = false;
	agent_metrics_health_write(fh->a, rc == 0);
	if (rc != 0) {
		snprintf(msg, sizeof(msg), "%s%s%s", hsdo_strerror(rc), err && err[0] ? ": " : "",
			 err ? err : "");
		if (strcmp(msg, fh->write_error) != 0)
			hsdo_log_err("fleet health: report of %s not written: %s; retrying",
				     fh->client_id, msg);
		memcpy(fh->write_error, msg, sizeof(msg));
		hsdo_free(fh->pending);
		fh->pending = NULL;
		fh->npending = 0;
		return;
	}
	if (fh->write_error[0] != '\0')
		hsdo_log_info("fleet health: reports written again");
	fh->write_error[0] = '\0';
	hsdo_free(fh->written);
	fh->written = fh->pending;
	fh->nwritten = fh->npending;
	fh->pending = NULL;
	fh->npending = 0;
}

/* The configured backends, for the verdicts: be[0..*n). */
static size_t backends_of(const struct hsdo_config *c, struct hsdo_verdict_backend *be, size_t max)
{
	const struct hsdo_config_backends *l = &c->client_haproxy_backend_list;
	size_t i, n = 0;

	for (i = 0; i < l->n && n < max; i++, n++) {
		be[n].name = l->v[i].name;
		be[n].base_name = l->v[i].base_name;
	}
	if (c->client_haproxy_fallback_backend.name[0] != '\0' && n < max) {
		be[n].name = c->client_haproxy_fallback_backend.name;
		be[n].base_name = c->client_haproxy_fallback_backend.base_name;
		n++;
	}
	return n;
}

static void write_report(struct fleet_health *fh, const struct hsdo_client_report *rep,
			 struct hsdo_report_slot *e, size_t n, int64_t now)
{
	const struct hsdo_config *c = fh->a->cfg;
	struct hsdo_reports *rs = open_reports(fh);
	struct hsdo_report r;
	int64_t wall = wall_ms();
	int rc;

	fh->last_write_ms = now;
	if (rs == NULL) {
		hsdo_free(e);
		return;
	}
	memset(&r, 0, sizeof(r));
	memcpy(r.client_id, fh->client_id, sizeof(r.client_id));
	r.generation = rep->table != NULL ? rep->generation : 0;
	r.written_ms = wall;
	/* Three heartbeats: one late or lost write does not expire it. */
	r.expires_s = (wall + 3 * c->health_report_interval_ms + 999) / 1000;
	r.slots = e;
	r.n = n;
	fh->pending = e;
	fh->npending = n;
	fh->writing = true;
	rc = hsdo_reports_write(rs, &r, on_written, fh);
	if (rc != 0)
		on_written(fh, rc, "could not start the write");
}

void fleet_health_client_cycle(struct agent *a, const struct hsdo_client_report *rep)
{
	const struct hsdo_config *c = a->cfg;
	struct hsdo_verdict_backend be[BACKENDS_MAX];
	struct hsdo_verdict_settings st;
	struct hsdo_verdict_input *in = NULL;
	struct hsdo_report_slot *e = NULL;
	struct fleet_health *fh;
	size_t nin = 0, n = 0, i, count[HSDO_VERDICT_COUNT] = { 0 };
	int64_t now = hsdo_clock_mono_ms();
	bool changed;
	int rc;

	if (!c->health_eject || a->once || (fh = get(a)) == NULL)
		return;
	st.min_requests = (uint64_t)c->health_min_requests;
	st.error_ratio_ppm = hsdo_verdict_ratio_ppm(c->health_error_ratio);
	rc = hsdo_verdict_collect(a->spoa != NULL ? spoa_health(a->spoa) : NULL,
				  a->spoa != NULL ? hsdo_clock_mono_ms() : 0, rep->state, be,
				  backends_of(c, be, sizeof(be) / sizeof(be[0])),
				  (uint32_t)c->haproxy_backend_servers_list_size, &in, &nin);
	if (rc == 0)
		rc = hsdo_verdict_build(in, nin, &st, &e, &n, NULL);
	hsdo_free(in);
	if (rc != 0) {
		hsdo_log_err("fleet health: verdicts: %s", hsdo_strerror(rc));
		return;
	}
	log_verdicts(fh, e, n);
	for (i = 0; i < n; i++)
		count[e[i].verdict]++;
	agent_metrics_health_verdicts(a, count[HSDO_VERDICT_OK], count[HSDO_VERDICT_FAILING],
				      count[HSDO_VERDICT_IDLE]);
	changed = hsdo_verdict_changed(fh->written, fh->nwritten, e, n);
	/* Keep this cycle's verdicts for the next comparison (a copy: e may
	 * become the report in flight). */
	hsdo_free(fh->last);
	fh->last = NULL;
	fh->nlast = 0;
	if (n > 0 && (fh->last = hsdo_calloc(n, sizeof(*e))) != NULL) {
		memcpy(fh->last, e, n * sizeof(*e));
		fh->nlast = n;
	}
	if (fh->writing ||
	    !hsdo_verdict_due(fh->last_write_ms, now, changed, c->interval_ms,
			      c->health_report_interval_ms)) {
		hsdo_free(e);
		return;
	}
	write_report(fh, rep, e, n, now);
}

/* ---- server ----------------------------------------------------------------------- */

struct hsdo_reports *fleet_health_reports(struct agent *a)
{
	struct fleet_health *fh;

	if (!a->cfg->health_eject || (fh = get(a)) == NULL)
		return NULL;
	return open_reports(fh);
}

/* "i-0abc 10.0.1.7" or "i-0abc 10.0.1.7:8080". */
static const char *who(const struct hsdo_slot *s, char *buf, size_t len)
{
	if (s->port != 0)
		snprintf(buf, len, "%s %s%s%s:%u", s->name, strchr(s->ip, ':') ? "[" : "", s->ip,
			 strchr(s->ip, ':') ? "]" : "", (unsigned)s->port);
	else
		snprintf(buf, len, "%s %s", s->name, s->ip);
	return buf;
}

static void group_counts(const struct hsdo_table *t, const char *group, size_t *in, size_t *ej)
{
	size_t i;

	*in = *ej = 0;
	for (i = 0; i < t->n; i++) {
		const struct hsdo_slot *s = &t->slots[i];

		if ((s->state != HSDO_SLOT_ACTIVE && s->state != HSDO_SLOT_EJECTED) ||
		    strcmp(s->group, group) != 0)
			continue;
		(*in)++;
		*ej += s->state == HSDO_SLOT_EJECTED;
	}
}

static bool in_list(const uint32_t *v, size_t n, uint32_t x)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i] == x)
			return true;
	return false;
}

/* One line per ejection and return that the cycle wrote; capped slots
 * once per change of the set. */
static void log_events(struct fleet_health *fh, const struct hsdo_server_report *rep)
{
	const struct hsdo_eject_result *ej = rep->eject;
	const struct hsdo_table *t = rep->table;
	const struct hsdo_config *c = fh->a->cfg;
	uint32_t *capped = NULL;
	size_t i, ncapped = 0, in, nej;
	char w[HSDO_NAME_LEN + 80], reason[HSDO_EJECT_REASON_LEN];

	if (t == NULL)
		return;
	if (ej->counts[HSDO_EJECT_CAPPED] > 0)
		capped = hsdo_calloc(ej->counts[HSDO_EJECT_CAPPED], sizeof(*capped));
	for (i = 0; i < ej->nevents; i++) {
		const struct hsdo_eject_event *ev = &ej->events[i];
		const struct hsdo_slot *s;

		if (ev->slot < 1 || ev->slot > t->n)
			continue;
		s = &t->slots[ev->slot - 1];
		switch (ev->kind) {
		case HSDO_EJECT_EJECTED:
			if (rep->outcome == HSDO_SERVER_WROTE)
				hsdo_log_warn("slot %" PRIu32 " %s ejected for %" PRId64 " s: %s",
					      ev->slot, who(s, w, sizeof(w)),
					      (ev->duration_ms + 999) / 1000, s->eject_reason);
			break;
		case HSDO_EJECT_READMITTED:
			if (rep->outcome == HSDO_SERVER_WROTE)
				hsdo_log_info("slot %" PRIu32 " %s back in service, ramping from "
					      "weight %" PRIu32 " (ejected %" PRIu32 " time%s)",
					      ev->slot, who(s, w, sizeof(w)), s->weight, ev->count,
					      ev->count == 1 ? "" : "s");
			break;
		case HSDO_EJECT_CAPPED:
			if (capped != NULL)
				capped[ncapped++] = ev->slot;
			if (in_list(fh->capped, fh->ncapped, ev->slot))
				break;
			group_counts(t, s->group, &in, &nej);
			hsdo_log_warn("slot %" PRIu32 " %s not ejected: %s, but the cap of group %s "
				      "is reached (%zu of %zu ejected, HEALTH_MAX_EJECTED_PERCENT %d)",
				      ev->slot, who(s, w, sizeof(w)),
				      hsdo_eject_reason(&ev->votes, ev->cause,
							hsdo_verdict_ratio_ppm(c->health_error_ratio),
							reason, sizeof(reason)),
				      s->group[0] ? s->group : "(none)", nej, in,
				      c->health_max_ejected_percent);
			break;
		case HSDO_EJECT_FORGOTTEN:
			if (rep->outcome == HSDO_SERVER_WROTE)
				hsdo_log_debug("slot %" PRIu32 " %s: its ejections are forgotten",
					       ev->slot, who(s, w, sizeof(w)));
			break;
		default:
			break;
		}
	}
	hsdo_free(fh->capped);
	fh->capped = capped;
	fh->ncapped = ncapped;
}

static bool outlier_known(const struct fleet_health *fh, const char *id)
{
	size_t i;

	for (i = 0; i < fh->noutliers; i++)
		if (strcmp(fh->outliers[i], id) == 0)
			return true;
	return false;
}

/* A line when a client becomes an outlier, and when it is one no more. */
static void log_outliers(struct fleet_health *fh, const struct hsdo_eject_result *ej)
{
	char (*now)[HSDO_REPORT_ID_LEN] = NULL;
	size_t i, k;
	bool still;

	for (i = 0; i < ej->noutliers; i++)
		if (!outlier_known(fh, ej->outliers[i].client_id))
			hsdo_log_warn("client %s is an outlier: it calls %u of %u slots failing while "
				      "most HAProxies do not; its votes are ignored",
				      ej->outliers[i].client_id, ej->outliers[i].failing,
				      ej->outliers[i].voting);
	for (i = 0; i < fh->noutliers; i++) {
		for (k = 0, still = false; k < ej->noutliers && !still; k++)
			still = strcmp(ej->outliers[k].client_id, fh->outliers[i]) == 0;
		if (!still)
			hsdo_log_info("client %s is no longer an outlier", fh->outliers[i]);
	}
	if (ej->noutliers > 0 && (now = hsdo_calloc(ej->noutliers, sizeof(*now))) != NULL)
		for (i = 0; i < ej->noutliers; i++)
			memcpy(now[i], ej->outliers[i].client_id, sizeof(now[i]));
	hsdo_free(fh->outliers);
	fh->outliers = now;
	fh->noutliers = now != NULL ? ej->noutliers : 0;
}

struct asg_call {
	struct fleet_health *fh;
	char id[HSDO_NAME_LEN];
	int64_t since_s;
};

static struct asg_sent *asg_find(struct fleet_health *fh, const char *id)
{
	size_t i;

	for (i = 0; i < fh->nasg; i++)
		if (strcmp(fh->asg[i].id, id) == 0)
			return &fh->asg[i];
	return NULL;
}

static void on_asg(void *arg, int rc, const char *err)
{
	struct asg_call *call = arg;
	struct fleet_health *fh = call->fh;
	struct asg_sent *e = asg_find(fh, call->id);

	if (e != NULL)
		e->inflight = false;
	if (rc == 0) {
		hsdo_log_warn("instance %s: SetInstanceHealth Unhealthy sent (failing for %" PRId64
			      " s); Auto Scaling replaces it", call->id, call->since_s);
	} else if (rc == -HSDO_ENOTFOUND) {
		hsdo_log_info("instance %s: Auto Scaling does not know it any more (%s)", call->id,
			      err ? err : "");
	} else if (e != NULL) {
		/* Forget it: the next cycle tries again. */
		hsdo_log_warn("instance %s: SetInstanceHealth failed: %s%s%s; retrying", call->id,
			      hsdo_strerror(rc), err && err[0] ? ": " : "", err ? err : "");
		*e = fh->asg[--fh->nasg];
	}
	agent_metrics_health_asg(fh->a, rc == 0 ? "ok" : rc == -HSDO_ENOTFOUND ? "not_found" :
				 "error");
	hsdo_free(call);
}

/* SetInstanceHealth once per instance due; forget instances no longer ejected. */
static void asg_calls(struct fleet_health *fh, const struct hsdo_server_report *rep,
		      struct hsdo_source *src)
{
	const struct hsdo_table *t = rep->table;
	const struct hsdo_eject_result *ej = rep->eject;
	struct asg_call *call;
	struct asg_sent *e;
	size_t i, k;

	for (i = 0, k = 0; i < fh->nasg; i++) {
		bool keep = fh->asg[i].inflight;
		size_t j;

		for (j = 0; !keep && t != NULL && j < t->n; j++)
			keep = t->slots[j].state == HSDO_SLOT_EJECTED &&
			       strcmp(t->slots[j].name, fh->asg[i].id) == 0;
		if (keep)
			fh->asg[k++] = fh->asg[i];
	}
	fh->nasg = k;
	if (t == NULL || src == NULL ||
	    (rep->outcome != HSDO_SERVER_WROTE && rep->outcome != HSDO_SERVER_UNCHANGED))
		return;
	for (i = 0; i < ej->nasg_due; i++) {
		const struct hsdo_slot *s;

		if (ej->asg_due[i] < 1 || ej->asg_due[i] > t->n)
			continue;
		s = &t->slots[ej->asg_due[i] - 1];
		if (s->state != HSDO_SLOT_EJECTED || asg_find(fh, s->name) != NULL)
			continue;
		if (hsdo_grow((void **)&fh->asg, &fh->capasg, fh->nasg, sizeof(*fh->asg),
			      HSDO_SLOTS_MAX, "instances", NULL, 0) != 0)
			return;
		call = hsdo_calloc(1, sizeof(*call));
		if (call == NULL)
			return;
		e = &fh->asg[fh->nasg++];
		memset(e, 0, sizeof(*e));
		(void)hsdo_strlcpy_field(e->id, sizeof(e->id), s->name);
		e->inflight = true;
		call->fh = fh;
		(void)hsdo_strlcpy_field(call->id, sizeof(call->id), s->name);
		call->since_s = (wall_ms() - s->eject_since_ms) / 1000;
		if (hsdo_source_set_unhealthy(src, s->name, on_asg, call) != 0) {
			fh->nasg--;
			hsdo_free(call);
			hsdo_log_warn("instance %s: cannot send SetInstanceHealth (SERVER_MODE %s)",
				      s->name, hsdo_source_name(src));
		}
	}
}

void fleet_health_server_cycle(struct agent *a, const struct hsdo_server_report *rep,
			       struct hsdo_source *src)
{
	const struct hsdo_config *c = a->cfg;
	struct fleet_health *fh;
	char msg[sizeof(fh->read_error)];

	agent_metrics_health_server(a, rep);
	if (rep->eject == NULL || (fh = get(a)) == NULL)
		return;
	if (rep->reports_rc != 0) {
		snprintf(msg, sizeof(msg), "%s", rep->reports_error);
		if (strcmp(msg, fh->read_error) != 0)
			hsdo_log_err("fleet health: reports not read (%s); no slot is ejected until "
				     "they are", msg);
		memcpy(fh->read_error, msg, sizeof(msg));
	} else if (rep->reports_read && fh->read_error[0] != '\0') {
		hsdo_log_info("fleet health: reports read again");
		fh->read_error[0] = '\0';
	}
	if (rep->reports_bad > 0 && strcmp(rep->reports_first_bad, fh->first_bad) != 0)
		hsdo_log_warn("fleet health: %zu report%s not read: %s", rep->reports_bad,
			      rep->reports_bad == 1 ? "" : "s", rep->reports_first_bad);
	snprintf(fh->first_bad, sizeof(fh->first_bad), "%s", rep->reports_first_bad);
	log_events(fh, rep);
	log_outliers(fh, rep->eject);
	if (c->health_asg_set_unhealthy)
		asg_calls(fh, rep, src);
}
