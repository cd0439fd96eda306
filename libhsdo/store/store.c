/* Wrappers over a store's operations tables: the synchronous operations
 * every store has, and the asynchronous ones, which fall back on the
 * synchronous ones (see struct hsdo_store_async_ops). */
#include <stddef.h>

#include "hsdo/err.h"
#include "hsdo/store.h"

/* ---- synchronous: every store has them --------------------------------- */

int hsdo_store_read_generation(struct hsdo_store *st, uint64_t *gen, char *err, size_t errlen)
{
	return st->ops->read_generation(st, gen, err, errlen);
}

int hsdo_store_read_table(struct hsdo_store *st, struct hsdo_table *out, char *err, size_t errlen)
{
	return st->ops->read_table(st, out, err, errlen);
}

int hsdo_store_ensure_slots(struct hsdo_store *st, size_t n, char *err, size_t errlen)
{
	return st->ops->ensure_slots(st, n, err, errlen);
}

int hsdo_store_write_slots(struct hsdo_store *st, const struct hsdo_table *t,
			   const uint32_t *ids, size_t nids, uint64_t expected_gen,
			   uint64_t epoch, char *err, size_t errlen)
{
	return st->ops->write_slots(st, t, ids, nids, expected_gen, epoch, err, errlen);
}

int hsdo_store_lease(struct hsdo_store *st, const char *me, int64_t now_ms, int64_t ttl_ms,
		     struct hsdo_lease *out, char *err, size_t errlen)
{
	return st->ops->lease(st, me, now_ms, ttl_ms, out, err, errlen);
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
