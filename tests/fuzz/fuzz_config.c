/* Fuzz the configuration parser: any bytes either give a config with no
 * errors or fail with at least one error, never a half-built config; every
 * message is printable ASCII (input bytes are never echoed raw); a config
 * that parsed can always be dumped. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "hsdo/config.h"
#include "hsdo/diag.h"
#include "hsdo/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_config *c = NULL;
	struct hsdo_diag d = { 0 };
	size_t i;
	const char *p;
	int rc;

	rc = hsdo_config_parse((const char *)data, size, "fuzz.yaml", NULL, HSDO_ROLE_ANY, &c, &d);
	if (rc == 0) {
		FILE *f = fopen("/dev/null", "w");

		if (c == NULL || d.nerrors != 0 || f == NULL)
			abort();
		if (hsdo_config_dump(c, f) != 0)
			abort();
		fclose(f);
	} else if (rc != -HSDO_ECONFIG || c != NULL || d.nerrors == 0) {
		abort();
	}
	for (i = 0; i < d.n; i++) {
		if (d.v[i].msg[0] == '\0')
			abort();
		for (p = d.v[i].msg; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				abort();
	}
	hsdo_config_free(c);
	hsdo_diag_free(&d);
	return 0;
}
