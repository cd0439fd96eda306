/* The client planner: from the desired slot table and HAProxy's current
 * `show servers state`, the minimal ordered list of Runtime API commands
 * that makes HAProxy match. Pure: no socket, no clock, no logging.
 *
 * Slot i is server "<base_name><i>" in every configured backend. Which
 * backends want a used slot follows CLIENT_DEDICATED_ASG / CLIENT_ASG_NAMES /
 * CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND; a slot is put in maint in every
 * backend that does not want it (the original put a freed or moved slot in
 * maint only in the fallback backend and left it serving in the others). */
#ifndef HSDO_PLAN_CLIENT_H
#define HSDO_PLAN_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/rtapi.h"
#include "hsdo/slot.h"

#define HSDO_PLAN_CLIENT_BACKENDS_MAX 64
#define HSDO_PLAN_CLIENT_LINE_LEN     512

struct hsdo_plan_client_backend {
	const char *name;              /* HAProxy backend */
	const char *base_name;         /* server-template prefix */
	uint16_t port;                 /* used when slot.port is 0 */
};

struct hsdo_plan_client_settings {
	const struct hsdo_plan_client_backend *primary; /* CLIENT_HAPROXY_BACKEND_LIST */
	size_t nprimary;
	const struct hsdo_plan_client_backend *fallback; /* NULL when none */
	bool dedicated_asg;                              /* CLIENT_DEDICATED_ASG */
	const char *const *asg_names;                    /* CLIENT_ASG_NAMES */
	size_t nasg;
	bool all_in_fallback;          /* CLIENT_ALL_SERVERS_IN_FALLBACK_BACKEND */
};

enum hsdo_plan_client_op {
	HSDO_CMD_ADDR = 0,
	HSDO_CMD_WEIGHT,
	HSDO_CMD_STATE_READY,
	HSDO_CMD_STATE_DRAIN,
	HSDO_CMD_STATE_MAINT,
	HSDO_CMD_OP_COUNT
};

struct hsdo_plan_client_cmd {
	enum hsdo_plan_client_op op;
	uint32_t slot;
	const char *backend;           /* borrowed from the settings */
	/* Full command, escaped, no newline, shorter than
	 * HSDO_PLAN_CLIENT_LINE_LEN; points into the result's text (sized to
	 * the commands: a 10,000-slot start-up plan is ~1 MB, not 15). */
	const char *line;
};

/* Something the plan could not do: an invalid table entry (backend NULL),
 * a server missing from HAProxy's state, a whole backend missing (slot 0,
 * one entry instead of one per server), or maintenance inherited from a
 * tracked server or DNS (IMAINT/RMAINT) that `state ready` cannot lift.
 * backend is borrowed from the settings. Slot entries come first (by slot),
 * then backend entries in backend, slot order. */
struct hsdo_plan_client_skip {
	uint32_t slot;
	const char *backend;
	char reason[160];
};

struct hsdo_plan_client_result {
	struct hsdo_plan_client_cmd *cmds;
	size_t ncmds;
	struct hsdo_plan_client_skip *skips;
	size_t nskips;
	char *text;                    /* the commands' lines, NUL-separated */
};

/* Commands that bring `haproxy` to `desired` under `st`, by backend
 * (settings order), slot, op; one round converges. Bad slots and missing
 * servers become skips. 0 and *out (free with _result_free), or -HSDO_EINVAL
 * (bad settings: no/empty/duplicate/too long names), -HSDO_ENOMEM. */
int hsdo_plan_client(const struct hsdo_table *desired,
	const struct hsdo_plan_client_settings *st,
	const struct hsdo_servers_state *haproxy,
	struct hsdo_plan_client_result *out);
/* Release the arrays of r and zero it; NULL is a no-op. */
void hsdo_plan_client_result_free(struct hsdo_plan_client_result *r);
/* "addr", "weight", "state ready", ... for logs; never NULL. */
const char *hsdo_plan_client_op_str(enum hsdo_plan_client_op op);

#endif
