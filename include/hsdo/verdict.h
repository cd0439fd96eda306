/* Client-side fleet health (docs/health.md): what this HAProxy thinks of
 * each slot, from the SPOE window (hsdo/health.h) and HAProxy's own health
 * checks (`show servers state`), and when to publish it. Pure: counts,
 * states and `now` in, verdicts and decisions out.
 *
 * Per backend and slot: FAILING when the window holds at least
 * min_requests responses and errors >= error_ratio of them, or when
 * HAProxy's check holds the server DOWN; OK when it holds at least
 * min_requests responses or the check says UP; IDLE otherwise (no vote).
 * Per slot, across the backends that carry it: the worst verdict (a slot
 * failing in one backend fails: its instance is what the server ejects),
 * counts summed, check DOWN if any backend's is. */
#ifndef HSDO_VERDICT_H
#define HSDO_VERDICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/health.h"
#include "hsdo/report.h"
#include "hsdo/rtapi.h"

struct hsdo_verdict_settings {
	uint64_t min_requests;        /* HEALTH_MIN_REQUESTS, >= 1 */
	uint32_t error_ratio_ppm;     /* HEALTH_ERROR_RATIO in millionths, 1..1000000 */
};

/* One backend's view of one slot. */
struct hsdo_verdict_input {
	uint32_t backend;             /* index in the caller's backend list */
	uint32_t slot;                /* 1..nslots */
	uint64_t responses, errors;   /* window counts; errors <= responses */
	enum hsdo_check check;
};

/* A backend as the client configures it: server-template <base>1..N. */
struct hsdo_verdict_backend {
	const char *name;
	const char *base_name;
};

/* HEALTH_ERROR_RATIO (0 < ratio <= 1) in millionths, rounded. */
uint32_t hsdo_verdict_ratio_ppm(double ratio);

/* The verdict of one backend's view. */
enum hsdo_verdict hsdo_verdict_judge(uint64_t responses, uint64_t errors, enum hsdo_check check,
				     const struct hsdo_verdict_settings *st);

/* HAProxy's check of one server: NONE without an enabled, unpaused check
 * (srv_check_state bits 0x04 and 0x08) or in maintenance (admin & 0x23),
 * else DOWN when the server is stopped (srv_op_state 0), else UP. */
enum hsdo_check hsdo_verdict_check_of(const struct hsdo_srv_state *s);

/* The inputs for backends be[0..nbe) and slots 1..nslots: one per (backend,
 * slot) with responses in h's window at now_ms (other backends, slot 0 and
 * slots above nslots are left out) or a check state in st (NULL: none), in
 * (backend, slot) order. *out is hsdo_free()d by the caller (NULL when
 * empty). 0, -HSDO_EINVAL or -HSDO_ENOMEM. */
int hsdo_verdict_collect(const struct hsdo_health *h, int64_t now_ms,
			 const struct hsdo_servers_state *st,
			 const struct hsdo_verdict_backend *be, size_t nbe, uint32_t nslots,
			 struct hsdo_verdict_input **out, size_t *nout);

/* Report entries from in[0..n) (any order): one per slot with a vote or
 * with responses, ascending, at most HSDO_REPORT_SLOTS_MAX (idle entries
 * go first when there are more; then the highest slots, counted in
 * *dropped). *out is hsdo_free()d by the caller. 0, -HSDO_EINVAL or
 * -HSDO_ENOMEM. */
int hsdo_verdict_build(const struct hsdo_verdict_input *in, size_t n,
		       const struct hsdo_verdict_settings *st,
		       struct hsdo_report_slot **out, size_t *nout, size_t *dropped);

/* True when the verdicts (slot and verdict of the non-idle entries) of a
 * and b differ: what makes a report worth writing before its heartbeat. */
bool hsdo_verdict_changed(const struct hsdo_report_slot *a, size_t na,
			  const struct hsdo_report_slot *b, size_t nb);

/* Whether to write the report now: never written (last_ms < 0); or the
 * verdicts changed and at least min_gap_ms passed since the last write; or
 * heartbeat_ms passed (a clock that went back counts as passed). */
bool hsdo_verdict_due(int64_t last_ms, int64_t now_ms, bool changed, int64_t min_gap_ms,
		      int64_t heartbeat_ms);

#endif
