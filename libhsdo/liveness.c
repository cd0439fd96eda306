/* Liveness decisions: see include/hsdo/liveness.h. Pure. */
#include <inttypes.h>
#include <stdio.h>

#include "hsdo/liveness.h"

const char *hsdo_liveness_op_str(enum hsdo_liveness_op op)
{
	static const char *const names[HSDO_LIVENESS_OP_COUNT] = {
		"store", "HAProxy", "source", "cycle",
	};

	return (unsigned)op < HSDO_LIVENESS_OP_COUNT ? names[op] : "unknown";
}

int hsdo_liveness_stalled(const struct hsdo_liveness *l, int64_t now_ms, int64_t *age_ms)
{
	int64_t age;
	int op;

	if (l->loop_ms > 0 && now_ms - l->loop_ms > l->bound_ms) {
		*age_ms = now_ms - l->loop_ms;
		return HSDO_LIVENESS_OP_COUNT;
	}
	for (op = 0; op < HSDO_LIVENESS_OP_COUNT; op++) {
		if (l->since_ms[op] <= 0)
			continue;
		age = now_ms - l->since_ms[op];
		if (age > l->bound_ms) {
			*age_ms = age;
			return op;
		}
	}
	*age_ms = 0;
	return -1;
}

bool hsdo_liveness_ok(const struct hsdo_liveness *l, int64_t now_ms, char *why, size_t whylen)
{
	int64_t age;
	int op = hsdo_liveness_stalled(l, now_ms, &age);

	if (whylen > 0)
		why[0] = '\0';
	if (op == HSDO_LIVENESS_OP_COUNT) {
		snprintf(why, whylen, "event loop stalled for %.1f s (HEALTHZ_STALL_TIMEOUT %.1f s)",
			 (double)age / 1000.0, (double)l->bound_ms / 1000.0);
		return false;
	}
	if (op >= 0) {
		snprintf(why, whylen, "%s outstanding for %.1f s (HEALTHZ_STALL_TIMEOUT %.1f s)",
			 l->what[op][0] ? l->what[op] : hsdo_liveness_op_str((enum hsdo_liveness_op)op),
			 (double)age / 1000.0, (double)l->bound_ms / 1000.0);
		return false;
	}
	if (!l->cycled) {
		snprintf(why, whylen, "starting: no cycle has run yet");
		return false;
	}
	if (l->last_error[0] != '\0') {
		snprintf(why, whylen, "%s", l->last_error);
		return false;
	}
	return true;
}
