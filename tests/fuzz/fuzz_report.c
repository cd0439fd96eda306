/* Fuzz the fleet-health report codec: any bytes, read as a report file and
 * (when they are a JSON object) as a DynamoDB item, either decode or are
 * rejected with a reason; a decoded report passes the check, and encodes
 * and decodes back unchanged, as an item and as a file. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct hsdo_report *a, const struct hsdo_report *b)
{
	if (strcmp(a->client_id, b->client_id) != 0 || a->generation != b->generation ||
	    a->written_ms != b->written_ms || a->expires_s != b->expires_s || a->n != b->n ||
	    (a->n > 0 && memcmp(a->slots, b->slots, a->n * sizeof(*a->slots)) != 0))
		abort();
}

static void roundtrip(const struct hsdo_report *r)
{
	struct hsdo_report back;
	char err[256], *doc;
	size_t len = 0;
	cJSON *j;

	if (hsdo_report_check(r, err, sizeof(err)) != 0)
		abort();
	j = hsdo_report_encode(r);
	if (j == NULL || hsdo_report_decode(j, &back, err, sizeof(err)) != 0)
		abort();
	cJSON_Delete(j);
	same(r, &back);
	hsdo_report_free(&back);
	doc = hsdo_report_render_file(r, &len);
	if (doc == NULL || hsdo_report_parse_file(doc, len, &back, err, sizeof(err)) != 0)
		abort();
	same(r, &back);
	hsdo_report_free(&back);
	hsdo_free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_report r;
	char err[256];
	cJSON *j;
	int rc;

	err[0] = '\0';
	rc = hsdo_report_parse_file((const char *)data, size, &r, err, sizeof(err));
	if (rc == 0) {
		roundtrip(&r);
		hsdo_report_free(&r);
	} else if ((rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG) || err[0] == '\0') {
		abort();   /* a rejection always says why */
	}
	/* the same bytes as a bare item, as a Scan returns them */
	j = cJSON_ParseWithLength((const char *)data, size);
	if (j == NULL)
		return 0;
	err[0] = '\0';
	rc = hsdo_report_decode(j, &r, err, sizeof(err));
	cJSON_Delete(j);
	if (rc == 0) {
		roundtrip(&r);
		hsdo_report_free(&r);
	} else if (rc != -HSDO_EPROTO || err[0] == '\0') {
		abort();
	}
	return 0;
}
