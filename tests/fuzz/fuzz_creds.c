/* Fuzz the credentials documents: the first byte picks the IMDS/ECS JSON
 * parser or the credential_process one, the rest is the input. Any bytes
 * either parse into consistent credentials or fail with a known code, a
 * printable reason and nothing left allocated. */
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
	    rc != -HSDO_ENOMEM)
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
	if (c->access_key_id == NULL || c->secret_access_key == NULL || c->expiration_s < 0)
		abort();
	if (memchr(c->source, '\0', sizeof(c->source)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_creds c;
	char err[512] = "";
	const char *buf;
	int rc;

	if (size == 0)
		return 0;
	buf = (const char *)data + 1;
	if (data[0] & 1)
		rc = hsdo_creds_parse_process(buf, size - 1, &c, err, sizeof(err));
	else
		rc = hsdo_creds_parse_json(buf, size - 1, "imds", &c, err, sizeof(err));
	check_err(rc, err);
	check_creds(rc, &c);
	hsdo_creds_free(&c);
	return 0;
}
