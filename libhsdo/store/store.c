/* Wrappers over a store's operations tables: each direction falls back on
 * the other (see struct hsdo_store_async_ops). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/store.h"

/* ---- synchronous over asynchronous -------------------------------------- */

struct sync_wait {
	bool done;
	int rc;
	char *err;
	size_t errlen;
};

static void sync_done(void *arg, int rc, const char *err)
{
	struct sync_wait *w = arg;

	w->done = true;
	w->rc = rc;
	if (w->err != NULL && w->errlen > 0)
		snprintf(w->err, w->errlen, "%s", err != NULL ? err : "");
}

static int sync_finish(struct sync_wait *w, int rc, const char *op)
{
	if (rc < 0)
		return rc;
	if (!w->done) {
		/* A store that claimed to be blocking was not: `w` is about to
		 * go out of scope with the operation in flight. */
		hsdo_seterr(w->err, w->errlen, -HSDO_EINVAL, "%s did not complete", op);
		abort();
	}
	return w->rc;
}

#define SYNC_WAIT(err, errlen) { .done = false, .rc = 0, .err = (err), .errlen = (errlen) }

static int no_op(const struct hsdo_store *st, const char *op, char *err, size_t errlen)
{
	if (st->async != NULL && !st->blocking)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "store %s: %s needs the event loop (asynchronous transport)",
				   st->ops->name, op);
	return hsdo_seterr(err, errlen, -HSDO_EINVAL, "store %s does not support %s",
			   st->ops->name, op);
}

int hsdo_store_read_generation(struct hsdo_store *st, uint64_t *gen, char *err, size_t errlen)
{
	struct sync_wait w = SYNC_WAIT(err, errlen);

	if (st->ops->read_generation != NULL)
		return st->ops->read_generation(st, gen, err, errlen);
	if (st->async == NULL || st->async->read_generation == NULL || !st->blocking)
		return no_op(st, "read_generation", err, errlen);
	return sync_finish(&w, st->async->read_generation(st, gen, sync_done, &w),
			   "read_generation");
}

int hsdo_store_read_table(struct hsdo_store *st, struct hsdo_table *out, char *err, size_t errlen)
{
	struct sync_wait w = SYNC_WAIT(err, errlen);

	if (st->ops->read_table != NULL)
		return st->ops->read_table(st, out, err, errlen);
	if (st->async == NULL || st->async->read_table == NULL || !st->blocking)
		return no_op(st, "read_table", err, errlen);
	return sync_finish(&w, st->async->read_table(st, out, sync_done, &w), "read_table");
}

int hsdo_store_ensure_slots(struct hsdo_store *st, size_t n, char *err, size_t errlen)
{
	struct sync_wait w = SYNC_WAIT(err, errlen);

	if (st->ops->ensure_slots != NULL)
		return st->ops->ensure_slots(st, n, err, errlen);
	if (st->async == NULL || st->async->ensure_slots == NULL || !st->blocking)
		return no_op(st, "ensure_slots", err, errlen);
	return sync_finish(&w, st->async->ensure_slots(st, n, sync_done, &w), "ensure_slots");
}

int hsdo_store_write_slots(struct hsdo_store *st, const struct hsdo_table *t,
			   const uint32_t *ids, size_t nids, uint64_t expected_gen,
			   uint64_t epoch, char *err, size_t errlen)
{
	struct sync_wait w = SYNC_WAIT(err, errlen);

	if (st->ops->write_slots != NULL)
		return st->ops->write_slots(st, t, ids, nids, expected_gen, epoch, err, errlen);
	if (st->async == NULL || st->async->write_slots == NULL || !st->blocking)
		return no_op(st, "write_slots", err, errlen);
	return sync_finish(&w, st->async->write_slots(st, t, ids, nids, expected_gen, epoch,
						      sync_done, &w), "write_slots");
}

int hsdo_store_lease(struct hsdo_store *st, const char *me, int64_t now_ms, int64_t ttl_ms,
		     struct hsdo_lease *out, char *err, size_t errlen)
{
	struct sync_wait w = SYNC_WAIT(err, errlen);

	if (st->ops->lease != NULL)
		return st->ops->lease(st, me, now_ms, ttl_ms, out, err, errlen);
	if (st->async == NULL || st->async->lease == NULL || !st->blocking)
		return no_op(st, "lease", err, errlen);
	return sync_finish(&w, st->async->lease(st, me, now_ms, ttl_ms, out, sync_done, &w),
			   "lease");
}

/* ---- asynchronous over synchronous -------------------------------------- */

static int async_finish(int rc, const char *err, hsdo_store_done_fn done, void *arg)
{
	done(arg, rc, err);
	return 0;
}

int hsdo_store_read_generation_async(struct hsdo_store *st, uint64_t *gen,
				     hsdo_store_done_fn done, void *arg)
{
	char err[512] = "";

	if (st->async != NULL && st->async->read_generation != NULL)
		return st->async->read_generation(st, gen, done, arg);
	return async_finish(hsdo_store_read_generation(st, gen, err, sizeof(err)), err, done, arg);
}

int hsdo_store_read_table_async(struct hsdo_store *st, struct hsdo_table *out,
				hsdo_store_done_fn done, void *arg)
{
	char err[512] = "";

	if (st->async != NULL && st->async->read_table != NULL)
		return st->async->read_table(st, out, done, arg);
	return async_finish(hsdo_store_read_table(st, out, err, sizeof(err)), err, done, arg);
}

int hsdo_store_ensure_slots_async(struct hsdo_store *st, size_t n,
				  hsdo_store_done_fn done, void *arg)
{
	char err[512] = "";

	if (st->async != NULL && st->async->ensure_slots != NULL)
		return st->async->ensure_slots(st, n, done, arg);
	return async_finish(hsdo_store_ensure_slots(st, n, err, sizeof(err)), err, done, arg);
}

int hsdo_store_write_slots_async(struct hsdo_store *st, const struct hsdo_table *t,
				 const uint32_t *ids, size_t nids, uint64_t expected_gen,
				 uint64_t epoch, hsdo_store_done_fn done, void *arg)
{
	char err[512] = "";

	if (st->async != NULL && st->async->write_slots != NULL)
		return st->async->write_slots(st, t, ids, nids, expected_gen, epoch, done, arg);
	return async_finish(hsdo_store_write_slots(st, t, ids, nids, expected_gen, epoch,
						   err, sizeof(err)), err, done, arg);
}

int hsdo_store_lease_async(struct hsdo_store *st, const char *me, int64_t now_ms,
			   int64_t ttl_ms, struct hsdo_lease *out,
			   hsdo_store_done_fn done, void *arg)
{
	char err[512] = "";

	if (st->async != NULL && st->async->lease != NULL)
		return st->async->lease(st, me, now_ms, ttl_ms, out, done, arg);
	return async_finish(hsdo_store_lease(st, me, now_ms, ttl_ms, out, err, sizeof(err)),
			    err, done, arg);
}

void hsdo_store_free(struct hsdo_store *st)
{
	if (st != NULL)
		st->ops->free(st);
}

const char *hsdo_store_name(const struct hsdo_store *st)
{
	return st != NULL && st->ops != NULL ? st->ops->name : "none";
}
