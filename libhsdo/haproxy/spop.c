/* SPOP codec (see spop.h). Every read goes through a cursor bounded by the
 * end of the frame or payload; inside a complete frame a field that runs
 * past the end is -HSDO_EPROTO, never -HSDO_EAGAIN. */
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/spop.h"

#define KEY_VERSIONS   "supported-versions"
#define KEY_MAX_FRAME  "max-frame-size"
#define KEY_CAPS       "capabilities"
#define KEY_ENGINE_ID  "engine-id"
#define KEY_HEALTH     "healthcheck"
#define KEY_VERSION    "version"
#define KEY_STATUS     "status-code"
#define KEY_MESSAGE    "message"

#define DATA_TYPE_MASK 0x0Fu
#define DATA_FLAG_TRUE 0x10u

/* ---- names ------------------------------------------------------------------- */

static const char *const status_text[] = {
	[HSDO_SPOP_ST_NORMAL] = "normal",
	[HSDO_SPOP_ST_IO] = "I/O error",
	[HSDO_SPOP_ST_TIMEOUT] = "a timeout occurred",
	[HSDO_SPOP_ST_TOO_BIG] = "frame is too big",
	[HSDO_SPOP_ST_INVALID] = "invalid frame received",
	[HSDO_SPOP_ST_NO_VSN] = "version value not found",
	[HSDO_SPOP_ST_NO_FRAME_SIZE] = "max-frame-size value not found",
	[HSDO_SPOP_ST_NO_CAP] = "capabilities value not found",
	[HSDO_SPOP_ST_BAD_VSN] = "unsupported version",
	[HSDO_SPOP_ST_BAD_FRAME_SIZE] = "max-frame-size too big or too small",
	[HSDO_SPOP_ST_FRAG_NOT_SUPPORTED] = "payload fragmentation is not supported",
	[HSDO_SPOP_ST_INTERLACED_FRAMES] = "invalid interlaced frames",
	[HSDO_SPOP_ST_FRAMEID_NOTFOUND] = "frame-id not found",
	[HSDO_SPOP_ST_RES] = "resource allocation error",
};

const char *hsdo_spop_status_str(enum hsdo_spop_status status)
{
	if ((unsigned)status < sizeof(status_text) / sizeof(status_text[0]))
		return status_text[status];
	return "unknown error";
}

const char *hsdo_spop_frame_type_str(enum hsdo_spop_frame_type type)
{
	switch (type) {
	case HSDO_SPOP_FRAME_UNSET: return "UNSET";
	case HSDO_SPOP_FRAME_HAPROXY_HELLO: return "HAPROXY-HELLO";
	case HSDO_SPOP_FRAME_HAPROXY_DISCONNECT: return "HAPROXY-DISCONNECT";
	case HSDO_SPOP_FRAME_NOTIFY: return "NOTIFY";
	case HSDO_SPOP_FRAME_AGENT_HELLO: return "AGENT-HELLO";
	case HSDO_SPOP_FRAME_AGENT_DISCONNECT: return "AGENT-DISCONNECT";
	case HSDO_SPOP_FRAME_ACK: return "ACK";
	}
	return "unknown";
}

static const char *const data_type_text[HSDO_SPOP_DATA_COUNT] = {
	[HSDO_SPOP_DATA_NULL] = "NULL",
	[HSDO_SPOP_DATA_BOOL] = "BOOL",
	[HSDO_SPOP_DATA_INT32] = "INT32",
	[HSDO_SPOP_DATA_UINT32] = "UINT32",
	[HSDO_SPOP_DATA_INT64] = "INT64",
	[HSDO_SPOP_DATA_UINT64] = "UINT64",
	[HSDO_SPOP_DATA_IPV4] = "IPV4",
	[HSDO_SPOP_DATA_IPV6] = "IPV6",
	[HSDO_SPOP_DATA_STRING] = "STRING",
	[HSDO_SPOP_DATA_BINARY] = "BINARY",
};

const char *hsdo_spop_data_type_str(enum hsdo_spop_data_type type)
{
	if ((unsigned)type >= HSDO_SPOP_DATA_COUNT)
		return "unknown";
	return data_type_text[type];
}

static const char *const scope_text[HSDO_SPOP_SCOPE_COUNT] = {
	[HSDO_SPOP_SCOPE_PROC] = "proc",
	[HSDO_SPOP_SCOPE_SESS] = "sess",
	[HSDO_SPOP_SCOPE_TXN] = "txn",
	[HSDO_SPOP_SCOPE_REQ] = "req",
	[HSDO_SPOP_SCOPE_RES] = "res",
};

const char *hsdo_spop_scope_str(enum hsdo_spop_scope scope)
{
	if ((unsigned)scope >= HSDO_SPOP_SCOPE_COUNT)
		return "unknown";
	return scope_text[scope];
}

const char *hsdo_spop_action_type_str(enum hsdo_spop_action_type type)
{
	switch (type) {
	case HSDO_SPOP_ACTION_SET_VAR: return "set-var";
	case HSDO_SPOP_ACTION_UNSET_VAR: return "unset-var";
	}
	return "unknown";
}

/* ---- varints -------------------------------------------------------------------- */

static size_t varint_size(uint64_t v)
{
	size_t n;

	if (v < 240)
		return 1;
	v = (v - 240) >> 4;
	for (n = 2; v >= 128; n++)
		v = (v - 128) >> 7;
	return n;
}

int hsdo_spop_varint_encode(uint64_t v, uint8_t *buf, size_t len)
{
	size_t n = varint_size(v), i = 0;

	if (buf == NULL || len < n)
		return -HSDO_ETOOBIG;
	if (v < 240) {
		buf[0] = (uint8_t)v;
		return 1;
	}
	buf[i++] = (uint8_t)(v | 0xF0);
	v = (v - 240) >> 4;
	while (v >= 128) {
		buf[i++] = (uint8_t)(v | 0x80);
		v = (v - 128) >> 7;
	}
	buf[i++] = (uint8_t)v;
	return (int)i;
}

int hsdo_spop_varint_decode(const uint8_t *buf, size_t len, uint64_t *v)
{
	uint64_t r;
	unsigned shift = 4;
	size_t i = 1;
	uint8_t b;

	if (buf == NULL || len == 0)
		return -HSDO_EAGAIN;
	r = buf[0];
	if (r >= 240) {
		do {
			if (i >= HSDO_SPOP_VARINT_MAX)
				return -HSDO_EPROTO;
			if (i >= len)
				return -HSDO_EAGAIN;
			b = buf[i++];
			/* the continuation bytes are added, not OR-ed: check the sum */
			if (b > ((UINT64_MAX - r) >> shift))
				return -HSDO_EPROTO;
			r += (uint64_t)b << shift;
			shift += 7;
		} while (b >= 128);
	}
	if (v != NULL)
		*v = r;
	return (int)i;
}

/* ---- reading cursor ---------------------------------------------------------------- */

/* Read helpers for the inside of a complete frame: running out of bytes is
 * -HSDO_EPROTO there. Each advances *p only on success. */
static int get_u8(const uint8_t **p, const uint8_t *end, uint8_t *out)
{
	if (*p >= end)
		return -HSDO_EPROTO;
	*out = *(*p)++;
	return 0;
}

static int get_varint(const uint8_t **p, const uint8_t *end, uint64_t *out)
{
	int n = hsdo_spop_varint_decode(*p, (size_t)(end - *p), out);

	if (n < 0)
		return -HSDO_EPROTO;
	*p += n;
	return 0;
}

/* <varint length><bytes>: a name, or the body of a STRING/BINARY. */
static int get_bytes(const uint8_t **p, const uint8_t *end, struct hsdo_spop_bytes *out,
	bool framed)
{
	const uint8_t *q = *p;
	uint64_t n;
	int rc = hsdo_spop_varint_decode(q, (size_t)(end - q), &n);

	if (rc < 0)
		return framed ? -HSDO_EPROTO : rc;
	q += rc;
	if (n > (uint64_t)(end - q))
		return framed ? -HSDO_EPROTO : -HSDO_EAGAIN;
	out->ptr = q;
	out->len = (size_t)n;
	*p = q + n;
	return 0;
}

static bool bytes_eq(const struct hsdo_spop_bytes *b, const char *s)
{
	size_t n = strlen(s);

	return b->len == n && (n == 0 || memcmp(b->ptr, s, n) == 0);
}

/* ---- typed data --------------------------------------------------------------------- */

/* Decode one TYPED-DATA at *p; truncation gives -HSDO_EAGAIN unless framed. */
static int get_data(const uint8_t **p, const uint8_t *end, struct hsdo_spop_data *out,
	bool framed)
{
	const uint8_t *q = *p;
	const int short_rc = framed ? -HSDO_EPROTO : -HSDO_EAGAIN;
	uint8_t tb;
	uint64_t u;
	size_t iplen;
	int rc;

	if (q >= end)
		return short_rc;
	tb = *q++;
	memset(out, 0, sizeof(*out));
	out->type = (enum hsdo_spop_data_type)(tb & DATA_TYPE_MASK);
	switch (tb & DATA_TYPE_MASK) {
	case HSDO_SPOP_DATA_NULL:
		break;
	case HSDO_SPOP_DATA_BOOL:
		out->b = (tb & DATA_FLAG_TRUE) != 0;
		break;
	case HSDO_SPOP_DATA_INT32:
	case HSDO_SPOP_DATA_UINT32:
	case HSDO_SPOP_DATA_INT64:
	case HSDO_SPOP_DATA_UINT64:
		rc = hsdo_spop_varint_decode(q, (size_t)(end - q), &u);
		if (rc < 0)
			return rc == -HSDO_EAGAIN ? short_rc : rc;
		q += rc;
		/* signed values travel as 64-bit two's complement (no zig-zag) */
		if ((tb & DATA_TYPE_MASK) == HSDO_SPOP_DATA_INT32 &&
		    ((int64_t)u < INT32_MIN || (int64_t)u > INT32_MAX))
			return -HSDO_EPROTO;
		if ((tb & DATA_TYPE_MASK) == HSDO_SPOP_DATA_UINT32 && u > UINT32_MAX)
			return -HSDO_EPROTO;
		if ((tb & DATA_TYPE_MASK) == HSDO_SPOP_DATA_INT32 ||
		    (tb & DATA_TYPE_MASK) == HSDO_SPOP_DATA_INT64)
			out->i = (int64_t)u;
		else
			out->u = u;
		break;
	case HSDO_SPOP_DATA_IPV4:
	case HSDO_SPOP_DATA_IPV6:
		iplen = (tb & DATA_TYPE_MASK) == HSDO_SPOP_DATA_IPV4 ? 4 : 16;
		if ((size_t)(end - q) < iplen)
			return short_rc;
		memcpy(out->ip, q, iplen);
		q += iplen;
		break;
	case HSDO_SPOP_DATA_STRING:
	case HSDO_SPOP_DATA_BINARY:
		rc = get_bytes(&q, end, &out->bytes, framed);
		if (rc < 0)
			return rc;
		break;
	default:
		return -HSDO_EPROTO; /* 10..15: reserved */
	}
	*p = q;
	return 0;
}

int hsdo_spop_data_decode(const uint8_t *buf, size_t len, struct hsdo_spop_data *out)
{
	const uint8_t *p = buf;
	int rc;

	if (out == NULL)
		return -HSDO_EINVAL;
	if (buf == NULL || len == 0)
		return -HSDO_EAGAIN;
	if (len > INT_MAX)
		len = INT_MAX;
	rc = get_data(&p, buf + len, out, false);
	return rc < 0 ? rc : (int)(p - buf);
}

/* ---- writing cursor ------------------------------------------------------------------ */

/* Sticky-error writer: once a write would pass `len`, nothing more is
 * written and `err` is set. */
struct wbuf {
	uint8_t *buf;
	size_t len;
	size_t pos;
	bool err;
};

static void put_mem(struct wbuf *w, const void *p, size_t n)
{
	if (w->err || n > w->len - w->pos) {
		w->err = true;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->pos, p, n);
	w->pos += n;
}

static void put_u8(struct wbuf *w, uint8_t b)
{
	put_mem(w, &b, 1);
}

static void put_varint(struct wbuf *w, uint64_t v)
{
	uint8_t tmp[HSDO_SPOP_VARINT_MAX];
	int n = hsdo_spop_varint_encode(v, tmp, sizeof(tmp));

	put_mem(w, tmp, (size_t)n);
}

static void put_bytes(struct wbuf *w, const struct hsdo_spop_bytes *b)
{
	put_varint(w, b->len);
	put_mem(w, b->ptr, b->len);
}

static void put_name(struct wbuf *w, const char *s)
{
	struct hsdo_spop_bytes b = hsdo_spop_cstr(s);

	put_bytes(w, &b);
}

static int data_valid(const struct hsdo_spop_data *d)
{
	if ((unsigned)d->type >= HSDO_SPOP_DATA_COUNT)
		return -HSDO_EINVAL;
	if (d->type == HSDO_SPOP_DATA_INT32 && (d->i < INT32_MIN || d->i > INT32_MAX))
		return -HSDO_EINVAL;
	if (d->type == HSDO_SPOP_DATA_UINT32 && d->u > UINT32_MAX)
		return -HSDO_EINVAL;
	if ((d->type == HSDO_SPOP_DATA_STRING || d->type == HSDO_SPOP_DATA_BINARY) &&
	    d->bytes.ptr == NULL && d->bytes.len > 0)
		return -HSDO_EINVAL;
	return 0;
}

/* Write a TYPED-DATA already checked by data_valid. */
static void put_data(struct wbuf *w, const struct hsdo_spop_data *d)
{
	switch (d->type) {
	case HSDO_SPOP_DATA_BOOL:
		put_u8(w, (uint8_t)(d->type | (d->b ? DATA_FLAG_TRUE : 0)));
		break;
	case HSDO_SPOP_DATA_INT32:
	case HSDO_SPOP_DATA_INT64:
		put_u8(w, (uint8_t)d->type);
		put_varint(w, (uint64_t)d->i);
		break;
	case HSDO_SPOP_DATA_UINT32:
	case HSDO_SPOP_DATA_UINT64:
		put_u8(w, (uint8_t)d->type);
		put_varint(w, d->u);
		break;
	case HSDO_SPOP_DATA_IPV4:
	case HSDO_SPOP_DATA_IPV6:
		put_u8(w, (uint8_t)d->type);
		put_mem(w, d->ip, d->type == HSDO_SPOP_DATA_IPV4 ? 4 : 16);
		break;
	case HSDO_SPOP_DATA_STRING:
	case HSDO_SPOP_DATA_BINARY:
		put_u8(w, (uint8_t)d->type);
		put_bytes(w, &d->bytes);
		break;
	default:
		put_u8(w, HSDO_SPOP_DATA_NULL);
		break;
	}
}

int hsdo_spop_data_encode(const struct hsdo_spop_data *d, uint8_t *buf, size_t len)
{
	struct wbuf w = { buf, buf != NULL ? len : 0, 0, false };
	int rc;

	if (d == NULL)
		return -HSDO_EINVAL;
	rc = data_valid(d);
	if (rc < 0)
		return rc;
	put_data(&w, d);
	if (w.err || w.pos > INT_MAX)
		return -HSDO_ETOOBIG;
	return (int)w.pos;
}

/* Frame header with a placeholder length; frame_end fills it in. */
static void frame_begin(struct wbuf *w, uint8_t type, uint64_t sid, uint64_t fid)
{
	static const uint8_t fin[4] = { 0, 0, 0, 1 };

	put_mem(w, "\0\0\0\0", HSDO_SPOP_LEN_SIZE);
	put_u8(w, type);
	put_mem(w, fin, sizeof(fin));
	put_varint(w, sid);
	put_varint(w, fid);
}

static int frame_end(struct wbuf *w)
{
	size_t body;

	if (w->err || w->pos > INT_MAX)
		return -HSDO_ETOOBIG;
	body = w->pos - HSDO_SPOP_LEN_SIZE;
	w->buf[0] = (uint8_t)(body >> 24);
	w->buf[1] = (uint8_t)(body >> 16);
	w->buf[2] = (uint8_t)(body >> 8);
	w->buf[3] = (uint8_t)body;
	return (int)w->pos;
}

/* ---- frames ------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int hsdo_spop_frame_decode(const uint8_t *buf, size_t len, uint32_t max_frame_size,
	struct hsdo_spop_frame *out)
{
	struct hsdo_spop_frame f;
	const uint8_t *p, *end;
	uint32_t flen;

	if (out == NULL || (buf == NULL && len > 0))
		return -HSDO_EINVAL;
	if (len < HSDO_SPOP_LEN_SIZE)
		return -HSDO_EAGAIN;
	flen = be32(buf);
	/* the whole size must also fit the int we return */
	if (flen > max_frame_size || flen > (uint32_t)INT_MAX - HSDO_SPOP_LEN_SIZE)
		return -HSDO_ETOOBIG;
	if (flen < HSDO_SPOP_HEADER_MIN)
		return -HSDO_EPROTO;
	if (len - HSDO_SPOP_LEN_SIZE < flen)
		return -HSDO_EAGAIN;
	p = buf + HSDO_SPOP_LEN_SIZE;
	end = p + flen;
	f.type = p[0];
	f.flags = be32(p + 1);
	p += 5;
	if (get_varint(&p, end, &f.stream_id) < 0 || get_varint(&p, end, &f.frame_id) < 0)
		return -HSDO_EPROTO;
	f.payload = p;
	f.payload_len = (size_t)(end - p);
	*out = f;
	return (int)(HSDO_SPOP_LEN_SIZE + flen);
}

enum hsdo_spop_status hsdo_spop_frame_error_status(int rc)
{
	if (rc == -HSDO_ETOOBIG)
		return HSDO_SPOP_ST_TOO_BIG;
	if (rc == -HSDO_EPROTO)
		return HSDO_SPOP_ST_INVALID;
	return HSDO_SPOP_ST_UNKNOWN;
}

static int fail(enum hsdo_spop_status *status, enum hsdo_spop_status st)
{
	if (status != NULL)
		*status = st;
	return -HSDO_EPROTO;
}

/* Type first, then FIN, then ids: HAProxy's own order of checks. */
static int check_frame(const struct hsdo_spop_frame *f, uint8_t type, uint8_t alt_type,
	enum hsdo_spop_status *status)
{
	if (f == NULL || (f->payload == NULL && f->payload_len > 0))
		return fail(status, HSDO_SPOP_ST_INVALID);
	if (f->type != type && f->type != alt_type)
		return fail(status, f->type == HSDO_SPOP_FRAME_UNSET ?
			HSDO_SPOP_ST_FRAG_NOT_SUPPORTED : HSDO_SPOP_ST_INVALID);
	/* without fragmentation, ABORT has nothing to abort */
	if (!(f->flags & HSDO_SPOP_FLAG_FIN) || (f->flags & HSDO_SPOP_FLAG_ABORT))
		return fail(status, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED);
	if (f->type != HSDO_SPOP_FRAME_NOTIFY && f->type != HSDO_SPOP_FRAME_ACK &&
	    (f->stream_id != 0 || f->frame_id != 0))
		return fail(status, HSDO_SPOP_ST_INVALID);
	return 0;
}

int hsdo_spop_frame_check(const struct hsdo_spop_frame *f, enum hsdo_spop_status *status)
{
	uint8_t t = f != NULL ? f->type : 0;

	if (t != HSDO_SPOP_FRAME_HAPROXY_HELLO && t != HSDO_SPOP_FRAME_HAPROXY_DISCONNECT &&
	    t != HSDO_SPOP_FRAME_NOTIFY)
		t = HSDO_SPOP_FRAME_HAPROXY_HELLO; /* any HAProxy type: fails on type */
	return check_frame(f, t, t, status);
}

void hsdo_spop_iter_init(struct hsdo_spop_iter *it, const uint8_t *data, size_t len)
{
	it->p = data;
	it->end = data != NULL ? data + len : data;
}

int hsdo_spop_kv_next(struct hsdo_spop_iter *it, struct hsdo_spop_kv *kv)
{
	const uint8_t *p = it->p;

	if (p >= it->end)
		return 0;
	if (get_bytes(&p, it->end, &kv->name, true) < 0 ||
	    get_data(&p, it->end, &kv->value, true) < 0)
		return -HSDO_EPROTO;
	it->p = p;
	return 1;
}

/* ---- HELLO --------------------------------------------------------------------------- */

/* Is a comma-separated list item equal to word, ignoring spaces? */
static bool item_is(const uint8_t *s, size_t n, const char *word)
{
	size_t i, k = 0, wl = strlen(word);

	for (i = 0; i < n; i++) {
		if (s[i] == ' ' || s[i] == '\t')
			continue;
		if (k >= wl || s[i] != (uint8_t)word[k])
			return false;
		k++;
	}
	return k == wl;
}

/* Does the comma-separated list hold word (spaces ignored)? */
static bool list_has(const struct hsdo_spop_bytes *list, const char *word)
{
	size_t start = 0, i;

	if (list->ptr == NULL || list->len == 0)
		return word[0] == '\0';
	for (i = 0; i <= list->len; i++) {
		if (i == list->len || list->ptr[i] == ',') {
			if (item_is(list->ptr + start, i - start, word))
				return true;
			start = i + 1;
		}
	}
	return false;
}

static unsigned parse_caps(const struct hsdo_spop_bytes *s)
{
	unsigned caps = 0;

	if (list_has(s, "pipelining"))
		caps |= HSDO_SPOP_CAP_PIPELINING;
	if (list_has(s, "async"))
		caps |= HSDO_SPOP_CAP_ASYNC;
	if (list_has(s, "fragmentation"))
		caps |= HSDO_SPOP_CAP_FRAGMENTATION;
	return caps;
}

/* Any of the four integer types, non-negative. */
static bool data_uint(const struct hsdo_spop_data *d, uint64_t *out)
{
	switch (d->type) {
	case HSDO_SPOP_DATA_INT32:
	case HSDO_SPOP_DATA_INT64:
		if (d->i < 0)
			return false;
		*out = (uint64_t)d->i;
		return true;
	case HSDO_SPOP_DATA_UINT32:
	case HSDO_SPOP_DATA_UINT64:
		*out = d->u;
		return true;
	default:
		return false;
	}
}

int hsdo_spop_hello_decode(const struct hsdo_spop_frame *f, struct hsdo_spop_hello *out,
	enum hsdo_spop_status *status)
{
	struct hsdo_spop_hello h;
	struct hsdo_spop_iter it;
	struct hsdo_spop_kv kv;
	bool has_vsn = false, has_max = false, has_caps = false;
	int rc;

	if (out == NULL)
		return fail(status, HSDO_SPOP_ST_INVALID);
	rc = check_frame(f, HSDO_SPOP_FRAME_HAPROXY_HELLO, HSDO_SPOP_FRAME_HAPROXY_HELLO, status);
	if (rc < 0)
		return rc;
	memset(&h, 0, sizeof(h));
	hsdo_spop_iter_init(&it, f->payload, f->payload_len);
	while ((rc = hsdo_spop_kv_next(&it, &kv)) == 1) {
		if (bytes_eq(&kv.name, KEY_VERSIONS)) {
			if (kv.value.type != HSDO_SPOP_DATA_STRING)
				return fail(status, HSDO_SPOP_ST_INVALID);
			h.versions = kv.value.bytes;
			has_vsn = true;
		} else if (bytes_eq(&kv.name, KEY_MAX_FRAME)) {
			if (!data_uint(&kv.value, &h.max_frame_size))
				return fail(status, HSDO_SPOP_ST_INVALID);
			has_max = true;
		} else if (bytes_eq(&kv.name, KEY_CAPS)) {
			if (kv.value.type != HSDO_SPOP_DATA_STRING)
				return fail(status, HSDO_SPOP_ST_INVALID);
			h.capabilities = kv.value.bytes;
			has_caps = true;
		} else if (bytes_eq(&kv.name, KEY_ENGINE_ID)) {
			if (kv.value.type != HSDO_SPOP_DATA_STRING)
				return fail(status, HSDO_SPOP_ST_INVALID);
			h.engine_id = kv.value.bytes;
			h.has_engine_id = true;
		} else if (bytes_eq(&kv.name, KEY_HEALTH)) {
			if (kv.value.type != HSDO_SPOP_DATA_BOOL)
				return fail(status, HSDO_SPOP_ST_INVALID);
			h.healthcheck = kv.value.b;
		}
	}
	if (rc < 0)
		return fail(status, HSDO_SPOP_ST_INVALID);
	if (!has_vsn)
		return fail(status, HSDO_SPOP_ST_NO_VSN);
	if (!has_max)
		return fail(status, HSDO_SPOP_ST_NO_FRAME_SIZE);
	if (!has_caps)
		return fail(status, HSDO_SPOP_ST_NO_CAP);
	h.caps = parse_caps(&h.capabilities);
	*out = h;
	return 0;
}

int hsdo_spop_hello_negotiate(const struct hsdo_spop_hello *h, uint32_t our_max,
	struct hsdo_spop_agent_hello *reply, enum hsdo_spop_status *status)
{
	uint64_t max;

	if (h == NULL || reply == NULL || our_max < HSDO_SPOP_FRAME_MIN) {
		if (status != NULL)
			*status = HSDO_SPOP_ST_UNKNOWN;
		return -HSDO_EINVAL;
	}
	if (!list_has(&h->versions, HSDO_SPOP_VERSION))
		return fail(status, HSDO_SPOP_ST_BAD_VSN);
	max = h->max_frame_size < our_max ? h->max_frame_size : our_max;
	if (max < HSDO_SPOP_FRAME_MIN)
		return fail(status, HSDO_SPOP_ST_BAD_FRAME_SIZE);
	reply->max_frame_size = (uint32_t)max;
	/* pipelining works on 2.6 and 3.x; async is gone in 3.1 and only
	 * helps across connections of one thread in 2.6 */
	reply->caps = HSDO_SPOP_CAP_PIPELINING;
	reply->healthcheck = h->healthcheck;
	return 0;
}

int hsdo_spop_agent_hello_encode(const struct hsdo_spop_agent_hello *h,
	uint8_t *buf, size_t len)
{
	struct wbuf w = { buf, buf != NULL ? len : 0, 0, false };
	struct hsdo_spop_data d;

	if (h == NULL || (h->caps & ~(HSDO_SPOP_CAP_PIPELINING | HSDO_SPOP_CAP_ASYNC)) != 0)
		return -HSDO_EINVAL;
	frame_begin(&w, HSDO_SPOP_FRAME_AGENT_HELLO, 0, 0);
	put_name(&w, KEY_VERSION);
	memset(&d, 0, sizeof(d));
	d.type = HSDO_SPOP_DATA_STRING;
	d.bytes = hsdo_spop_cstr(HSDO_SPOP_VERSION);
	put_data(&w, &d);
	put_name(&w, KEY_MAX_FRAME);
	d.type = HSDO_SPOP_DATA_UINT32;
	d.u = h->max_frame_size;
	put_data(&w, &d);
	put_name(&w, KEY_CAPS);
	d.type = HSDO_SPOP_DATA_STRING;
	switch (h->caps) {
	case HSDO_SPOP_CAP_PIPELINING:
		d.bytes = hsdo_spop_cstr("pipelining");
		break;
	case HSDO_SPOP_CAP_ASYNC:
		d.bytes = hsdo_spop_cstr("async");
		break;
	case HSDO_SPOP_CAP_PIPELINING | HSDO_SPOP_CAP_ASYNC:
		d.bytes = hsdo_spop_cstr("pipelining,async");
		break;
	default:
		d.bytes = hsdo_spop_cstr("");
		break;
	}
	put_data(&w, &d);
	return frame_end(&w);
}

/* ---- NOTIFY -------------------------------------------------------------------------- */

int hsdo_spop_notify_begin(const struct hsdo_spop_frame *f, struct hsdo_spop_iter *it,
	enum hsdo_spop_status *status)
{
	int rc;

	if (it == NULL)
		return fail(status, HSDO_SPOP_ST_INVALID);
	rc = check_frame(f, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FRAME_NOTIFY, status);
	if (rc < 0)
		return rc;
	hsdo_spop_iter_init(it, f->payload, f->payload_len);
	return 0;
}

/* One argument: <name: varint-len bytes><TYPED-DATA>. */
static int get_arg(const uint8_t **p, const uint8_t *end, struct hsdo_spop_arg *arg)
{
	const uint8_t *q = *p;

	if (get_bytes(&q, end, &arg->name, true) < 0 ||
	    get_data(&q, end, &arg->value, true) < 0)
		return -HSDO_EPROTO;
	*p = q;
	return 0;
}

int hsdo_spop_msg_next(struct hsdo_spop_iter *it, struct hsdo_spop_msg *msg)
{
	const uint8_t *p = it->p, *args;
	struct hsdo_spop_arg arg;
	uint8_t nb;
	unsigned i;

	if (p >= it->end)
		return 0;
	if (get_bytes(&p, it->end, &msg->name, true) < 0 || get_u8(&p, it->end, &nb) < 0)
		return -HSDO_EPROTO;
	/* walk the arguments now: the next message starts after them, and a
	 * count that disagrees with the bytes fails here, not mid-use */
	args = p;
	for (i = 0; i < nb; i++)
		if (get_arg(&p, it->end, &arg) < 0)
			return -HSDO_EPROTO;
	msg->nb_args = nb;
	msg->args.p = args;
	msg->args.end = p;
	msg->args_left = nb;
	it->p = p;
	return 1;
}

int hsdo_spop_arg_next(struct hsdo_spop_msg *msg, struct hsdo_spop_arg *arg)
{
	if (msg->args_left == 0)
		return 0;
	if (get_arg(&msg->args.p, msg->args.end, arg) < 0)
		return -HSDO_EPROTO;
	msg->args_left--;
	return 1;
}

/* ---- DISCONNECT -------------------------------------------------------------------- */

int hsdo_spop_disconnect_decode(const struct hsdo_spop_frame *f,
	struct hsdo_spop_disconnect *out, enum hsdo_spop_status *status)
{
	struct hsdo_spop_disconnect d;
	struct hsdo_spop_iter it;
	struct hsdo_spop_kv kv;
	bool has_code = false;
	uint64_t code;
	int rc;

	if (out == NULL)
		return fail(status, HSDO_SPOP_ST_INVALID);
	rc = check_frame(f, HSDO_SPOP_FRAME_HAPROXY_DISCONNECT,
		HSDO_SPOP_FRAME_AGENT_DISCONNECT, status);
	if (rc < 0)
		return rc;
	memset(&d, 0, sizeof(d));
	hsdo_spop_iter_init(&it, f->payload, f->payload_len);
	while ((rc = hsdo_spop_kv_next(&it, &kv)) == 1) {
		if (bytes_eq(&kv.name, KEY_STATUS)) {
			if (!data_uint(&kv.value, &code) || code > UINT32_MAX)
				return fail(status, HSDO_SPOP_ST_INVALID);
			d.status_code = (uint32_t)code;
			has_code = true;
		} else if (bytes_eq(&kv.name, KEY_MESSAGE)) {
			if (kv.value.type != HSDO_SPOP_DATA_STRING)
				return fail(status, HSDO_SPOP_ST_INVALID);
			d.message = kv.value.bytes;
		}
	}
	if (rc < 0 || !has_code)
		return fail(status, HSDO_SPOP_ST_INVALID);
	*out = d;
	return 0;
}

int hsdo_spop_agent_disconnect_encode(uint32_t status_code, const char *message,
	uint8_t *buf, size_t len)
{
	struct wbuf w = { buf, buf != NULL ? len : 0, 0, false };
	struct hsdo_spop_data d;

	frame_begin(&w, HSDO_SPOP_FRAME_AGENT_DISCONNECT, 0, 0);
	memset(&d, 0, sizeof(d));
	put_name(&w, KEY_STATUS);
	d.type = HSDO_SPOP_DATA_UINT32;
	d.u = status_code;
	put_data(&w, &d);
	put_name(&w, KEY_MESSAGE);
	d.type = HSDO_SPOP_DATA_STRING;
	d.bytes = hsdo_spop_cstr(message != NULL ? message :
		hsdo_spop_status_str((enum hsdo_spop_status)status_code));
	put_data(&w, &d);
	return frame_end(&w);
}

/* ---- ACK ------------------------------------------------------------------------------ */

int hsdo_spop_action_next(struct hsdo_spop_iter *it, struct hsdo_spop_action *a)
{
	const uint8_t *p = it->p;
	uint8_t type, nb, scope;

	if (p >= it->end)
		return 0;
	if (get_u8(&p, it->end, &type) < 0 || get_u8(&p, it->end, &nb) < 0)
		return -HSDO_EPROTO;
	memset(a, 0, sizeof(*a));
	if (!((type == HSDO_SPOP_ACTION_SET_VAR && nb == 3) ||
	      (type == HSDO_SPOP_ACTION_UNSET_VAR && nb == 2)))
		return -HSDO_EPROTO;
	if (get_u8(&p, it->end, &scope) < 0 || scope >= HSDO_SPOP_SCOPE_COUNT ||
	    get_bytes(&p, it->end, &a->name, true) < 0)
		return -HSDO_EPROTO;
	if (type == HSDO_SPOP_ACTION_SET_VAR && get_data(&p, it->end, &a->value, true) < 0)
		return -HSDO_EPROTO;
	a->type = (enum hsdo_spop_action_type)type;
	a->scope = (enum hsdo_spop_scope)scope;
	it->p = p;
	return 1;
}

int hsdo_spop_ack_encode(uint64_t stream_id, uint64_t frame_id,
	const struct hsdo_spop_action *actions, size_t n, uint8_t *buf, size_t len)
{
	struct wbuf w = { buf, buf != NULL ? len : 0, 0, false };
	const struct hsdo_spop_action *a;
	size_t i;

	if (actions == NULL && n > 0)
		return -HSDO_EINVAL;
	for (i = 0; i < n; i++) {
		a = &actions[i];
		if ((unsigned)a->scope >= HSDO_SPOP_SCOPE_COUNT ||
		    (a->name.ptr == NULL && a->name.len > 0))
			return -HSDO_EINVAL;
		if (a->type == HSDO_SPOP_ACTION_SET_VAR) {
			if (data_valid(&a->value) < 0)
				return -HSDO_EINVAL;
		} else if (a->type != HSDO_SPOP_ACTION_UNSET_VAR) {
			return -HSDO_EINVAL;
		}
	}
	frame_begin(&w, HSDO_SPOP_FRAME_ACK, stream_id, frame_id);
	for (i = 0; i < n && !w.err; i++) {
		a = &actions[i];
		put_u8(&w, (uint8_t)a->type);
		put_u8(&w, a->type == HSDO_SPOP_ACTION_SET_VAR ? 3 : 2);
		put_u8(&w, (uint8_t)a->scope);
		put_bytes(&w, &a->name);
		if (a->type == HSDO_SPOP_ACTION_SET_VAR)
			put_data(&w, &a->value);
	}
	return frame_end(&w);
}
