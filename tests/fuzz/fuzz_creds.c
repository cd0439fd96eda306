/* Fuzz the credentials parsers: the first byte picks the credentials INI,
 * the config INI or the IMDS/ECS JSON parser, the rest is the input. Any
 * bytes either parse into consistent credentials or fail with a known code,
 * a printable reason and nothing left allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/creds.h"
#include "hsdo/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(int rc, const char *err)
{
	const char *p;

	if (rc != 0 && rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG && rc != -HSDO_EAWS &&
	    rc != -HSDO_ENOTFOUND && rc != -HSDO_ENOMEM)
		abort();
	if (rc != 0 && err[0] == '\0')
		abort();
	for (p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
}

static void check_creds(int rc, const struct hsdo_creds *c)
{
	if (rc != 0) {
		if (c->access_key_id != NULL || c->secret_access_key != NULL ||
		    c->session_token != NULL)
			abort();
		return;
	}
	if ((c->access_key_id == NULL) != (c->secret_access_key == NULL))
		abort();
	if (c->session_token != NULL && c->access_key_id == NULL)
		abort();
	if (memchr(c->source, '\0', sizeof(c->source)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_creds c;
	char region[HSDO_CREDS_REGION_MAX];
	char out[HSDO_CREDS_REGION_MAX];
	char err[512] = "";
	const char *buf;
	int rc;

	if (size == 0)
		return 0;
	buf = (const char *)data + 1;
	switch (data[0] % 3) {
	case 0:
	case 1:
		rc = hsdo_creds_parse_ini(buf, size - 1,
					  data[0] % 3 == 0 ? HSDO_CREDS_FILE_CREDENTIALS :
							     HSDO_CREDS_FILE_CONFIG,
					  (data[0] & 0x80) ? "work" : NULL, &c, region,
					  sizeof(region), err, sizeof(err));
		check_err(rc, err);
		check_creds(rc, &c);
		if (memchr(region, '\0', sizeof(region)) == NULL)
			abort();
		if (region[0] != '\0' &&
		    hsdo_creds_region(NULL, region, out, sizeof(out), NULL, 0) != 0)
			abort();
		break;
	default:
		rc = hsdo_creds_parse_json(buf, size - 1, "imds", &c, err, sizeof(err));
		check_err(rc, err);
		check_creds(rc, &c);
		if (rc == 0 && (c.access_key_id == NULL || c.expiration_s < 0))
			abort();
		break;
	}
	hsdo_creds_free(&c);
	return 0;
}
