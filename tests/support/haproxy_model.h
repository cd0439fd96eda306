/* A model of what HAProxy 2.6 does with each command the client planner
 * emits, as measured on 2.6.12: `state maint` clears FDRAIN, `state drain`
 * clears FMAINT, `state ready` clears both. Shared by the planner tests and
 * the fuzz harness, which apply a plan and require an empty re-plan.
 * Header-only so the fuzz harness needs no test library. */
#ifndef HSDO_TEST_HAPROXY_MODEL_H
#define HSDO_TEST_HAPROXY_MODEL_H

#include <stdio.h>
#include <string.h>

#include "hsdo/plan_client.h"
#include "hsdo/rtapi.h"
#include "hsdo/slot.h"

/* Apply command c (planned from table t under settings st) to state h.
 * Returns 0, or -1 when the command names something the plan could not
 * have meant (unknown backend or slot, missing server, unknown op). */
static inline int hsdo_model_apply(const struct hsdo_plan_client_settings *st,
				   const struct hsdo_table *t, struct hsdo_servers_state *h,
				   const struct hsdo_plan_client_cmd *c)
{
	const struct hsdo_plan_client_backend *b = NULL;
	const struct hsdo_srv_state *found;
	const struct hsdo_slot *s;
	struct hsdo_srv_state *x;
	char name[HSDO_RTAPI_NAME_LEN];
	size_t i;

	for (i = 0; i < st->nprimary; i++)
		if (strcmp(c->backend, st->primary[i].name) == 0)
			b = &st->primary[i];
	if (st->fallback != NULL && strcmp(c->backend, st->fallback->name) == 0)
		b = st->fallback;
	if (b == NULL || c->slot == 0 || c->slot > t->n)
		return -1;
	s = &t->slots[c->slot - 1];
	snprintf(name, sizeof(name), "%s%u", b->base_name, (unsigned)c->slot);
	found = hsdo_rtapi_find_server(h, b->name, name);
	if (found == NULL)
		return -1;
	x = &h->srv[found - h->srv];
	switch (c->op) {
	case HSDO_CMD_ADDR:
		snprintf(x->addr, sizeof(x->addr), "%s", s->ip);
		x->port = s->port ? s->port : b->port;
		return 0;
	case HSDO_CMD_WEIGHT:
		x->uweight = s->weight;
		return 0;
	case HSDO_CMD_STATE_READY:
		x->admin_state &= ~(unsigned)(HSDO_RTAPI_ADMF_FMAINT | HSDO_RTAPI_ADMF_FDRAIN);
		return 0;
	case HSDO_CMD_STATE_DRAIN:
		x->admin_state = (x->admin_state | HSDO_RTAPI_ADMF_FDRAIN) &
				 ~(unsigned)HSDO_RTAPI_ADMF_FMAINT;
		return 0;
	case HSDO_CMD_STATE_MAINT:
		x->admin_state = (x->admin_state | HSDO_RTAPI_ADMF_FMAINT) &
				 ~(unsigned)HSDO_RTAPI_ADMF_FDRAIN;
		return 0;
	default:
		return -1;
	}
}

#endif
