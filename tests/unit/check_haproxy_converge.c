/* Parser + planner against a REAL HAProxy (2.6 on PATH; the test fails,
 * never skips, without it): read `show servers state`, plan, apply the
 * commands over the admin socket, check the plan is then empty and that
 * HTTP traffic reaches exactly the servers the table says. HAProxy itself
 * plays the backend servers (`listen` sections returning srvA/srvB/srvC). */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "haproxy_peer.h"
#include "hsdo/err.h"
#include "hsdo/plan_client.h"
#include "hsdo/rtapi.h"
#include "hsdo/slot.h"
#include "hsdo_test.h"

static struct hsdo_test_haproxy hap;
static char hap_err[2048];
static int hap_ok;
static uint16_t fe_port, fe_pri_port, fe_fb_port, srv_a, srv_b, srv_c;

static const char cfg_fmt[] =
	"global\n"
	"\tstats socket %s mode 600 level admin\n"
	"defaults\n"
	"\tmode http\n"
	"\ttimeout connect 1s\n"
	"\ttimeout client 5s\n"
	"\ttimeout server 5s\n"
	"frontend fe\n"
	"\tbind 127.0.0.1:%u\n"
	"\tdefault_backend be_app\n"
	"backend be_app\n"
	"\tbalance roundrobin\n"
	"\tserver-template web 1-4 127.0.0.2:80 check inter 200ms disabled\n"
	"frontend fe_pri\n"
	"\tbind 127.0.0.1:%u\n"
	"\tdefault_backend be_pri\n"
	"backend be_pri\n"
	"\tserver-template p 1-2 127.0.0.2:80 disabled\n"
	"frontend fe_fb\n"
	"\tbind 127.0.0.1:%u\n"
	"\tdefault_backend be_fb\n"
	"backend be_fb\n"
	"\tserver-template f 1-2 127.0.0.2:80 disabled\n"
	"backend be_scratch\n"
	"\tserver-template s 1-2 127.0.0.2:80 check disabled\n"
	"listen srvA\n"
	"\tbind 127.0.0.1:%u\n"
	"\thttp-request return status 200 content-type text/plain string srvA\n"
	"listen srvB\n"
	"\tbind 127.0.0.1:%u\n"
	"\thttp-request return status 200 content-type text/plain string srvB\n"
	"listen srvC\n"
	"\tbind 127.0.0.1:%u\n"
	"\thttp-request return status 200 content-type text/plain string srvC\n";

/* Unchecked fixture: runs in the runner process, so HAProxy is stopped
 * even when a (forked) test fails. Errors are reported by the tests. */
static void hap_setup(void)
{
	char cfg[4096];

	hap_ok = 0;
	if (hsdo_test_haproxy_init(&hap, hap_err, sizeof(hap_err)) != 0)
		return;
	fe_port = hsdo_test_free_port();
	fe_pri_port = hsdo_test_free_port();
	fe_fb_port = hsdo_test_free_port();
	srv_a = hsdo_test_free_port();
	srv_b = hsdo_test_free_port();
	srv_c = hsdo_test_free_port();
	snprintf(cfg, sizeof(cfg), cfg_fmt, hap.sock, fe_port, fe_pri_port, fe_fb_port,
		srv_a, srv_b, srv_c);
	if (hsdo_test_haproxy_start(&hap, cfg, hap_err, sizeof(hap_err)) != 0)
		return;
	hap_ok = 1;
}

static void hap_teardown(void)
{
	hsdo_test_haproxy_stop(&hap);
}

static void require_haproxy(void)
{
	ck_assert_msg(hap_ok, "no HAProxy to test against: %s", hap_err);
}

/* `show servers state <be>` from the live HAProxy, parsed. */
static void read_state(const char *be, struct hsdo_servers_state *st)
{
	char line[256], err[256];
	size_t len = 0;
	char *reply;
	int rc;

	snprintf(line, sizeof(line), "show servers state %s", be);
	reply = hsdo_test_rtapi_cmd(hap.sock, line, &len);
	ck_assert_msg(reply != NULL, "no reply to '%s'", line);
	rc = hsdo_rtapi_parse_servers_state(reply, len, st, err, sizeof(err));
	ck_assert_msg(rc == 0, "parse '%s': %s\n%s", line, err, reply);
	free(reply);
}

/* Send each command on its own connection; every reply must be a success. */
static void apply(const struct hsdo_plan_client_result *r)
{
	size_t i;

	for (i = 0; i < r->ncmds; i++) {
		char err[512];
		size_t len = 0;
		char *reply = hsdo_test_rtapi_cmd(hap.sock, r->cmds[i].line, &len);
		int rc;

		ck_assert_msg(reply != NULL, "no reply to '%s'", r->cmds[i].line);
		rc = hsdo_rtapi_set_server_reply(reply, len, err, sizeof(err));
		ck_assert_msg(rc == 0, "'%s' failed: %s", r->cmds[i].line, err);
		free(reply);
	}
}

static void plan(const struct hsdo_table *t, const struct hsdo_plan_client_settings *st,
	const char *const *backends, struct hsdo_plan_client_result *r)
{
	struct hsdo_servers_state all = { NULL, 0 }, one;
	size_t i;

	/* one `show servers state` per backend, merged: what a client does */
	for (i = 0; backends[i] != NULL; i++) {
		read_state(backends[i], &one);
		all.srv = realloc(all.srv, (all.n + one.n) * sizeof(*all.srv));
		ck_assert_ptr_nonnull(all.srv);
		memcpy(all.srv + all.n, one.srv, one.n * sizeof(*one.srv));
		all.n += one.n;
		hsdo_rtapi_servers_state_free(&one);
	}
	ck_assert_int_eq(hsdo_plan_client(t, st, &all, r), 0);
	free(all.srv);
}

static void expect_cmds(const struct hsdo_plan_client_result *r, const char *const *want,
	size_t n)
{
	size_t i;

	for (i = 0; r->ncmds != n && i < r->ncmds; i++)
		fprintf(stderr, "cmd %zu: %s\n", i, r->cmds[i].line);
	ck_assert_uint_eq(r->ncmds, n);
	for (i = 0; i < n; i++)
		ck_assert_str_eq(r->cmds[i].line, want[i]);
	ck_assert_uint_eq(r->nskips, 0);
}

static void set_slot(struct hsdo_table *t, uint32_t id, enum hsdo_slot_state state,
	const char *ip, uint16_t port, uint32_t weight, const char *group)
{
	struct hsdo_slot *s = &t->slots[id - 1];

	hsdo_slot_clear(s);
	s->state = state;
	ck_assert_int_eq(hsdo_table_set(t, &s->ip, HSDO_IP_LEN, ip), 0);
	ck_assert_int_eq(hsdo_table_set(t, &s->group, HSDO_GROUP_LEN, group), 0);
	s->port = port;
	s->weight = weight;
}

/* n requests through the frontend on port; counts answers by body. */
static void traffic(uint16_t port, int n, int *a, int *b, int *c, int *other)
{
	int i;

	*a = *b = *c = *other = 0;
	for (i = 0; i < n; i++) {
		char body[256];
		int status = hsdo_test_http_get(port, "/", body, sizeof(body));

		if (status == 200 && strcmp(body, "srvA") == 0)
			(*a)++;
		else if (status == 200 && strcmp(body, "srvB") == 0)
			(*b)++;
		else if (status == 200 && strcmp(body, "srvC") == 0)
			(*c)++;
		else
			(*other)++;
	}
}

START_TEST(converge)
{
	static const char *const be[] = { "be_app", NULL };
	static const struct hsdo_plan_client_backend app = { "be_app", "web", 80 };
	struct hsdo_plan_client_settings st = { &app, 1, NULL, false, NULL, 0, false };
	struct hsdo_plan_client_result r;
	struct hsdo_servers_state s;
	const struct hsdo_srv_state *w;
	struct hsdo_table t;
	char want[8][128];
	const char *wantp[8];
	int a, b, c, other, i;

	require_haproxy();

	/* fresh `disabled` template: admin 5 everywhere */
	read_state("be_app", &s);
	ck_assert_uint_eq(s.n, 4);
	for (i = 0; i < 4; i++)
		ck_assert_uint_eq(s.srv[i].admin_state, 5);
	hsdo_rtapi_servers_state_free(&s);

	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "127.0.0.1", srv_a, 10, "");
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "127.0.0.1", srv_b, 20, "");
	set_slot(&t, 3, HSDO_SLOT_DRAINING, "127.0.0.1", srv_c, 0, "");
	plan(&t, &st, be, &r);
	snprintf(want[0], sizeof(want[0]), "set server be_app/web1 addr 127.0.0.1 port %u", srv_a);
	snprintf(want[1], sizeof(want[1]), "set server be_app/web1 weight 10");
	snprintf(want[2], sizeof(want[2]), "set server be_app/web1 state ready");
	snprintf(want[3], sizeof(want[3]), "set server be_app/web2 addr 127.0.0.1 port %u", srv_b);
	snprintf(want[4], sizeof(want[4]), "set server be_app/web2 weight 20");
	snprintf(want[5], sizeof(want[5]), "set server be_app/web2 state ready");
	snprintf(want[6], sizeof(want[6]), "set server be_app/web3 addr 127.0.0.1 port %u", srv_c);
	snprintf(want[7], sizeof(want[7]), "set server be_app/web3 state drain");
	for (i = 0; i < 8; i++)
		wantp[i] = want[i];
	expect_cmds(&r, wantp, 8);
	apply(&r);
	hsdo_plan_client_result_free(&r);

	/* converged: nothing left to do */
	plan(&t, &st, be, &r);
	expect_cmds(&r, NULL, 0);
	hsdo_plan_client_result_free(&r);

	/* the CMAINT quirk, live: enabled slot keeps 0x04 and is not maint */
	read_state("be_app", &s);
	w = hsdo_rtapi_find_server(&s, "be_app", "web1");
	ck_assert_ptr_nonnull(w);
	ck_assert_uint_eq(w->admin_state, HSDO_RTAPI_ADMF_CMAINT);
	ck_assert(!hsdo_rtapi_admin_is_maint(w->admin_state));
	w = hsdo_rtapi_find_server(&s, "be_app", "web3");
	ck_assert_uint_eq(w->admin_state, HSDO_RTAPI_ADMF_CMAINT | HSDO_RTAPI_ADMF_FDRAIN);
	w = hsdo_rtapi_find_server(&s, "be_app", "web4");
	ck_assert(hsdo_rtapi_admin_is_maint(w->admin_state));
	hsdo_rtapi_servers_state_free(&s);

	/* traffic: A and B by weight (10:20), never the draining or free slot */
	traffic(fe_port, 30, &a, &b, &c, &other);
	ck_assert_msg(a > 0 && b > a && c == 0 && other == 0,
		"srvA %d srvB %d srvC %d other %d", a, b, c, other);

	/* reweight: exactly one command */
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "127.0.0.1", srv_b, 30, "");
	plan(&t, &st, be, &r);
	wantp[0] = "set server be_app/web2 weight 30";
	expect_cmds(&r, wantp, 1);
	apply(&r);
	hsdo_plan_client_result_free(&r);

	/* free slot 1: exactly one `state maint`, then srvA gets nothing */
	hsdo_slot_clear(&t.slots[0]);
	plan(&t, &st, be, &r);
	wantp[0] = "set server be_app/web1 state maint";
	expect_cmds(&r, wantp, 1);
	apply(&r);
	hsdo_plan_client_result_free(&r);
	plan(&t, &st, be, &r);
	expect_cmds(&r, NULL, 0);
	hsdo_plan_client_result_free(&r);
	traffic(fe_port, 20, &a, &b, &c, &other);
	ck_assert_msg(a == 0 && b == 20 && c == 0 && other == 0,
		"srvA %d srvB %d srvC %d other %d", a, b, c, other);
	hsdo_table_free(&t);
}
END_TEST

/* Dedicated ASG across two backends, live: a slot of a listed ASG serves
 * only through the primary, another ASG only through the fallback; a freed
 * slot leaves the primary too (the original's bug 6 kept it serving). */
START_TEST(dedicated_asg)
{
	static const char *const be[] = { "be_pri", "be_fb", NULL };
	static const struct hsdo_plan_client_backend pri = { "be_pri", "p", 80 };
	static const struct hsdo_plan_client_backend fb = { "be_fb", "f", 80 };
	static const char *const asg[] = { "asg-a" };
	struct hsdo_plan_client_settings st = { &pri, 1, &fb, true, asg, 1, false };
	struct hsdo_plan_client_result r;
	struct hsdo_table t;
	int a, b, c, other;

	require_haproxy();
	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "127.0.0.1", srv_a, 10, "asg-a");
	set_slot(&t, 2, HSDO_SLOT_ACTIVE, "127.0.0.1", srv_b, 10, "asg-b");
	plan(&t, &st, be, &r);
	ck_assert_uint_eq(r.ncmds, 6);
	apply(&r);
	hsdo_plan_client_result_free(&r);
	plan(&t, &st, be, &r);
	expect_cmds(&r, NULL, 0);
	hsdo_plan_client_result_free(&r);
	traffic(fe_pri_port, 6, &a, &b, &c, &other);
	ck_assert_msg(a == 6, "primary: srvA %d srvB %d other %d", a, b, other);
	traffic(fe_fb_port, 6, &a, &b, &c, &other);
	ck_assert_msg(b == 6, "fallback: srvA %d srvB %d other %d", a, b, other);

	/* slot 1 moves to another ASG: maint in the primary, ready in the fallback */
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "127.0.0.1", srv_a, 10, "asg-z");
	plan(&t, &st, be, &r);
	ck_assert_uint_eq(r.ncmds, 4);
	ck_assert_str_eq(r.cmds[0].line, "set server be_pri/p1 state maint");
	apply(&r);
	hsdo_plan_client_result_free(&r);
	traffic(fe_pri_port, 4, &a, &b, &c, &other);
	ck_assert_msg(other == 4, "primary still serves: srvA %d srvB %d", a, b);
	traffic(fe_fb_port, 20, &a, &b, &c, &other);
	ck_assert_msg(a > 0 && b > 0 && other == 0, "fallback: srvA %d srvB %d other %d", a, b,
		other);

	/* back to asg-a, then freed: it must leave the primary (bug 6) */
	set_slot(&t, 1, HSDO_SLOT_ACTIVE, "127.0.0.1", srv_a, 10, "asg-a");
	plan(&t, &st, be, &r);
	apply(&r);
	hsdo_plan_client_result_free(&r);
	traffic(fe_pri_port, 4, &a, &b, &c, &other);
	ck_assert_int_eq(a, 4);
	hsdo_slot_clear(&t.slots[0]);
	plan(&t, &st, be, &r);
	ck_assert_uint_eq(r.ncmds, 1);
	ck_assert_str_eq(r.cmds[0].line, "set server be_pri/p1 state maint");
	apply(&r);
	hsdo_plan_client_result_free(&r);
	traffic(fe_pri_port, 4, &a, &b, &c, &other);
	ck_assert_msg(other == 4, "freed slot still serves: srvA %d", a);
	hsdo_table_free(&t);
}
END_TEST

static int send_classify(const char *line, char *err, size_t errlen, char **replyp)
{
	size_t len = 0;
	char *reply = hsdo_test_rtapi_cmd(hap.sock, line, &len);
	int rc;

	ck_assert_msg(reply != NULL, "no reply to '%s'", line);
	rc = hsdo_rtapi_set_server_reply(reply, len, err, errlen);
	if (replyp != NULL)
		*replyp = reply;
	else
		free(reply);
	return rc;
}

/* Live replies, classified; and the partial `addr ... port <bad>` update.
 * rc3 is what 3.0 and 3.2 answer where it differs from 2.6 (rc). */
START_TEST(live_replies)
{
	static const struct {
		const char *line;
		int rc;
		int rc3;
	} cases[] = {
		{ "set server be_scratch/s9 state ready", -HSDO_ENOTFOUND, -HSDO_ENOTFOUND },
		{ "set server nobe/s1 state ready", -HSDO_ENOTFOUND, -HSDO_ENOTFOUND },
		{ "set server be_scratch/s1 addr 999.1.1.1 port 80", -HSDO_EINVAL, -HSDO_EINVAL },
		{ "set server be_scratch/s1 addr 127.0.0.5 port 8081", 0, 0 },
		/* 2.6 "no need to change the addr, no need to change the port",
		 * 3.x "nothing changed" */
		{ "set server be_scratch/s1 addr 127.0.0.5 port 8081", 0, 0 },
		{ "set server be_scratch/s1 addr 127.0.0.5", 0, 0 },
		/* a port map: 2.6 refuses it here, 3.x applies it... */
		{ "set server be_scratch/s1 addr 127.0.0.5 port +10", -HSDO_EINVAL, 0 },
		/* ...and 3.x says "port changed from '+10' to '8081'" */
		{ "set server be_scratch/s1 addr 127.0.0.5 port 8081", 0, 0 },
		{ "set server be_scratch/s1 weight 300", -HSDO_EINVAL, -HSDO_EINVAL },
		{ "set server be_scratch/s1 weight abc", -HSDO_EINVAL, -HSDO_EINVAL },
		{ "set server be_scratch/s1 weight 3", 0, 0 },
		{ "set server be_scratch/s1 state bogus", -HSDO_EINVAL, -HSDO_EINVAL },
		{ "set server be_scratch/s1 state drain", 0, 0 },
		{ "set server be_scratch/s1 state maint", 0, 0 },
		{ "set server be_scratch/s2 addr 127.0.0.1 port abc", -HSDO_EINVAL, -HSDO_EINVAL },
	};
	struct hsdo_servers_state s;
	const struct hsdo_srv_state *x;
	char err[512], esc[128], line[256], *reply;
	bool v3;
	size_t i;

	require_haproxy();
	v3 = hap.version[0] != '2';
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = send_classify(cases[i].line, err, sizeof(err), NULL);
		int want = v3 ? cases[i].rc3 : cases[i].rc;

		ck_assert_msg(rc == want, "HAProxy %s, '%s': rc %d (%s)", hap.version,
			cases[i].line, rc, err);
	}
	/* 2.6: the rejected port still changed the address, a partial update
	 * ("IP changed ..., problem converting port"); 3.x checks the port
	 * first and changes nothing */
	read_state("be_scratch", &s);
	x = hsdo_rtapi_find_server(&s, "be_scratch", "s2");
	ck_assert_str_eq(x->addr, v3 ? "127.0.0.2" : "127.0.0.1");
	ck_assert_uint_eq(x->port, 80);
	x = hsdo_rtapi_find_server(&s, "be_scratch", "s1");
	ck_assert_str_eq(x->addr, "127.0.0.5");
	ck_assert_uint_eq(x->port, 8081);
	ck_assert_uint_eq(x->uweight, 3);
	ck_assert(hsdo_rtapi_admin_is_maint(x->admin_state));
	hsdo_rtapi_servers_state_free(&s);

	/* an escaped ';' stays inside the argument: one command, one answer */
	ck_assert_int_gt(hsdo_rtapi_escape(esc, sizeof(esc), "s1;show backend"), 0);
	snprintf(line, sizeof(line), "set server be_scratch/%s state ready", esc);
	ck_assert_int_eq(send_classify(line, err, sizeof(err), &reply), -HSDO_ENOTFOUND);
	ck_assert_str_eq(reply, "No such server.\n\n");
	free(reply);
	/* unescaped, HAProxy would have run `show backend` too */
	ck_assert_int_eq(send_classify("set server be_scratch/s1;show backend", err, sizeof(err),
		&reply), -HSDO_EINVAL);
	ck_assert_ptr_nonnull(strstr(reply, "be_scratch"));
	free(reply);
}
END_TEST

START_TEST(live_unknown_backend)
{
	struct hsdo_servers_state s;
	char err[256];
	size_t len = 0;
	char *reply;

	require_haproxy();
	reply = hsdo_test_rtapi_cmd(hap.sock, "show servers state nope", &len);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(reply, len, &s, err, sizeof(err)),
		-HSDO_ENOTFOUND);
	ck_assert_str_eq(err, "Can't find backend.");
	free(reply);
	/* and the whole-process dump parses too */
	reply = hsdo_test_rtapi_cmd(hap.sock, "show servers state", &len);
	ck_assert_ptr_nonnull(reply);
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(reply, len, &s, err, sizeof(err)), 0);
	ck_assert_uint_eq(s.n, 4 + 2 + 2 + 2);
	hsdo_rtapi_servers_state_free(&s);
	free(reply);
}
END_TEST

static Suite *converge_suite(void)
{
	Suite *s = suite_create("haproxy_converge");
	TCase *tc = tcase_create("live");

	tcase_set_timeout(tc, 120);
	tcase_add_unchecked_fixture(tc, hap_setup, hap_teardown);
	tcase_add_test(tc, converge);
	tcase_add_test(tc, dedicated_asg);
	tcase_add_test(tc, live_replies);
	tcase_add_test(tc, live_unknown_backend);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(converge_suite());
}
