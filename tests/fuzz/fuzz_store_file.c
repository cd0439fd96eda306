/* Fuzz the file store's document parser; whatever parses must render and
 * parse back to the same table. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/slot.h"
#include "hsdo/store_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_table t, back;
	char err[512], *doc;
	size_t len, i;
	int rc;

	err[0] = '\0';
	rc = hsdo_store_file_parse((const char *)data, size, &t, err, sizeof(err));
	if (rc != 0) {
		if ((rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG) || err[0] == '\0')
			abort();
		return 0;
	}
	doc = hsdo_store_file_render(&t, &len);
	if (doc == NULL)
		abort();
	if (hsdo_store_file_parse(doc, len, &back, err, sizeof(err)) != 0)
		abort();
	if (back.n != t.n || back.generation != t.generation)
		abort();
	for (i = 0; i < t.n; i++)
		if (t.slots[i].id != i + 1 || !hsdo_slot_equal(&t.slots[i], &back.slots[i]))
			abort();
	hsdo_free(doc);
	hsdo_table_free(&back);
	hsdo_table_free(&t);
	return 0;
}
