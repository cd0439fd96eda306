/* The DynamoDB slot store: the hsdo_store contract (store.h) over the AWS
 * client (aws.h), in the table the original Python HSDO reads and writes
 * (item.h: hash key BackendServerID N, IPAddress, ServerName, ASG, Weight,
 * BackendServerStatus, LastWeightUpdate), plus the control item 0 (ddb.h)
 * carrying Generation, LeaseHolder, LeaseEpoch and LeaseExpiry, and an
 * Epoch attribute on slot items written by a lease holder. An original
 * client scanning the table ignores all of these.
 *
 * Every operation is asynchronous (struct hsdo_store_async_ops), a state
 * machine over hsdo_aws_call; the synchronous wrappers of store.h run them
 * to completion over a blocking transport. Requests, in order:
 *
 *   read_generation  GetItem 0 (consistent): one small read per client
 *                    cycle. A missing control item, or one without
 *                    Generation, is generation 0: unversioned.
 *   read_table       GetItem 0, then a consistent Scan, every page
 *                    (LastEvaluatedKey). The table's generation is the one
 *                    read BEFORE the scan: every write commits its
 *                    generation after its slot puts (below), so the slots
 *                    scanned are at least as new as that generation (never
 *                    older); a write landing during the scan makes the next
 *                    read_generation differ and the reader scans again.
 *                    While the table is unversioned (the last read_table
 *                    found generation 0 before and during its Scan: a table
 *                    the original server writes), a read is the Scan
 *                    alone, generation 0: a client reading it every cycle
 *                    pays what the original client pays, one Scan. If that
 *                    Scan meets a control item with a generation, the read
 *                    starts over the versioned way (GetItem 0, then Scan).
 *   ensure_slots(n)  Scan for the ids present, PutItem of each missing slot
 *                    1..n as a free slot with attribute_not_exists (never
 *                    overwriting one), then, if anything was created or
 *                    item 0 is missing, the generation bump of a commit
 *                    (a concurrent bump is as good as ours).
 *   write_slots      1. GetItem 0: refuse at once, writing nothing, when the
 *                       generation is not expected_gen or (epoch != 0) the
 *                       lease's epoch is not the writer's (-HSDO_ECONFLICT);
 *                    2. PutItem of each listed slot, several in flight in
 *                       event mode; with epoch != 0 stamped Epoch = epoch
 *                       and conditioned on attribute_not_exists(Epoch) OR
 *                       Epoch <= epoch;
 *                    3. the commit: UpdateItem 0 setting Generation to
 *                       expected_gen + 1 if it is still expected_gen and
 *                       (epoch != 0) LeaseEpoch is still epoch.
 *                    A failed condition anywhere is -HSDO_ECONFLICT; no
 *                    commit follows a failed put.
 *   lease            a holder that renewed last time renews (UpdateItem 0:
 *                    LeaseExpiry IF LeaseHolder = me AND LeaseEpoch = its
 *                    epoch); anyone else reads item 0 first: held by another
 *                    and unexpired -> -HSDO_ECONFLICT with that lease (one
 *                    read, no write); ours -> renew; free or expired -> take
 *                    (LeaseEpoch + 1, IF the lease is still free or expired
 *                    at now_ms). A failed condition re-reads item 0 (at most
 *                    twice) to report the current holder; ReturnValues
 *                    ALL_NEW gives the lease we hold.
 *
 * What the fencing guarantees. Each condition is checked atomically per
 * item by DynamoDB, and epochs only grow. A successor takes the lease at
 * epoch e+1 and (store.h) rewrites every slot under e+1 before anything
 * else; from then on, a deposed holder's puts (epoch e) fail on every slot,
 * and its commit fails on LeaseEpoch. So a deposed holder can never
 * overwrite a slot its successor wrote, nor bump the generation after the
 * takeover; a stale generation is refused with -HSDO_ECONFLICT (at step 1,
 * or at the commit).
 *
 * Residual risks (no multi-item transaction: dynalite has none and the
 * original's schema is per item):
 *  - a write refused at the commit (the generation or the lease moved
 *    between steps 1 and 3) leaves its slot puts in place, uncommitted. With
 *    a lease these are the deposed holder's last puts, overwritten by the
 *    successor's full rewrite if they landed before it, refused if after;
 *    an old holder's put landing between the successor's Scan and its
 *    rewrite is overwritten by that rewrite. Unfenced writers (epoch 0,
 *    several servers without a lease: the original's way) can interleave
 *    slot puts; the loser sees -HSDO_ECONFLICT and re-plans from a fresh
 *    read, but readers may meanwhile see a mix of both writers' slots.
 *  - a reader whose scan overlaps a write may see part of it before the
 *    commit (each slot item is whole); its next read_generation differs and
 *    it reads again, so it converges within one cycle.
 *  - lease expiry compares LeaseExpiry with the caller's wall clock; skew
 *    between servers only shortens or lengthens a lease (safety rests on the
 *    epoch, not the clock).
 *  - a slot written with epoch 0 loses its Epoch stamp (PutItem replaces the
 *    item): do not mix fenced and unfenced writers on one table.
 *
 * Lifetime: free the transport first (cancelling what is in flight: each
 * operation's done gets the error), then the store, then the AWS client. */
#ifndef HSDO_STORE_DDB_H
#define HSDO_STORE_DDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/aws.h"
#include "hsdo/ddb.h"
#include "hsdo/store.h"

#define HSDO_STORE_DDB_INFLIGHT_DEFAULT 16u
#define HSDO_STORE_DDB_INFLIGHT_MAX     256u
/* create_table waits at most this long for ACTIVE. */
#define HSDO_STORE_DDB_CREATE_WAIT_MS   60000L

struct hsdo_store_ddb_options {
	const char *table;          /* required; copied */
	size_t max_slots;           /* ids above it fail a read; 0: HSDO_SLOTS_MAX */
	bool verify;                /* DescribeTable at open (blocking transport) */
	uint32_t page_limit;        /* Scan Limit per page; 0: none (1 MB pages) */
	unsigned max_inflight;      /* PutItems in flight (event mode); 0: default */
};

/* Open the store over aws (borrowed: it must outlive the store). With
 * o->verify, DescribeTable now: a missing table is -HSDO_ENOTFOUND naming
 * the table, the region and the endpoint; a table whose key is not hash key
 * BackendServerID (N) is -HSDO_EPROTO; a table CREATING or DELETING is
 * -HSDO_ECONFIG. Verify needs a blocking transport (else -HSDO_EINVAL; use
 * hsdo_store_ddb_verify_async). *out is freed with hsdo_store_free(). */
int hsdo_store_ddb_open(const struct hsdo_store_ddb_options *o, struct hsdo_aws *aws,
			struct hsdo_store **out, char *err, size_t errlen);

/* The same check as open's verify, asynchronously: 0 (done will be called)
 * or a negative hsdo_err. */
int hsdo_store_ddb_verify_async(struct hsdo_store *st, hsdo_store_done_fn done, void *arg);

/* Create the table (hash key BackendServerID N, on-demand billing) unless
 * it exists, and wait until it is ACTIVE (at most
 * HSDO_STORE_DDB_CREATE_WAIT_MS). Opt-in (--create-table): production
 * tables come from infrastructure code. Needs a blocking transport. An
 * existing table with another key schema is -HSDO_EPROTO. */
int hsdo_store_ddb_create_table(struct hsdo_aws *aws, const char *table, char *err,
				size_t errlen);
/* The same for a table whose hash key is key of type key_type ("S", "N"):
 * the health table (reports_ddb.h). */
int hsdo_store_ddb_create_table_key(struct hsdo_aws *aws, const char *table, const char *key,
				    const char *key_type, char *err, size_t errlen);

/* The AWS call of a built DynamoDB request: *req describes r's body and
 * target (r must outlive the call's start) for operation. */
void hsdo_store_ddb_request(struct hsdo_aws_request *req, const struct hsdo_ddb_req *r,
			    const char *operation);

/* For tests: true when st is a DynamoDB store. */
bool hsdo_store_is_ddb(const struct hsdo_store *st);

#endif
