/* Fuzz the `show servers state` parser, then the client planner on what it
 * parsed: any bytes parse or are rejected with a reason; a plan is well
 * formed, and applying it to the state (modelling what HAProxy 2.6 does
 * with each command) leaves nothing more to plan. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/plan_client.h"
#include "hsdo/rtapi.h"
#include "hsdo/slot.h"

#include "../support/haproxy_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct hsdo_plan_client_backend primary[] = {
	{ "be_app", "web", 80 },
	{ "be_b", "b", 8080 },
};
static const struct hsdo_plan_client_backend fallback = { "be_fb", "fb", 80 };
static const char *const asgs[] = { "asg-a" };

static void fixed_table(struct hsdo_table *t)
{
	static const struct {
		enum hsdo_slot_state state;
		const char *ip;
		uint16_t port;
		uint32_t weight;
		const char *group;
	} d[] = {
		{ HSDO_SLOT_ACTIVE, "127.0.0.1", 0, 10, "asg-a" },
		{ HSDO_SLOT_ACTIVE, "::1", 9000, 256, "asg-b" },
		{ HSDO_SLOT_DRAINING, "10.0.0.3", 0, 0, "asg-a" },
		{ HSDO_SLOT_FREE, "", 0, 0, "" },
		{ HSDO_SLOT_ACTIVE, "not-an-ip", 0, 1, "asg-a" },
	};
	size_t i;

	if (hsdo_table_init(t, sizeof(d) / sizeof(d[0])) != 0)
		abort();
	for (i = 0; i < t->n; i++) {
		t->slots[i].state = d[i].state;
		(void)hsdo_strlcpy_field(t->slots[i].ip, sizeof(t->slots[i].ip), d[i].ip);
		(void)hsdo_strlcpy_field(t->slots[i].group, sizeof(t->slots[i].group), d[i].group);
		t->slots[i].port = d[i].port;
		t->slots[i].weight = d[i].weight;
	}
}

static void check_plan(const struct hsdo_table *t, const struct hsdo_plan_client_settings *st,
	const struct hsdo_servers_state *parsed)
{
	struct hsdo_plan_client_result r, again;
	struct hsdo_servers_state h;
	size_t i;

	if (hsdo_plan_client(t, st, parsed, &r) != 0)
		abort();
	for (i = 0; i < r.ncmds; i++) {
		const struct hsdo_plan_client_cmd *c = &r.cmds[i];
		size_t len = strnlen(c->line, HSDO_PLAN_CLIENT_LINE_LEN);

		if (len == HSDO_PLAN_CLIENT_LINE_LEN || strncmp(c->line, "set server ", 11) != 0 ||
		    strchr(c->line, '\n') != NULL || (unsigned)c->op >= HSDO_CMD_OP_COUNT)
			abort();
	}
	for (i = 0; i < r.nskips; i++)
		if (r.skips[i].reason[0] == '\0')
			abort();
	/* apply to a copy of the state, then the plan must be empty */
	h.n = parsed->n;
	h.srv = malloc(parsed->n ? parsed->n * sizeof(*h.srv) : 1);
	if (h.srv == NULL)
		abort();
	if (parsed->n)
		memcpy(h.srv, parsed->srv, parsed->n * sizeof(*h.srv));
	for (i = 0; i < r.ncmds; i++)
		if (hsdo_model_apply(st, t, &h, &r.cmds[i]) != 0)
			abort(); /* a command for a server HAProxy does not have */
	if (hsdo_plan_client(t, st, &h, &again) != 0 || again.ncmds != 0)
		abort();
	hsdo_plan_client_result_free(&again);
	hsdo_plan_client_result_free(&r);
	free(h.srv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_plan_client_settings st;
	struct hsdo_servers_state s;
	struct hsdo_table t;
	char err[256];
	size_t i;
	int rc;

	err[0] = '\0';
	rc = hsdo_rtapi_parse_servers_state((const char *)data, size, &s, err, sizeof(err));
	if (rc != 0) {
		if ((rc != -HSDO_EPROTO && rc != -HSDO_EAGAIN && rc != -HSDO_ETOOBIG &&
		     rc != -HSDO_ENOTFOUND) || err[0] == '\0' || s.srv != NULL || s.n != 0)
			abort();
		return 0;
	}
	for (i = 0; i < s.n; i++)
		if (memchr(s.srv[i].be_name, '\0', sizeof(s.srv[i].be_name)) == NULL ||
		    memchr(s.srv[i].srv_name, '\0', sizeof(s.srv[i].srv_name)) == NULL ||
		    memchr(s.srv[i].addr, '\0', sizeof(s.srv[i].addr)) == NULL)
			abort();
	fixed_table(&t);
	memset(&st, 0, sizeof(st));
	st.primary = primary;
	st.nprimary = 2;
	st.asg_names = asgs;
	st.nasg = 1;
	check_plan(&t, &st, &s);
	st.fallback = &fallback;
	st.dedicated_asg = true;
	check_plan(&t, &st, &s);
	st.all_in_fallback = true;
	check_plan(&t, &st, &s);
	hsdo_table_free(&t);
	hsdo_rtapi_servers_state_free(&s);
	return 0;
}
