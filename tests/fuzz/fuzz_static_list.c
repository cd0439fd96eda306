/* Fuzz the static instance list parser: any bytes either parse into a list
 * sorted by unique, non-empty, space-free ids with IP-literal addresses and
 * consistent counts, or fail with a known code and a "FILE:LINE: reason",
 * leaving nothing allocated. The shared YAML guard keeps every input fast. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/slot.h"
#include "hsdo/source.h"
#include "hsdo/source_static.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_source_result r;
	char err[1024] = "";
	size_t i, seen = 0, listed = 0, leaving = 0;
	int rc = hsdo_source_static_parse((const char *)data, size, "f", &r, err, sizeof(err));

	if (rc != 0) {
		if (rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG && rc != -HSDO_ENOMEM)
			abort();
		if (rc == -HSDO_EPROTO && strncmp(err, "f:", 2) != 0)
			abort();
		if (r.instances != NULL || r.groups != NULL || r.n != 0 || r.ngroups != 0)
			abort();
		return 0;
	}
	if (r.n > HSDO_SOURCE_INSTANCES_MAX || r.nawaiting != 0 || r.duplicates != 0)
		abort();
	for (i = 0; i < r.n; i++) {
		const struct hsdo_instance *in = &r.instances[i];

		if (!terminated(in->id, sizeof(in->id)) || in->id[0] == '\0' ||
		    strchr(in->id, ' ') != NULL || !terminated(in->ip, sizeof(in->ip)) ||
		    !hsdo_ip_valid(in->ip) || !terminated(in->group, sizeof(in->group)) ||
		    !terminated(in->az, sizeof(in->az)))
			abort();
		if (i > 0 && strcmp(r.instances[i - 1].id, in->id) >= 0)
			abort();
		leaving += in->leaving;
	}
	if (leaving != r.nleaving)
		abort();
	for (i = 0; i < r.ngroups; i++) {
		const struct hsdo_source_group *g = &r.groups[i];

		if (g->seen != g->ready + g->leaving + g->skipped || g->skipped != 0)
			abort();
		seen += g->seen;
		listed += g->leaving;
	}
	if (seen != r.n || listed != r.nleaving)
		abort();
	hsdo_source_result_free(&r);
	return 0;
}
