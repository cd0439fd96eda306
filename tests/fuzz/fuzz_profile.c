/* Fuzz the shared files and profile resolution: the input is the
 * credentials file, a NUL byte, then the config file; the first byte picks
 * the profile resolved ("default", "work" or "prod"). Any bytes either
 * parse or fail with a known code and a printable reason; a resolved plan
 * is consistent (a base, at most HSDO_PROFILE_ROLES_MAX roles, each with
 * an ARN) and nothing is left allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/creds.h"
#include "hsdo/err.h"
#include "hsdo/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const char *err)
{
	const char *p;

	if (rc != 0 && rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG && rc != -HSDO_ENOTFOUND &&
	    rc != -HSDO_ENOMEM)
		abort();
	if (rc != 0 && err[0] == '\0')
		abort();
	for (p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
}

static void check_plan(const struct hsdo_creds_plan *p)
{
	size_t i;

	if ((unsigned)p->base >= HSDO_CREDS_BASE_COUNT || p->nroles > HSDO_PROFILE_ROLES_MAX)
		abort();
	if ((p->base == HSDO_CREDS_BASE_STATIC) !=
	    (p->keys.access_key_id != NULL && p->keys.secret_access_key != NULL))
		abort();
	if ((p->base == HSDO_CREDS_BASE_PROCESS) != (p->process != NULL))
		abort();
	if ((p->base == HSDO_CREDS_BASE_WEB_IDENTITY) !=
	    (p->token_file != NULL && p->web.role_arn != NULL))
		abort();
	for (i = 0; i < p->nroles; i++)
		if (p->roles[i].role_arn == NULL)
			abort();
	if (p->region[0] != '\0' && !hsdo_creds_region_valid(p->region, strlen(p->region)))
		abort();
	if (memchr(p->where, '\0', sizeof(p->where)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "default", "work", "prod" };
	struct hsdo_profiles *p = NULL;
	struct hsdo_creds_plan plan;
	const char *buf, *nul, *profile;
	char err[512] = "";
	char where[HSDO_PROFILE_WHERE_MAX];
	size_t len, clen;
	int rc;

	if (size == 0)
		return 0;
	profile = names[data[0] % 3];
	buf = (const char *)data + 1;
	len = size - 1;
	nul = memchr(buf, '\0', len);
	clen = nul != NULL ? (size_t)(nul - buf) : len;
	rc = hsdo_profiles_parse(buf, clen, "credentials", nul != NULL ? nul + 1 : NULL,
				 nul != NULL ? len - clen - 1 : 0, "config", &p, err, sizeof(err));
	check_err(rc, err);
	if (rc != 0) {
		if (p != NULL)
			abort();
		return 0;
	}
	(void)hsdo_profiles_get(p, profile, "region", where, sizeof(where));
	err[0] = '\0';
	rc = hsdo_profiles_resolve(p, profile, &plan, err, sizeof(err));
	check_err(rc, err);
	if (rc == 0)
		check_plan(&plan);
	else if (plan.nroles != 0 || plan.process != NULL || plan.keys.access_key_id != NULL)
		abort();
	hsdo_creds_plan_free(&plan);
	hsdo_profiles_free(p);
	return 0;
}
