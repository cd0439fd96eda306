/* Client planner: table-driven cases (desired slots + HAProxy state ->
 * exact command lines and skips), settings validation, ordering, scale and
 * allocation failures. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/plan_client.h"
#include "hsdo/rtapi.h"
#include "haproxy_model.h"
#include "hsdo_test.h"

/* ---- settings presets ------------------------------------------------------------ */

enum preset {
	S_ONE = 0,     /* be_app/web, port 80 */
	S_TWO,         /* be_a/a port 80 + be_b/b port 8080 */
	S_DED,         /* dedicated ASG asg-a: be_app/web, fallback be_fb/fb */
	S_DED_ALL,     /* same, all servers also in the fallback */
	S_ALL_FB,      /* not dedicated, all in fallback */
	S_FB_ONLY_DED, /* not dedicated, fallback configured but not all_in_fallback */
	S_ODD,         /* names that need escaping */
	S_NOPORT,      /* backend without a default port */
	S_COUNT
};

static const struct hsdo_plan_client_backend be_app = { "be_app", "web", 80 };
static const struct hsdo_plan_client_backend be_fb = { "be_fb", "fb", 80 };
static const struct hsdo_plan_client_backend be_two[] = {
	{ "be_a", "a", 80 },
	{ "be_b", "b", 8080 },
};
static const struct hsdo_plan_client_backend be_odd = { "be;x", "w\\", 80 };
static const struct hsdo_plan_client_backend be_noport = { "be_app", "web", 0 };
static const char *const asgs[] = { "asg-a", "asg-c" };

static void preset(enum preset p, struct hsdo_plan_client_settings *st)
{
	memset(st, 0, sizeof(*st));
	st->primary = &be_app;
	st->nprimary = 1;
	st->asg_names = asgs;
	st->nasg = 2;
	switch (p) {
	case S_ONE:
		break;
	case S_TWO:
		st->primary = be_two;
		st->nprimary = 2;
		break;
	case S_DED:
		st->dedicated_asg = true;
		st->fallback = &be_fb;
		break;
	case S_DED_ALL:
		st->dedicated_asg = true;
		st->fallback = &be_fb;
		st->all_in_fallback = true;
		break;
	case S_ALL_FB:
		st->fallback = &be_fb;
		st->all_in_fallback = true;
		break;
	case S_FB_ONLY_DED:
		st->fallback = &be_fb;
		break;
	case S_ODD:
		st->primary = &be_odd;
		break;
	case S_NOPORT:
		st->primary = &be_noport;
		break;
	default:
		break;
	}
}

/* ---- compact fixtures --------------------------------------------------------------- */

struct dslot {
	enum hsdo_slot_state state;
	const char *ip;
	uint16_t port;
	uint32_t weight;
	const char *group;
};

struct row {
	const char *be;
	const char *srv;
	const char *addr;
	uint16_t port;
	unsigned op;
	unsigned admin;
	uint32_t uweight;
};

#define MAXS 4
#define MAXR 12

struct pc_case {
	const char *name;
	enum preset settings;
	size_t nslots;
	struct dslot slots[MAXS];
	struct row rows[MAXR];         /* ends at be == NULL */
	const char *cmds[16];          /* expected lines, NULL-terminated */
	const char *skips[8];          /* expected reasons, NULL-terminated */
};

#define FREE { HSDO_SLOT_FREE, "", 0, 0, "" }
#define ACT(ip, w) { HSDO_SLOT_ACTIVE, ip, 0, w, "asg-a" }
#define ACTG(ip, w, g) { HSDO_SLOT_ACTIVE, ip, 0, w, g }
#define DRN(ip) { HSDO_SLOT_DRAINING, ip, 0, 0, "asg-a" }
#define EJD(ip) { HSDO_SLOT_EJECTED, ip, 0, 0, "asg-a" }
/* A fresh `server-template ... 127.0.0.2:80 check disabled` slot. */
#define FRESH(be, srv) { be, srv, "127.0.0.2", 80, 0, 5, 1 }
/* A slot enabled from `disabled` and serving: the CMAINT quirk, admin 4. */
#define UP(be, srv, ip, port, w) { be, srv, ip, port, 2, 4, w }

static const struct pc_case cases[] = {
	{ "free slot serving -> maint", S_ONE, 1, { FREE },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10) },
	  { "set server be_app/web1 state maint" }, { NULL } },
	{ "free slot already in maint (5, 1, RMAINT) -> nothing", S_ONE, 3, { FREE, FREE, FREE },
	  { FRESH("be_app", "web1"), { "be_app", "web2", "10.0.0.1", 80, 0, 1, 1 },
	    { "be_app", "web3", "", 80, 0, 0x20, 1 } },
	  { NULL }, { NULL } },
	{ "free slot draining (12) -> maint, address untouched", S_ONE, 1, { FREE },
	  { { "be_app", "web1", "10.0.0.1", 80, 2, 12, 10 } },
	  { "set server be_app/web1 state maint" }, { NULL } },
	{ "add: addr + weight + ready", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { FRESH("be_app", "web1") },
	  { "set server be_app/web1 addr 10.0.0.1 port 80",
	    "set server be_app/web1 weight 10",
	    "set server be_app/web1 state ready" }, { NULL } },
	{ "reweight only", S_ONE, 1, { ACT("10.0.0.1", 20) },
	  { UP("be_app", "web1", "10.0.0.1", 80, 5) },
	  { "set server be_app/web1 weight 20" }, { NULL } },
	{ "weight 0 is a valid weight", S_ONE, 1, { ACT("10.0.0.1", 0) },
	  { UP("be_app", "web1", "10.0.0.1", 80, 5) },
	  { "set server be_app/web1 weight 0" }, { NULL } },
	{ "address change only", S_ONE, 1, { ACT("10.0.0.2", 10) },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10) },
	  { "set server be_app/web1 addr 10.0.0.2 port 80" }, { NULL } },
	{ "port change only (after a config port change)", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { UP("be_app", "web1", "10.0.0.1", 8080, 10) },
	  { "set server be_app/web1 addr 10.0.0.1 port 80" }, { NULL } },
	{ "slot port overrides the backend port", S_ONE, 1,
	  { { HSDO_SLOT_ACTIVE, "10.0.0.1", 9000, 10, "" } },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10) },
	  { "set server be_app/web1 addr 10.0.0.1 port 9000" }, { NULL } },
	{ "slot port already applied", S_ONE, 1,
	  { { HSDO_SLOT_ACTIVE, "10.0.0.1", 9000, 10, "" } },
	  { UP("be_app", "web1", "10.0.0.1", 9000, 10) },
	  { NULL }, { NULL } },
	{ "IPv6, differently written, is the same address", S_ONE, 1,
	  { ACT("2001:db8:0:0:0:0:0:1", 10) },
	  { UP("be_app", "web1", "2001:db8::1", 80, 10) },
	  { NULL }, { NULL } },
	{ "IPv4 -> IPv6", S_ONE, 1, { ACT("::1", 10) },
	  { UP("be_app", "web1", "127.0.0.1", 80, 10) },
	  { "set server be_app/web1 addr ::1 port 80" }, { NULL } },
	{ "no address in HAProxy ('-')", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { { "be_app", "web1", "", 80, 2, 4, 10 } },
	  { "set server be_app/web1 addr 10.0.0.1 port 80" }, { NULL } },
	{ "drain a serving slot", S_ONE, 1, { DRN("10.0.0.1") },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10) },
	  { "set server be_app/web1 state drain" }, { NULL } },
	{ "ejected: drained like a leaver, address kept", S_ONE, 1, { EJD("10.0.0.1") },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10) },
	  { "set server be_app/web1 state drain" }, { NULL } },
	{ "ejected and drained already: nothing", S_ONE, 1, { EJD("10.0.0.1") },
	  { { "be_app", "web1", "10.0.0.1", 80, 2, 12, 10 } },
	  { NULL }, { NULL } },
	{ "back from ejection: weight + ready", S_ONE, 1, { ACT("10.0.0.1", 1) },
	  { { "be_app", "web1", "10.0.0.1", 80, 2, 12, 10 } },
	  { "set server be_app/web1 weight 1", "set server be_app/web1 state ready" }, { NULL } },
	{ "drain already applied (FDRAIN|CMAINT = 12)", S_ONE, 1, { DRN("10.0.0.1") },
	  { { "be_app", "web1", "10.0.0.1", 80, 2, 12, 10 } },
	  { NULL }, { NULL } },
	{ "draining after a reload: address back + drain", S_ONE, 1, { DRN("10.0.0.1") },
	  { FRESH("be_app", "web1") },
	  { "set server be_app/web1 addr 10.0.0.1 port 80",
	    "set server be_app/web1 state drain" }, { NULL } },
	{ "draining slot in maint with FDRAIN still set -> drain", S_ONE, 1, { DRN("10.0.0.1") },
	  { { "be_app", "web1", "10.0.0.1", 80, 0, 9, 10 } },
	  { "set server be_app/web1 state drain" }, { NULL } },
	{ "IDRAIN only: drain is set on top", S_ONE, 1, { DRN("10.0.0.1") },
	  { { "be_app", "web1", "10.0.0.1", 80, 2, 0x10, 10 } },
	  { "set server be_app/web1 state drain" }, { NULL } },
	{ "CMAINT quirk: admin 4 + op 2 is serving, no ready", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10) },
	  { NULL }, { NULL } },
	{ "CMAINT quirk: admin 4 + op 0 (check down) is still not maint", S_ONE, 1,
	  { ACT("10.0.0.1", 10) },
	  { { "be_app", "web1", "10.0.0.1", 80, 0, 4, 10 } },
	  { NULL }, { NULL } },
	{ "admin 5 (template `disabled`) with matching addr -> ready", S_ONE, 1,
	  { ACT("127.0.0.2", 1) }, { FRESH("be_app", "web1") },
	  { "set server be_app/web1 state ready" }, { NULL } },
	{ "FDRAIN on an active slot -> ready", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { { "be_app", "web1", "10.0.0.1", 80, 2, 12, 10 } },
	  { "set server be_app/web1 state ready" }, { NULL } },
	{ "IDRAIN alone cannot be cleared: no ready", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { { "be_app", "web1", "10.0.0.1", 80, 2, 0x14, 10 } },
	  { NULL }, { NULL } },
	{ "IMAINT cannot be cleared: reported, not retried", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { { "be_app", "web1", "10.0.0.1", 80, 0, 0x02, 10 } },
	  { NULL },
	  { "be_app/web1: maintenance from a tracked server or DNS (admin 0x02) cannot be "
	    "cleared with 'state ready'" } },
	{ "FMAINT|IMAINT: ready lifts FMAINT, IMAINT reported", S_ONE, 1, { ACT("10.0.0.1", 10) },
	  { { "be_app", "web1", "10.0.0.1", 80, 0, 0x03, 10 } },
	  { "set server be_app/web1 state ready" },
	  { "be_app/web1: maintenance from a tracked server or DNS (admin 0x03) cannot be "
	    "cleared with 'state ready'" } },
	{ "dedicated: slot in a listed ASG -> primary; fallback kept in maint", S_DED, 1,
	  { ACTG("10.0.0.1", 10, "asg-c") },
	  { FRESH("be_app", "web1"), FRESH("be_fb", "fb1") },
	  { "set server be_app/web1 addr 10.0.0.1 port 80",
	    "set server be_app/web1 weight 10",
	    "set server be_app/web1 state ready" }, { NULL } },
	{ "dedicated: other ASG -> fallback only", S_DED, 1,
	  { ACTG("10.0.0.1", 10, "asg-b") },
	  { FRESH("be_app", "web1"), FRESH("be_fb", "fb1") },
	  { "set server be_fb/fb1 addr 10.0.0.1 port 80",
	    "set server be_fb/fb1 weight 10",
	    "set server be_fb/fb1 state ready" }, { NULL } },
	{ "dedicated: slot moves from asg-a to asg-b -> maint primary, ready fallback", S_DED, 1,
	  { ACTG("10.0.0.9", 10, "asg-b") },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10), FRESH("be_fb", "fb1") },
	  { "set server be_app/web1 state maint",
	    "set server be_fb/fb1 addr 10.0.0.9 port 80",
	    "set server be_fb/fb1 weight 10",
	    "set server be_fb/fb1 state ready" }, { NULL } },
	{ "dedicated: slot moves back to asg-a -> ready primary, maint fallback", S_DED, 1,
	  { ACTG("10.0.0.9", 10, "asg-a") },
	  { { "be_app", "web1", "10.0.0.1", 80, 0, 1, 10 }, UP("be_fb", "fb1", "10.0.0.9", 80, 10) },
	  { "set server be_app/web1 addr 10.0.0.9 port 80",
	    "set server be_app/web1 state ready",
	    "set server be_fb/fb1 state maint" }, { NULL } },
	{ "dedicated: freed slot -> maint in primary too (bug 6)", S_DED, 2,
	  { FREE, FREE },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10), FRESH("be_app", "web2"),
	    FRESH("be_fb", "fb1"), UP("be_fb", "fb2", "10.0.0.2", 80, 10) },
	  { "set server be_app/web1 state maint",
	    "set server be_fb/fb2 state maint" }, { NULL } },
	{ "dedicated: no group (Consul) -> fallback", S_DED, 1,
	  { ACTG("10.0.0.1", 10, "") },
	  { FRESH("be_app", "web1"), UP("be_fb", "fb1", "10.0.0.1", 80, 10) },
	  { NULL }, { NULL } },
	{ "dedicated + all in fallback: listed ASG in both", S_DED_ALL, 1,
	  { ACTG("10.0.0.1", 10, "asg-a") },
	  { FRESH("be_app", "web1"), FRESH("be_fb", "fb1") },
	  { "set server be_app/web1 addr 10.0.0.1 port 80",
	    "set server be_app/web1 weight 10",
	    "set server be_app/web1 state ready",
	    "set server be_fb/fb1 addr 10.0.0.1 port 80",
	    "set server be_fb/fb1 weight 10",
	    "set server be_fb/fb1 state ready" }, { NULL } },
	{ "dedicated + all in fallback: other ASG only in fallback", S_DED_ALL, 1,
	  { ACTG("10.0.0.1", 10, "asg-z") },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10), UP("be_fb", "fb1", "10.0.0.1", 80, 10) },
	  { "set server be_app/web1 state maint" }, { NULL } },
	{ "not dedicated + all in fallback: both", S_ALL_FB, 1,
	  { ACTG("10.0.0.1", 10, "whatever") },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10), FRESH("be_fb", "fb1") },
	  { "set server be_fb/fb1 addr 10.0.0.1 port 80",
	    "set server be_fb/fb1 weight 10",
	    "set server be_fb/fb1 state ready" }, { NULL } },
	{ "not dedicated, fallback not wanted -> kept in maint", S_FB_ONLY_DED, 1,
	  { ACT("10.0.0.1", 10) },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10), UP("be_fb", "fb1", "10.0.0.1", 80, 10) },
	  { "set server be_fb/fb1 state maint" }, { NULL } },
	{ "two primaries with different ports", S_TWO, 2,
	  { ACT("10.0.0.1", 10), { HSDO_SLOT_ACTIVE, "10.0.0.2", 9000, 20, "" } },
	  { FRESH("be_a", "a1"), FRESH("be_a", "a2"), FRESH("be_b", "b1"), FRESH("be_b", "b2") },
	  { "set server be_a/a1 addr 10.0.0.1 port 80",
	    "set server be_a/a1 weight 10",
	    "set server be_a/a1 state ready",
	    "set server be_a/a2 addr 10.0.0.2 port 9000",
	    "set server be_a/a2 weight 20",
	    "set server be_a/a2 state ready",
	    "set server be_b/b1 addr 10.0.0.1 port 8080",
	    "set server be_b/b1 weight 10",
	    "set server be_b/b1 state ready",
	    "set server be_b/b2 addr 10.0.0.2 port 9000",
	    "set server be_b/b2 weight 20",
	    "set server be_b/b2 state ready" }, { NULL } },
	{ "odd names are escaped", S_ODD, 2, { ACT("10.0.0.1", 10), FREE },
	  { FRESH("be;x", "w\\1"), UP("be;x", "w\\2", "10.0.0.5", 80, 3) },
	  { "set server be\\;x/w\\\\1 addr 10.0.0.1 port 80",
	    "set server be\\;x/w\\\\1 weight 10",
	    "set server be\\;x/w\\\\1 state ready",
	    "set server be\\;x/w\\\\2 state maint" }, { NULL } },
	{ "invalid entries skipped, the rest applied", S_ONE, 4,
	  { ACT("foo", 10), ACT("10.0.0.2", 10), ACT("10.0.0.3", 300),
	    { HSDO_SLOT_DRAINING, "10.0.0.256", 0, 0, "" } },
	  { FRESH("be_app", "web1"), FRESH("be_app", "web2"), FRESH("be_app", "web3"),
	    FRESH("be_app", "web4") },
	  { "set server be_app/web2 addr 10.0.0.2 port 80",
	    "set server be_app/web2 weight 10",
	    "set server be_app/web2 state ready" },
	  { "slot 1: invalid address 'foo'",
	    "slot 3: invalid weight 300 (max 256)",
	    "slot 4: invalid address '10.0.0.256'" } },
	{ "hostnames are not addresses", S_ONE, 1, { ACT("localhost", 10) },
	  { FRESH("be_app", "web1") }, { NULL }, { "slot 1: invalid address 'localhost'" } },
	{ "invalid entry gets no command in any backend", S_DED_ALL, 1,
	  { ACTG("", 10, "asg-a") },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10), UP("be_fb", "fb1", "10.0.0.1", 80, 10) },
	  { NULL }, { "slot 1: invalid address ''" } },
	{ "no port anywhere -> invalid slot", S_NOPORT, 2,
	  { ACT("10.0.0.1", 10), { HSDO_SLOT_ACTIVE, "10.0.0.2", 81, 10, "" } },
	  { FRESH("be_app", "web1"), FRESH("be_app", "web2") },
	  { "set server be_app/web2 addr 10.0.0.2 port 81",
	    "set server be_app/web2 weight 10",
	    "set server be_app/web2 state ready" },
	  { "slot 1: invalid port 0 (no slot port and backend 'be_app' has none)" } },
	{ "server missing from HAProxy -> skip", S_ONE, 3,
	  { ACT("10.0.0.1", 10), ACT("10.0.0.2", 10), FREE },
	  { FRESH("be_app", "web1"), FRESH("be_app", "web03"), FRESH("be_app", "webX") },
	  { "set server be_app/web1 addr 10.0.0.1 port 80",
	    "set server be_app/web1 weight 10",
	    "set server be_app/web1 state ready" },
	  { "be_app/web2: server not in HAProxy's state",
	    "be_app/web3: server not in HAProxy's state" } },
	{ "backend missing from HAProxy -> one skip, the other backend planned", S_DED, 1,
	  { ACTG("10.0.0.1", 10, "asg-a") },
	  { FRESH("be_app", "web1"), FRESH("be_other", "fb1") },
	  { "set server be_app/web1 addr 10.0.0.1 port 80",
	    "set server be_app/web1 weight 10",
	    "set server be_app/web1 state ready" },
	  { "backend 'be_fb' not in HAProxy's state: nothing planned for it" } },
	{ "converged: zero commands", S_DED, 4,
	  { ACTG("10.0.0.1", 10, "asg-a"), ACTG("10.0.0.2", 20, "asg-b"), DRN("10.0.0.3"), FREE },
	  { UP("be_app", "web1", "10.0.0.1", 80, 10), FRESH("be_app", "web2"),
	    { "be_app", "web3", "10.0.0.3", 80, 2, 12, 10 }, FRESH("be_app", "web4"),
	    FRESH("be_fb", "fb1"), UP("be_fb", "fb2", "10.0.0.2", 80, 20),
	    FRESH("be_fb", "fb3"), FRESH("be_fb", "fb4"),
	    { "be_other", "web1", "1.1.1.1", 80, 2, 0, 1 } },
	  { NULL }, { NULL } },
};

static void build_table(const struct pc_case *c, struct hsdo_table *t)
{
	size_t i;

	ck_assert_int_eq(hsdo_table_init(t, c->nslots), 0);
	for (i = 0; i < c->nslots; i++) {
		struct hsdo_slot *s = &t->slots[i];
		const struct dslot *d = &c->slots[i];

		s->state = d->state;
		ck_assert_int_eq(hsdo_strlcpy_field(s->ip, sizeof(s->ip), d->ip), 0);
		ck_assert_int_eq(hsdo_strlcpy_field(s->group, sizeof(s->group), d->group), 0);
		s->port = d->port;
		s->weight = d->weight;
	}
}

static void build_state(const struct row *rows, struct hsdo_servers_state *h)
{
	size_t i;

	h->n = 0;
	h->srv = calloc(MAXR, sizeof(*h->srv));
	for (i = 0; i < MAXR && rows[i].be != NULL; i++) {
		struct hsdo_srv_state *s = &h->srv[h->n++];

		snprintf(s->be_name, sizeof(s->be_name), "%s", rows[i].be);
		snprintf(s->srv_name, sizeof(s->srv_name), "%s", rows[i].srv);
		snprintf(s->addr, sizeof(s->addr), "%s", rows[i].addr);
		s->be_id = 3;
		s->srv_id = (uint32_t)i + 1;
		s->port = rows[i].port;
		s->op_state = rows[i].op;
		s->admin_state = rows[i].admin;
		s->uweight = rows[i].uweight;
		s->iweight = 1;
	}
}

START_TEST(plan_table)
{
	const struct pc_case *c = &cases[_i];
	struct hsdo_plan_client_settings st;
	struct hsdo_plan_client_result r;
	struct hsdo_servers_state h;
	struct hsdo_table t;
	size_t i, n;

	preset(c->settings, &st);
	build_table(c, &t);
	build_state(c->rows, &h);
	ck_assert_msg(hsdo_plan_client(&t, &st, &h, &r) == 0, "%s", c->name);
	for (n = 0; c->cmds[n] != NULL; n++)
		;
	for (i = 0; r.ncmds != n && i < r.ncmds; i++)
		fprintf(stderr, "[%s] cmd %zu: %s\n", c->name, i, r.cmds[i].line);
	ck_assert_msg(r.ncmds == n, "%s: %zu commands, want %zu", c->name, r.ncmds, n);
	for (i = 0; i < n; i++) {
		ck_assert_msg(strcmp(r.cmds[i].line, c->cmds[i]) == 0, "%s: cmd %zu '%s', want '%s'",
			c->name, i, r.cmds[i].line, c->cmds[i]);
		ck_assert_ptr_nonnull(r.cmds[i].backend);
		ck_assert_uint_ge(r.cmds[i].slot, 1);
		/* the op matches the line and the backend pointer is the settings' */
		ck_assert_ptr_nonnull(strstr(r.cmds[i].line, hsdo_plan_client_op_str(r.cmds[i].op)));
		ck_assert(r.cmds[i].backend == st.primary[0].name ||
			(st.nprimary > 1 && r.cmds[i].backend == st.primary[1].name) ||
			(st.fallback != NULL && r.cmds[i].backend == st.fallback->name));
	}
	for (n = 0; c->skips[n] != NULL; n++)
		;
	for (i = 0; r.nskips != n && i < r.nskips; i++)
		fprintf(stderr, "[%s] skip %zu: %s\n", c->name, i, r.skips[i].reason);
	ck_assert_msg(r.nskips == n, "%s: %zu skips, want %zu", c->name, r.nskips, n);
	for (i = 0; i < n; i++)
		ck_assert_msg(strcmp(r.skips[i].reason, c->skips[i]) == 0, "%s: skip '%s', want '%s'",
			c->name, r.skips[i].reason, c->skips[i]);
	/* applying the plan converges in one round */
	for (i = 0; i < r.ncmds; i++)
		ck_assert_msg(hsdo_model_apply(&st, &t, &h, &r.cmds[i]) == 0,
			      "%s: command for a missing server: %s", c->name, r.cmds[i].line);
	hsdo_plan_client_result_free(&r);
	ck_assert_ptr_null(r.cmds);
	ck_assert_uint_eq(r.ncmds, 0);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_msg(r.ncmds == 0, "%s: not converged after one round: %s", c->name,
		r.cmds[0].line);
	hsdo_plan_client_result_free(&r);
	hsdo_plan_client_result_free(&r);
	hsdo_plan_client_result_free(NULL);
	hsdo_table_free(&t);
	free(h.srv);
}
END_TEST

/* Fields of commands and skips, beyond the text. */
START_TEST(plan_fields)
{
	const struct pc_case *c = &cases[3]; /* add: addr + weight + ready */
	struct hsdo_plan_client_settings st;
	struct hsdo_plan_client_result r;
	struct hsdo_servers_state h;
	struct hsdo_table t;

	preset(S_DED, &st);
	build_table(c, &t);
	t.slots[0].id = 1;
	build_state((const struct row[]){ FRESH("be_app", "web1"), { NULL, NULL, NULL, 0, 0, 0, 0 } },
		&h);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_uint_eq(r.ncmds, 3);
	ck_assert_int_eq(r.cmds[0].op, HSDO_CMD_ADDR);
	ck_assert_int_eq(r.cmds[1].op, HSDO_CMD_WEIGHT);
	ck_assert_int_eq(r.cmds[2].op, HSDO_CMD_STATE_READY);
	ck_assert_ptr_eq(r.cmds[0].backend, be_app.name);
	ck_assert_uint_eq(r.cmds[2].slot, 1);
	/* be_fb is absent from this state: one backend-wide skip */
	ck_assert_uint_eq(r.nskips, 1);
	ck_assert_uint_eq(r.skips[0].slot, 0);
	ck_assert_ptr_eq(r.skips[0].backend, be_fb.name);
	hsdo_plan_client_result_free(&r);

	/* a table entry whose id does not match its position is refused */
	t.slots[0].id = 7;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_uint_eq(r.ncmds, 0);
	ck_assert_uint_eq(r.nskips, 2);
	ck_assert_str_eq(r.skips[0].reason, "slot 1: table entry has id 7");
	ck_assert_ptr_null(r.skips[0].backend);
	hsdo_plan_client_result_free(&r);

	/* an out-of-range state too */
	t.slots[0].id = 1;
	t.slots[0].state = (enum hsdo_slot_state)9;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_uint_eq(r.ncmds, 0);
	ck_assert_str_eq(r.skips[0].reason, "slot 1: unknown state 9");
	hsdo_plan_client_result_free(&r);
	hsdo_table_free(&t);
	free(h.srv);
}
END_TEST

START_TEST(op_strings)
{
	ck_assert_str_eq(hsdo_plan_client_op_str(HSDO_CMD_ADDR), "addr");
	ck_assert_str_eq(hsdo_plan_client_op_str(HSDO_CMD_WEIGHT), "weight");
	ck_assert_str_eq(hsdo_plan_client_op_str(HSDO_CMD_STATE_READY), "state ready");
	ck_assert_str_eq(hsdo_plan_client_op_str(HSDO_CMD_STATE_DRAIN), "state drain");
	ck_assert_str_eq(hsdo_plan_client_op_str(HSDO_CMD_STATE_MAINT), "state maint");
	ck_assert_str_eq(hsdo_plan_client_op_str(HSDO_CMD_OP_COUNT), "unknown");
}
END_TEST

/* ---- settings validation ------------------------------------------------------------ */

START_TEST(bad_settings)
{
	static const struct hsdo_plan_client_backend dup[] = {
		{ "be_app", "web", 80 }, { "be_app", "other", 80 },
	};
	static const struct hsdo_plan_client_backend empty_name = { "", "web", 80 };
	static const struct hsdo_plan_client_backend no_base = { "be_app", NULL, 80 };
	static const struct hsdo_plan_client_backend ctl = { "be\napp", "web", 80 };
	struct hsdo_plan_client_backend longname = { NULL, "web", 80 };
	struct hsdo_plan_client_settings st;
	struct hsdo_plan_client_result r;
	struct hsdo_servers_state h = { NULL, 0 };
	struct hsdo_table t;
	char name[HSDO_PLAN_CLIENT_LINE_LEN];

	ck_assert_int_eq(hsdo_table_init(&t, 2), 0);
	preset(S_ONE, &st);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	hsdo_plan_client_result_free(&r);

	st.nprimary = 0;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	ck_assert_ptr_null(r.cmds);
	ck_assert_ptr_null(r.skips);
	/* a fallback alone is a valid (if odd) setup */
	st.fallback = &be_fb;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	hsdo_plan_client_result_free(&r);

	preset(S_ONE, &st);
	st.primary = dup;
	st.nprimary = 2;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	preset(S_DED, &st);
	st.fallback = &be_app; /* same backend as the primary */
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	preset(S_ONE, &st);
	st.primary = &empty_name;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	st.primary = &no_base;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	st.primary = &ctl;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	/* a name that leaves no room for the longest command */
	memset(name, 'b', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	longname.name = name;
	st.primary = &longname;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	name[400] = '\0';
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	hsdo_plan_client_result_free(&r);
	preset(S_ONE, &st);
	st.asg_names = NULL;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), -HSDO_EINVAL);
	preset(S_ONE, &st);
	ck_assert_int_eq(hsdo_plan_client(NULL, &st, &h, &r), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_plan_client(&t, NULL, &h, &r), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, NULL, &r), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, NULL), -HSDO_EINVAL);
	hsdo_table_free(&t);
}
END_TEST

/* The longest line HAProxy's state can lead to (127-byte names, slot
 * 100000, the longest IPv6 text, port 65535) still fits in a command line,
 * whole. HAProxy names never need escaping (letters, digits, "-_.:"); names
 * that would double in length are refused as settings (bad_settings). */
START_TEST(longest_line_fits)
{
	char bename[HSDO_RTAPI_NAME_LEN], base[HSDO_RTAPI_NAME_LEN];
	struct hsdo_plan_client_backend b = { bename, base, 80 };
	const char *ip = "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255";
	struct hsdo_plan_client_settings st;
	struct hsdo_plan_client_result r;
	struct hsdo_servers_state h;
	struct hsdo_slot *s;
	struct hsdo_table t;
	size_t i, baselen = HSDO_RTAPI_NAME_LEN - 1 - 6;

	memset(bename, 'b', sizeof(bename) - 1);
	bename[sizeof(bename) - 1] = '\0';
	memset(base, 'w', baselen);
	base[baselen] = '\0';
	preset(S_ONE, &st);
	st.primary = &b;
	ck_assert_int_eq(hsdo_table_init(&t, HSDO_SLOTS_MAX), 0);
	s = &t.slots[HSDO_SLOTS_MAX - 1];
	s->state = HSDO_SLOT_ACTIVE;
	snprintf(s->ip, sizeof(s->ip), "%s", ip);
	s->port = 65535;
	s->weight = 256;
	h.n = 1;
	h.srv = calloc(1, sizeof(*h.srv));
	snprintf(h.srv[0].be_name, sizeof(h.srv[0].be_name), "%s", bename);
	memcpy(h.srv[0].srv_name, base, baselen);
	memcpy(h.srv[0].srv_name + baselen, "100000", 7);
	ck_assert_uint_eq(strlen(h.srv[0].srv_name), HSDO_RTAPI_NAME_LEN - 1);
	h.srv[0].admin_state = 5;
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_uint_eq(r.ncmds, 3);
	for (i = 0; i < r.ncmds; i++)
		ck_assert_uint_lt(strlen(r.cmds[i].line), HSDO_PLAN_CLIENT_LINE_LEN - 1);
	/* Lines are sized to their content: back to back in the result's text. */
	ck_assert_ptr_eq(r.cmds[0].line, r.text);
	for (i = 1; i < r.ncmds; i++)
		ck_assert_ptr_eq(r.cmds[i].line, r.cmds[i - 1].line + strlen(r.cmds[i - 1].line) + 1);
	ck_assert_ptr_nonnull(strstr(r.cmds[0].line, "100000 addr ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255 port 65535"));
	ck_assert_uint_eq(r.nskips, HSDO_SLOTS_MAX - 1); /* the other slots have no server */
	hsdo_plan_client_result_free(&r);
	hsdo_table_free(&t);
	free(h.srv);
}
END_TEST

/* ---- scale, parsed input, allocation failures ------------------------------------------ */

static void big_fixture(size_t n, struct hsdo_table *t, struct hsdo_servers_state *h,
	bool converged)
{
	size_t i, b;

	ck_assert_int_eq(hsdo_table_init(t, n), 0);
	h->n = 2 * n;
	h->srv = calloc(h->n, sizeof(*h->srv));
	for (i = 0; i < n; i++) {
		struct hsdo_slot *s = &t->slots[i];

		s->state = HSDO_SLOT_ACTIVE;
		snprintf(s->ip, sizeof(s->ip), "10.%u.%u.%u", (unsigned)(i >> 16) & 255,
			(unsigned)(i >> 8) & 255, (unsigned)i & 255);
		s->weight = 10;
		for (b = 0; b < 2; b++) {
			struct hsdo_srv_state *x = &h->srv[b * n + i];

			snprintf(x->be_name, sizeof(x->be_name), "%s", be_two[b].name);
			snprintf(x->srv_name, sizeof(x->srv_name), "%s%zu", be_two[b].base_name, i + 1);
			if (converged) {
				snprintf(x->addr, sizeof(x->addr), "%s", s->ip);
				x->port = be_two[b].port;
				x->uweight = 10;
				x->admin_state = 4;
				x->op_state = 2;
			} else {
				snprintf(x->addr, sizeof(x->addr), "127.0.0.2");
				x->port = 80;
				x->uweight = 1;
				x->admin_state = 5;
			}
		}
	}
}

START_TEST(plan_scale)
{
	struct hsdo_plan_client_settings st;
	struct hsdo_plan_client_result r;
	struct hsdo_servers_state h;
	struct hsdo_table t;
	size_t i;

	preset(S_TWO, &st);
	big_fixture(10000, &t, &h, false);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_uint_eq(r.ncmds, 60000);
	ck_assert_uint_eq(r.nskips, 0);
	/* ordered by backend, then slot, then op */
	for (i = 1; i < r.ncmds; i++) {
		const struct hsdo_plan_client_cmd *a = &r.cmds[i - 1], *b = &r.cmds[i];
		bool same_be = a->backend == b->backend;

		ck_assert(!same_be || a->slot < b->slot || (a->slot == b->slot && a->op < b->op));
		ck_assert(same_be || strcmp(a->backend, "be_a") == 0);
	}
	ck_assert_str_eq(r.cmds[59999].line, "set server be_b/b10000 state ready");
	ck_assert_str_eq(r.cmds[3].line, "set server be_a/a2 addr 10.0.0.1 port 80");
	hsdo_plan_client_result_free(&r);
	hsdo_table_free(&t);
	free(h.srv);

	big_fixture(10000, &t, &h, true);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_uint_eq(r.ncmds, 0);
	ck_assert_uint_eq(r.nskips, 0);
	hsdo_plan_client_result_free(&r);
	hsdo_table_free(&t);
	free(h.srv);
}
END_TEST

/* The real 2.6.12 transcript through the parser, then the planner. */
START_TEST(plan_from_transcript)
{
	static const char *const want[] = {
		"set server be_app/web1 addr 127.0.0.1 port 28081",
		"set server be_app/web1 weight 50",
		"set server be_app/web1 state ready",
		"set server be_app/web2 weight 7",
		"set server be_app/web2 state ready",
		"set server be_app/web3 addr 10.1.2.3 port 80",
		"set server be_app/web3 state drain",
	};
	struct hsdo_plan_client_settings st;
	struct hsdo_plan_client_result r;
	struct hsdo_servers_state h;
	struct hsdo_table t;
	char *path = hsdo_test_data_path("rtapi/state_fresh_be_app.txt");
	char err[256];
	size_t len, i;
	char *buf = hsdo_test_read_file(path, &len);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(hsdo_rtapi_parse_servers_state(buf, len, &h, err, sizeof(err)), 0);
	ck_assert_int_eq(hsdo_table_init(&t, 4), 0);
	t.slots[0].state = HSDO_SLOT_ACTIVE;
	snprintf(t.slots[0].ip, sizeof(t.slots[0].ip), "%s", "127.0.0.1");
	t.slots[0].port = 28081;
	t.slots[0].weight = 50;
	t.slots[1].state = HSDO_SLOT_ACTIVE;
	snprintf(t.slots[1].ip, sizeof(t.slots[1].ip), "%s", "127.0.0.2");
	t.slots[1].weight = 7;
	t.slots[2].state = HSDO_SLOT_DRAINING;
	snprintf(t.slots[2].ip, sizeof(t.slots[2].ip), "%s", "10.1.2.3");
	preset(S_ONE, &st);
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &r), 0);
	ck_assert_uint_eq(r.ncmds, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < r.ncmds; i++)
		ck_assert_str_eq(r.cmds[i].line, want[i]);
	ck_assert_uint_eq(r.nskips, 0);
	hsdo_plan_client_result_free(&r);
	hsdo_table_free(&t);
	hsdo_rtapi_servers_state_free(&h);
	free(buf);
	free(path);
}
END_TEST

START_TEST(plan_alloc_failures)
{
	struct hsdo_plan_client_settings st;
	struct hsdo_plan_client_result r, ref;
	struct hsdo_servers_state h;
	struct hsdo_table t;
	unsigned long k;
	int rc = -HSDO_ENOMEM;
	size_t i;

	/* enough commands and skips to make both arrays grow several times */
	preset(S_TWO, &st);
	big_fixture(300, &t, &h, false);
	for (i = 0; i < 300; i += 3)
		snprintf(t.slots[i].ip, sizeof(t.slots[i].ip), "%s", "bogus");
	ck_assert_int_eq(hsdo_plan_client(&t, &st, &h, &ref), 0);
	ck_assert_uint_gt(ref.ncmds, 128);
	ck_assert_uint_gt(ref.nskips, 64);
	for (k = 1; rc == -HSDO_ENOMEM; k++) {
		hsdo_alloc_fail_at(k, 0);
		rc = hsdo_plan_client(&t, &st, &h, &r);
		hsdo_alloc_fail_at(0, 0);
		if (rc == -HSDO_ENOMEM) {
			ck_assert_ptr_null(r.cmds);
			ck_assert_ptr_null(r.skips);
			ck_assert_uint_eq(r.ncmds, 0);
			ck_assert_uint_eq(r.nskips, 0);
		}
		ck_assert_uint_lt(k, 1000);
	}
	ck_assert_int_eq(rc, 0);
	ck_assert_uint_gt(k, 8);
	ck_assert_uint_eq(r.ncmds, ref.ncmds);
	ck_assert_uint_eq(r.nskips, ref.nskips);
	for (i = 0; i < r.ncmds; i++)
		ck_assert_str_eq(r.cmds[i].line, ref.cmds[i].line);
	hsdo_plan_client_result_free(&r);
	hsdo_plan_client_result_free(&ref);
	hsdo_table_free(&t);
	free(h.srv);
}
END_TEST

static Suite *plan_client_suite(void)
{
	Suite *s = suite_create("plan_client");
	TCase *tc = tcase_create("table");

	tcase_add_loop_test(tc, plan_table, 0, (int)(sizeof(cases) / sizeof(cases[0])));
	tcase_add_test(tc, plan_fields);
	tcase_add_test(tc, op_strings);
	suite_add_tcase(s, tc);

	tc = tcase_create("settings");
	tcase_add_test(tc, bad_settings);
	tcase_add_test(tc, longest_line_fits);
	suite_add_tcase(s, tc);

	tc = tcase_create("scale");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, plan_scale);
	tcase_add_test(tc, plan_from_transcript);
	tcase_add_test(tc, plan_alloc_failures);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(plan_client_suite());
}
