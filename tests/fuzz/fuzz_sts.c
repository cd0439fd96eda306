/* Fuzz the STS reply parser: the first byte picks AssumeRole or
 * AssumeRoleWithWebIdentity, the rest is the XML. Any bytes either give
 * complete credentials with an expiration or fail with a known code, a
 * printable reason and nothing left allocated. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "hsdo/aws_query.h"
#include "hsdo/creds.h"
#include "hsdo/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_creds c;
	char err[512] = "";
	const char *p;
	int rc;

	if (size == 0)
		return 0;
	rc = hsdo_sts_parse_credentials((const char *)data + 1, size - 1, data[0] & 1, &c, err,
					sizeof(err));
	if (rc != 0 && rc != -HSDO_EPROTO && rc != -HSDO_ETOOBIG && rc != -HSDO_EAWS &&
	    rc != -HSDO_ENOMEM)
		abort();
	if (rc != 0 && (err[0] == '\0' || c.access_key_id != NULL || c.secret_access_key != NULL ||
			c.session_token != NULL))
		abort();
	if (rc == 0 && (c.access_key_id == NULL || c.secret_access_key == NULL ||
			c.session_token == NULL || c.expiration_s <= 0))
		abort();
	for (p = err; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			abort();
	hsdo_creds_free(&c);
	return 0;
}
