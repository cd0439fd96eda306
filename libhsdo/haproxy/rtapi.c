/* HAProxy Runtime API helpers: argument escaping, `show servers state`
 * parsing, `set server` reply classification. No I/O. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "hsdo/alloc.h"
#include "hsdo/err.h"
#include "hsdo/rtapi.h"

/* ---- escaping ------------------------------------------------------------- */

int hsdo_rtapi_escape(char *dst, size_t dstlen, const char *src)
{
	size_t o = 0;
	const unsigned char *p;

	if (dst == NULL || dstlen == 0 || src == NULL)
		return -HSDO_EINVAL;
	dst[0] = '\0';
	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		bool esc = *p == ';' || *p == '\\' || *p == ' ' || *p == '\t';

		if ((*p < 0x20 && *p != '\t') || *p == 0x7f) {
			dst[0] = '\0';
			return -HSDO_EINVAL;
		}
		if (o + (esc ? 2 : 1) >= dstlen || o + 2 > INT_MAX) {
			dst[0] = '\0';
			return -HSDO_ETOOBIG;
		}
		if (esc)
			dst[o++] = '\\';
		dst[o++] = (char)*p;
	}
	dst[o] = '\0';
	return (int)o;
}

/* ---- small text helpers ----------------------------------------------------- */

/* Copy at most max bytes of s into out for an error message, replacing
 * non-printable bytes so a hostile reply cannot inject into logs. */
static const char *show(char *out, size_t outlen, const char *s, size_t len)
{
	size_t i, o = 0, max = outlen - 1;

	for (i = 0; i < len && o < max; i++) {
		unsigned char c = (unsigned char)s[i];

		out[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
	}
	if (i < len && o >= 3) {
		out[o - 3] = '.';
		out[o - 2] = '.';
		out[o - 1] = '.';
	}
	out[o] = '\0';
	return out;
}

static bool starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* ---- show servers state ----------------------------------------------------- */

enum col {
	COL_BE_ID = 0,
	COL_BE_NAME,
	COL_SRV_ID,
	COL_SRV_NAME,
	COL_SRV_ADDR,
	COL_OP_STATE,
	COL_ADMIN_STATE,
	COL_UWEIGHT,
	COL_IWEIGHT,
	COL_PORT,
	COL_CHECK_STATE,
	COL_CHECK_RESULT,
	COL_COUNT
};

static const struct {
	const char *name;
	bool required;
} col_def[COL_COUNT] = {
	[COL_BE_ID] = { "be_id", true },
	[COL_BE_NAME] = { "be_name", true },
	[COL_SRV_ID] = { "srv_id", true },
	[COL_SRV_NAME] = { "srv_name", true },
	[COL_SRV_ADDR] = { "srv_addr", true },
	[COL_OP_STATE] = { "srv_op_state", true },
	[COL_ADMIN_STATE] = { "srv_admin_state", true },
	[COL_UWEIGHT] = { "srv_uweight", true },
	[COL_IWEIGHT] = { "srv_iweight", false },
	[COL_PORT] = { "srv_port", true },
	[COL_CHECK_STATE] = { "srv_check_state", false },
	[COL_CHECK_RESULT] = { "srv_check_result", false },
};

struct parser {
	const char *buf;
	size_t len;
	size_t pos;
	unsigned long lineno;
	char *err;
	size_t errlen;
	/* header column index -> enum col, or -1 for a column we ignore */
	signed char colmap[HSDO_RTAPI_COLUMNS_MAX];
	size_t ncols;
};

/* Next line into line and linelen (without its '\n'). Returns 1 for a line,
 * 0 at the end of input, or a negative error (line cut short or too long). */
static int next_line(struct parser *p, const char **line, size_t *linelen)
{
	size_t rest = p->len - p->pos;
	size_t scan = rest < HSDO_RTAPI_LINE_MAX + 1 ? rest : HSDO_RTAPI_LINE_MAX + 1;
	const char *s = p->buf + p->pos;
	const char *nl;

	if (rest == 0)
		return 0;
	p->lineno++;
	nl = memchr(s, '\n', scan);
	if (nl == NULL) {
		if (rest > HSDO_RTAPI_LINE_MAX)
			return hsdo_seterr(p->err, p->errlen, -HSDO_ETOOBIG,
				"line %lu: longer than %u bytes", p->lineno, HSDO_RTAPI_LINE_MAX);
		return hsdo_seterr(p->err, p->errlen, -HSDO_EAGAIN,
			"line %lu: truncated (no end of line)", p->lineno);
	}
	*line = s;
	*linelen = (size_t)(nl - s);
	p->pos += *linelen + 1;
	return 1;
}

/* Reject bytes that HAProxy never prints in this output. */
static int check_bytes(struct parser *p, const char *line, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];

		if (c < 0x20 || c == 0x7f)
			return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
				"line %lu: control character 0x%02x at byte %zu",
				p->lineno, c, i + 1);
	}
	return 0;
}

/* Next space-separated token of [*pos, len); false when none is left. */
static bool next_token(const char *line, size_t len, size_t *pos,
	const char **tok, size_t *toklen)
{
	size_t i = *pos;

	while (i < len && line[i] == ' ')
		i++;
	if (i == len) {
		*pos = i;
		return false;
	}
	*tok = line + i;
	while (i < len && line[i] != ' ')
		i++;
	*toklen = (size_t)(line + i - *tok);
	*pos = i;
	return true;
}

/* First line: the format version, or an error text from HAProxy. */
static int parse_version(struct parser *p, const char *line, size_t len)
{
	char txt[96];
	size_t i;

	while (len > 0 && is_space(line[len - 1]))
		len--;
	if (len == 1 && line[0] == '1')
		return 0;
	for (i = 0; i < len && line[i] >= '0' && line[i] <= '9'; i++)
		;
	if (len > 0 && i == len)
		return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
			"line 1: unsupported format version '%s'", show(txt, sizeof(txt), line, len));
	if (starts_with(line, len, "Can't find") || starts_with(line, len, "No such"))
		return hsdo_seterr(p->err, p->errlen, -HSDO_ENOTFOUND,
			"%s", show(txt, sizeof(txt), line, len));
	return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
		"line 1: not a servers state reply: '%s'", show(txt, sizeof(txt), line, len));
}

/* Second line: "# col col ...". Maps each column to what we read. */
static int parse_header(struct parser *p, const char *line, size_t len)
{
	bool seen[COL_COUNT] = { false };
	const char *tok;
	size_t toklen, pos = 1, c;
	char txt[64];
	int rc;

	if ((rc = check_bytes(p, line, len)) != 0)
		return rc;
	if (len == 0 || line[0] != '#')
		return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
			"line 2: expected the '# ' column header, got '%s'",
			show(txt, sizeof(txt), line, len));
	p->ncols = 0;
	while (next_token(line, len, &pos, &tok, &toklen)) {
		signed char which = -1;

		if (p->ncols == HSDO_RTAPI_COLUMNS_MAX)
			return hsdo_seterr(p->err, p->errlen, -HSDO_ETOOBIG,
				"line 2: more than %u columns", HSDO_RTAPI_COLUMNS_MAX);
		for (c = 0; c < COL_COUNT; c++) {
			if (strlen(col_def[c].name) == toklen &&
			    memcmp(col_def[c].name, tok, toklen) == 0) {
				if (seen[c])
					return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
						"line 2: column '%s' appears twice", col_def[c].name);
				seen[c] = true;
				which = (signed char)c;
				break;
			}
		}
		p->colmap[p->ncols++] = which;
	}
	for (c = 0; c < COL_COUNT; c++)
		if (col_def[c].required && !seen[c])
			return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
				"line 2: missing column '%s'", col_def[c].name);
	return 0;
}

/* Unsigned decimal, digits only, <= max. */
static bool parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = (uint32_t)v;
	return true;
}

static int copy_field(struct parser *p, enum col c, char *dst, size_t dstlen,
	const char *tok, size_t toklen)
{
	char txt[48];

	if (toklen >= dstlen)
		return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
			"line %lu: %s: longer than %zu bytes '%s'", p->lineno,
			col_def[c].name, dstlen - 1, show(txt, sizeof(txt), tok, toklen));
	memcpy(dst, tok, toklen);
	dst[toklen] = '\0';
	return 0;
}

static int set_field(struct parser *p, struct hsdo_srv_state *s, enum col c,
	const char *tok, size_t toklen)
{
	uint32_t max = UINT32_MAX, v = 0;
	char txt[48];

	switch (c) {
	case COL_BE_NAME:
		return copy_field(p, c, s->be_name, sizeof(s->be_name), tok, toklen);
	case COL_SRV_NAME:
		return copy_field(p, c, s->srv_name, sizeof(s->srv_name), tok, toklen);
	case COL_SRV_ADDR:
		if (toklen == 1 && tok[0] == '-') {
			s->addr[0] = '\0';
			return 0;
		}
		return copy_field(p, c, s->addr, sizeof(s->addr), tok, toklen);
	case COL_PORT:
		max = UINT16_MAX;
		break;
	default:
		break;
	}
	if (!parse_uint(tok, toklen, max, &v))
		return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
			"line %lu: %s: not a number '%s'", p->lineno, col_def[c].name,
			show(txt, sizeof(txt), tok, toklen));
	switch (c) {
	case COL_BE_ID: s->be_id = v; break;
	case COL_SRV_ID: s->srv_id = v; break;
	case COL_OP_STATE: s->op_state = v; break;
	case COL_ADMIN_STATE: s->admin_state = v; break;
	case COL_UWEIGHT: s->uweight = v; break;
	case COL_IWEIGHT: s->iweight = v; break;
	case COL_PORT: s->port = (uint16_t)v; break;
	case COL_CHECK_STATE: s->check_state = v; break;
	case COL_CHECK_RESULT: s->check_result = v; break;
	default: break;
	}
	return 0;
}

static int parse_server(struct parser *p, const char *line, size_t len,
	struct hsdo_srv_state *s)
{
	const char *tok;
	size_t toklen, pos = 0, i = 0;
	int rc;

	memset(s, 0, sizeof(*s));
	if ((rc = check_bytes(p, line, len)) != 0)
		return rc;
	while (next_token(line, len, &pos, &tok, &toklen)) {
		if (i < p->ncols && p->colmap[i] >= 0 &&
		    (rc = set_field(p, s, (enum col)p->colmap[i], tok, toklen)) != 0)
			return rc;
		i++;
	}
	if (i != p->ncols)
		return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
			"line %lu: %zu fields, the header has %zu", p->lineno, i, p->ncols);
	return 0;
}

static int push_server(struct parser *p, struct hsdo_servers_state *out, size_t *cap,
	const struct hsdo_srv_state *s)
{
	if (out->n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		struct hsdo_srv_state *n;

		if (out->n >= HSDO_RTAPI_SERVERS_MAX)
			return hsdo_seterr(p->err, p->errlen, -HSDO_ETOOBIG,
				"line %lu: more than %u servers", p->lineno, HSDO_RTAPI_SERVERS_MAX);
		if (ncap > HSDO_RTAPI_SERVERS_MAX)
			ncap = HSDO_RTAPI_SERVERS_MAX;
		n = hsdo_reallocarray(out->srv, ncap, sizeof(*n));
		if (n == NULL)
			return hsdo_seterr(p->err, p->errlen, -HSDO_ENOMEM, "out of memory");
		out->srv = n;
		*cap = ncap;
	}
	out->srv[out->n++] = *s;
	return 0;
}

static int parse_state(struct parser *p, struct hsdo_servers_state *out)
{
	struct hsdo_srv_state s;
	const char *line = NULL;
	size_t linelen = 0, cap = 0;
	int rc;

	if (p->len == 0)
		return hsdo_seterr(p->err, p->errlen, -HSDO_EAGAIN, "empty reply");
	if (p->len > HSDO_RTAPI_STATE_MAX_BYTES)
		return hsdo_seterr(p->err, p->errlen, -HSDO_ETOOBIG,
			"reply larger than %u bytes", HSDO_RTAPI_STATE_MAX_BYTES);
	if ((rc = next_line(p, &line, &linelen)) < 0)
		return rc;
	if ((rc = parse_version(p, line, linelen)) != 0)
		return rc;
	rc = next_line(p, &line, &linelen);
	if (rc == 0)
		return hsdo_seterr(p->err, p->errlen, -HSDO_EAGAIN,
			"line 2: truncated (no column header)");
	if (rc < 0)
		return rc;
	if ((rc = parse_header(p, line, linelen)) != 0)
		return rc;
	for (;;) {
		rc = next_line(p, &line, &linelen);
		if (rc == 0)
			return hsdo_seterr(p->err, p->errlen, -HSDO_EAGAIN,
				"line %lu: truncated (no blank line at the end)", p->lineno + 1);
		if (rc < 0)
			return rc;
		if (linelen == 0)
			break;
		if (line[0] == '#')
			continue;
		if ((rc = parse_server(p, line, linelen, &s)) != 0)
			return rc;
		if ((rc = push_server(p, out, &cap, &s)) != 0)
			return rc;
	}
	if (p->pos != p->len)
		return hsdo_seterr(p->err, p->errlen, -HSDO_EPROTO,
			"line %lu: data after the end of the reply", p->lineno + 1);
	return 0;
}

int hsdo_rtapi_parse_servers_state(const char *buf, size_t len,
	struct hsdo_servers_state *out, char *err, size_t errlen)
{
	struct parser p;
	int rc;

	if (out == NULL)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no output");
	out->srv = NULL;
	out->n = 0;
	if (buf == NULL && len > 0)
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "no input");
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(&p, 0, sizeof(p));
	p.buf = buf;
	p.len = len;
	p.err = err;
	p.errlen = errlen;
	rc = parse_state(&p, out);
	if (rc != 0)
		hsdo_rtapi_servers_state_free(out);
	return rc;
}

void hsdo_rtapi_servers_state_free(struct hsdo_servers_state *s)
{
	if (s == NULL)
		return;
	hsdo_free(s->srv);
	s->srv = NULL;
	s->n = 0;
}

const struct hsdo_srv_state *hsdo_rtapi_find_server(const struct hsdo_servers_state *s,
	const char *backend, const char *server)
{
	size_t i;

	if (s == NULL || backend == NULL || server == NULL)
		return NULL;
	for (i = 0; i < s->n; i++)
		if (strcmp(s->srv[i].srv_name, server) == 0 &&
		    strcmp(s->srv[i].be_name, backend) == 0)
			return &s->srv[i];
	return NULL;
}

bool hsdo_rtapi_admin_is_maint(unsigned admin_state)
{
	return (admin_state & HSDO_RTAPI_ADMF_MAINT) != 0;
}

bool hsdo_rtapi_admin_is_drain(unsigned admin_state)
{
	return (admin_state & HSDO_RTAPI_ADMF_DRAIN) != 0;
}

/* ---- set server replies -------------------------------------------------------- */

/* One clause of an address/port answer, e.g. "IP changed from 'a' to 'b'".
 * 2.6 says "no need to change the addr, no need to change the port" where
 * 3.0 and 3.2 say "nothing changed" (and leave out the unchanged half). */
static bool clause_ok(const char *s, size_t len)
{
	return starts_with(s, len, "IP changed from ") ||
	       starts_with(s, len, "port changed from ") ||
	       starts_with(s, len, "no need to change the addr") ||
	       starts_with(s, len, "no need to change the port") ||
	       (len == 15 && memcmp(s, "nothing changed", 15) == 0);
}

/* A line is a success when, once the " by '<who>'" suffix is removed, every
 * ", "-separated clause is a success clause. Checking every clause matters:
 * "IP changed ..., problem converting port ..." applied only half. */
static bool line_ok(const char *s, size_t len)
{
	size_t i, start = 0;

	for (i = len; s[len - 1] == '\'' && i >= 5; i--) {
		if (memcmp(s + i - 5, " by '", 5) == 0) {
			len = i - 5;
			break;
		}
	}
	for (i = 0; i + 1 < len; i++) {
		if (s[i] == ',' && s[i + 1] == ' ') {
			if (!clause_ok(s + start, i - start))
				return false;
			start = i + 2;
		}
	}
	return clause_ok(s + start, len - start);
}

int hsdo_rtapi_set_server_reply(const char *reply, size_t len, char *err, size_t errlen)
{
	size_t pos = 0;
	char txt[512];

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (reply == NULL)
		len = 0;
	while (pos < len) {
		const char *line = reply + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t l = nl ? (size_t)(nl - line) : len - pos;

		pos += l + (nl ? 1 : 0);
		while (l > 0 && is_space(line[l - 1]))
			l--;
		while (l > 0 && is_space(line[0])) {
			line++;
			l--;
		}
		if (l == 0 || line_ok(line, l))
			continue;
		show(txt, sizeof(txt), line, l);
		if (starts_with(line, l, "No such"))
			return hsdo_seterr(err, errlen, -HSDO_ENOTFOUND, "%s", txt);
		return hsdo_seterr(err, errlen, -HSDO_EINVAL, "%s", txt);
	}
	return 0;
}
