/* Fleet health on the server, run by hand (build Release, no sanitizers):
 *   bench_health [repetitions]
 * With 1,000 client reports, each judging every slot of a 100-slot table
 * (one slot failing for everyone, one failing for a single client):
 *   step        hsdo_eject_plan alone (pure: votes, outliers, cap);
 *   read        the file backend reading the 1,000 report files;
 *   cycle       one whole server cycle over the file store: reports read,
 *               generation, plan, step, valve (nothing to write);
 * and, for scale, the step with 10,000 reports. Prints median and best. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "hsdo/alloc.h"
#include "hsdo/eject.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/reports.h"
#include "hsdo/reports_file.h"
#include "hsdo/server.h"
#include "hsdo/slot.h"
#include "hsdo/store.h"
#include "hsdo/store_file.h"

#define SLOTS 100
#define NOW_MS INT64_C(1700000000000)

static const char *prog = "bench_health";

static void make_report(struct hsdo_report *r, size_t client)
{
	size_t i;

	memset(r, 0, sizeof(*r));
	snprintf(r->client_id, sizeof(r->client_id), "haproxy-%04zu", client);
	r->generation = 2;
	r->written_ms = NOW_MS - 1000;
	r->expires_s = NOW_MS / 1000 + 30;
	r->slots = hsdo_calloc(SLOTS, sizeof(*r->slots));
	if (r->slots == NULL)
		bench_die(prog, "report", -HSDO_ENOMEM);
	for (i = 0; i < SLOTS; i++) {
		struct hsdo_report_slot *e = &r->slots[i];
		bool bad = i == 6 || (i == 20 && client == 3);

		e->slot = (uint32_t)(i + 1);
		e->verdict = bad ? HSDO_VERDICT_FAILING : HSDO_VERDICT_OK;
		e->responses = 120 + (uint32_t)(client % 50);
		e->errors = bad ? e->responses * 4 / 5 : (uint32_t)(client % 2);
	}
	r->n = SLOTS;
}

static void make_table(struct hsdo_table *t)
{
	size_t i;
	int rc;

	if ((rc = hsdo_table_init(t, SLOTS)) != 0)
		bench_die(prog, "table", rc);
	for (i = 0; i < SLOTS; i++) {
		struct hsdo_slot *s = &t->slots[i];

		s->state = HSDO_SLOT_ACTIVE;
		hsdo_table_setf(t, &s->name, HSDO_NAME_LEN, "i-%04zu", i + 1);
		hsdo_table_setf(t, &s->ip, HSDO_IP_LEN, "10.0.%zu.%zu", i / 250, i % 250 + 1);
		hsdo_table_setf(t, &s->group, HSDO_GROUP_LEN, "web");
		s->weight = 10;
		s->last_weight_update_us = (NOW_MS - 3600000) * 1000;
	}
	t->generation = 2;
}

static const struct hsdo_eject_settings est = {
	.enabled = true, .quorum_ppm = 500000, .eject_time_ms = 30000,
	.max_ejected_percent = 20, .min_weight = 1, .max_weight = 10,
	.asg_after_ms = -1, .error_ratio_ppm = 500000,
};

static void bench_step(size_t nrep, int reps)
{
	struct hsdo_report *v = hsdo_calloc(nrep, sizeof(*v));
	struct hsdo_eject_result res;
	struct hsdo_table base, t;
	int64_t *ns = calloc((size_t)reps, sizeof(*ns)), best, med;
	size_t i;
	int k, rc;

	if (v == NULL || ns == NULL)
		bench_die(prog, "alloc", -HSDO_ENOMEM);
	for (i = 0; i < nrep; i++)
		make_report(&v[i], i);
	make_table(&base);
	for (k = 0; k < reps; k++) {
		if ((rc = hsdo_table_copy(&t, &base)) != 0)
			bench_die(prog, "copy", rc);
		ns[k] = bench_mono_ns();
		rc = hsdo_eject_plan(&t, v, nrep, NULL, NOW_MS, &est, &res);
		ns[k] = bench_mono_ns() - ns[k];
		if (rc != 0 || res.counts[HSDO_EJECT_EJECTED] != 1)
			bench_die(prog, "step", rc ? rc : -HSDO_EPROTO);
		hsdo_eject_result_free(&res);
		hsdo_table_free(&t);
	}
	med = bench_median(ns, (size_t)reps, &best);
	printf("| step (hsdo_eject_plan) | %6zu | %9.3f | %9.3f |\n", nrep, med / 1e6, best / 1e6);
	for (i = 0; i < nrep; i++)
		hsdo_free(v[i].slots);
	hsdo_free(v);
	hsdo_table_free(&base);
	free(ns);
}

static void done_store(void *arg, int rc, const char *err)
{
	(void)err;
	*(int *)arg = rc;
}

static struct hsdo_server_report last;

static void on_cycle(void *arg, const struct hsdo_server_report *rep)
{
	(void)arg;
	last = *rep;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 20, k, rc, wrc;
	char dir[] = "/tmp/hsdo-bench-health-XXXXXX", path[512], err[512] = "", *rdir;
	struct hsdo_server_settings set;
	struct hsdo_instance inst[SLOTS];
	struct hsdo_reports *rs = NULL;
	struct hsdo_report_set rset;
	struct hsdo_store *st = NULL;
	struct hsdo_server *srv = NULL;
	struct hsdo_report r;
	int64_t ns[200], best, med;
	size_t i;

	if (reps < 1 || reps > 200)
		reps = 20;
	printf("| measured | reports | median ms | best ms |\n|---|---|---|---|\n");
	bench_step(1000, reps);
	bench_step(10000, reps > 10 ? 10 : reps);

	if (mkdtemp(dir) == NULL)
		bench_die(prog, "mkdtemp", -HSDO_EIO);
	snprintf(path, sizeof(path), "%s/slots.json", dir);
	if ((rc = hsdo_store_file_open(path, &st, err, sizeof(err))) != 0 ||
	    (rdir = hsdo_reports_file_dir(path)) == NULL ||
	    (rc = hsdo_reports_file_open(rdir, &rs, err, sizeof(err))) != 0)
		bench_die(prog, err, rc);
	for (i = 0; i < 1000; i++) {
		make_report(&r, i);
		r.generation = 3;
		if ((rc = hsdo_reports_write(rs, &r, done_store, &wrc)) != 0 || wrc != 0)
			bench_die(prog, "write report", rc ? rc : wrc);
		hsdo_free(r.slots);
	}
	for (k = 0; k < reps; k++) {
		memset(&rset, 0, sizeof(rset));
		ns[k] = bench_mono_ns();
		rc = hsdo_reports_read_all(rs, NOW_MS, &rset, done_store, &wrc);
		ns[k] = bench_mono_ns() - ns[k];
		if (rc != 0 || wrc != 0 || rset.n != 1000)
			bench_die(prog, "read reports", rc ? rc : wrc ? wrc : -HSDO_EPROTO);
		hsdo_report_set_free(&rset);
	}
	med = bench_median(ns, (size_t)reps, &best);
	printf("| read (file backend, 1,000 files) | %6d | %9.3f | %9.3f |\n", 1000, med / 1e6,
	       best / 1e6);

	memset(&set, 0, sizeof(set));
	set.plan.min_weight = 1;
	set.plan.max_weight = 10;
	set.plan.increase_weight = 1;
	set.plan.increase_interval_us = 30 * 1000000LL;
	set.plan.drain_time_us = 30 * 1000000LL;
	set.slots = SLOTS;
	set.max_remove_share = 0.5;
	set.confirm_us = 30 * 1000000LL;   /* SERVER_VALVE_SECONDS' default */
	set.eject = est;
	if ((rc = hsdo_server_new(&set, st, &srv, err, sizeof(err))) != 0)
		bench_die(prog, err, rc);
	hsdo_server_set_reports(srv, rs);
	for (i = 0; i < SLOTS; i++) {
		memset(&inst[i], 0, sizeof(inst[i]));
		snprintf(inst[i].id, sizeof(inst[i].id), "i-%04zu", i + 1);
		snprintf(inst[i].ip, sizeof(inst[i].ip), "10.0.%zu.%zu", i / 250, i % 250 + 1);
		snprintf(inst[i].group, sizeof(inst[i].group), "web");
	}
	/* first cycles: create the table, place, eject slot 7 (written once) */
	for (k = 0; k < 3; k++)
		if ((rc = hsdo_server_cycle(srv, inst, SLOTS, NOW_MS * 1000 + k, on_cycle, NULL)) != 0 ||
		    last.outcome == HSDO_SERVER_ERROR)
			bench_die(prog, last.error[0] ? last.error : "cycle", rc ? rc : last.rc);
	for (k = 0; k < reps; k++) {
		ns[k] = bench_mono_ns();
		rc = hsdo_server_cycle(srv, inst, SLOTS, NOW_MS * 1000 + 1000 + k, on_cycle, NULL);
		ns[k] = bench_mono_ns() - ns[k];
		if (rc != 0 || last.outcome != HSDO_SERVER_UNCHANGED || last.reports != 1000 ||
		    last.eject == NULL || last.eject->ejected != 1)
			bench_die(prog, "steady cycle", rc ? rc : -HSDO_EPROTO);
	}
	med = bench_median(ns, (size_t)reps, &best);
	printf("| server cycle (file store, reports, step, valve) | %6d | %9.3f | %9.3f |\n", 1000,
	       med / 1e6, best / 1e6);
	hsdo_server_free(srv);
	hsdo_reports_free(rs);
	hsdo_store_free(st);
	hsdo_free(rdir);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		fprintf(stderr, "%s: could not remove %s\n", prog, dir);
	return 0;
}
