/* Server cycle over the real file store: first start, zero writes when
 * nothing changed, ramp writes only what changed, safety valves, overflow,
 * restart with an existing table, conflicts, the lease with a standby and
 * fencing of a deposed holder. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/eject.h"
#include "hsdo/err.h"
#include "hsdo/report.h"
#include "hsdo/reports.h"
#include "hsdo/reports_file.h"
#include "hsdo/server.h"
#include "hsdo/store.h"
#include "hsdo/store_file.h"
#include "hsdo_test.h"

#define SEC 1000000LL
#define T0 (1700000000LL * SEC)
#define N 8

struct fx {
	char *dir;
	char path[512];
	struct hsdo_store *st;
};

static void fx_open(struct fx *f)
{
	char err[512] = "";

	f->dir = hsdo_test_tmpdir("server");
	ck_assert_ptr_nonnull(f->dir);
	snprintf(f->path, sizeof(f->path), "%s/slots.json", f->dir);
	ck_assert_msg(hsdo_store_file_open(f->path, &f->st, err, sizeof(err)) == 0, "%s", err);
}

static struct hsdo_store *fx_second(struct fx *f)
{
	struct hsdo_store *st;
	char err[512] = "";

	ck_assert_msg(hsdo_store_file_open(f->path, &st, err, sizeof(err)) == 0, "%s", err);
	return st;
}

static void fx_close(struct fx *f)
{
	hsdo_store_free(f->st);
	hsdo_test_rmtree(f->dir);
	free(f->dir);
}

static struct hsdo_server_settings settings(const char *holder, int64_t ttl_ms)
{
	struct hsdo_server_settings s;

	memset(&s, 0, sizeof(s));
	s.plan.min_weight = 10;
	s.plan.max_weight = 100;
	s.plan.increase_weight = 30;
	s.plan.increase_interval_us = 10 * SEC;
	s.plan.drain_time_us = 30 * SEC;
	s.slots = N;
	snprintf(s.holder, sizeof(s.holder), "%s", holder);
	s.lease_ttl_ms = ttl_ms;
	s.max_remove_share = 0.5;
	s.confirm_us = 2 * SEC;
	return s;
}

static struct hsdo_server *mk(struct hsdo_store *st, const struct hsdo_server_settings *set)
{
	struct hsdo_server *s = NULL;
	char err[256] = "";

	ck_assert_msg(hsdo_server_new(set, st, &s, err, sizeof(err)) == 0, "%s", err);
	return s;
}

static struct hsdo_instance inst(int i)
{
	struct hsdo_instance in;

	memset(&in, 0, sizeof(in));
	snprintf(in.id, sizeof(in.id), "i-%04d", i);
	snprintf(in.ip, sizeof(in.ip), "10.0.0.%d", i);
	snprintf(in.group, sizeof(in.group), "asg");
	return in;
}

static struct hsdo_server_report last;
static int ncalls;

static void on_done(void *arg, const struct hsdo_server_report *rep)
{
	(void)arg;
	last = *rep;
	ncalls++;
}

/* One cycle with instances 1..n (skipping any in `skip`, a bit mask). */
static struct hsdo_server_report cycle(struct hsdo_server *s, int n, unsigned skip, int64_t now)
{
	struct hsdo_instance v[64];
	int i, k = 0, before = ncalls;

	for (i = 1; i <= n; i++)
		if (!(skip & (1u << i)))
			v[k++] = inst(i);
	ck_assert_int_eq(hsdo_server_cycle(s, v, (size_t)k, now, on_done, NULL), 0);
	ck_assert_int_eq(ncalls, before + 1); /* the file store completes at once */
	ck_assert(!hsdo_server_busy(s));
	return last;
}

static void read_table(struct hsdo_store *st, struct hsdo_table *t)
{
	char err[256] = "";

	ck_assert_msg(hsdo_store_read_table(st, t, err, sizeof(err)) == 0, "%s", err);
}

static size_t count_state(const struct hsdo_table *t, enum hsdo_slot_state st)
{
	size_t i, c = 0;

	for (i = 0; i < t->n; i++)
		c += t->slots[i].state == st;
	return c;
}

START_TEST(first_start_then_zero_writes)
{
	struct fx f;
	struct hsdo_server_settings set = settings("a", 0);
	struct hsdo_server *s;
	struct hsdo_server_report r;
	struct hsdo_table t;

	fx_open(&f);
	s = mk(f.st, &set);
	r = cycle(s, 3, 0, T0);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_uint_eq(r.added, 3);
	ck_assert_uint_eq(r.written, 3);
	ck_assert(r.table_read);
	read_table(f.st, &t);
	ck_assert_uint_eq(t.n, N);
	ck_assert_str_eq(t.slots[0].name, "i-0001");
	ck_assert_str_eq(t.slots[2].name, "i-0003");
	ck_assert_uint_eq(t.slots[0].weight, 10);
	ck_assert_uint_eq(t.generation, r.generation);
	hsdo_table_free(&t);
	/* Same instances, same time window: no write and one store call
	 * (the generation), no table read. */
	r = cycle(s, 3, 0, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_UNCHANGED);
	ck_assert_uint_eq(r.written, 0);
	ck_assert_uint_eq(r.store_calls, 1);
	ck_assert(!r.table_read);
	/* A ramp step writes only the ramped slots. */
	r = cycle(s, 3, 0, T0 + 10 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_uint_eq(r.written, 3);
	ck_assert_uint_eq(r.ramped, 3);
	read_table(f.st, &t);
	ck_assert_uint_eq(t.slots[1].weight, 40);
	hsdo_table_free(&t);
	/* One more instance: one slot written. */
	r = cycle(s, 4, 0, T0 + 11 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_uint_eq(r.written, 1);
	hsdo_server_free(s);
	/* A restarted server keeps every slot: nothing to write. */
	s = mk(f.st, &set);
	r = cycle(s, 4, 0, T0 + 12 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_UNCHANGED);
	ck_assert(r.table_read);
	read_table(f.st, &t);
	ck_assert_str_eq(t.slots[3].name, "i-0004");
	hsdo_table_free(&t);
	hsdo_server_free(s);
	fx_close(&f);
}
END_TEST

/* A table without a generation (written by another kind of writer, such
 * as the original server) is read whole every cycle until a write of ours
 * gives it one: a change made there meanwhile is seen. */
START_TEST(unversioned_table_read_every_cycle)
{
	const char *doc = "{\"format\":\"hsdo-slots\",\"version\":1,\"slots\":[\n"
		"{\"BackendServerID\":{\"N\":\"1\"},\"IPAddress\":{\"S\":\"10.0.0.1\"},"
		"\"ServerName\":{\"S\":\"i-0001\"},\"ASG\":{\"S\":\"asg\"},"
		"\"Weight\":{\"N\":\"100\"},\"BackendServerStatus\":{\"S\":\"enabled\"},"
		"\"LastWeightUpdate\":{\"S\":\"2023-11-14 22:13:20\"}}]}";
	struct fx f;
	struct hsdo_server_settings set = settings("a", 0);
	struct hsdo_server *s;
	struct hsdo_server_report r;

	set.slots = 1;
	fx_open(&f);
	ck_assert_int_eq(hsdo_test_write_file(f.path, doc, strlen(doc)), 0);
	s = mk(f.st, &set);
	r = cycle(s, 1, 0, T0);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_UNCHANGED);
	ck_assert(r.table_read);
	ck_assert_uint_eq(r.generation, 0);
	r = cycle(s, 1, 0, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_UNCHANGED);
	ck_assert(r.table_read);
	hsdo_server_free(s);
	fx_close(&f);
}
END_TEST

/* Issue #10, finding 9: at INTERVAL 0.2 the valve gave way after 3 cycles
 * (0.6 s), so a source empty for 3 s emptied the table. It counts time:
 * 0.2 s apart, an empty list is held for 3 s (15 cycles), then applies. */
START_TEST(valve_counts_time_not_cycles)
{
	struct fx f;
	struct hsdo_server_settings set = settings("a", 0);
	struct hsdo_server *s;
	struct hsdo_server_report r;
	int64_t t = T0 + SEC, step = SEC / 5;
	int held = 0;

	fx_open(&f);
	set.confirm_us = 3 * SEC;
	s = mk(f.st, &set);
	ck_assert_int_eq(cycle(s, 4, 0, T0).outcome, HSDO_SERVER_WROTE);
	for (;;) {
		r = cycle(s, 0, 0, t);
		if (r.outcome != HSDO_SERVER_HELD)
			break;
		held++;
		ck_assert_int_lt(r.held_us, 3 * SEC);
		t += step;
	}
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_int_eq(held, 15);
	ck_assert_int_eq(r.held_us, 3 * SEC);
	ck_assert_uint_eq(r.held_cycles, 16);
	hsdo_server_free(s);
	fx_close(&f);
}
END_TEST

START_TEST(valve_holds_then_applies)
{
	struct fx f;
	struct hsdo_server_settings set = settings("a", 0);
	struct hsdo_server *s;
	struct hsdo_server_report r;
	struct hsdo_table t;
	unsigned skip3 = (1u << 1) | (1u << 2) | (1u << 3);

	fx_open(&f);
	s = mk(f.st, &set);
	ck_assert_int_eq(cycle(s, 4, 0, T0).outcome, HSDO_SERVER_WROTE);
	/* 3 of 4 leave at once: held while under 2 s, applied at 2 s. */
	r = cycle(s, 4, skip3, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_HELD);
	ck_assert_uint_eq(r.held_cycles, 1);
	ck_assert_uint_eq(r.would_remove, 3);
	ck_assert_uint_eq(r.used, 4);
	ck_assert_ptr_nonnull(strstr(r.held_reason, "3 of 4"));
	r = cycle(s, 4, skip3, T0 + 2 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_HELD);
	ck_assert_uint_eq(r.held_cycles, 2);
	read_table(f.st, &t);
	ck_assert_uint_eq(count_state(&t, HSDO_SLOT_ACTIVE), 4);
	hsdo_table_free(&t);
	r = cycle(s, 4, skip3, T0 + 3 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_ptr_nonnull(strstr(r.held_reason, "applied after 2.0 s (3 cycles)"));
	ck_assert_int_eq(r.held_us, 2 * SEC);
	ck_assert_uint_eq(r.drain_started, 3);
	read_table(f.st, &t);
	ck_assert_uint_eq(count_state(&t, HSDO_SLOT_DRAINING), 3);
	hsdo_table_free(&t);
	/* Back: reactivated (not a removal, no valve). */
	r = cycle(s, 4, 0, T0 + 4 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_uint_eq(r.reactivated, 3);
	/* One glitch cycle of zero instances is held; the next good cycle
	 * resets the clock, so two more glitches (1 s) are held again. */
	ck_assert_int_eq(cycle(s, 0, 0, T0 + 5 * SEC).outcome, HSDO_SERVER_HELD);
	ck_assert_ptr_nonnull(strstr(last.held_reason, "no instance"));
	ck_assert_int_eq(cycle(s, 4, 0, T0 + 6 * SEC).outcome, HSDO_SERVER_UNCHANGED);
	ck_assert_int_eq(cycle(s, 0, 0, T0 + 7 * SEC).outcome, HSDO_SERVER_HELD);
	ck_assert_uint_eq(last.held_cycles, 1);
	ck_assert_int_eq(cycle(s, 0, 0, T0 + 8 * SEC).outcome, HSDO_SERVER_HELD);
	read_table(f.st, &t);
	ck_assert_uint_eq(count_state(&t, HSDO_SLOT_ACTIVE), 4);
	hsdo_table_free(&t);
	/* Removing one of four (25%) is not held. */
	ck_assert_int_eq(cycle(s, 4, 1u << 4, T0 + 9 * SEC).outcome, HSDO_SERVER_WROTE);
	hsdo_server_free(s);
	fx_close(&f);
}
END_TEST

START_TEST(overflow_reported)
{
	struct fx f;
	struct hsdo_server_settings set = settings("a", 0);
	struct hsdo_server *s;
	struct hsdo_server_report r;

	fx_open(&f);
	s = mk(f.st, &set);
	r = cycle(s, N + 3, 0, T0);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_uint_eq(r.added, N);
	ck_assert_uint_eq(r.overflow, 3);
	ck_assert_str_eq(r.overflow_ids[0], "i-0009");
	hsdo_server_free(s);
	fx_close(&f);
}
END_TEST

START_TEST(external_write_is_a_conflict_then_reread)
{
	struct fx f;
	struct hsdo_server_settings set = settings("a", 0);
	struct hsdo_server *s;
	struct hsdo_server_report r;
	struct hsdo_table t;
	char err[256] = "";
	uint32_t id = 8;

	fx_open(&f);
	s = mk(f.st, &set);
	ck_assert_int_eq(cycle(s, 2, 0, T0).outcome, HSDO_SERVER_WROTE);
	/* Someone else writes slot 8. */
	read_table(f.st, &t);
	hsdo_table_setf(&t, &t.slots[7].name, HSDO_NAME_LEN, "i-other");
	hsdo_table_setf(&t, &t.slots[7].ip, HSDO_IP_LEN, "10.9.9.9");
	t.slots[7].state = HSDO_SLOT_ACTIVE;
	t.slots[7].weight = 50;
	t.slots[7].last_weight_update_us = T0;
	ck_assert_msg(hsdo_store_write_slots(f.st, &t, &id, 1, t.generation, 0, err,
					     sizeof(err)) == 0, "%s", err);
	hsdo_table_free(&t);
	/* The server notices the generation and re-reads before planning:
	 * i-other is not a reported instance, so it starts draining. */
	r = cycle(s, 2, 0, T0 + SEC);
	ck_assert(r.table_read);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_uint_eq(r.drain_started, 1);
	hsdo_server_free(s);
	fx_close(&f);
}
END_TEST

/* Two servers: A holds the lease; B is standby without store calls; A is
 * paused past the TTL, B takes over and rewrites every slot under epoch 2;
 * A resumes believing it still holds the lease and is refused. */
START_TEST(standby_takeover_and_fencing)
{
	struct fx f;
	struct hsdo_store *st_b;
	struct hsdo_server_settings sa = settings("srv-a", 10000), sb = settings("srv-b", 10000);
	struct hsdo_server *a, *b;
	struct hsdo_server_report r;
	struct hsdo_table t;

	fx_open(&f);
	st_b = fx_second(&f);
	a = mk(f.st, &sa);
	b = mk(st_b, &sb);
	r = cycle(a, 3, 0, T0);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert(r.took_over);
	ck_assert(r.fenced);
	ck_assert_uint_eq(r.lease.epoch, 1);
	r = cycle(b, 3, 0, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_STANDBY);
	ck_assert_str_eq(r.lease.holder, "srv-a");
	ck_assert_uint_eq(r.store_calls, 1);
	r = cycle(b, 3, 0, T0 + 2 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_STANDBY);
	ck_assert_uint_eq(r.store_calls, 0);
	/* A renews only past half the TTL. */
	r = cycle(a, 3, 0, T0 + 2 * SEC);
	ck_assert_uint_eq(r.store_calls, 1);
	r = cycle(a, 3, 0, T0 + 6 * SEC);
	ck_assert_uint_eq(r.store_calls, 2);
	ck_assert_int_eq(r.lease.expires_ms, (T0 + 16 * SEC) / 1000);
	/* A pauses. B takes over after expiry with a new instance set. */
	r = cycle(b, 4, 1u << 1, T0 + 17 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert(r.took_over);
	ck_assert(r.fenced);
	ck_assert_uint_eq(r.written, N);
	ck_assert_uint_eq(r.lease.epoch, 2);
	/* A resumes with a clock that says its lease is still valid, and a
	 * plan that would reactivate instance 1: refused, nothing written. */
	r = cycle(a, 3, 0, T0 + 7 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_CONFLICT);
	ck_assert_ptr_nonnull(strstr(r.error, "deposed"));
	read_table(f.st, &t);
	ck_assert_int_eq(t.slots[0].state, HSDO_SLOT_DRAINING);
	ck_assert_str_eq(t.slots[3].name, "i-0004");
	hsdo_table_free(&t);
	/* With its real clock, A now sees B's lease and stands by. */
	r = cycle(a, 3, 0, T0 + 18 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_STANDBY);
	ck_assert_str_eq(r.lease.holder, "srv-b");
	hsdo_server_free(a);
	hsdo_server_free(b);
	hsdo_store_free(st_b);
	fx_close(&f);
}
END_TEST

static void release_done(void *arg, int rc, const char *err)
{
	(void)err;
	*(int *)arg = rc;
}

START_TEST(release_hands_over_at_once)
{
	struct fx f;
	struct hsdo_store *st_b;
	struct hsdo_server_settings sa = settings("srv-a", 10000), sb = settings("srv-b", 10000);
	struct hsdo_server *a, *b;
	int rc = 99;

	fx_open(&f);
	st_b = fx_second(&f);
	a = mk(f.st, &sa);
	b = mk(st_b, &sb);
	ck_assert_int_eq(cycle(a, 2, 0, T0).outcome, HSDO_SERVER_WROTE);
	ck_assert_int_eq(hsdo_server_release(a, T0 + SEC, release_done, &rc), 0);
	ck_assert_int_eq(rc, 0);
	ck_assert_int_eq(hsdo_server_release(a, T0 + SEC, release_done, &rc), -HSDO_ENOTFOUND);
	ck_assert_int_eq(cycle(b, 2, 0, T0 + 2 * SEC).outcome, HSDO_SERVER_WROTE);
	ck_assert(last.took_over);
	hsdo_server_free(a);
	hsdo_server_free(b);
	hsdo_store_free(st_b);
	fx_close(&f);
}
END_TEST

START_TEST(pure_helpers)
{
	struct hsdo_table cur, next;
	struct hsdo_server_settings set = settings("a", 0);
	struct hsdo_server *s = NULL;
	size_t rm, used;
	char why[200];

	ck_assert_int_eq(hsdo_table_init(&cur, 4), 0);
	ck_assert_int_eq(hsdo_table_init(&next, 4), 0);
	/* Empty tables: nothing to protect. */
	ck_assert(!hsdo_server_valve(&cur, &next, 0, 0.5, &rm, &used, why, sizeof(why)));
	cur.slots[0].state = cur.slots[1].state = HSDO_SLOT_ACTIVE;
	next.slots[0].state = HSDO_SLOT_ACTIVE;
	next.slots[1].state = HSDO_SLOT_DRAINING;
	/* 1 of 2 is exactly one half: allowed. */
	ck_assert(!hsdo_server_valve(&cur, &next, 1, 0.5, &rm, &used, why, sizeof(why)));
	ck_assert_uint_eq(rm, 1);
	ck_assert_uint_eq(used, 2);
	ck_assert(hsdo_server_valve(&cur, &next, 1, 0.4, &rm, &used, why, sizeof(why)));
	/* Lifecycle: active -> not yet; draining -> after drain; free/gone -> yes. */
	hsdo_table_setf(&cur, &cur.slots[0].name, HSDO_NAME_LEN, "i-1");
	hsdo_table_setf(&cur, &cur.slots[1].name, HSDO_NAME_LEN, "i-2");
	cur.slots[1].state = HSDO_SLOT_DRAINING;
	cur.slots[1].last_weight_update_us = T0;
	ck_assert(!hsdo_server_lifecycle_due(&cur, "i-1", T0, 30 * SEC));
	ck_assert(!hsdo_server_lifecycle_due(&cur, "i-2", T0 + 29 * SEC, 30 * SEC));
	ck_assert(hsdo_server_lifecycle_due(&cur, "i-2", T0 + 30 * SEC, 30 * SEC));
	ck_assert(hsdo_server_lifecycle_due(&cur, "i-9", T0, 30 * SEC));
	hsdo_table_free(&cur);
	hsdo_table_free(&next);
	/* Settings. */
	set.max_remove_share = 1.5;
	ck_assert_int_eq(hsdo_server_new(&set, (struct hsdo_store *)&set, &s, why, sizeof(why)),
			 -HSDO_EINVAL);
	set = settings("", 1000);
	ck_assert_int_eq(hsdo_server_new(&set, (struct hsdo_store *)&set, &s, why, sizeof(why)),
			 -HSDO_EINVAL);
	set = settings("a", 0);
	set.slots = 0;
	ck_assert_int_eq(hsdo_server_new(&set, (struct hsdo_store *)&set, &s, why, sizeof(why)),
			 -HSDO_EINVAL);
	ck_assert_str_eq(hsdo_server_outcome_str(HSDO_SERVER_HELD), "held");
}
END_TEST

/* ---- fleet health ------------------------------------------------------------------ */

/* The server's reports, in <slots.json>.health/, and a client writing one. */
static struct hsdo_reports *fx_reports(struct fx *f)
{
	struct hsdo_reports *rs = NULL;
	char err[256] = "", *dir = hsdo_reports_file_dir(f->path);

	ck_assert_ptr_nonnull(dir);
	ck_assert_msg(hsdo_reports_file_open(dir, &rs, err, sizeof(err)) == 0, "%s", err);
	hsdo_free(dir);
	return rs;
}

static void store_done(void *arg, int rc, const char *err)
{
	ck_assert_msg(rc == 0, "%s", err);
	*(bool *)arg = true;
}

/* Client `id` holding generation gen reports failing slots (a bit mask)
 * and every other slot of 1..n ok, fresh until now + 30 s. */
static void report(struct hsdo_reports *rs, const char *id, uint64_t gen, int n, unsigned failing,
		   int64_t now_us)
{
	struct hsdo_report_slot e[N];
	struct hsdo_report r;
	bool done = false;
	int i;

	memset(&r, 0, sizeof(r));
	snprintf(r.client_id, sizeof(r.client_id), "%s", id);
	r.generation = gen;
	r.written_ms = now_us / 1000;
	r.expires_s = now_us / SEC + 30;
	for (i = 0; i < n; i++) {
		bool bad = (failing & (1u << (i + 1))) != 0;

		e[i].slot = (uint32_t)(i + 1);
		e[i].verdict = bad ? HSDO_VERDICT_FAILING : HSDO_VERDICT_OK;
		e[i].check = HSDO_CHECK_NONE;
		e[i].responses = 100;
		e[i].errors = bad ? 90 : 0;
	}
	r.slots = e;
	r.n = (size_t)n;
	ck_assert_int_eq(hsdo_reports_write(rs, &r, store_done, &done), 0);
	ck_assert(done);
}

static struct hsdo_server_settings health_settings(void)
{
	struct hsdo_server_settings set = settings("a", 0);

	set.eject.enabled = true;
	set.eject.quorum_ppm = 500000;
	set.eject.eject_time_ms = 30000;
	set.eject.max_ejected_percent = 50;
	set.eject.asg_after_ms = -1;
	set.eject.error_ratio_ppm = 500000;
	return set;
}

static const struct hsdo_eject_event *ev_of(const struct hsdo_server_report *r, uint32_t slot)
{
	size_t i;

	for (i = 0; r->eject != NULL && i < r->eject->nevents; i++)
		if (r->eject->events[i].slot == slot)
			return &r->eject->events[i];
	return NULL;
}

/* Ejected in the store (enabled, weight 0, until, reason), kept while
 * out, back with the ramp, out again for twice as long. */
START_TEST(health_eject_return_backoff)
{
	struct fx f;
	struct hsdo_server_settings set = health_settings();
	struct hsdo_reports *rs;
	struct hsdo_server *s;
	struct hsdo_server_report r;
	struct hsdo_table t;
	uint64_t g;

	fx_open(&f);
	rs = fx_reports(&f);
	s = mk(f.st, &set);
	hsdo_server_set_reports(s, rs);
	r = cycle(s, 4, 0, T0);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert(r.reports_read);
	ck_assert_uint_eq(r.reports, 0);
	g = r.generation;
	report(rs, "h1", g, 4, 1u << 3, T0);
	report(rs, "h2", g, 4, 1u << 3, T0);
	report(rs, "h3", g, 4, 0, T0);
	r = cycle(s, 4, 0, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_uint_eq(r.reports, 3);
	ck_assert_ptr_nonnull(ev_of(&r, 3));
	ck_assert_int_eq(ev_of(&r, 3)->kind, HSDO_EJECT_EJECTED);
	ck_assert_uint_eq(ev_of(&r, 3)->votes.failing, 2);
	ck_assert_uint_eq(ev_of(&r, 3)->votes.voters, 3);
	ck_assert_uint_eq(r.written, 1);
	read_table(f.st, &t);
	ck_assert_int_eq(t.slots[2].state, HSDO_SLOT_EJECTED);
	ck_assert_uint_eq(t.slots[2].weight, 0);
	ck_assert_str_eq(t.slots[2].ip, "10.0.0.3");
	ck_assert_int_eq(t.slots[2].ejected_until_ms, (T0 + SEC) / 1000 + 30000);
	ck_assert_str_eq(t.slots[2].eject_reason, "2 of 3 HAProxies see errors ≥ 50 % (median 90 %)");
	hsdo_table_free(&t);
	/* while out: nothing to write (no ramp step due), the votes do not matter */
	r = cycle(s, 4, 0, T0 + 5 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_UNCHANGED);
	/* time is up: back at min_weight; the old reports (older generation)
	 * do not eject it again */
	r = cycle(s, 4, 0, T0 + 31 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_int_eq(ev_of(&r, 3)->kind, HSDO_EJECT_READMITTED);
	g = r.generation;
	read_table(f.st, &t);
	ck_assert_int_eq(t.slots[2].state, HSDO_SLOT_ACTIVE);
	ck_assert_uint_eq(t.slots[2].weight, 10);
	ck_assert_uint_eq(t.slots[2].eject_count, 1);
	hsdo_table_free(&t);
	report(rs, "h1", g - 1, 4, 1u << 3, T0 + 31 * SEC);
	report(rs, "h2", g - 1, 4, 1u << 3, T0 + 31 * SEC);
	r = cycle(s, 4, 0, T0 + 32 * SEC);
	ck_assert_ptr_null(ev_of(&r, 3));
	ck_assert_uint_gt(r.eject->stale, 0);
	/* failing again, seen on the new generation: out for 60 s */
	report(rs, "h1", g, 4, 1u << 3, T0 + 33 * SEC);
	report(rs, "h2", g, 4, 1u << 3, T0 + 33 * SEC);
	r = cycle(s, 4, 0, T0 + 33 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_int_eq(ev_of(&r, 3)->kind, HSDO_EJECT_EJECTED);
	ck_assert_int_eq(ev_of(&r, 3)->duration_ms, 60000);
	read_table(f.st, &t);
	ck_assert_uint_eq(t.slots[2].eject_count, 2);
	ck_assert_int_eq(t.slots[2].ejected_until_ms, (T0 + 33 * SEC) / 1000 + 60000);
	hsdo_table_free(&t);
	/* its instance leaves: it drains as usual */
	r = cycle(s, 4, 1u << 3, T0 + 34 * SEC);
	ck_assert_uint_eq(r.drain_started, 1);
	read_table(f.st, &t);
	ck_assert_int_eq(t.slots[2].state, HSDO_SLOT_DRAINING);
	ck_assert_uint_eq(t.slots[2].eject_count, 0);
	hsdo_table_free(&t);
	hsdo_server_free(s);
	hsdo_reports_free(rs);
	fx_close(&f);
}
END_TEST

/* Ejections are removals for the safety valve: held like any other. */
START_TEST(health_valve_holds_ejections)
{
	struct fx f;
	struct hsdo_server_settings set = health_settings();
	struct hsdo_reports *rs;
	struct hsdo_server *s;
	struct hsdo_server_report r;
	struct hsdo_table t;
	unsigned bad = (1u << 1) | (1u << 2) | (1u << 3);

	set.eject.max_ejected_percent = 100;
	fx_open(&f);
	rs = fx_reports(&f);
	s = mk(f.st, &set);
	hsdo_server_set_reports(s, rs);
	r = cycle(s, 4, 0, T0);
	report(rs, "h1", r.generation, 4, bad, T0);
	report(rs, "h2", r.generation, 4, bad, T0);
	r = cycle(s, 4, 0, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_HELD);
	ck_assert_uint_eq(r.would_remove, 3);
	ck_assert_uint_eq(r.eject->counts[HSDO_EJECT_EJECTED], 3);   /* never the last one */
	read_table(f.st, &t);
	ck_assert_uint_eq(count_state(&t, HSDO_SLOT_EJECTED), 0);
	hsdo_table_free(&t);
	ck_assert_int_eq(cycle(s, 4, 0, T0 + 2 * SEC).outcome, HSDO_SERVER_HELD);
	ck_assert_int_eq(cycle(s, 4, 0, T0 + 3 * SEC).outcome, HSDO_SERVER_WROTE);
	read_table(f.st, &t);
	ck_assert_uint_eq(count_state(&t, HSDO_SLOT_EJECTED), 3);
	ck_assert_uint_eq(count_state(&t, HSDO_SLOT_ACTIVE), 1);
	hsdo_table_free(&t);
	hsdo_server_free(s);
	hsdo_reports_free(rs);
	fx_close(&f);
}
END_TEST

/* Reports that cannot be read: said, and nothing new is ejected; returns
 * still happen. No reports store or HEALTH_EJECT off: nothing is read. */
START_TEST(health_read_error_and_off)
{
	struct fx f;
	struct hsdo_server_settings set = health_settings();
	struct hsdo_reports *rs, *broken = NULL;
	struct hsdo_server *s;
	struct hsdo_server_report r;
	struct hsdo_table t;
	char dir[600], err[256] = "";

	fx_open(&f);
	rs = fx_reports(&f);
	s = mk(f.st, &set);
	r = cycle(s, 4, 0, T0);
	ck_assert(!r.reports_read);       /* no store set */
	report(rs, "h1", r.generation, 4, 1u << 2, T0);
	hsdo_server_set_reports(s, rs);
	r = cycle(s, 4, 0, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_int_eq(ev_of(&r, 2)->kind, HSDO_EJECT_EJECTED);
	/* a directory that cannot be read */
	snprintf(dir, sizeof(dir), "%s/slots.json", f.dir);
	ck_assert_int_eq(hsdo_reports_file_open(dir, &broken, err, sizeof(err)), 0);
	hsdo_server_set_reports(s, broken);
	report(rs, "h1", r.generation, 4, 1u << 1, T0 + 2 * SEC);
	r = cycle(s, 4, 0, T0 + 2 * SEC);
	ck_assert(!r.reports_read);
	ck_assert_int_eq(r.reports_rc, -HSDO_EIO);
	ck_assert_ptr_nonnull(strstr(r.reports_error, "report directory"));
	ck_assert_int_eq(r.outcome, HSDO_SERVER_UNCHANGED);
	/* time up while unreadable: it returns anyway */
	r = cycle(s, 4, 0, T0 + 40 * SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_WROTE);
	ck_assert_int_eq(ev_of(&r, 2)->kind, HSDO_EJECT_READMITTED);
	hsdo_server_free(s);
	/* HEALTH_EJECT off: no read, and an ejected slot returns at once */
	set.eject.enabled = false;
	s = mk(f.st, &set);
	hsdo_server_set_reports(s, rs);
	r = cycle(s, 4, 0, T0 + 41 * SEC);
	ck_assert(!r.reports_read);
	read_table(f.st, &t);
	ck_assert_uint_eq(count_state(&t, HSDO_SLOT_EJECTED), 0);
	hsdo_table_free(&t);
	hsdo_server_free(s);
	hsdo_reports_free(broken);
	hsdo_reports_free(rs);
	fx_close(&f);
}
END_TEST

/* A standby reads no report. */
START_TEST(health_standby_reads_nothing)
{
	struct fx f;
	struct hsdo_server_settings sa = health_settings(), sb = health_settings();
	struct hsdo_store *st2;
	struct hsdo_reports *rs;
	struct hsdo_server *a, *b;
	struct hsdo_server_report r;

	snprintf(sa.holder, sizeof(sa.holder), "srv-a");
	snprintf(sb.holder, sizeof(sb.holder), "srv-b");
	sa.lease_ttl_ms = sb.lease_ttl_ms = 10000;
	fx_open(&f);
	st2 = fx_second(&f);
	rs = fx_reports(&f);
	a = mk(f.st, &sa);
	b = mk(st2, &sb);
	hsdo_server_set_reports(a, rs);
	hsdo_server_set_reports(b, rs);
	r = cycle(a, 3, 0, T0);
	ck_assert(r.reports_read);
	r = cycle(b, 3, 0, T0 + SEC);
	ck_assert_int_eq(r.outcome, HSDO_SERVER_STANDBY);
	ck_assert(!r.reports_read);
	ck_assert_ptr_null(r.eject);
	hsdo_server_free(a);
	hsdo_server_free(b);
	hsdo_store_free(st2);
	hsdo_reports_free(rs);
	fx_close(&f);
}
END_TEST

static Suite *server_suite(void)
{
	Suite *s = suite_create("server");
	TCase *tc = tcase_create("cycle");

	tcase_add_test(tc, first_start_then_zero_writes);
	tcase_add_test(tc, unversioned_table_read_every_cycle);
	tcase_add_test(tc, valve_holds_then_applies);
	tcase_add_test(tc, valve_counts_time_not_cycles);
	tcase_add_test(tc, overflow_reported);
	tcase_add_test(tc, external_write_is_a_conflict_then_reread);
	tcase_add_test(tc, standby_takeover_and_fencing);
	tcase_add_test(tc, release_hands_over_at_once);
	tcase_add_test(tc, pure_helpers);
	tcase_add_test(tc, health_eject_return_backoff);
	tcase_add_test(tc, health_valve_holds_ejections);
	tcase_add_test(tc, health_read_error_and_off);
	tcase_add_test(tc, health_standby_reads_nothing);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(server_suite());
}
