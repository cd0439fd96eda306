/* Fuzz the DynamoDB item decoder: any bytes either decode or are rejected
 * with a reason; a decoded slot must encode and decode back unchanged. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/item.h"
#include "hsdo/slot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_slot s, back;
	struct hsdo_strset *strs = hsdo_strset_new();
	char err[256];
	cJSON *j;
	int rc;

	if (strs == NULL)
		abort();
	err[0] = '\0';
	rc = hsdo_item_decode_json((const char *)data, size, strs, &s, err, sizeof(err));
	if (rc != 0) {
		/* a rejection always says why */
		if (rc != -HSDO_EPROTO || err[0] == '\0')
			abort();
		hsdo_strset_free(strs);
		return 0;
	}
	j = hsdo_item_encode(&s);
	if (j == NULL)
		abort();
	if (hsdo_item_decode(j, strs, &back, err, sizeof(err)) != 0 || !hsdo_slot_equal(&s, &back))
		abort();
	/* interned: equal strings are one copy */
	if (back.ip != s.ip || back.name != s.name || back.group != s.group || back.az != s.az ||
	    back.eject_reason != s.eject_reason)
		abort();
	cJSON_Delete(j);
	hsdo_strset_free(strs);
	return 0;
}
