/* AWS Signature Version 4: see include/hsdo/sigv4.h.
 *
 * The canonical request is built in one growing buffer. Buffers that may
 * hold the session token grow by copy-and-wipe rather than realloc, so no
 * stale copy is left in freed memory; every buffer is wiped when released. */
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/civil.h"
#include "hsdo/err.h"
#include "hsdo/sigv4.h"
#include "hsdo/url.h"

#define ALGORITHM "AWS4-HMAC-SHA256"
/* Safety net over the per-input bounds, which keep every output far below. */
#define OUT_MAX   (8u << 20)

/* ---- growing string buffer -------------------------------------------------- */

struct sbuf {
	char *p;        /* NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
};

static void sbuf_wipe(struct sbuf *b)
{
	hsdo_freezero(b->p, b->cap);
	b->p = NULL;
	b->len = b->cap = 0;
}

static int sbuf_reserve(struct sbuf *b, size_t add)
{
	size_t need, cap;
	char *np;

	if (add > OUT_MAX || b->len + add >= OUT_MAX)
		return -HSDO_ETOOBIG;
	need = b->len + add + 1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	np = hsdo_malloc(cap);
	if (np == NULL)
		return -HSDO_ENOMEM;
	if (b->p != NULL)
		memcpy(np, b->p, b->len + 1);
	else
		np[0] = '\0';
	hsdo_freezero(b->p, b->cap);
	b->p = np;
	b->cap = cap;
	return 0;
}

static int sbuf_add(struct sbuf *b, const void *s, size_t n)
{
	int rc = sbuf_reserve(b, n);

	if (rc != 0)
		return rc;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

static int sbuf_adds(struct sbuf *b, const char *s)
{
	return sbuf_add(b, s, strlen(s));
}

static int sbuf_addc(struct sbuf *b, char c)
{
	return sbuf_add(b, &c, 1);
}

/* Hand the string over (never NULL on success: an empty buffer becomes ""). */
static int sbuf_take(struct sbuf *b, char **out)
{
	int rc = sbuf_reserve(b, 0);

	if (rc != 0)
		return rc;
	*out = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return 0;
}

/* ---- small helpers ------------------------------------------------------------ */

static const char hexdig[] = "0123456789abcdef";
static const char hexup[] = "0123456789ABCDEF";

static void to_hex(const unsigned char *in, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static bool ascii_caseeq(const char *a, const char *b)
{
	while (*a != '\0' && lower((unsigned char)*a) == lower((unsigned char)*b)) {
		a++;
		b++;
	}
	return *a == '\0' && *b == '\0';
}

/* RFC 7230 tchar. */
static bool is_tchar(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Append byte c percent-encoded. */
static int add_encoded(struct sbuf *b, unsigned char c, bool encode_slash)
{
	char esc[3];

	if (hsdo_url_unreserved(c) || (c == '/' && !encode_slash))
		return sbuf_addc(b, (char)c);
	esc[0] = '%';
	esc[1] = hexup[c >> 4];
	esc[2] = hexup[c & 0xf];
	return sbuf_add(b, esc, 3);
}

static int add_encoded_n(struct sbuf *b, const char *s, size_t n, bool encode_slash)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++)
		if ((rc = add_encoded(b, (unsigned char)s[i], encode_slash)) != 0)
			return rc;
	return 0;
}

static int sha256(const void *data, size_t len, unsigned char md[32])
{
	static const unsigned char empty[1];
	unsigned int mdlen = 0;

	if (EVP_Digest(len ? data : empty, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		return -HSDO_ENOMEM;
	return 0;
}

static int hmac(const void *key, size_t klen, const void *msg, size_t mlen, unsigned char out[32])
{
	unsigned int olen = 0;

	if (HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &olen) == NULL || olen != 32)
		return -HSDO_ENOMEM;
	return 0;
}

/* ---- exported helpers --------------------------------------------------------- */

static void put_digits(char *p, unsigned v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

int hsdo_sigv4_format_date(int64_t now_s, char amz_date[17], char date[9])
{
	int64_t secs, y;
	unsigned m, d;

	if (now_s < 0 || now_s > HSDO_SIGV4_TIME_MAX)
		return -HSDO_EINVAL;
	secs = now_s % 86400;
	hsdo_civil_from_days(now_s / 86400, &y, &m, &d);
	put_digits(amz_date, (unsigned)y, 4);
	put_digits(amz_date + 4, m, 2);
	put_digits(amz_date + 6, d, 2);
	amz_date[8] = 'T';
	put_digits(amz_date + 9, (unsigned)(secs / 3600), 2);
	put_digits(amz_date + 11, (unsigned)(secs / 60 % 60), 2);
	put_digits(amz_date + 13, (unsigned)(secs % 60), 2);
	amz_date[15] = 'Z';
	amz_date[16] = '\0';
	memcpy(date, amz_date, 8);
	date[8] = '\0';
	return 0;
}

int hsdo_sigv4_sha256_hex(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];
	int rc = sha256(data, len, md);

	if (rc != 0)
		return rc;
	to_hex(md, sizeof(md), hex);
	return 0;
}

/* ---- canonical URI -------------------------------------------------------------- */

/* Each segment is percent-encoded once more as it stands, so "%20" in the
 * path as sent becomes "%2520": the "double encoding" every service but S3
 * expects. With normalize, ".", ".." and empty segments go (RFC 3986
 * remove_dot_segments plus duplicate slashes, as the AWS SDKs do it). */
static int canon_path(struct sbuf *b, const char *path, size_t len, bool normalize)
{
	size_t i, start, seglen, base = b->len;
	bool any = false;
	int rc;

	if (!normalize)
		return add_encoded_n(b, path, len, false);
	for (i = 0; i < len; i = start + seglen) {
		while (i < len && path[i] == '/')
			i++;
		start = i;
		seglen = 0;
		while (start + seglen < len && path[start + seglen] != '/')
			seglen++;
		if (seglen == 0 || (seglen == 1 && path[start] == '.'))
			continue;
		if (seglen == 2 && path[start] == '.' && path[start + 1] == '.') {
			/* drop the last output segment: encoded ones hold no '/' */
			while (b->len > base && b->p[b->len - 1] != '/')
				b->len--;
			if (b->len > base)
				b->len--;
			if (b->p != NULL)
				b->p[b->len] = '\0';
			any = b->len > base;
			continue;
		}
		if ((rc = sbuf_addc(b, '/')) != 0 ||
		    (rc = add_encoded_n(b, path + start, seglen, false)) != 0)
			return rc;
		any = true;
	}
	if (!any)
		return sbuf_addc(b, '/');
	if (path[len - 1] == '/')
		return sbuf_addc(b, '/');
	return 0;
}

/* ---- canonical query ------------------------------------------------------------ */

struct qparam {
	const char *key;       /* encoded, NUL-terminated, in the arena */
	const char *value;
};

static int qparam_cmp(const void *a, const void *b)
{
	const struct qparam *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c != 0 ? c : strcmp(x->value, y->value);
}

/* Decode %XX escapes in s[0..n) and re-encode the bytes SigV4's way into
 * the arena at *pos; NUL-terminates. -HSDO_EINVAL on a broken escape. */
static int recode(const char *s, size_t n, char *arena, size_t *pos)
{
	size_t i, o = *pos;
	unsigned char c;
	int hi, lo;

	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (n - i < 3 || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return -HSDO_EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (hsdo_url_unreserved(c)) {
			arena[o++] = (char)c;
		} else {
			arena[o++] = '%';
			arena[o++] = hexup[c >> 4];
			arena[o++] = hexup[c & 0xf];
		}
	}
	arena[o++] = '\0';
	*pos = o;
	return 0;
}

/* Split on '&' (empty pieces skipped; a piece without '=' has an empty
 * value), recode keys and values, sort by key then value, join. */
static int canon_query(struct sbuf *b, const char *q, size_t qlen, char *err, size_t errlen)
{
	struct qparam *params = NULL;
	size_t i, n = 1, np = 0, pos = 0, start, plen, klen;
	char *arena = NULL;
	const char *eq;
	int rc = 0;

	if (qlen == 0)
		return 0;
	for (i = 0; i < qlen; i++)
		n += q[i] == '&';
	params = hsdo_calloc(n, sizeof(*params));
	/* every byte encodes to at most 3, plus a NUL per key and value */
	arena = hsdo_malloc(3 * qlen + 2 * n);
	if (params == NULL || arena == NULL) {
		rc = -HSDO_ENOMEM;
		goto out;
	}
	for (start = 0; start <= qlen; start += plen + 1) {
		plen = 0;
		while (start + plen < qlen && q[start + plen] != '&')
			plen++;
		if (plen == 0)
			continue;
		eq = memchr(q + start, '=', plen);
		klen = eq != NULL ? (size_t)(eq - (q + start)) : plen;
		params[np].key = arena + pos;
		if ((rc = recode(q + start, klen, arena, &pos)) != 0)
			break;
		params[np].value = arena + pos;
		if (eq != NULL)
			rc = recode(eq + 1, plen - klen - 1, arena, &pos);
		else
			rc = recode("", 0, arena, &pos);
		if (rc != 0)
			break;
		np++;
	}
	if (rc != 0) {
		hsdo_seterr(err, errlen, rc, "query string: bad percent escape");
		goto out;
	}
	qsort(params, np, sizeof(*params), qparam_cmp);
	for (i = 0; i < np && rc == 0; i++) {
		if (i > 0)
			rc = sbuf_addc(b, '&');
		if (rc == 0 && (rc = sbuf_adds(b, params[i].key)) == 0 &&
		    (rc = sbuf_addc(b, '=')) == 0)
			rc = sbuf_adds(b, params[i].value);
	}
out:
	hsdo_free(params);
	hsdo_free(arena);
	return rc;
}

/* ---- canonical headers ---------------------------------------------------------- */

struct hent {
	const char *name;
	const char *value;
	size_t idx;            /* position in the request: keeps duplicates in order */
};

static int hent_cmp(const void *a, const void *b)
{
	const struct hent *x = a, *y = b;
	const unsigned char *p = (const unsigned char *)x->name;
	const unsigned char *q = (const unsigned char *)y->name;

	while (*p != '\0' && lower(*p) == lower(*q)) {
		p++;
		q++;
	}
	if (lower(*p) != lower(*q))
		return lower(*p) < lower(*q) ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool is_lws(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* A value may hold HT, printable bytes, obs-text, and line breaks only as
 * obs-fold (CR? LF followed by SP or HT); anything else could split the
 * header when it is sent. Returns 0, -HSDO_ETOOBIG or -HSDO_EINVAL. */
static int value_check(const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	size_t i, j;

	for (i = 0; s[i] != '\0'; i++) {
		if (i >= HSDO_SIGV4_HVALUE_MAX)
			return -HSDO_ETOOBIG;
		if (s[i] == '\r' || s[i] == '\n') {
			j = i;
			if (s[j] == '\r')
				j++;
			if (s[j] == '\n')
				j++;
			if (s[j] != ' ' && s[j] != '\t')
				return -HSDO_EINVAL;
		} else if ((s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
			return -HSDO_EINVAL;
		}
	}
	return 0;
}

/* Trim and fold runs of whitespace to one space. */
static int add_canon_value(struct sbuf *b, const char *v)
{
	const unsigned char *s = (const unsigned char *)v;
	bool space = false, any = false;
	int rc;

	for (; *s != '\0'; s++) {
		if (is_lws(*s)) {
			space = true;
			continue;
		}
		if (space && any && (rc = sbuf_addc(b, ' ')) != 0)
			return rc;
		if ((rc = sbuf_addc(b, (char)*s)) != 0)
			return rc;
		space = false;
		any = true;
	}
	return 0;
}

/* True when the canonical form of v equals want exactly (no allocation). */
static bool canon_value_eq(const char *v, const char *want)
{
	const unsigned char *s = (const unsigned char *)v;
	bool space = false, any = false;

	for (; *s != '\0'; s++) {
		if (is_lws(*s)) {
			space = true;
			continue;
		}
		if (space && any && *want++ != ' ')
			return false;
		if (*want++ != (char)*s)
			return false;
		space = false;
		any = true;
	}
	return *want == '\0';
}

/* Check the headers, add x-amz-date / x-amz-security-token when absent,
 * and write the canonical header block into ch and the list into sh. */
static int canon_headers(const struct hsdo_sigv4_request *req, const char *token,
			 const char *amz_date, struct sbuf *ch, struct sbuf *sh,
			 char *err, size_t errlen)
{
	struct hent *h;
	size_t i, j = 0, n = 0, nlen;
	bool have_host = false, have_date = false, have_token = false;
	int rc = 0;

	h = hsdo_calloc(req->nheaders + 2, sizeof(*h));
	if (h == NULL)
		return -HSDO_ENOMEM;
	for (i = 0; i < req->nheaders; i++) {
		const char *name = req->headers[i].name, *value = req->headers[i].value;

		if (name == NULL || value == NULL) {
			rc = hsdo_seterr(err, errlen, -HSDO_EINVAL, "header %zu: NULL name or value", i);
			goto out;
		}
		nlen = strnlen(name, HSDO_SIGV4_HNAME_MAX + 1);
		if (nlen == 0 || nlen > HSDO_SIGV4_HNAME_MAX) {
			rc = hsdo_seterr(err, errlen, nlen ? -HSDO_ETOOBIG : -HSDO_EINVAL,
					 "header %zu: name empty or too long", i);
			goto out;
		}
		for (j = 0; j < nlen; j++)
			if (!is_tchar((unsigned char)name[j]))
				break;
		if (j < nlen) {
			rc = hsdo_seterr(err, errlen, -HSDO_EINVAL,
					 "header %zu: invalid character in name", i);
			goto out;
		}
		/* the value is not quoted back: it may be the session token */
		if ((rc = value_check(value)) != 0) {
			if (rc == -HSDO_ETOOBIG)
				hsdo_seterr(err, errlen, rc, "header %.64s: value longer than %u bytes",
					    name, HSDO_SIGV4_HVALUE_MAX);
			else
				hsdo_seterr(err, errlen, rc, "header %.64s: control character in value",
					    name);
			goto out;
		}
		if (ascii_caseeq(name, "host")) {
			have_host = true;
		} else if (ascii_caseeq(name, "x-amz-date")) {
			if (have_date || !canon_value_eq(value, amz_date)) {
				rc = hsdo_seterr(err, errlen, -HSDO_EINVAL,
						 "x-amz-date header does not match the signing time %s",
						 amz_date);
				goto out;
			}
			have_date = true;
		} else if (ascii_caseeq(name, "x-amz-security-token")) {
			if (have_token || (token != NULL && !canon_value_eq(value, token))) {
				rc = hsdo_seterr(err, errlen, -HSDO_EINVAL,
						 "x-amz-security-token header differs from the "
						 "credentials' session token");
				goto out;
			}
			have_token = true;
		}
		h[n].name = name;
		h[n].value = value;
		h[n].idx = n;
		n++;
	}
	if (!have_host) {
		rc = hsdo_seterr(err, errlen, -HSDO_EINVAL, "no Host header");
		goto out;
	}
	if (!have_date) {
		h[n].name = "x-amz-date";
		h[n].value = amz_date;
		h[n].idx = n;
		n++;
	}
	if (token != NULL && !have_token) {
		h[n].name = "x-amz-security-token";
		h[n].value = token;
		h[n].idx = n;
		n++;
	}
	qsort(h, n, sizeof(*h), hent_cmp);
	for (i = 0; i < n && rc == 0; i = j) {
		const char *c;

		if (i > 0)
			rc = sbuf_addc(sh, ';');
		for (c = h[i].name; *c != '\0' && rc == 0; c++)
			if ((rc = sbuf_addc(ch, (char)lower((unsigned char)*c))) == 0)
				rc = sbuf_addc(sh, (char)lower((unsigned char)*c));
		if (rc == 0)
			rc = sbuf_addc(ch, ':');
		for (j = i; j < n && rc == 0 && (j == i || ascii_caseeq(h[j].name, h[i].name)); j++) {
			if (j > i)
				rc = sbuf_addc(ch, ',');
			if (rc == 0)
				rc = add_canon_value(ch, h[j].value);
		}
		if (rc == 0)
			rc = sbuf_addc(ch, '\n');
	}
out:
	hsdo_free(h);
	return rc;
}

/* ---- signing -------------------------------------------------------------------- */

/* Characters allowed in the credential scope parts and the access key id:
 * nothing that could break the Credential=a/b/c/d field apart. */
static bool word_ok(const char *s, size_t max, bool upper_ok)
{
	size_t i;
	unsigned char c;

	for (i = 0; s[i] != '\0'; i++) {
		c = (unsigned char)s[i];
		if (i >= max)
			return false;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
		      (upper_ok && ((c >= 'A' && c <= 'Z') || c == '_'))))
			return false;
	}
	return i > 0;
}

static int check_inputs(const struct hsdo_sigv4_request *req,
			const struct hsdo_sigv4_credentials *cred,
			const struct hsdo_sigv4_params *p, char *err, size_t errlen)
{
	size_t i, n;

	if (req == NULL || cred == NULL || p == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL request, credentials or parameters");
	if (req->method == NULL || req->method[0] == '\0' ||
	    strnlen(req->method, HSDO_SIGV4_METHOD_MAX + 1) > HSDO_SIGV4_METHOD_MAX)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "method missing or too long");
	for (i = 0; req->method[i] != '\0'; i++)
		if (req->method[i] < 'A' || req->method[i] > 'Z')
			return hsdo_seterr(err, errlen, -HSDO_EINVAL, "method is not upper-case letters");
	if (req->path == NULL || req->path[0] != '/')
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "path must start with '/'");
	if (strnlen(req->path, HSDO_SIGV4_PATH_MAX + 1) > HSDO_SIGV4_PATH_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "path longer than %u bytes",
				   HSDO_SIGV4_PATH_MAX);
	if (req->query != NULL &&
	    strnlen(req->query, HSDO_SIGV4_QUERY_MAX + 1) > HSDO_SIGV4_QUERY_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "query longer than %u bytes",
				   HSDO_SIGV4_QUERY_MAX);
	if (req->nheaders > HSDO_SIGV4_HEADERS_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "more than %u headers",
				   HSDO_SIGV4_HEADERS_MAX);
	if (req->nheaders > 0 && req->headers == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL headers");
	if (req->body_len > HSDO_SIGV4_BODY_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "body longer than %u bytes",
				   HSDO_SIGV4_BODY_MAX);
	if (req->body_len > 0 && req->body == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL body");
	if (p->region == NULL || !word_ok(p->region, HSDO_SIGV4_SCOPE_PART_MAX, false))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "region must be [a-z0-9-], 1 to %u",
				   HSDO_SIGV4_SCOPE_PART_MAX);
	if (p->service == NULL || !word_ok(p->service, HSDO_SIGV4_SCOPE_PART_MAX, false))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "service must be [a-z0-9-], 1 to %u",
				   HSDO_SIGV4_SCOPE_PART_MAX);
	if (cred->access_key_id == NULL ||
	    !word_ok(cred->access_key_id, HSDO_SIGV4_AKID_MAX, true))
		return hsdo_seterr(err, errlen, -HSDO_EINVAL,
				   "access key id must be [A-Za-z0-9_-], 1 to %u", HSDO_SIGV4_AKID_MAX);
	if (cred->secret_access_key == NULL || cred->secret_access_key[0] == '\0')
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no secret access key");
	if (strnlen(cred->secret_access_key, HSDO_SIGV4_SECRET_MAX + 1) > HSDO_SIGV4_SECRET_MAX)
		return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "secret access key longer than %u bytes",
				   HSDO_SIGV4_SECRET_MAX);
	if (cred->session_token != NULL) {
		n = strnlen(cred->session_token, HSDO_SIGV4_TOKEN_MAX + 1);
		if (n > HSDO_SIGV4_TOKEN_MAX)
			return hsdo_seterr(err, errlen, -HSDO_ETOOBIG, "session token too long");
		for (i = 0; i < n; i++)
			if ((unsigned char)cred->session_token[i] <= ' ' ||
			    (unsigned char)cred->session_token[i] >= 0x7f)
				return hsdo_seterr(err, errlen, -HSDO_EINVAL,
						   "session token has a byte outside 0x21-0x7e");
	}
	return 0;
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" secret, date), region), service),
 * "aws4_request"), then the signature over the string to sign. All keys on
 * the stack are wiped before returning. */
static int compute_signature(const char *secret, const char *date, const struct hsdo_sigv4_params *p,
			     const char *sts, size_t stslen, char sig_hex[65])
{
	unsigned char ksecret[4 + HSDO_SIGV4_SECRET_MAX];
	unsigned char k1[32], k2[32], sig[32];
	size_t slen = strlen(secret);
	int rc;

	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, slen);
	rc = hmac(ksecret, 4 + slen, date, strlen(date), k1);
	if (rc == 0)
		rc = hmac(k1, sizeof(k1), p->region, strlen(p->region), k2);
	if (rc == 0)
		rc = hmac(k2, sizeof(k2), p->service, strlen(p->service), k1);
	if (rc == 0)
		rc = hmac(k1, sizeof(k1), "aws4_request", 12, k2);
	if (rc == 0)
		rc = hmac(k2, sizeof(k2), sts, stslen, sig);
	if (rc == 0)
		to_hex(sig, sizeof(sig), sig_hex);
	explicit_bzero(ksecret, sizeof(ksecret));
	explicit_bzero(k1, sizeof(k1));
	explicit_bzero(k2, sizeof(k2));
	explicit_bzero(sig, sizeof(sig));
	return rc;
}

void hsdo_sigv4_result_free(struct hsdo_sigv4_result *r)
{
	if (r == NULL)
		return;
	if (r->canonical_request != NULL)
		hsdo_freezero(r->canonical_request, strlen(r->canonical_request) + 1);
	if (r->string_to_sign != NULL)
		hsdo_freezero(r->string_to_sign, strlen(r->string_to_sign) + 1);
	if (r->authorization != NULL)
		hsdo_freezero(r->authorization, strlen(r->authorization) + 1);
	if (r->signed_headers != NULL)
		hsdo_freezero(r->signed_headers, strlen(r->signed_headers) + 1);
	explicit_bzero(r, sizeof(*r));
}

int hsdo_sigv4_sign(const struct hsdo_sigv4_request *req,
		    const struct hsdo_sigv4_credentials *cred,
		    const struct hsdo_sigv4_params *p,
		    struct hsdo_sigv4_result *out, char *err, size_t errlen)
{
	struct sbuf cr = { 0 }, ch = { 0 }, sh = { 0 }, sts = { 0 }, au = { 0 };
	const char *token;
	char date[9], hexbuf[65];
	unsigned char md[32];
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "NULL result");
	memset(out, 0, sizeof(*out));
	if ((rc = check_inputs(req, cred, p, err, errlen)) != 0)
		return rc;
	if (hsdo_sigv4_format_date(p->now_s, out->amz_date, date) != 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "time %lld out of range",
				   (long long)p->now_s);
	token = cred->session_token != NULL && cred->session_token[0] != '\0' ?
		cred->session_token : NULL;

	/* canonical request */
	if ((rc = sbuf_adds(&cr, req->method)) != 0 || (rc = sbuf_addc(&cr, '\n')) != 0 ||
	    (rc = canon_path(&cr, req->path, strlen(req->path), p->normalize_path)) != 0 ||
	    (rc = sbuf_addc(&cr, '\n')) != 0)
		goto fail;
	if (req->query != NULL &&
	    (rc = canon_query(&cr, req->query, strlen(req->query), err, errlen)) != 0)
		goto fail;
	if ((rc = sbuf_addc(&cr, '\n')) != 0 ||
	    (rc = canon_headers(req, token, out->amz_date, &ch, &sh, err, errlen)) != 0 ||
	    (rc = sbuf_add(&cr, ch.p, ch.len)) != 0 || (rc = sbuf_addc(&cr, '\n')) != 0 ||
	    (rc = sbuf_add(&cr, sh.p, sh.len)) != 0 || (rc = sbuf_addc(&cr, '\n')) != 0 ||
	    (rc = hsdo_sigv4_sha256_hex(req->body, req->body_len, hexbuf)) != 0 ||
	    (rc = sbuf_adds(&cr, hexbuf)) != 0)
		goto fail;

	/* string to sign */
	if ((rc = sha256(cr.p, cr.len, md)) != 0)
		goto fail;
	to_hex(md, sizeof(md), hexbuf);
	if ((rc = sbuf_adds(&sts, ALGORITHM "\n")) != 0 ||
	    (rc = sbuf_adds(&sts, out->amz_date)) != 0 || (rc = sbuf_addc(&sts, '\n')) != 0 ||
	    (rc = sbuf_adds(&sts, date)) != 0 || (rc = sbuf_addc(&sts, '/')) != 0 ||
	    (rc = sbuf_adds(&sts, p->region)) != 0 || (rc = sbuf_addc(&sts, '/')) != 0 ||
	    (rc = sbuf_adds(&sts, p->service)) != 0 ||
	    (rc = sbuf_adds(&sts, "/aws4_request\n")) != 0 ||
	    (rc = sbuf_adds(&sts, hexbuf)) != 0)
		goto fail;

	if ((rc = compute_signature(cred->secret_access_key, date, p, sts.p, sts.len,
				    out->signature)) != 0)
		goto fail;

	/* Authorization: the scope is the third line of the string to sign */
	if ((rc = sbuf_adds(&au, ALGORITHM " Credential=")) != 0 ||
	    (rc = sbuf_adds(&au, cred->access_key_id)) != 0 || (rc = sbuf_addc(&au, '/')) != 0 ||
	    (rc = sbuf_adds(&au, date)) != 0 || (rc = sbuf_addc(&au, '/')) != 0 ||
	    (rc = sbuf_adds(&au, p->region)) != 0 || (rc = sbuf_addc(&au, '/')) != 0 ||
	    (rc = sbuf_adds(&au, p->service)) != 0 ||
	    (rc = sbuf_adds(&au, "/aws4_request, SignedHeaders=")) != 0 ||
	    (rc = sbuf_add(&au, sh.p, sh.len)) != 0 ||
	    (rc = sbuf_adds(&au, ", Signature=")) != 0 ||
	    (rc = sbuf_adds(&au, out->signature)) != 0)
		goto fail;

	if ((rc = sbuf_take(&cr, &out->canonical_request)) != 0 ||
	    (rc = sbuf_take(&sts, &out->string_to_sign)) != 0 ||
	    (rc = sbuf_take(&au, &out->authorization)) != 0 ||
	    (rc = sbuf_take(&sh, &out->signed_headers)) != 0)
		goto fail;
	sbuf_wipe(&ch);
	return 0;
fail:
	if (rc == -HSDO_ENOMEM)
		hsdo_seterr(err, errlen, rc, "out of memory");
	else if (rc == -HSDO_ETOOBIG)
		hsdo_seterr(err, errlen, rc, "canonical request too large");
	/* other codes set their own message */
	sbuf_wipe(&cr);
	sbuf_wipe(&ch);
	sbuf_wipe(&sh);
	sbuf_wipe(&sts);
	sbuf_wipe(&au);
	hsdo_sigv4_result_free(out);
	return rc;
}
