/* Fuzz the Runtime API client's pure part: any bytes split as a prompt-mode
 * stream (several reply counts, and a prefix of the stream) give replies
 * inside the buffer, in order, without trailing newlines or NUL bytes;
 * split by `;`-joined lines with either join, one reply a line, in order,
 * the same as _split when each line holds one command; the probe answer is
 * read as one join or refused;
 * the same bytes as a socket address parse and print back unchanged, or
 * are rejected with a reason. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/rtapi.h"
#include "hsdo/rtapi_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Check one split of buf[0..len) expecting nexp replies; returns nfound. */
static size_t check_split(const char *buf, size_t len, size_t nexp,
	struct hsdo_rtapi_reply *out)
{
	size_t nfound = (size_t)-1, k;
	const char *next = buf;
	char err[128];
	int rc = hsdo_rtapi_client_split(buf, len, nexp, out, &nfound);

	if (rc != 0 && rc != -HSDO_EAGAIN && rc != -HSDO_EPROTO)
		abort();
	if (nfound > nexp || (rc == 0 && nfound != nexp))
		abort();
	for (k = 0; k < nfound; k++) {
		const char *p = out[k].ptr;

		/* each reply starts where the previous prompt ended */
		if (p != next || p + out[k].len + 3 > buf + len)
			abort();
		if (out[k].len > 0 && (p[out[k].len - 1] == '\n' ||
		    memchr(p, '\0', out[k].len) != NULL))
			abort();
		next = memchr(p + out[k].len, '>', (size_t)(buf + len - (p + out[k].len)));
		if (next == NULL || next[-1] != '\n' || next[1] != ' ')
			abort();
		next += 2;
		(void)hsdo_rtapi_set_server_reply(p, out[k].len, err, sizeof(err));
	}
	if (rc == 0 && next != buf + len)
		abort();
	return nfound;
}

/* _split_lines with both joins and lines of 2, 1 and 3 commands; then
 * _join_detect. */
static void check_lines(const char *buf, size_t len, struct hsdo_rtapi_reply *out)
{
	static const size_t ncmds[] = { 2, 1, 3, 1, 2 };
	const size_t nl = sizeof(ncmds) / sizeof(ncmds[0]);
	struct hsdo_rtapi_reply one[5];
	enum hsdo_rtapi_join j;
	size_t nfound, k, used, n1;
	const char *end;
	int rc;

	for (j = HSDO_RTAPI_JOIN_PROMPT; j < HSDO_RTAPI_JOIN_COUNT; j++) {
		rc = hsdo_rtapi_client_split_lines(buf, len, ncmds, nl, j, out, &nfound);

		if ((rc != 0 && rc != -HSDO_EAGAIN && rc != -HSDO_EPROTO) || nfound > nl ||
		    (rc == 0 && nfound != nl))
			abort();
		for (k = 0, end = buf; k < nfound; k++) {
			if (out[k].ptr < end || out[k].ptr + out[k].len > buf + len)
				abort();
			end = out[k].ptr + out[k].len;
		}
		/* one command a line: the same as _split */
		rc = hsdo_rtapi_client_split_lines(buf, len, NULL, nl, j, one, &nfound);
		if (hsdo_rtapi_client_split(buf, len, nl, out, &n1) != rc || n1 != nfound)
			abort();
		for (k = 0; k < nfound; k++)
			if (one[k].ptr != out[k].ptr || one[k].len != out[k].len)
				abort();
	}
	rc = hsdo_rtapi_client_join_detect(buf, len, &j, &used);
	if (rc == 0 ? ((unsigned)j >= HSDO_RTAPI_JOIN_COUNT || used == 0 || used > len) :
	    (rc != -HSDO_EAGAIN && rc != -HSDO_EPROTO))
		abort();
}

static void check_target(const uint8_t *data, size_t size)
{
	struct hsdo_rtapi_target t, back;
	char s[512], str[300], err[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int rc;

	memcpy(s, data, n);
	s[n] = '\0';
	err[0] = '\0';
	rc = hsdo_rtapi_client_parse_target(s, &t, err, sizeof(err));
	if (rc != 0) {
		if (rc != -HSDO_EINVAL || err[0] == '\0')
			abort();
		return;
	}
	if ((unsigned)t.family >= HSDO_RTAPI_FAMILY_COUNT ||
	    memchr(t.path, '\0', sizeof(t.path)) == NULL || memchr(t.ip, '\0', sizeof(t.ip)) == NULL)
		abort();
	if ((t.family == HSDO_RTAPI_FAMILY_IPV4 || t.family == HSDO_RTAPI_FAMILY_IPV6) ?
	    (t.port == 0 || t.ip[0] == '\0' || t.path[0] != '\0') :
	    (t.port != 0 || t.ip[0] != '\0' || t.path[0] == '\0'))
		abort();
	rc = hsdo_rtapi_client_target_str(&t, str, sizeof(str));
	if (rc <= 0 || hsdo_rtapi_client_parse_target(str, &back, err, sizeof(err)) != 0 ||
	    memcmp(&t, &back, sizeof(t)) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t counts[] = { 0, 1, 2, 3, 5, 17 };
	const char *buf = (const char *)data;
	struct hsdo_rtapi_reply *out;
	size_t i, all, half;

	out = malloc((size + 18) * sizeof(*out));
	if (out == NULL)
		return 0;
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		(void)check_split(buf, size, counts[i], out);
	/* every reply there is; then a prefix finds no more, and the same ones */
	all = check_split(buf, size, size / 3 + 1, out);
	half = check_split(buf, size / 2, size / 3 + 1, out);
	if (half > all)
		abort();
	check_lines(buf, size, out);
	check_target(data, size);
	free(out);
	return 0;
}
