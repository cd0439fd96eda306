/* Thin wrappers over a store's operations table. */
#include "hsdo/store.h"

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
			   char *err, size_t errlen)
{
	return st->ops->write_slots(st, t, ids, nids, expected_gen, err, errlen);
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
