/* Fuzz the Consul /v1/health/service reply parser: any bytes either parse
 * into instances with "node/service-id" ids, IP-literal addresses and the
 * service as group, with counts that add up, or fail with a known code and
 * a reason, leaving the result exactly as it was (here: empty, then one
 * service already in it). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/slot.h"
#include "hsdo/source.h"
#include "hsdo/source_consul.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char first[] =
	"[{\"Node\":{\"Node\":\"n0\",\"Address\":\"10.0.0.1\"},"
	"\"Service\":{\"ID\":\"web\",\"Port\":80}}]";

static void check(const struct hsdo_source_result *r, size_t n0)
{
	size_t i, seen = 0;

	if (r->n < n0 || r->n > HSDO_SOURCE_INSTANCES_MAX || r->ngroups < 1)
		abort();
	for (i = 0; i < r->n; i++) {
		const struct hsdo_instance *in = &r->instances[i];

		if (memchr(in->id, '\0', sizeof(in->id)) == NULL || strchr(in->id, '/') == NULL ||
		    strchr(in->id, ' ') != NULL || !hsdo_ip_valid(in->ip) ||
		    strcmp(in->group, "web") != 0 || in->leaving)
			abort();
	}
	for (i = 0; i < r->ngroups; i++) {
		if (r->groups[i].seen != r->groups[i].ready + r->groups[i].skipped ||
		    r->groups[i].leaving != 0)
			abort();
		seen += r->groups[i].ready;
	}
	if (seen != r->n)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_source_result r;
	char err[1024] = "";
	int rc, pass;

	for (pass = 0; pass < 2; pass++) {
		size_t n0 = 0, g0 = 0;

		memset(&r, 0, sizeof(r));
		if (pass == 1) {
			if (hsdo_source_consul_parse(first, strlen(first), "web", &r, err,
						     sizeof(err)) != 0)
				abort();
			n0 = r.n;
			g0 = r.ngroups;
		}
		rc = hsdo_source_consul_parse((const char *)data, size, "web", &r, err, sizeof(err));
		if (rc != 0) {
			if ((rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG && rc != -HSDO_ENOMEM) ||
			    err[0] == '\0' || r.n != n0 || r.ngroups != g0)
				abort();
			if (pass == 1 && (r.groups[0].seen != 1 || r.groups[0].ready != 1))
				abort();
		} else {
			check(&r, n0);
		}
		hsdo_source_result_free(&r);
	}
	return 0;
}
