/* Client mode: one reconcile cycle of a local HAProxy against the slot
 * table. Each cycle reads the store (the table only when its generation
 * changed), opens ONE Runtime API connection, reads `show servers state` of
 * every configured backend, plans the minimal commands and sends them as one
 * batch on that connection. An idle, converged cycle sends no `set` command.
 * A failed or empty store read never empties HAProxy: the last good table is
 * used, and with none yet, nothing is sent. Blocking, bounded by
 * CLIENT_HAPROXY_TIMEOUT. */
#ifndef HSDO_CLIENT_H
#define HSDO_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/config.h"
#include "hsdo/plan_client.h"
#include "hsdo/store.h"

struct hsdo_client;

/* What one cycle did, for logs and metrics. `plan` and `table` stay valid
 * until the next cycle or hsdo_client_free (borrowed). */
struct hsdo_client_report {
	bool store_ok;                 /* the store answered this cycle */
	bool table_changed;            /* a new generation was read */
	bool haproxy_ok;               /* state of every backend was read */
	bool missing;                  /* a backend or slot is missing in HAProxy */
	uint64_t generation;           /* of the table used */
	size_t sent, failed;           /* commands sent / rejected by HAProxy */
	size_t lost;                   /* commands of a batch whose connection failed */
	size_t store_reads;            /* store calls (generation, table) ... */
	size_t store_read_errors;      /* ... and how many failed or read no slot */
	const struct hsdo_plan_client_result *plan;   /* NULL if no plan */
	const struct hsdo_table *table;               /* table followed; NULL if none yet */
	/* HAProxy's `show servers state` of every backend as read this cycle
	 * (fleet health reads its checks); NULL when it was not read. */
	const struct hsdo_servers_state *state;
	uint64_t connections;          /* Runtime API connections opened, in all */
	char store_error[256];         /* "" when the store answered */
	char haproxy_error[256];       /* "" when HAProxy answered */
};

/* Build a client from cfg (client role; copied, cfg may be freed after) on a
 * borrowed store. 0 or -HSDO_EINVAL (bad socket address) / -HSDO_ENOMEM. */
int hsdo_client_new(const struct hsdo_config *cfg, struct hsdo_store *store,
		    struct hsdo_client **out, char *err, size_t errlen);
void hsdo_client_free(struct hsdo_client *c);

/* Start-up check: every configured backend exists in HAProxy with slots
 * <base>1..<base>N, N = HAPROXY_BACKEND_SERVERS_LIST_SIZE. 0; -HSDO_ECONFIG
 * with every missing backend/server named in err; the open error
 * (-HSDO_ENOTFOUND socket missing, -HSDO_EIO refused/timeout) when HAProxy
 * cannot be reached. */
int hsdo_client_check(struct hsdo_client *c, char *err, size_t errlen);

/* Refresh the desired table in the background, for stores that need an
 * event loop (DynamoDB over the event-driven transport): reads the
 * generation, and the table only when it changed; done(arg) runs when
 * both finished (possibly before this returns). The next hsdo_client_cycle
 * then uses that outcome instead of reading the store itself. 0, or
 * -HSDO_EAGAIN if a refresh is already running, or the store's error. */
int hsdo_client_refresh_async(struct hsdo_client *c, void (*done)(void *arg), void *arg);

/* One cycle. With dry_run nothing is sent (rep->plan holds what would be).
 * Returns 0 when HAProxy was reached and every planned command succeeded,
 * else the first error; rep is always filled. */
int hsdo_client_cycle(struct hsdo_client *c, bool dry_run, struct hsdo_client_report *rep);

/* True when, as of the last cycle, HAProxy matched the table (the plan was
 * empty, or every command of it succeeded and a re-read found nothing left). */
int hsdo_client_verify(struct hsdo_client *c, bool *converged, char *err, size_t errlen);

#endif
