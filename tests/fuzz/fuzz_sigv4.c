/* Fuzz the SigV4 signer. Input layout (see tests/fuzz/corpus/sigv4/):
 *   flags byte (bit 0: normalize_path, bit 1: session token),
 *   method NUL path NUL query NUL headers NUL body
 * where headers are "name:value" entries separated by 0x01. Any input is
 * either signed (well-formed outputs, deterministic, secret-free) or
 * refused with a reason and a zeroed result. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/url.h"
#include "hsdo/sigv4.h"

#define MAX_HEADERS (HSDO_SIGV4_HEADERS_MAX + 8)   /* room to hit the bound */
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define AUTHZ_PREFIX "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/" \
	"us-east-1/service/aws4_request, SignedHeaders="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Next NUL-terminated field of buf[*pos..len), or "" past the end. */
static char *field(char *buf, size_t len, size_t *pos)
{
	char *s = buf + *pos;
	char *nul = memchr(s, '\0', len - *pos);

	if (nul == NULL) {
		*pos = len;
		return s;       /* buf[len] is a NUL */
	}
	*pos = (size_t)(nul - buf) + 1;
	return s;
}

static void check_hex(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		abort();
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hsdo_sigv4_header h[MAX_HEADERS];
	struct hsdo_sigv4_request req;
	struct hsdo_sigv4_credentials cred = { "AKIDEXAMPLE", SECRET, NULL };
	struct hsdo_sigv4_params p = { "us-east-1", "service", INT64_C(1440938160), false };
	struct hsdo_sigv4_result res, again;
	char err[256], *buf, *hs, *c, *colon, *enc;
	size_t pos = 0, len, n = 0;
	uint8_t flags;
	int rc;

	if (size == 0)
		return 0;
	flags = data[0];
	len = size - 1;
	buf = malloc(len + 1);
	if (buf == NULL)
		return 0;
	memcpy(buf, data + 1, len);
	buf[len] = '\0';

	memset(&req, 0, sizeof(req));
	req.method = field(buf, len, &pos);
	req.path = field(buf, len, &pos);
	req.query = field(buf, len, &pos);
	hs = field(buf, len, &pos);
	req.body = buf + pos;
	req.body_len = len - pos;
	for (c = hs; *c != '\0' && n < MAX_HEADERS; ) {
		char *next = strchr(c, '\x01');

		if (next != NULL)
			*next = '\0';
		colon = strchr(c, ':');
		if (colon != NULL) {
			*colon = '\0';
			h[n].name = c;
			h[n].value = colon + 1;
		} else {
			h[n].name = c;
			h[n].value = "";
		}
		n++;
		if (next == NULL)
			break;
		c = next + 1;
	}
	req.headers = h;
	req.nheaders = n;
	p.normalize_path = flags & 1;
	if (flags & 2)
		cred.session_token = "AQoDYXdzEPT//////////wEXAMPLE+token==";

	err[0] = '\0';
	rc = hsdo_sigv4_sign(&req, &cred, &p, &res, err, sizeof(err));
	if (rc != 0) {
		if (rc >= 0 || err[0] == '\0' || res.canonical_request != NULL ||
		    res.authorization != NULL || strstr(err, SECRET) != NULL)
			abort();
		goto out;
	}
	check_hex(res.signature, 64);
	if (strlen(res.amz_date) != 16 ||
	    strncmp(res.authorization, AUTHZ_PREFIX, strlen(AUTHZ_PREFIX)) != 0 ||
	    strcmp(res.authorization + strlen(res.authorization) - 64, res.signature) != 0 ||
	    strstr(res.signed_headers, "host") == NULL ||
	    strstr(res.authorization, SECRET) != NULL || strstr(res.string_to_sign, SECRET) != NULL)
		abort();
	/* same input, same signature */
	if (hsdo_sigv4_sign(&req, &cred, &p, &again, err, sizeof(err)) != 0 ||
	    strcmp(again.canonical_request, res.canonical_request) != 0 ||
	    strcmp(again.authorization, res.authorization) != 0)
		abort();
	hsdo_sigv4_result_free(&again);
	hsdo_sigv4_result_free(&res);
	if (res.canonical_request != NULL)
		abort();
out:
	/* the encoder on the raw path bytes: fits in 3n+1, fails one short */
	len = strlen(req.path);
	enc = malloc(3 * len + 1);
	if (enc != NULL) {
		rc = hsdo_url_encode(req.path, len, flags & 4, enc, 3 * len + 1);
		if (rc < 0 || (size_t)rc != strlen(enc) ||
		    (rc > 0 && hsdo_url_encode(req.path, len, flags & 4, enc, (size_t)rc) !=
		     -HSDO_ETOOBIG))
			abort();
		free(enc);
	}
	free(buf);
	return 0;
}
