/* SPOP codec: HAProxy's varints, typed data, frames and payloads against the
 * byte dumps recorded from HAProxy 2.6.12 (the wire format: docs/spoa.md),
 * every prefix of every frame, every truncation of
 * every payload (decoded from exactly-sized heap copies so ASan sees any
 * overread), encoder bounds with a canary, and round trips. */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/spop.h"
#include "hsdo_test.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
/* A string literal as (bytes, length): the literal's NUL is not counted. */
#define LIT(s) (const uint8_t *)(s), sizeof(s) - 1
#define CANARY 0xA5
#define GUARD 16

/* ---- the doc's frames ------------------------------------------------------------- */

/* §1.5: the normal HAPROXY-HELLO, 129-byte body, built from its description. */
#define HELLO_129 \
	"\x00\x00\x00\x81" "\x01" "\x00\x00\x00\x01" "\x00\x00" \
	"\x12" "supported-versions" "\x08\x03" "2.0" \
	"\x0e" "max-frame-size" "\x03\xfc\xf0\x06" \
	"\x0c" "capabilities" "\x08\x10" "pipelining,async" \
	"\x09" "engine-id" "\x08\x24" "3168f72c-717a-4fca-975c-495f0cacb120"

/* §1.5: the health-check HELLO, 82 bytes, verbatim. */
static const uint8_t hello_check[] = {
	0x00, 0x00, 0x00, 0x4e, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x12, 0x73, 0x75, 0x70, 0x70,
	0x6f, 0x72, 0x74, 0x65, 0x64, 0x2d, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6f, 0x6e, 0x73, 0x08, 0x03,
	0x32, 0x2e, 0x30, 0x0e, 0x6d, 0x61, 0x78, 0x2d, 0x66, 0x72, 0x61, 0x6d, 0x65, 0x2d, 0x73, 0x69,
	0x7a, 0x65, 0x03, 0xfc, 0xf0, 0x06, 0x0c, 0x63, 0x61, 0x70, 0x61, 0x62, 0x69, 0x6c, 0x69, 0x74,
	0x69, 0x65, 0x73, 0x08, 0x00, 0x0b, 0x68, 0x65, 0x61, 0x6c, 0x74, 0x68, 0x63, 0x68, 0x65, 0x63,
	0x6b, 0x11,
};

/* §1.7: NOTIFY for `args src=src method=method path=path`, verbatim. */
static const uint8_t notify_45[] = {
	0x00, 0x00, 0x00, 0x2d, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x07, 0x72, 0x65, 0x71, 0x2d,
	0x6d, 0x73, 0x67, 0x03, 0x03, 0x73, 0x72, 0x63, 0x06, 0x7f, 0x00, 0x00, 0x01, 0x06, 0x6d, 0x65,
	0x74, 0x68, 0x6f, 0x64, 0x08, 0x03, 0x47, 0x45, 0x54, 0x04, 0x70, 0x61, 0x74, 0x68, 0x08, 0x01,
	0x2f,
};
#define NOTIFY_NARGS_OFF 19   /* nb-args of "req-msg" */
#define NOTIFY_IPV4_OFF  24   /* type byte of src */
#define NOTIFY_PATHLEN_OFF 47 /* STRING length of path */

/* §1.8: HAPROXY-DISCONNECT on `timeout idle`. */
#define DISCONNECT_49 \
	"\x00\x00\x00\x31" "\x02" "\x00\x00\x00\x01" "\x00\x00" \
	"\x0b" "status-code" "\x03\x02" "\x07" "message" "\x08\x12" "a timeout occurred"

/* §1.5: the 68-byte AGENT-HELLO, verbatim. */
static const uint8_t agent_hello_68[] = {
	0x00, 0x00, 0x00, 0x40, 0x65, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x07, 0x76, 0x65, 0x72, 0x73,
	0x69, 0x6f, 0x6e, 0x08, 0x03, 0x32, 0x2e, 0x30, 0x0e, 0x6d, 0x61, 0x78, 0x2d, 0x66, 0x72, 0x61,
	0x6d, 0x65, 0x2d, 0x73, 0x69, 0x7a, 0x65, 0x03, 0xfc, 0xf0, 0x06, 0x0c, 0x63, 0x61, 0x70, 0x61,
	0x62, 0x69, 0x6c, 0x69, 0x74, 0x69, 0x65, 0x73, 0x08, 0x0a, 0x70, 0x69, 0x70, 0x65, 0x6c, 0x69,
	0x6e, 0x69, 0x6e, 0x67,
};

/* §1.7: ACK setting txn.<pfx>.seen = INT32 1 and unsetting txn.<pfx>.old. */
#define ACK_28 \
	"\x00\x00\x00\x18" "\x67" "\x00\x00\x00\x01" "\x00\x01" \
	"\x01\x03\x02\x04" "seen" "\x02\x01" \
	"\x02\x02\x02\x03" "old"

/* Ours: AGENT-DISCONNECT status 0 with the default message. */
#define AGENT_DISCONNECT_NORMAL \
	"\x00\x00\x00\x25" "\x66" "\x00\x00\x00\x01" "\x00\x00" \
	"\x0b" "status-code" "\x03\x00" "\x07" "message" "\x08\x06" "normal"

enum list_kind { LIST_KV, LIST_MSG, LIST_ACTION };

static const struct vec {
	const char *name;
	const uint8_t *bytes;
	size_t len;
	size_t want_len;          /* the doc's total size */
	uint8_t type;
	uint64_t sid, fid;
	enum list_kind kind;
} vecs[] = {
	{ "hello_129", LIT(HELLO_129), 4 + 129, HSDO_SPOP_FRAME_HAPROXY_HELLO, 0, 0, LIST_KV },
	{ "hello_check", hello_check, sizeof(hello_check), 82, HSDO_SPOP_FRAME_HAPROXY_HELLO, 0, 0, LIST_KV },
	{ "notify_45", notify_45, sizeof(notify_45), 4 + 45, HSDO_SPOP_FRAME_NOTIFY, 0, 1, LIST_MSG },
	{ "disconnect", LIT(DISCONNECT_49), 4 + 0x31, HSDO_SPOP_FRAME_HAPROXY_DISCONNECT, 0, 0, LIST_KV },
	{ "agent_hello_68", agent_hello_68, sizeof(agent_hello_68), 68, HSDO_SPOP_FRAME_AGENT_HELLO, 0, 0, LIST_KV },
	{ "ack_28", LIT(ACK_28), 28, HSDO_SPOP_FRAME_ACK, 0, 1, LIST_ACTION },
	{ "agent_disconnect", LIT(AGENT_DISCONNECT_NORMAL), 4 + 0x25, HSDO_SPOP_FRAME_AGENT_DISCONNECT, 0, 0, LIST_KV },
};

/* ---- helpers ----------------------------------------------------------------------- */

/* An exactly-sized heap copy, so reading one byte past the end trips ASan. */
static uint8_t *dup_exact(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n > 0 ? n : 1);

	ck_assert_ptr_nonnull(c);
	if (n > 0)
		memcpy(c, p, n);
	return c;
}

static bool bytes_is(const struct hsdo_spop_bytes *b, const char *s)
{
	return b->len == strlen(s) && (b->len == 0 || memcmp(b->ptr, s, b->len) == 0);
}

/* Decode a whole frame that must be valid; out->payload points into buf. */
static void decode_ok(const uint8_t *buf, size_t len, struct hsdo_spop_frame *f)
{
	int rc = hsdo_spop_frame_decode(buf, len, UINT32_MAX, f);

	ck_assert_int_eq(rc, (int)len);
}

/* A growable-enough byte builder for test frames (fixed capacity). */
struct build {
	uint8_t b[4096];
	size_t n;
};

static void b_mem(struct build *w, const void *p, size_t n)
{
	ck_assert_uint_le(w->n + n, sizeof(w->b));
	memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void b_u8(struct build *w, uint8_t v)
{
	b_mem(w, &v, 1);
}

static void b_varint(struct build *w, uint64_t v)
{
	uint8_t t[10];
	int n = hsdo_spop_varint_encode(v, t, sizeof(t));

	ck_assert_int_gt(n, 0);
	b_mem(w, t, (size_t)n);
}

static void b_name(struct build *w, const char *s)
{
	b_varint(w, strlen(s));
	b_mem(w, s, strlen(s));
}

static void b_data(struct build *w, const struct hsdo_spop_data *d)
{
	int n = hsdo_spop_data_encode(d, w->b + w->n, sizeof(w->b) - w->n);

	ck_assert_int_gt(n, 0);
	w->n += (size_t)n;
}

/* Start a frame: length placeholder, type, flags, ids. */
static void b_header(struct build *w, uint8_t type, uint32_t flags, uint64_t sid, uint64_t fid)
{
	uint8_t fl[4] = { (uint8_t)(flags >> 24), (uint8_t)(flags >> 16),
		(uint8_t)(flags >> 8), (uint8_t)flags };

	w->n = 0;
	b_mem(w, "\0\0\0\0", 4);
	b_u8(w, type);
	b_mem(w, fl, 4);
	b_varint(w, sid);
	b_varint(w, fid);
}

static void b_finish(struct build *w)
{
	size_t body = w->n - 4;

	w->b[0] = (uint8_t)(body >> 24);
	w->b[1] = (uint8_t)(body >> 16);
	w->b[2] = (uint8_t)(body >> 8);
	w->b[3] = (uint8_t)body;
}

static struct hsdo_spop_data d_str(const char *s)
{
	struct hsdo_spop_data d = { .type = HSDO_SPOP_DATA_STRING };

	d.bytes = hsdo_spop_cstr(s);
	return d;
}

static struct hsdo_spop_data d_int(enum hsdo_spop_data_type t, int64_t v)
{
	struct hsdo_spop_data d = { .type = t };

	if (t == HSDO_SPOP_DATA_UINT32 || t == HSDO_SPOP_DATA_UINT64)
		d.u = (uint64_t)v;
	else
		d.i = v;
	return d;
}

/* Copy frame with its payload cut to `keep` bytes (length field adjusted),
 * into an exactly-sized heap buffer; *len gets its size. */
static uint8_t *truncated_frame(const uint8_t *frame, size_t flen, size_t keep, size_t *len)
{
	struct hsdo_spop_frame f;
	size_t off;
	uint8_t *c;

	decode_ok(frame, flen, &f);
	off = (size_t)(f.payload - frame);
	ck_assert_uint_le(keep, f.payload_len);
	*len = off + keep;
	c = dup_exact(frame, *len);
	c[0] = (uint8_t)((*len - 4) >> 24);
	c[1] = (uint8_t)((*len - 4) >> 16);
	c[2] = (uint8_t)((*len - 4) >> 8);
	c[3] = (uint8_t)(*len - 4);
	return c;
}

/* Walk a list payload to its end; returns the final rc (0 or <0) and the
 * item boundaries (payload offsets) in bounds[0..*nb). */
static int walk(enum list_kind kind, const uint8_t *p, size_t len, size_t *bounds, size_t *nb)
{
	struct hsdo_spop_iter it;
	struct hsdo_spop_kv kv;
	struct hsdo_spop_msg msg;
	struct hsdo_spop_arg arg;
	struct hsdo_spop_action a;
	int rc, ra;

	hsdo_spop_iter_init(&it, p, len);
	*nb = 0;
	bounds[(*nb)++] = 0;
	for (;;) {
		switch (kind) {
		case LIST_KV:
			rc = hsdo_spop_kv_next(&it, &kv);
			break;
		case LIST_MSG:
			rc = hsdo_spop_msg_next(&it, &msg);
			if (rc == 1) {
				unsigned n = 0;

				while ((ra = hsdo_spop_arg_next(&msg, &arg)) == 1)
					n++;
				ck_assert_int_eq(ra, 0);
				ck_assert_uint_eq(n, msg.nb_args);
			}
			break;
		default:
			rc = hsdo_spop_action_next(&it, &a);
			break;
		}
		if (rc != 1)
			return rc;
		ck_assert(it.p >= p && it.p <= p + len);
		bounds[(*nb)++] = (size_t)(it.p - p);
	}
}

/* ---- varints ------------------------------------------------------------------------ */

static const struct {
	uint64_t v;
	const uint8_t *enc;
	size_t len;
} varint_cases[] = {
	{ 0, LIT("\x00") },
	{ 239, LIT("\xef") },
	{ 240, LIT("\xf0\x00") },
	{ 255, LIT("\xff\x00") },
	{ 300, LIT("\xfc\x03") },
	{ 2287, LIT("\xff\x7f") },
	{ 2288, LIT("\xf0\x80\x00") },
	{ 16380, LIT("\xfc\xf0\x06") },
	{ 264431, LIT("\xff\xff\x7f") },
	{ 264432, LIT("\xf0\x80\x80\x00") },
	{ 33818864, LIT("\xf0\x80\x80\x80\x00") },
	{ UINT32_MAX, LIT("\xff\xf0\xfe\xfe\x7e") },
	{ UINT64_MAX, LIT("\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e") },
	{ 1795703520851ULL, LIT("\xf3\xd6\xa6\x90\x8b\xa1\x02") },
};

START_TEST(varint_table)
{
	uint8_t buf[16 + GUARD], *c;
	uint64_t v = 12345;
	size_t k, n = varint_cases[_i].len;
	int rc;

	/* encode: exact bytes, and exactly n of them */
	memset(buf, CANARY, sizeof(buf));
	rc = hsdo_spop_varint_encode(varint_cases[_i].v, buf, sizeof(buf) - GUARD);
	ck_assert_int_eq(rc, (int)n);
	ck_assert_mem_eq(buf, varint_cases[_i].enc, n);
	ck_assert_uint_eq(buf[n], CANARY);
	/* every shorter buffer is too small and untouched past its end */
	for (k = 0; k < n; k++) {
		memset(buf, CANARY, sizeof(buf));
		ck_assert_int_eq(hsdo_spop_varint_encode(varint_cases[_i].v, buf, k), -HSDO_ETOOBIG);
		ck_assert_uint_eq(buf[k], CANARY);
	}
	/* decode from an exact copy, and every prefix is incomplete */
	c = dup_exact(varint_cases[_i].enc, n);
	ck_assert_int_eq(hsdo_spop_varint_decode(c, n, &v), (int)n);
	ck_assert_uint_eq(v, varint_cases[_i].v);
	free(c);
	for (k = 0; k < n; k++) {
		c = dup_exact(varint_cases[_i].enc, k);
		ck_assert_int_eq(hsdo_spop_varint_decode(c, k, &v), -HSDO_EAGAIN);
		free(c);
	}
}
END_TEST

/* xorshift64*: a fixed sequence, so a failure replays. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

START_TEST(varint_random_round_trip)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL, v, back;
	uint8_t buf[10];
	int i, n, seen[11] = { 0 };

	/* plain ifs in the loop: each ck_assert is a write to check's pipe */
	for (i = 0; i < 200000; i++) {
		v = rnd(&seed) >> (rnd(&seed) % 64);
		n = hsdo_spop_varint_encode(v, buf, sizeof(buf));
		if (n < 1 || n > 10 || hsdo_spop_varint_decode(buf, (size_t)n, &back) != n || back != v)
			ck_abort_msg("round trip of %llu: n=%d back=%llu", (unsigned long long)v, n,
				(unsigned long long)back);
		/* only the last byte is below 0x80 (and the first, if alone, below 240) */
		if (!(n == 1 ? buf[0] < 240 : buf[0] >= 240 && buf[n - 1] < 128))
			ck_abort_msg("bad bytes for %llu", (unsigned long long)v);
		seen[n] = 1;
	}
	for (n = 1; n <= 10; n++)
		ck_assert_msg(seen[n], "no %d-byte varint drawn", n);
}
END_TEST

START_TEST(varint_boundaries)
{
	/* each value where the length grows, and its neighbours */
	static const uint64_t edges[] = { 240, 2288, 264432, 33818864, 4328786160ULL,
		554084600048ULL, 70922828777712ULL, 9078122083518704ULL, 1161999626690365680ULL };
	uint8_t buf[10];
	uint64_t back;
	size_t i;

	for (i = 0; i < NELEM(edges); i++) {
		ck_assert_int_eq(hsdo_spop_varint_encode(edges[i] - 1, buf, sizeof(buf)), (int)i + 1);
		ck_assert_int_eq(hsdo_spop_varint_encode(edges[i], buf, sizeof(buf)), (int)i + 2);
		ck_assert_int_eq(hsdo_spop_varint_decode(buf, sizeof(buf), &back), (int)i + 2);
		ck_assert_uint_eq(back, edges[i]);
	}
}
END_TEST

START_TEST(varint_bad)
{
	uint64_t v = 7;

	/* 11 bytes: refused as soon as the 10th still continues */
	ck_assert_int_eq(hsdo_spop_varint_decode(LIT("\xf0\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00"), &v),
		-HSDO_EPROTO);
	ck_assert_int_eq(hsdo_spop_varint_decode(LIT("\xf0\x80\x80\x80\x80\x80\x80\x80\x80\x80"), &v),
		-HSDO_EPROTO);
	/* 10 bytes past 2^64-1 */
	ck_assert_int_eq(hsdo_spop_varint_decode(LIT("\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0f"), &v),
		-HSDO_EPROTO);
	ck_assert_int_eq(hsdo_spop_varint_decode(LIT("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"), &v),
		-HSDO_EPROTO);
	ck_assert_uint_eq(v, 7);
	ck_assert_int_eq(hsdo_spop_varint_decode(NULL, 0, &v), -HSDO_EAGAIN);
	/* non-minimal forms decode, as in HAProxy: 0xff + (0x80 << 4) + 0 */
	ck_assert_int_eq(hsdo_spop_varint_decode(LIT("\xff\x80\x00"), &v), 3);
	ck_assert_uint_eq(v, 255 + (128 << 4));
	/* trailing bytes are not consumed */
	ck_assert_int_eq(hsdo_spop_varint_decode(LIT("\xfc\x03\x05"), &v), 2);
	ck_assert_uint_eq(v, 300);
}
END_TEST

/* ---- typed data ---------------------------------------------------------------------- */

static const struct data_case {
	const char *name;
	const uint8_t *enc;
	size_t len;
	enum hsdo_spop_data_type type;
	int64_t i;            /* INT32/INT64; BOOL as 0/1 */
	uint64_t u;           /* UINT32/UINT64 */
	const char *raw;      /* IP bytes or STRING/BINARY body */
	size_t rawlen;
} data_cases[] = {
	{ "null", LIT("\x00"), HSDO_SPOP_DATA_NULL, 0, 0, NULL, 0 },
	{ "false", LIT("\x01"), HSDO_SPOP_DATA_BOOL, 0, 0, NULL, 0 },
	{ "true", LIT("\x11"), HSDO_SPOP_DATA_BOOL, 1, 0, NULL, 0 },
	{ "int32 1", LIT("\x02\x01"), HSDO_SPOP_DATA_INT32, 1, 0, NULL, 0 },
	{ "int32 -1", LIT("\x02\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e"), HSDO_SPOP_DATA_INT32, -1, 0, NULL, 0 },
	{ "uint32 16380", LIT("\x03\xfc\xf0\x06"), HSDO_SPOP_DATA_UINT32, 0, 16380, NULL, 0 },
	{ "uint32 max", LIT("\x03\xff\xf0\xfe\xfe\x7e"), HSDO_SPOP_DATA_UINT32, 0, UINT32_MAX, NULL, 0 },
	{ "int64 date", LIT("\x04\xf3\xd6\xa6\x90\x8b\xa1\x02"), HSDO_SPOP_DATA_INT64, 1795703520851LL, 0, NULL, 0 },
	{ "int64 -1", LIT("\x04\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e"), HSDO_SPOP_DATA_INT64, -1, 0, NULL, 0 },
	{ "uint64 max", LIT("\x05\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e"), HSDO_SPOP_DATA_UINT64, 0, UINT64_MAX, NULL, 0 },
	{ "ipv4", LIT("\x06\x7f\x00\x00\x01"), HSDO_SPOP_DATA_IPV4, 0, 0, "\x7f\x00\x00\x01", 4 },
	{ "ipv6", LIT("\x07\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01"),
		HSDO_SPOP_DATA_IPV6, 0, 0, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16 },
	{ "string", LIT("\x08\x03" "GET"), HSDO_SPOP_DATA_STRING, 0, 0, "GET", 3 },
	{ "string empty", LIT("\x08\x00"), HSDO_SPOP_DATA_STRING, 0, 0, "", 0 },
	{ "binary", LIT("\x09\x03\x00\xff\x00"), HSDO_SPOP_DATA_BINARY, 0, 0, "\x00\xff\x00", 3 },
};

static void check_data(const struct data_case *c, const struct hsdo_spop_data *d)
{
	ck_assert_int_eq(d->type, c->type);
	switch (c->type) {
	case HSDO_SPOP_DATA_BOOL:
		ck_assert_int_eq(d->b, c->i != 0);
		break;
	case HSDO_SPOP_DATA_INT32:
	case HSDO_SPOP_DATA_INT64:
		ck_assert_int_eq(d->i, c->i);
		break;
	case HSDO_SPOP_DATA_UINT32:
	case HSDO_SPOP_DATA_UINT64:
		ck_assert_uint_eq(d->u, c->u);
		break;
	case HSDO_SPOP_DATA_IPV4:
	case HSDO_SPOP_DATA_IPV6:
		ck_assert_mem_eq(d->ip, c->raw, c->rawlen);
		break;
	case HSDO_SPOP_DATA_STRING:
	case HSDO_SPOP_DATA_BINARY:
		ck_assert_uint_eq(d->bytes.len, c->rawlen);
		if (c->rawlen > 0)
			ck_assert_mem_eq(d->bytes.ptr, c->raw, c->rawlen);
		break;
	default:
		break;
	}
}

START_TEST(data_table)
{
	const struct data_case *c = &data_cases[_i];
	struct hsdo_spop_data d;
	uint8_t out[32 + GUARD], *copy;
	size_t k;

	copy = dup_exact(c->enc, c->len);
	ck_assert_int_eq(hsdo_spop_data_decode(copy, c->len, &d), (int)c->len);
	check_data(c, &d);
	/* a string points into the input */
	if (c->type == HSDO_SPOP_DATA_STRING || c->type == HSDO_SPOP_DATA_BINARY)
		ck_assert_ptr_eq(d.bytes.ptr, copy + c->len - c->rawlen);
	/* re-encoding gives the same bytes; shorter buffers are refused */
	memset(out, CANARY, sizeof(out));
	ck_assert_int_eq(hsdo_spop_data_encode(&d, out, sizeof(out) - GUARD), (int)c->len);
	ck_assert_mem_eq(out, c->enc, c->len);
	for (k = 0; k < c->len; k++) {
		memset(out, CANARY, sizeof(out));
		ck_assert_int_eq(hsdo_spop_data_encode(&d, out, k), -HSDO_ETOOBIG);
		ck_assert_uint_eq(out[k], CANARY);
	}
	free(copy);
	for (k = 0; k < c->len; k++) {
		copy = dup_exact(c->enc, k);
		ck_assert_int_eq(hsdo_spop_data_decode(copy, k, &d), -HSDO_EAGAIN);
		free(copy);
	}
}
END_TEST

START_TEST(data_reserved_types)
{
	/* loop over 10..15, with and without flag bits */
	uint8_t b[2] = { (uint8_t)(10 + _i), 0 };
	struct hsdo_spop_data d;

	ck_assert_int_eq(hsdo_spop_data_decode(b, 2, &d), -HSDO_EPROTO);
	b[0] |= 0xF0;
	ck_assert_int_eq(hsdo_spop_data_decode(b, 2, &d), -HSDO_EPROTO);
	b[0] = (uint8_t)(10 + _i);
	ck_assert_int_eq(hsdo_spop_data_decode(b, 1, &d), -HSDO_EPROTO);
	d.type = (enum hsdo_spop_data_type)(10 + _i);
	ck_assert_int_eq(hsdo_spop_data_encode(&d, b, sizeof(b)), -HSDO_EINVAL);
}
END_TEST

START_TEST(data_ranges_and_flags)
{
	struct hsdo_spop_data d;
	uint8_t buf[16];
	int n;

	/* INT32 and UINT32 must fit 32 bits */
	d = d_int(HSDO_SPOP_DATA_INT64, (int64_t)INT32_MAX + 1);
	n = hsdo_spop_data_encode(&d, buf, sizeof(buf));
	buf[0] = HSDO_SPOP_DATA_INT32;
	ck_assert_int_eq(hsdo_spop_data_decode(buf, (size_t)n, &d), -HSDO_EPROTO);
	d = d_int(HSDO_SPOP_DATA_INT64, INT32_MIN);
	n = hsdo_spop_data_encode(&d, buf, sizeof(buf));
	ck_assert_int_eq(n, 11);
	buf[0] = HSDO_SPOP_DATA_INT32;
	ck_assert_int_eq(hsdo_spop_data_decode(buf, (size_t)n, &d), n);
	ck_assert_int_eq(d.i, INT32_MIN);
	d = d_int(HSDO_SPOP_DATA_UINT64, (int64_t)UINT32_MAX + 1);
	n = hsdo_spop_data_encode(&d, buf, sizeof(buf));
	buf[0] = HSDO_SPOP_DATA_UINT32;
	ck_assert_int_eq(hsdo_spop_data_decode(buf, (size_t)n, &d), -HSDO_EPROTO);
	/* the encoder refuses the same */
	d = d_int(HSDO_SPOP_DATA_INT32, (int64_t)INT32_MAX + 1);
	ck_assert_int_eq(hsdo_spop_data_encode(&d, buf, sizeof(buf)), -HSDO_EINVAL);
	d = d_int(HSDO_SPOP_DATA_INT32, (int64_t)INT32_MIN - 1);
	ck_assert_int_eq(hsdo_spop_data_encode(&d, buf, sizeof(buf)), -HSDO_EINVAL);
	d = d_int(HSDO_SPOP_DATA_UINT32, (int64_t)UINT32_MAX + 1);
	ck_assert_int_eq(hsdo_spop_data_encode(&d, buf, sizeof(buf)), -HSDO_EINVAL);
	d.type = HSDO_SPOP_DATA_STRING;
	d.bytes.ptr = NULL;
	d.bytes.len = 3;
	ck_assert_int_eq(hsdo_spop_data_encode(&d, buf, sizeof(buf)), -HSDO_EINVAL);
	/* flag bits on a non-BOOL type are ignored, as HAProxy does */
	ck_assert_int_eq(hsdo_spop_data_decode(LIT("\x32\x05"), &d), 2);
	ck_assert_int_eq(d.type, HSDO_SPOP_DATA_INT32);
	ck_assert_int_eq(d.i, 5);
	ck_assert_int_eq(hsdo_spop_data_decode(LIT("\xf1"), &d), 1);
	ck_assert(d.b);
	ck_assert_int_eq(hsdo_spop_data_decode(LIT("\xe1"), &d), 1);
	ck_assert(!d.b);
}
END_TEST

START_TEST(data_long_string)
{
	uint8_t raw[400], enc[410], *copy;
	struct hsdo_spop_data d = { .type = HSDO_SPOP_DATA_BINARY }, back;
	size_t i;
	int n;

	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)i;
	d.bytes.ptr = raw;
	d.bytes.len = sizeof(raw);
	n = hsdo_spop_data_encode(&d, enc, sizeof(enc));
	ck_assert_int_eq(n, 1 + 2 + 400); /* 400 takes a 2-byte varint */
	copy = dup_exact(enc, (size_t)n);
	ck_assert_int_eq(hsdo_spop_data_decode(copy, (size_t)n, &back), n);
	ck_assert_uint_eq(back.bytes.len, 400);
	ck_assert_mem_eq(back.bytes.ptr, raw, 400);
	/* the length claims one byte more than there is */
	ck_assert_int_eq(hsdo_spop_data_decode(copy, (size_t)n - 1, &back), -HSDO_EAGAIN);
	free(copy);
	/* a string length past 2^63 does not wrap */
	ck_assert_int_eq(hsdo_spop_data_decode(LIT("\x08\xff\xf0\xfe\xfe\xfe\xfe\xfe\xfe\xfe\x0e" "ab"), &back),
		-HSDO_EAGAIN);
}
END_TEST

/* ---- frames ----------------------------------------------------------------------------- */

START_TEST(frame_vectors)
{
	const struct vec *v = &vecs[_i];
	struct hsdo_spop_frame f;
	uint8_t *c = dup_exact(v->bytes, v->len);

	ck_assert_uint_eq(v->len, v->want_len);
	ck_assert_int_eq(hsdo_spop_frame_decode(c, v->len, HSDO_SPOP_FRAME_DEFAULT, &f), (int)v->len);
	ck_assert_uint_eq(f.type, v->type);
	ck_assert_uint_eq(f.flags, HSDO_SPOP_FLAG_FIN);
	ck_assert_uint_eq(f.stream_id, v->sid);
	ck_assert_uint_eq(f.frame_id, v->fid);
	ck_assert_ptr_eq(f.payload, c + 11);
	ck_assert_uint_eq(f.payload_len, v->len - 11);
	/* the same frame is too big for a peer that allows one byte less */
	ck_assert_int_eq(hsdo_spop_frame_decode(c, v->len, (uint32_t)v->len - 5, &f), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_spop_frame_decode(c, v->len, (uint32_t)v->len - 4, &f), (int)v->len);
	free(c);
}
END_TEST

START_TEST(frame_every_prefix)
{
	const struct vec *v = &vecs[_i];
	struct hsdo_spop_frame f;
	size_t k;

	for (k = 0; k < v->len; k++) {
		uint8_t *c = dup_exact(v->bytes, k);

		ck_assert_int_eq(hsdo_spop_frame_decode(c, k, HSDO_SPOP_FRAME_DEFAULT, &f), -HSDO_EAGAIN);
		ck_assert_int_eq(hsdo_spop_frame_decode(c, k, UINT32_MAX, &f), -HSDO_EAGAIN);
		free(c);
	}
}
END_TEST

START_TEST(frame_sizes)
{
	struct hsdo_spop_frame f;
	uint8_t hdr[4];
	uint32_t n;

	/* oversize: refused from the 4 length bytes alone */
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\x00\x00\x3f\xfd"), 16380, &f), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\x00\x00\x3f\xfc"), 16380, &f), -HSDO_EAGAIN);
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\xff\xff\xff\xff"), 16380, &f), -HSDO_ETOOBIG);
	/* a size the int result could not carry, even when the peer allows it */
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\x7f\xff\xff\xff"), UINT32_MAX, &f), -HSDO_ETOOBIG);
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\x7f\xff\xff\xfb"), UINT32_MAX, &f), -HSDO_EAGAIN);
	/* shorter than type + flags + two ids */
	for (n = 0; n < HSDO_SPOP_HEADER_MIN; n++) {
		hdr[0] = hdr[1] = hdr[2] = 0;
		hdr[3] = (uint8_t)n;
		ck_assert_int_eq(hsdo_spop_frame_decode(hdr, 4, 16380, &f), -HSDO_EPROTO);
	}
	/* 7 bytes whose ids do not fit: stream-id needs 2 bytes, frame-id none left */
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\x00\x00\x00\x07\x03\x00\x00\x00\x01\xf0\x00"), 16380, &f),
		-HSDO_EPROTO);
	/* an 11-byte frame-id varint */
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\x00\x00\x00\x11\x03\x00\x00\x00\x01\x00"
		"\xf0\x80\x80\x80\x80\x80\x80\x80\x80\x80\x00"), 16380, &f), -HSDO_EPROTO);
	/* the smallest frame: empty payload */
	ck_assert_int_eq(hsdo_spop_frame_decode(LIT("\x00\x00\x00\x07\x03\x00\x00\x00\x01\x05\x06"), 16380, &f), 11);
	ck_assert_uint_eq(f.payload_len, 0);
	ck_assert_uint_eq(f.stream_id, 5);
	ck_assert_uint_eq(f.frame_id, 6);
	ck_assert_int_eq(hsdo_spop_frame_decode(NULL, 4, 16380, &f), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_spop_frame_decode(notify_45, sizeof(notify_45), 16380, NULL), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_spop_frame_error_status(-HSDO_ETOOBIG), HSDO_SPOP_ST_TOO_BIG);
	ck_assert_int_eq(hsdo_spop_frame_error_status(-HSDO_EPROTO), HSDO_SPOP_ST_INVALID);
	ck_assert_int_eq(hsdo_spop_frame_error_status(-HSDO_ENOMEM), HSDO_SPOP_ST_UNKNOWN);
}
END_TEST

START_TEST(frame_back_to_back)
{
	uint8_t stream[sizeof(hello_check) + sizeof(notify_45)];
	struct hsdo_spop_frame f;
	int n;

	memcpy(stream, hello_check, sizeof(hello_check));
	memcpy(stream + sizeof(hello_check), notify_45, sizeof(notify_45));
	n = hsdo_spop_frame_decode(stream, sizeof(stream), 16380, &f);
	ck_assert_int_eq(n, (int)sizeof(hello_check));
	ck_assert_uint_eq(f.type, HSDO_SPOP_FRAME_HAPROXY_HELLO);
	ck_assert_int_eq(hsdo_spop_frame_decode(stream + n, sizeof(stream) - (size_t)n, 16380, &f),
		(int)sizeof(notify_45));
	ck_assert_uint_eq(f.type, HSDO_SPOP_FRAME_NOTIFY);
}
END_TEST

static const struct check_case {
	uint8_t type;
	uint32_t flags;
	uint64_t sid, fid;
	int rc;
	enum hsdo_spop_status st;
} check_cases[] = {
	{ HSDO_SPOP_FRAME_HAPROXY_HELLO, HSDO_SPOP_FLAG_FIN, 0, 0, 0, HSDO_SPOP_ST_NORMAL },
	{ HSDO_SPOP_FRAME_HAPROXY_DISCONNECT, HSDO_SPOP_FLAG_FIN, 0, 0, 0, HSDO_SPOP_ST_NORMAL },
	{ HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 0, 1, 0, HSDO_SPOP_ST_NORMAL },
	{ HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 77, 1234567, 0, HSDO_SPOP_ST_NORMAL },
	/* reserved flag bits are ignored */
	{ HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN | 0x80000000u, 0, 1, 0, HSDO_SPOP_ST_NORMAL },
	{ HSDO_SPOP_FRAME_NOTIFY, 0, 0, 1, -HSDO_EPROTO, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED },
	{ HSDO_SPOP_FRAME_HAPROXY_HELLO, 0, 0, 0, -HSDO_EPROTO, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED },
	{ HSDO_SPOP_FRAME_HAPROXY_DISCONNECT, 0, 0, 0, -HSDO_EPROTO, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED },
	{ HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN | HSDO_SPOP_FLAG_ABORT, 0, 1, -HSDO_EPROTO,
		HSDO_SPOP_ST_FRAG_NOT_SUPPORTED },
	{ HSDO_SPOP_FRAME_UNSET, HSDO_SPOP_FLAG_FIN, 0, 1, -HSDO_EPROTO, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED },
	{ 4, HSDO_SPOP_FLAG_FIN, 0, 0, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
	{ 100, HSDO_SPOP_FLAG_FIN, 0, 0, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
	{ 255, HSDO_SPOP_FLAG_FIN, 0, 0, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
	/* agent frames do not come from HAProxy */
	{ HSDO_SPOP_FRAME_AGENT_HELLO, HSDO_SPOP_FLAG_FIN, 0, 0, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
	{ HSDO_SPOP_FRAME_ACK, HSDO_SPOP_FLAG_FIN, 0, 1, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
	/* HELLO and DISCONNECT carry ids 0 */
	{ HSDO_SPOP_FRAME_HAPROXY_HELLO, HSDO_SPOP_FLAG_FIN, 1, 0, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
	{ HSDO_SPOP_FRAME_HAPROXY_HELLO, HSDO_SPOP_FLAG_FIN, 0, 1, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
	{ HSDO_SPOP_FRAME_HAPROXY_DISCONNECT, HSDO_SPOP_FLAG_FIN, 0, 300, -HSDO_EPROTO, HSDO_SPOP_ST_INVALID },
};

START_TEST(frame_check_table)
{
	const struct check_case *c = &check_cases[_i];
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;
	struct hsdo_spop_frame f;
	struct build w;
	uint8_t *copy;

	b_header(&w, c->type, c->flags, c->sid, c->fid);
	b_finish(&w);
	copy = dup_exact(w.b, w.n);
	decode_ok(copy, w.n, &f);
	ck_assert_uint_eq(f.type, c->type);
	ck_assert_uint_eq(f.flags, c->flags);
	ck_assert_int_eq(hsdo_spop_frame_check(&f, &st), c->rc);
	ck_assert_int_eq(st, c->st);
	free(copy);
}
END_TEST

/* ---- every truncation of every payload ---------------------------------------------------- */

/* Type-specific decoder on a frame: rc and status; 1 if there is none. */
static int decode_payload(const struct hsdo_spop_frame *f, enum hsdo_spop_status *st)
{
	struct hsdo_spop_hello h;
	struct hsdo_spop_disconnect d;
	struct hsdo_spop_iter it;
	struct hsdo_spop_msg msg;
	int rc;

	switch (f->type) {
	case HSDO_SPOP_FRAME_HAPROXY_HELLO:
		return hsdo_spop_hello_decode(f, &h, st);
	case HSDO_SPOP_FRAME_HAPROXY_DISCONNECT:
	case HSDO_SPOP_FRAME_AGENT_DISCONNECT:
		return hsdo_spop_disconnect_decode(f, &d, st);
	case HSDO_SPOP_FRAME_NOTIFY:
		rc = hsdo_spop_notify_begin(f, &it, st);
		while (rc == 0 && (rc = hsdo_spop_msg_next(&it, &msg)) == 1)
			rc = 0;
		if (rc < 0 && st != NULL)
			*st = HSDO_SPOP_ST_INVALID; /* what msg_next errors mean */
		return rc;
	default:
		return 1;
	}
}

START_TEST(payload_every_truncation)
{
	const struct vec *v = &vecs[_i];
	struct hsdo_spop_frame f;
	size_t bounds[64], nb, tb[64], ntb, keep, len, j;
	enum hsdo_spop_status st;
	bool boundary;
	int rc;

	decode_ok(v->bytes, v->len, &f);
	ck_assert_int_eq(walk(v->kind, f.payload, f.payload_len, bounds, &nb), 0);
	ck_assert_uint_eq(bounds[nb - 1], f.payload_len);
	ck_assert_uint_ge(nb, 2);
	/* the full payload decodes */
	st = HSDO_SPOP_ST_UNKNOWN;
	ck_assert_int_ge(decode_payload(&f, &st), 0);
	for (keep = 0; keep < f.payload_len; keep++) {
		uint8_t *c = truncated_frame(v->bytes, v->len, keep, &len);
		struct hsdo_spop_frame t;

		decode_ok(c, len, &t);
		ck_assert_uint_eq(t.payload_len, keep);
		boundary = false;
		for (j = 0; j < nb; j++)
			boundary |= bounds[j] == keep;
		/* a cut between items is a shorter list; anywhere else, an error */
		rc = walk(v->kind, t.payload, t.payload_len, tb, &ntb);
		ck_assert_msg(boundary ? rc == 0 : rc == -HSDO_EPROTO,
			"%s keep=%zu boundary=%d rc=%d", v->name, keep, boundary, rc);
		st = HSDO_SPOP_ST_NORMAL;
		rc = decode_payload(&t, &st);
		if (rc < 0) {
			ck_assert_int_eq(rc, -HSDO_EPROTO);
			ck_assert(st == HSDO_SPOP_ST_INVALID || st == HSDO_SPOP_ST_NO_VSN ||
				st == HSDO_SPOP_ST_NO_FRAME_SIZE || st == HSDO_SPOP_ST_NO_CAP);
		} else if (rc == 0) {
			ck_assert_msg(boundary, "%s keep=%zu decoded mid-item", v->name, keep);
		}
		free(c);
	}
}
END_TEST

/* ---- HELLO ---------------------------------------------------------------------------------- */

START_TEST(hello_129)
{
	struct hsdo_spop_frame f;
	struct hsdo_spop_hello h;
	enum hsdo_spop_status st = HSDO_SPOP_ST_UNKNOWN;
	uint8_t *c = dup_exact(LIT(HELLO_129));

	decode_ok(c, 133, &f);
	ck_assert_int_eq(hsdo_spop_frame_check(&f, &st), 0);
	ck_assert_int_eq(hsdo_spop_hello_decode(&f, &h, &st), 0);
	ck_assert(bytes_is(&h.versions, "2.0"));
	ck_assert_uint_eq(h.max_frame_size, 16380);
	ck_assert(bytes_is(&h.capabilities, "pipelining,async"));
	ck_assert_uint_eq(h.caps, HSDO_SPOP_CAP_PIPELINING | HSDO_SPOP_CAP_ASYNC);
	ck_assert(h.has_engine_id);
	ck_assert(bytes_is(&h.engine_id, "3168f72c-717a-4fca-975c-495f0cacb120"));
	ck_assert_ptr_eq(h.engine_id.ptr, c + 133 - 36); /* borrowed */
	ck_assert(!h.healthcheck);
	free(c);
}
END_TEST

START_TEST(hello_healthcheck)
{
	struct hsdo_spop_frame f;
	struct hsdo_spop_hello h;
	enum hsdo_spop_status st = HSDO_SPOP_ST_UNKNOWN;
	uint8_t *c = dup_exact(hello_check, sizeof(hello_check));

	decode_ok(c, sizeof(hello_check), &f);
	ck_assert_int_eq(hsdo_spop_hello_decode(&f, &h, &st), 0);
	ck_assert(bytes_is(&h.versions, "2.0"));
	ck_assert_uint_eq(h.max_frame_size, 16380);
	ck_assert_uint_eq(h.capabilities.len, 0);
	ck_assert_uint_eq(h.caps, 0);
	ck_assert(!h.has_engine_id);
	ck_assert_uint_eq(h.engine_id.len, 0);
	ck_assert(h.healthcheck);
	free(c);
}
END_TEST

/* Both observed HELLOs, negotiated with our 16380, give the doc's 68 bytes. */
START_TEST(hello_negotiate_to_agent_hello)
{
	static const struct {
		const uint8_t *b;
		size_t len;
		bool health;
	} in[] = { { LIT(HELLO_129), false }, { hello_check, sizeof(hello_check), true } };
	struct hsdo_spop_frame f;
	struct hsdo_spop_hello h;
	struct hsdo_spop_agent_hello r;
	enum hsdo_spop_status st = HSDO_SPOP_ST_UNKNOWN;
	uint8_t out[128];

	decode_ok(in[_i].b, in[_i].len, &f);
	ck_assert_int_eq(hsdo_spop_hello_decode(&f, &h, &st), 0);
	ck_assert_int_eq(hsdo_spop_hello_negotiate(&h, 16380, &r, &st), 0);
	ck_assert_uint_eq(r.max_frame_size, 16380);
	ck_assert_uint_eq(r.caps, HSDO_SPOP_CAP_PIPELINING);
	ck_assert_int_eq(r.healthcheck, in[_i].health);
	ck_assert_int_eq(hsdo_spop_agent_hello_encode(&r, out, sizeof(out)), 68);
	ck_assert_mem_eq(out, agent_hello_68, 68);
}
END_TEST

struct kvspec {
	const char *key;
	enum hsdo_spop_data_type type;
	int64_t n;            /* integers and BOOL */
	const char *s;        /* STRING / BINARY */
};

#define KV_VSN      { "supported-versions", HSDO_SPOP_DATA_STRING, 0, "2.0" }
#define KV_MAX      { "max-frame-size", HSDO_SPOP_DATA_UINT32, 16380, NULL }
#define KV_CAPS     { "capabilities", HSDO_SPOP_DATA_STRING, 0, "pipelining,async" }

static const struct hello_case {
	const char *name;
	struct kvspec kv[6];   /* up to the first NULL key */
	int rc;
	enum hsdo_spop_status st;
	uint64_t max;
	unsigned caps;
} hello_cases[] = {
	{ "all", { KV_VSN, KV_MAX, KV_CAPS }, 0, HSDO_SPOP_ST_NORMAL, 16380, 3 },
	{ "reordered", { KV_CAPS, KV_MAX, KV_VSN }, 0, HSDO_SPOP_ST_NORMAL, 16380, 3 },
	{ "empty", { { NULL, 0, 0, NULL } }, -HSDO_EPROTO, HSDO_SPOP_ST_NO_VSN, 0, 0 },
	{ "no version", { KV_MAX, KV_CAPS }, -HSDO_EPROTO, HSDO_SPOP_ST_NO_VSN, 0, 0 },
	{ "no max", { KV_VSN, KV_CAPS }, -HSDO_EPROTO, HSDO_SPOP_ST_NO_FRAME_SIZE, 0, 0 },
	{ "no caps", { KV_VSN, KV_MAX }, -HSDO_EPROTO, HSDO_SPOP_ST_NO_CAP, 0, 0 },
	{ "max int32", { KV_VSN, { "max-frame-size", HSDO_SPOP_DATA_INT32, 1000, NULL }, KV_CAPS },
		0, HSDO_SPOP_ST_NORMAL, 1000, 3 },
	{ "max int64", { KV_VSN, { "max-frame-size", HSDO_SPOP_DATA_INT64, 300, NULL }, KV_CAPS },
		0, HSDO_SPOP_ST_NORMAL, 300, 3 },
	{ "max uint64 huge", { KV_VSN, { "max-frame-size", HSDO_SPOP_DATA_UINT64, INT64_MAX, NULL }, KV_CAPS },
		0, HSDO_SPOP_ST_NORMAL, INT64_MAX, 3 },
	{ "max negative", { KV_VSN, { "max-frame-size", HSDO_SPOP_DATA_INT64, -1, NULL }, KV_CAPS },
		-HSDO_EPROTO, HSDO_SPOP_ST_INVALID, 0, 0 },
	{ "max string", { KV_VSN, { "max-frame-size", HSDO_SPOP_DATA_STRING, 0, "16380" }, KV_CAPS },
		-HSDO_EPROTO, HSDO_SPOP_ST_INVALID, 0, 0 },
	{ "version binary", { { "supported-versions", HSDO_SPOP_DATA_BINARY, 0, "2.0" }, KV_MAX, KV_CAPS },
		-HSDO_EPROTO, HSDO_SPOP_ST_INVALID, 0, 0 },
	{ "caps null", { KV_VSN, KV_MAX, { "capabilities", HSDO_SPOP_DATA_NULL, 0, NULL } },
		-HSDO_EPROTO, HSDO_SPOP_ST_INVALID, 0, 0 },
	{ "caps spaced", { KV_VSN, KV_MAX, { "capabilities", HSDO_SPOP_DATA_STRING, 0, " async , x,pipe lining" } },
		0, HSDO_SPOP_ST_NORMAL, 16380, 3 },
	{ "caps fragmentation", { KV_VSN, KV_MAX, { "capabilities", HSDO_SPOP_DATA_STRING, 0, "fragmentation" } },
		0, HSDO_SPOP_ST_NORMAL, 16380, HSDO_SPOP_CAP_FRAGMENTATION },
	{ "caps partial words", { KV_VSN, KV_MAX, { "capabilities", HSDO_SPOP_DATA_STRING, 0, "pipelin,asyncx" } },
		0, HSDO_SPOP_ST_NORMAL, 16380, 0 },
	{ "health string", { KV_VSN, KV_MAX, KV_CAPS, { "healthcheck", HSDO_SPOP_DATA_STRING, 0, "true" } },
		-HSDO_EPROTO, HSDO_SPOP_ST_INVALID, 0, 0 },
	{ "engine int", { KV_VSN, KV_MAX, KV_CAPS, { "engine-id", HSDO_SPOP_DATA_INT32, 1, NULL } },
		-HSDO_EPROTO, HSDO_SPOP_ST_INVALID, 0, 0 },
	/* exact key matching: neither a longer nor a shorter key counts */
	{ "key longer", { { "supported-versionsX", HSDO_SPOP_DATA_STRING, 0, "2.0" }, KV_MAX, KV_CAPS },
		-HSDO_EPROTO, HSDO_SPOP_ST_NO_VSN, 0, 0 },
	{ "key shorter", { KV_VSN, { "max-frame", HSDO_SPOP_DATA_UINT32, 16380, NULL }, KV_CAPS },
		-HSDO_EPROTO, HSDO_SPOP_ST_NO_FRAME_SIZE, 0, 0 },
	{ "key case", { KV_VSN, KV_MAX, { "Capabilities", HSDO_SPOP_DATA_STRING, 0, "" } },
		-HSDO_EPROTO, HSDO_SPOP_ST_NO_CAP, 0, 0 },
	/* unknown keys are skipped whatever their type */
	{ "unknown keys", { { "", HSDO_SPOP_DATA_IPV6, 0, NULL }, KV_VSN, { "x", HSDO_SPOP_DATA_BINARY, 0, "\x01" },
		KV_MAX, KV_CAPS, { "zz", HSDO_SPOP_DATA_INT64, -5, NULL } }, 0, HSDO_SPOP_ST_NORMAL, 16380, 3 },
	/* the last repeat wins */
	{ "repeat", { KV_VSN, KV_MAX, KV_CAPS, { "max-frame-size", HSDO_SPOP_DATA_UINT32, 512, NULL } },
		0, HSDO_SPOP_ST_NORMAL, 512, 3 },
};

static void build_kvs(struct build *w, const struct kvspec *kv, size_t n)
{
	struct hsdo_spop_data d;
	size_t i;

	for (i = 0; i < n && kv[i].key != NULL; i++) {
		b_name(w, kv[i].key);
		memset(&d, 0, sizeof(d));
		d.type = kv[i].type;
		if (d.type == HSDO_SPOP_DATA_STRING || d.type == HSDO_SPOP_DATA_BINARY)
			d.bytes = hsdo_spop_cstr(kv[i].s);
		else if (d.type == HSDO_SPOP_DATA_BOOL)
			d.b = kv[i].n != 0;
		else
			d = d_int(d.type, kv[i].n);
		b_data(w, &d);
	}
}

START_TEST(hello_table)
{
	const struct hello_case *c = &hello_cases[_i];
	enum hsdo_spop_status st = HSDO_SPOP_ST_UNKNOWN;
	struct hsdo_spop_frame f;
	struct hsdo_spop_hello h;
	struct build w;
	uint8_t *copy;

	b_header(&w, HSDO_SPOP_FRAME_HAPROXY_HELLO, HSDO_SPOP_FLAG_FIN, 0, 0);
	build_kvs(&w, c->kv, NELEM(c->kv));
	b_finish(&w);
	copy = dup_exact(w.b, w.n);
	decode_ok(copy, w.n, &f);
	ck_assert_msg(hsdo_spop_hello_decode(&f, &h, &st) == c->rc, "%s", c->name);
	if (c->rc == 0) {
		ck_assert_uint_eq(h.max_frame_size, c->max);
		ck_assert_uint_eq(h.caps, c->caps);
	} else {
		ck_assert_msg(st == c->st, "%s: status %d", c->name, st);
	}
	free(copy);
}
END_TEST

START_TEST(hello_frame_errors)
{
	enum hsdo_spop_status st;
	struct hsdo_spop_frame f;
	struct hsdo_spop_hello h;
	struct hsdo_spop_iter it;
	struct hsdo_spop_disconnect d;
	uint8_t c[sizeof(hello_check)];

	memcpy(c, hello_check, sizeof(c));
	c[8] = 0; /* FIN cleared */
	decode_ok(c, sizeof(c), &f);
	ck_assert_int_eq(hsdo_spop_hello_decode(&f, &h, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED);
	c[8] = 1;
	c[10] = 1; /* frame-id 1 */
	decode_ok(c, sizeof(c), &f);
	ck_assert_int_eq(hsdo_spop_hello_decode(&f, &h, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_INVALID);
	/* a NOTIFY is not a HELLO, nor a DISCONNECT; a HELLO is not a NOTIFY */
	decode_ok(notify_45, sizeof(notify_45), &f);
	st = HSDO_SPOP_ST_NORMAL;
	ck_assert_int_eq(hsdo_spop_hello_decode(&f, &h, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_INVALID);
	st = HSDO_SPOP_ST_NORMAL;
	ck_assert_int_eq(hsdo_spop_disconnect_decode(&f, &d, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_INVALID);
	decode_ok(hello_check, sizeof(hello_check), &f);
	st = HSDO_SPOP_ST_NORMAL;
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_INVALID);
	/* a NULL status pointer is allowed */
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, NULL), -HSDO_EPROTO);
	ck_assert_int_eq(hsdo_spop_hello_decode(NULL, &h, NULL), -HSDO_EPROTO);
}
END_TEST

static const struct nego_case {
	const char *versions;
	uint64_t theirs;
	uint32_t ours;
	int rc;
	enum hsdo_spop_status st;
	uint32_t max;
} nego_cases[] = {
	{ "2.0", 16380, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ " 2.0 ", 16380, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ "1.0,2.0", 16380, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ "1.0, 2.0", 16380, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ "2.0 ,3.0", 16380, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ "2 .0", 16380, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ "1.0", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ "2.1", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ "", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ ",", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ "2.0.1", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ "2.", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ "12.0", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ "2.0x", 16380, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	/* min(ours, theirs), at least 256 */
	{ "2.0", 20000, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ "2.0", 16380, 1000, 0, HSDO_SPOP_ST_NORMAL, 1000 },
	{ "2.0", 256, 16380, 0, HSDO_SPOP_ST_NORMAL, 256 },
	{ "2.0", UINT64_MAX, 16380, 0, HSDO_SPOP_ST_NORMAL, 16380 },
	{ "2.0", 255, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_FRAME_SIZE, 0 },
	{ "2.0", 100, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_FRAME_SIZE, 0 },
	{ "2.0", 0, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_FRAME_SIZE, 0 },
	/* version is checked before size */
	{ "1.0", 100, 16380, -HSDO_EPROTO, HSDO_SPOP_ST_BAD_VSN, 0 },
	{ "2.0", 16380, 255, -HSDO_EINVAL, HSDO_SPOP_ST_UNKNOWN, 0 },
};

START_TEST(negotiate_table)
{
	const struct nego_case *c = &nego_cases[_i];
	struct hsdo_spop_hello h;
	struct hsdo_spop_agent_hello r = { 0, 0, false };
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;

	memset(&h, 0, sizeof(h));
	h.versions = hsdo_spop_cstr(c->versions);
	h.max_frame_size = c->theirs;
	h.caps = HSDO_SPOP_CAP_PIPELINING | HSDO_SPOP_CAP_ASYNC | HSDO_SPOP_CAP_FRAGMENTATION;
	ck_assert_int_eq(hsdo_spop_hello_negotiate(&h, c->ours, &r, &st), c->rc);
	if (c->rc == 0) {
		ck_assert_uint_eq(r.max_frame_size, c->max);
		/* never fragmentation, never async */
		ck_assert_uint_eq(r.caps, HSDO_SPOP_CAP_PIPELINING);
	} else {
		ck_assert_int_eq(st, c->st);
	}
}
END_TEST

START_TEST(agent_hello_encode)
{
	static const struct {
		unsigned caps;
		const char *str;
	} variants[] = {
		{ HSDO_SPOP_CAP_PIPELINING, "pipelining" },
		{ HSDO_SPOP_CAP_PIPELINING | HSDO_SPOP_CAP_ASYNC, "pipelining,async" },
		{ HSDO_SPOP_CAP_ASYNC, "async" },
		{ 0, "" },
	};
	struct hsdo_spop_agent_hello h = { 16380, HSDO_SPOP_CAP_PIPELINING, false };
	uint8_t out[128 + GUARD], *c;
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	struct hsdo_spop_kv kv;
	size_t i;
	int n;

	for (i = 0; i < NELEM(variants); i++) {
		h.caps = variants[i].caps;
		h.max_frame_size = (uint32_t)(256 + i * 100000);
		n = hsdo_spop_agent_hello_encode(&h, out, sizeof(out));
		ck_assert_int_gt(n, 0);
		c = dup_exact(out, (size_t)n);
		decode_ok(c, (size_t)n, &f);
		ck_assert_uint_eq(f.type, HSDO_SPOP_FRAME_AGENT_HELLO);
		ck_assert_uint_eq(f.flags, HSDO_SPOP_FLAG_FIN);
		hsdo_spop_iter_init(&it, f.payload, f.payload_len);
		ck_assert_int_eq(hsdo_spop_kv_next(&it, &kv), 1);
		ck_assert(bytes_is(&kv.name, "version"));
		ck_assert(bytes_is(&kv.value.bytes, "2.0"));
		ck_assert_int_eq(hsdo_spop_kv_next(&it, &kv), 1);
		ck_assert(bytes_is(&kv.name, "max-frame-size"));
		ck_assert_int_eq(kv.value.type, HSDO_SPOP_DATA_UINT32);
		ck_assert_uint_eq(kv.value.u, h.max_frame_size);
		ck_assert_int_eq(hsdo_spop_kv_next(&it, &kv), 1);
		ck_assert(bytes_is(&kv.name, "capabilities"));
		ck_assert_int_eq(kv.value.type, HSDO_SPOP_DATA_STRING);
		ck_assert(bytes_is(&kv.value.bytes, variants[i].str));
		ck_assert_int_eq(hsdo_spop_kv_next(&it, &kv), 0);
		free(c);
	}
	h.caps = HSDO_SPOP_CAP_PIPELINING | HSDO_SPOP_CAP_FRAGMENTATION;
	ck_assert_int_eq(hsdo_spop_agent_hello_encode(&h, out, sizeof(out)), -HSDO_EINVAL);
	h.caps = 0x100;
	ck_assert_int_eq(hsdo_spop_agent_hello_encode(&h, out, sizeof(out)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_spop_agent_hello_encode(NULL, out, sizeof(out)), -HSDO_EINVAL);
}
END_TEST

/* ---- NOTIFY ----------------------------------------------------------------------------------- */

START_TEST(notify_45_decode)
{
	uint8_t *c = dup_exact(notify_45, sizeof(notify_45));
	enum hsdo_spop_status st = HSDO_SPOP_ST_UNKNOWN;
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	struct hsdo_spop_msg msg;
	struct hsdo_spop_arg arg;

	decode_ok(c, sizeof(notify_45), &f);
	ck_assert_int_eq(hsdo_spop_frame_check(&f, &st), 0);
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, &st), 0);
	ck_assert_int_eq(hsdo_spop_msg_next(&it, &msg), 1);
	ck_assert(bytes_is(&msg.name, "req-msg"));
	ck_assert_uint_eq(msg.nb_args, 3);
	ck_assert_int_eq(hsdo_spop_arg_next(&msg, &arg), 1);
	ck_assert(bytes_is(&arg.name, "src"));
	ck_assert_int_eq(arg.value.type, HSDO_SPOP_DATA_IPV4);
	ck_assert_mem_eq(arg.value.ip, "\x7f\x00\x00\x01", 4);
	ck_assert_int_eq(hsdo_spop_arg_next(&msg, &arg), 1);
	ck_assert(bytes_is(&arg.name, "method"));
	ck_assert_int_eq(arg.value.type, HSDO_SPOP_DATA_STRING);
	ck_assert(bytes_is(&arg.value.bytes, "GET"));
	ck_assert_int_eq(hsdo_spop_arg_next(&msg, &arg), 1);
	ck_assert(bytes_is(&arg.name, "path"));
	ck_assert(bytes_is(&arg.value.bytes, "/"));
	ck_assert_ptr_eq(arg.value.bytes.ptr, c + sizeof(notify_45) - 1);
	ck_assert_int_eq(hsdo_spop_arg_next(&msg, &arg), 0);
	ck_assert_int_eq(hsdo_spop_arg_next(&msg, &arg), 0);
	ck_assert_int_eq(hsdo_spop_msg_next(&it, &msg), 0);
	ck_assert_int_eq(hsdo_spop_msg_next(&it, &msg), 0);
	free(c);
}
END_TEST

START_TEST(notify_multi)
{
	static const char *const names[] = { "m0", "", "check-client-ip" };
	enum hsdo_spop_status st;
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	struct hsdo_spop_msg msg;
	struct hsdo_spop_arg arg;
	struct hsdo_spop_data d;
	struct build w;
	uint8_t *c;
	unsigned i, k;

	/* 3 messages: 0 args; 1 unnamed NULL arg; 255 INT64 args */
	b_header(&w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, 1795703520851ULL, 2);
	b_name(&w, names[0]);
	b_u8(&w, 0);
	b_name(&w, names[1]);
	b_u8(&w, 1);
	b_name(&w, "");
	b_u8(&w, HSDO_SPOP_DATA_NULL);
	b_name(&w, names[2]);
	b_u8(&w, 255);
	for (i = 0; i < 255; i++) {
		b_name(&w, "a");
		d = d_int(HSDO_SPOP_DATA_INT64, -(int64_t)i);
		b_data(&w, &d);
	}
	b_finish(&w);
	c = dup_exact(w.b, w.n);
	decode_ok(c, w.n, &f);
	ck_assert_uint_eq(f.stream_id, 1795703520851ULL);
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, &st), 0);
	for (i = 0; i < 3; i++) {
		ck_assert_int_eq(hsdo_spop_msg_next(&it, &msg), 1);
		ck_assert(bytes_is(&msg.name, names[i]));
		ck_assert_uint_eq(msg.nb_args, i == 0 ? 0 : i == 1 ? 1 : 255);
		for (k = 0; hsdo_spop_arg_next(&msg, &arg) == 1; k++) {
			if (i == 1) {
				ck_assert_uint_eq(arg.name.len, 0);
				ck_assert_int_eq(arg.value.type, HSDO_SPOP_DATA_NULL);
			} else {
				ck_assert_int_eq(arg.value.i, -(int64_t)k);
			}
		}
		ck_assert_uint_eq(k, msg.nb_args);
	}
	ck_assert_int_eq(hsdo_spop_msg_next(&it, &msg), 0);
	free(c);
}
END_TEST

/* Byte patches of the doc's NOTIFY that must make it fail. */
static const struct {
	const char *name;
	size_t off;
	uint8_t val;
} notify_bad[] = {
	{ "nb-args 4 for 3", NOTIFY_NARGS_OFF, 4 },
	{ "nb-args 2 for 3", NOTIFY_NARGS_OFF, 2 },
	{ "nb-args 0 for 3", NOTIFY_NARGS_OFF, 0 },
	{ "nb-args 255", NOTIFY_NARGS_OFF, 255 },
	{ "type 10", NOTIFY_IPV4_OFF, 10 },
	{ "type 11", NOTIFY_IPV4_OFF, 11 },
	{ "type 12", NOTIFY_IPV4_OFF, 12 },
	{ "type 13", NOTIFY_IPV4_OFF, 13 },
	{ "type 14", NOTIFY_IPV4_OFF, 14 },
	{ "type 15", NOTIFY_IPV4_OFF, 15 },
	{ "ipv6 for ipv4", NOTIFY_IPV4_OFF, HSDO_SPOP_DATA_IPV6 },
	{ "string past end", NOTIFY_PATHLEN_OFF, 2 },
	{ "string varint past end", NOTIFY_PATHLEN_OFF, 0xf0 },
	{ "msg name past end", 11, 0x7f },
	{ "arg name past end", 20, 0x40 },
};

START_TEST(notify_bad_table)
{
	uint8_t *c = dup_exact(notify_45, sizeof(notify_45));
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	struct hsdo_spop_msg msg;
	enum hsdo_spop_status st;
	int rc;

	c[notify_bad[_i].off] = notify_bad[_i].val;
	decode_ok(c, sizeof(notify_45), &f);
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, &st), 0);
	while ((rc = hsdo_spop_msg_next(&it, &msg)) == 1)
		;
	ck_assert_msg(rc == -HSDO_EPROTO, "%s: rc %d", notify_bad[_i].name, rc);
	/* the iterator stays on the bad message */
	ck_assert_int_eq(hsdo_spop_msg_next(&it, &msg), -HSDO_EPROTO);
	free(c);
}
END_TEST

START_TEST(notify_frame_flags)
{
	uint8_t c[sizeof(notify_45)];
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;

	memcpy(c, notify_45, sizeof(c));
	c[8] = 0x00; /* FIN clear: a first fragment */
	decode_ok(c, sizeof(c), &f);
	ck_assert_uint_eq(f.flags, 0);
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED);
	c[8] = 0x03;
	decode_ok(c, sizeof(c), &f);
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED);
	c[4] = HSDO_SPOP_FRAME_UNSET;
	c[8] = 0x01;
	decode_ok(c, sizeof(c), &f);
	ck_assert_int_eq(hsdo_spop_notify_begin(&f, &it, &st), -HSDO_EPROTO);
	ck_assert_int_eq(st, HSDO_SPOP_ST_FRAG_NOT_SUPPORTED);
}
END_TEST

/* ---- DISCONNECT ------------------------------------------------------------------------------- */

START_TEST(disconnect_decode)
{
	uint8_t *c = dup_exact(LIT(DISCONNECT_49));
	enum hsdo_spop_status st = HSDO_SPOP_ST_UNKNOWN;
	struct hsdo_spop_disconnect d;
	struct hsdo_spop_frame f;

	decode_ok(c, 4 + 0x31, &f);
	ck_assert_int_eq(hsdo_spop_frame_check(&f, &st), 0);
	ck_assert_int_eq(hsdo_spop_disconnect_decode(&f, &d, &st), 0);
	ck_assert_uint_eq(d.status_code, HSDO_SPOP_ST_TIMEOUT);
	ck_assert(bytes_is(&d.message, "a timeout occurred"));
	ck_assert(bytes_is(&d.message, hsdo_spop_status_str(d.status_code)));
	free(c);
}
END_TEST

static const struct disc_case {
	const char *name;
	struct kvspec kv[4];
	int rc;
	uint32_t code;
	const char *msg;
} disc_cases[] = {
	{ "both", { { "status-code", HSDO_SPOP_DATA_UINT32, 9, NULL }, { "message", HSDO_SPOP_DATA_STRING, 0, "x" } },
		0, 9, "x" },
	{ "no message", { { "status-code", HSDO_SPOP_DATA_UINT32, 0, NULL } }, 0, 0, "" },
	{ "int64 code", { { "status-code", HSDO_SPOP_DATA_INT64, 4294967295LL, NULL } }, 0, UINT32_MAX, "" },
	{ "no code", { { "message", HSDO_SPOP_DATA_STRING, 0, "x" } }, -HSDO_EPROTO, 0, NULL },
	{ "empty", { { NULL, 0, 0, NULL } }, -HSDO_EPROTO, 0, NULL },
	{ "code string", { { "status-code", HSDO_SPOP_DATA_STRING, 0, "2" } }, -HSDO_EPROTO, 0, NULL },
	{ "code negative", { { "status-code", HSDO_SPOP_DATA_INT32, -1, NULL } }, -HSDO_EPROTO, 0, NULL },
	{ "code too big", { { "status-code", HSDO_SPOP_DATA_UINT64, 4294967296LL, NULL } }, -HSDO_EPROTO, 0, NULL },
	{ "message binary", { { "status-code", HSDO_SPOP_DATA_UINT32, 1, NULL },
		{ "message", HSDO_SPOP_DATA_BINARY, 0, "x" } }, -HSDO_EPROTO, 0, NULL },
	{ "unknown key", { { "why", HSDO_SPOP_DATA_BOOL, 1, NULL }, { "status-code", HSDO_SPOP_DATA_UINT32, 13, NULL } },
		0, 13, "" },
};

START_TEST(disconnect_table)
{
	const struct disc_case *c = &disc_cases[_i];
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;
	struct hsdo_spop_disconnect d;
	struct hsdo_spop_frame f;
	struct build w;
	uint8_t *copy;

	b_header(&w, HSDO_SPOP_FRAME_HAPROXY_DISCONNECT, HSDO_SPOP_FLAG_FIN, 0, 0);
	build_kvs(&w, c->kv, NELEM(c->kv));
	b_finish(&w);
	copy = dup_exact(w.b, w.n);
	decode_ok(copy, w.n, &f);
	ck_assert_msg(hsdo_spop_disconnect_decode(&f, &d, &st) == c->rc, "%s", c->name);
	if (c->rc == 0) {
		ck_assert_uint_eq(d.status_code, c->code);
		ck_assert(bytes_is(&d.message, c->msg));
	} else {
		ck_assert_int_eq(st, HSDO_SPOP_ST_INVALID);
	}
	free(copy);
}
END_TEST

START_TEST(agent_disconnect_encode)
{
	uint8_t out[128], *c;
	enum hsdo_spop_status st;
	struct hsdo_spop_disconnect d;
	struct hsdo_spop_frame f;
	uint32_t code;
	int n;

	ck_assert_int_eq(hsdo_spop_agent_disconnect_encode(0, NULL, out, sizeof(out)), 4 + 0x25);
	ck_assert_mem_eq(out, AGENT_DISCONNECT_NORMAL, 4 + 0x25);
	/* every status, default and custom messages, round trip */
	for (code = 0; code <= 100; code++) {
		n = hsdo_spop_agent_disconnect_encode(code, code % 2 ? NULL : "custom", out, sizeof(out));
		ck_assert_int_gt(n, 0);
		c = dup_exact(out, (size_t)n);
		decode_ok(c, (size_t)n, &f);
		ck_assert_uint_eq(f.type, HSDO_SPOP_FRAME_AGENT_DISCONNECT);
		ck_assert_int_eq(hsdo_spop_disconnect_decode(&f, &d, &st), 0);
		ck_assert_uint_eq(d.status_code, code);
		ck_assert(bytes_is(&d.message, code % 2 ? hsdo_spop_status_str(code) : "custom"));
		free(c);
	}
	n = hsdo_spop_agent_disconnect_encode(UINT32_MAX, "", out, sizeof(out));
	decode_ok(out, (size_t)n, &f);
	ck_assert_int_eq(hsdo_spop_disconnect_decode(&f, &d, &st), 0);
	ck_assert_uint_eq(d.status_code, UINT32_MAX);
	ck_assert_uint_eq(d.message.len, 0);
}
END_TEST

/* ---- ACK --------------------------------------------------------------------------------------- */

START_TEST(ack_28)
{
	struct hsdo_spop_action a[2];
	uint8_t out[64];

	memset(a, 0, sizeof(a));
	a[0].type = HSDO_SPOP_ACTION_SET_VAR;
	a[0].scope = HSDO_SPOP_SCOPE_TXN;
	a[0].name = hsdo_spop_cstr("seen");
	a[0].value = d_int(HSDO_SPOP_DATA_INT32, 1);
	a[1].type = HSDO_SPOP_ACTION_UNSET_VAR;
	a[1].scope = HSDO_SPOP_SCOPE_TXN;
	a[1].name = hsdo_spop_cstr("old");
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, a, 2, out, sizeof(out)), 28);
	ck_assert_mem_eq(out, ACK_28, 28);
	/* no actions at all: header only */
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, NULL, 0, out, sizeof(out)), 11);
	ck_assert_mem_eq(out, "\x00\x00\x00\x07\x67\x00\x00\x00\x01\x00\x01", 11);
}
END_TEST

START_TEST(ack_round_trip)
{
	static const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x42 };
	struct hsdo_spop_action a[12], back;
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	uint8_t out[512], *c;
	size_t i, n = 0;
	int len;

	memset(a, 0, sizeof(a));
	a[n].value.type = HSDO_SPOP_DATA_NULL;
	a[n++].name = hsdo_spop_cstr("null");
	a[n].value.type = HSDO_SPOP_DATA_BOOL;
	a[n].value.b = true;
	a[n++].name = hsdo_spop_cstr("up");
	a[n].value = d_int(HSDO_SPOP_DATA_INT32, INT32_MIN);
	a[n++].name = hsdo_spop_cstr("i32");
	a[n].value = d_int(HSDO_SPOP_DATA_UINT32, (int64_t)UINT32_MAX);
	a[n++].name = hsdo_spop_cstr("u32");
	a[n].value = d_int(HSDO_SPOP_DATA_INT64, INT64_MIN);
	a[n++].name = hsdo_spop_cstr("i64");
	a[n].value.type = HSDO_SPOP_DATA_UINT64;
	a[n].value.u = UINT64_MAX;
	a[n++].name = hsdo_spop_cstr("u64");
	a[n].value.type = HSDO_SPOP_DATA_IPV4;
	memcpy(a[n].value.ip, "\x0a\x00\x00\x07", 4);
	a[n++].name = hsdo_spop_cstr("addr");
	a[n].value.type = HSDO_SPOP_DATA_IPV6;
	memcpy(a[n].value.ip, ip6, 16);
	a[n++].name = hsdo_spop_cstr("addr6");
	a[n].value = d_str("i-0123456789abcdef0");
	a[n++].name = hsdo_spop_cstr("instance");
	a[n].value.type = HSDO_SPOP_DATA_BINARY;
	a[n].value.bytes.ptr = ip6;
	a[n].value.bytes.len = sizeof(ip6);
	a[n++].name = hsdo_spop_cstr("");
	for (i = 0; i < n; i++) {
		a[i].type = HSDO_SPOP_ACTION_SET_VAR;
		a[i].scope = (enum hsdo_spop_scope)(i % HSDO_SPOP_SCOPE_COUNT);
	}
	a[n].type = HSDO_SPOP_ACTION_UNSET_VAR;
	a[n].scope = HSDO_SPOP_SCOPE_RES;
	a[n++].name = hsdo_spop_cstr("gone");
	len = hsdo_spop_ack_encode(UINT64_MAX, 1795703520851ULL, a, n, out, sizeof(out));
	ck_assert_int_gt(len, 0);
	c = dup_exact(out, (size_t)len);
	decode_ok(c, (size_t)len, &f);
	ck_assert_uint_eq(f.type, HSDO_SPOP_FRAME_ACK);
	ck_assert_uint_eq(f.stream_id, UINT64_MAX);
	ck_assert_uint_eq(f.frame_id, 1795703520851ULL);
	hsdo_spop_iter_init(&it, f.payload, f.payload_len);
	for (i = 0; i < n; i++) {
		ck_assert_int_eq(hsdo_spop_action_next(&it, &back), 1);
		ck_assert_int_eq(back.type, a[i].type);
		ck_assert_int_eq(back.scope, a[i].scope);
		ck_assert_uint_eq(back.name.len, a[i].name.len);
		ck_assert_mem_eq(back.name.ptr, a[i].name.ptr, a[i].name.len);
		if (a[i].type != HSDO_SPOP_ACTION_SET_VAR)
			continue;
		ck_assert_int_eq(back.value.type, a[i].value.type);
		switch (a[i].value.type) {
		case HSDO_SPOP_DATA_STRING:
		case HSDO_SPOP_DATA_BINARY:
			ck_assert_uint_eq(back.value.bytes.len, a[i].value.bytes.len);
			ck_assert_mem_eq(back.value.bytes.ptr, a[i].value.bytes.ptr, a[i].value.bytes.len);
			break;
		case HSDO_SPOP_DATA_BOOL:
			ck_assert_int_eq(back.value.b, a[i].value.b);
			break;
		case HSDO_SPOP_DATA_NULL:
			break;
		default:
			ck_assert_mem_eq(back.value.ip, a[i].value.ip, 16); /* the whole union */
			break;
		}
	}
	ck_assert_int_eq(hsdo_spop_action_next(&it, &back), 0);
	free(c);
}
END_TEST

START_TEST(ack_invalid)
{
	struct hsdo_spop_action a;
	uint8_t out[64];

	memset(&a, 0, sizeof(a));
	a.type = HSDO_SPOP_ACTION_SET_VAR;
	a.scope = HSDO_SPOP_SCOPE_COUNT;
	a.name = hsdo_spop_cstr("x");
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, &a, 1, out, sizeof(out)), -HSDO_EINVAL);
	a.scope = HSDO_SPOP_SCOPE_TXN;
	a.type = (enum hsdo_spop_action_type)3;
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, &a, 1, out, sizeof(out)), -HSDO_EINVAL);
	a.type = HSDO_SPOP_ACTION_SET_VAR;
	a.value.type = (enum hsdo_spop_data_type)12;
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, &a, 1, out, sizeof(out)), -HSDO_EINVAL);
	a.value = d_int(HSDO_SPOP_DATA_INT32, INT64_MAX);
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, &a, 1, out, sizeof(out)), -HSDO_EINVAL);
	a.value.type = HSDO_SPOP_DATA_NULL;
	a.name.ptr = NULL;
	a.name.len = 1;
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, &a, 1, out, sizeof(out)), -HSDO_EINVAL);
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, NULL, 1, out, sizeof(out)), -HSDO_EINVAL);
	/* an unset-var ignores its value */
	a.type = HSDO_SPOP_ACTION_UNSET_VAR;
	a.value.type = (enum hsdo_spop_data_type)12;
	a.name = hsdo_spop_cstr("x");
	ck_assert_int_eq(hsdo_spop_ack_encode(0, 1, &a, 1, out, sizeof(out)), 11 + 5);
}
END_TEST

/* ACK payloads the action decoder must refuse. */
static const struct {
	const char *name;
	const uint8_t *p;
	size_t len;
} action_bad[] = {
	{ "set-var nb 2", LIT("\x01\x02\x02\x01" "x") },
	{ "set-var nb 4", LIT("\x01\x04\x02\x01" "x" "\x00") },
	{ "unset-var nb 3", LIT("\x02\x03\x02\x01" "x" "\x00") },
	{ "unknown type", LIT("\x03\x02\x02\x01" "x") },
	{ "type 0", LIT("\x00\x00") },
	{ "scope 5", LIT("\x02\x02\x05\x01" "x") },
	{ "scope 255", LIT("\x01\x03\xff\x01" "x" "\x00") },
	{ "no nb-args", LIT("\x01") },
	{ "no scope", LIT("\x02\x02") },
	{ "name past end", LIT("\x02\x02\x02\x05" "x") },
	{ "no value", LIT("\x01\x03\x02\x01" "x") },
	{ "reserved type", LIT("\x01\x03\x02\x01" "x" "\x0b") },
	{ "good then bad", LIT("\x02\x02\x02\x01" "x" "\x02\x02\x09\x01" "y") },
};

START_TEST(action_bad_table)
{
	uint8_t *c = dup_exact(action_bad[_i].p, action_bad[_i].len);
	struct hsdo_spop_iter it;
	struct hsdo_spop_action a;
	int rc;

	hsdo_spop_iter_init(&it, c, action_bad[_i].len);
	while ((rc = hsdo_spop_action_next(&it, &a)) == 1)
		;
	ck_assert_msg(rc == -HSDO_EPROTO, "%s: rc %d", action_bad[_i].name, rc);
	free(c);
}
END_TEST

/* ---- encoder bounds ---------------------------------------------------------------------------- */

enum enc_case { ENC_AGENT_HELLO, ENC_ACK, ENC_ACK_BIG_IDS, ENC_DISCONNECT, ENC_DATA_STRING, ENC_COUNT };

static int encode(enum enc_case which, uint8_t *buf, size_t len)
{
	struct hsdo_spop_agent_hello h = { 16380, HSDO_SPOP_CAP_PIPELINING, false };
	struct hsdo_spop_action a[2];
	struct hsdo_spop_data d = d_str("pipelining,async");

	memset(a, 0, sizeof(a));
	a[0].type = HSDO_SPOP_ACTION_SET_VAR;
	a[0].scope = HSDO_SPOP_SCOPE_TXN;
	a[0].name = hsdo_spop_cstr("seen");
	a[0].value = d_int(HSDO_SPOP_DATA_INT32, 1);
	a[1].type = HSDO_SPOP_ACTION_UNSET_VAR;
	a[1].scope = HSDO_SPOP_SCOPE_TXN;
	a[1].name = hsdo_spop_cstr("old");
	switch (which) {
	case ENC_AGENT_HELLO:
		return hsdo_spop_agent_hello_encode(&h, buf, len);
	case ENC_ACK:
		return hsdo_spop_ack_encode(0, 1, a, 2, buf, len);
	case ENC_ACK_BIG_IDS:
		return hsdo_spop_ack_encode(UINT64_MAX, UINT32_MAX, a, 2, buf, len);
	case ENC_DISCONNECT:
		return hsdo_spop_agent_disconnect_encode(HSDO_SPOP_ST_BAD_FRAME_SIZE, NULL, buf, len);
	default:
		return hsdo_spop_data_encode(&d, buf, len);
	}
}

START_TEST(encoder_bounds)
{
	uint8_t big[256];
	int need = encode((enum enc_case)_i, big, sizeof(big));
	size_t n, k;

	ck_assert_int_gt(need, 0);
	for (n = 0; n < (size_t)need; n++) {
		/* canary after the given length */
		uint8_t *buf = malloc(n + GUARD);

		ck_assert_ptr_nonnull(buf);
		memset(buf, CANARY, n + GUARD);
		ck_assert_int_eq(encode((enum enc_case)_i, buf, n), -HSDO_ETOOBIG);
		for (k = n; k < n + GUARD; k++)
			ck_assert_msg(buf[k] == CANARY, "len %zu: byte %zu written", n, k);
		free(buf);
		/* and an exactly-sized heap buffer for ASan */
		buf = malloc(n > 0 ? n : 1);
		ck_assert_ptr_nonnull(buf);
		ck_assert_int_eq(encode((enum enc_case)_i, buf, n), -HSDO_ETOOBIG);
		free(buf);
	}
	ck_assert_int_eq(encode((enum enc_case)_i, NULL, 0), -HSDO_ETOOBIG);
	/* exactly enough */
	{
		uint8_t *buf = malloc((size_t)need);

		ck_assert_ptr_nonnull(buf);
		ck_assert_int_eq(encode((enum enc_case)_i, buf, (size_t)need), need);
		ck_assert_mem_eq(buf, big, (size_t)need);
		free(buf);
	}
}
END_TEST

/* ---- names ------------------------------------------------------------------------------------------ */

static const struct {
	int code;
	const char *text;
} status_cases[] = {
	{ 0, "normal" },
	{ 1, "I/O error" },
	{ 2, "a timeout occurred" },
	{ 3, "frame is too big" },
	{ 4, "invalid frame received" },
	{ 5, "version value not found" },
	{ 6, "max-frame-size value not found" },
	{ 7, "capabilities value not found" },
	{ 8, "unsupported version" },
	{ 9, "max-frame-size too big or too small" },
	{ 10, "payload fragmentation is not supported" },
	{ 11, "invalid interlaced frames" },
	{ 12, "frame-id not found" },
	{ 13, "resource allocation error" },
	{ 14, "unknown error" },
	{ 98, "unknown error" },
	{ 99, "unknown error" },
	{ 100, "unknown error" },
	{ -1, "unknown error" },
};

START_TEST(status_str_table)
{
	ck_assert_str_eq(hsdo_spop_status_str((enum hsdo_spop_status)status_cases[_i].code),
		status_cases[_i].text);
}
END_TEST

START_TEST(names)
{
	ck_assert_str_eq(hsdo_spop_frame_type_str(HSDO_SPOP_FRAME_UNSET), "UNSET");
	ck_assert_str_eq(hsdo_spop_frame_type_str(HSDO_SPOP_FRAME_HAPROXY_HELLO), "HAPROXY-HELLO");
	ck_assert_str_eq(hsdo_spop_frame_type_str(HSDO_SPOP_FRAME_HAPROXY_DISCONNECT), "HAPROXY-DISCONNECT");
	ck_assert_str_eq(hsdo_spop_frame_type_str(HSDO_SPOP_FRAME_NOTIFY), "NOTIFY");
	ck_assert_str_eq(hsdo_spop_frame_type_str(HSDO_SPOP_FRAME_AGENT_HELLO), "AGENT-HELLO");
	ck_assert_str_eq(hsdo_spop_frame_type_str(HSDO_SPOP_FRAME_AGENT_DISCONNECT), "AGENT-DISCONNECT");
	ck_assert_str_eq(hsdo_spop_frame_type_str(HSDO_SPOP_FRAME_ACK), "ACK");
	ck_assert_str_eq(hsdo_spop_frame_type_str((enum hsdo_spop_frame_type)4), "unknown");
	ck_assert_str_eq(hsdo_spop_data_type_str(HSDO_SPOP_DATA_NULL), "NULL");
	ck_assert_str_eq(hsdo_spop_data_type_str(HSDO_SPOP_DATA_UINT64), "UINT64");
	ck_assert_str_eq(hsdo_spop_data_type_str(HSDO_SPOP_DATA_BINARY), "BINARY");
	ck_assert_str_eq(hsdo_spop_data_type_str(HSDO_SPOP_DATA_COUNT), "unknown");
	ck_assert_str_eq(hsdo_spop_scope_str(HSDO_SPOP_SCOPE_PROC), "proc");
	ck_assert_str_eq(hsdo_spop_scope_str(HSDO_SPOP_SCOPE_SESS), "sess");
	ck_assert_str_eq(hsdo_spop_scope_str(HSDO_SPOP_SCOPE_TXN), "txn");
	ck_assert_str_eq(hsdo_spop_scope_str(HSDO_SPOP_SCOPE_REQ), "req");
	ck_assert_str_eq(hsdo_spop_scope_str(HSDO_SPOP_SCOPE_RES), "res");
	ck_assert_str_eq(hsdo_spop_scope_str(HSDO_SPOP_SCOPE_COUNT), "unknown");
	ck_assert_str_eq(hsdo_spop_action_type_str(HSDO_SPOP_ACTION_SET_VAR), "set-var");
	ck_assert_str_eq(hsdo_spop_action_type_str(HSDO_SPOP_ACTION_UNSET_VAR), "unset-var");
	ck_assert_str_eq(hsdo_spop_action_type_str((enum hsdo_spop_action_type)0), "unknown");
}
END_TEST

static Suite *spop_suite(void)
{
	Suite *s = suite_create("spop");
	TCase *tc = tcase_create("varint");

	tcase_add_loop_test(tc, varint_table, 0, (int)NELEM(varint_cases));
	tcase_add_test(tc, varint_random_round_trip);
	tcase_add_test(tc, varint_boundaries);
	tcase_add_test(tc, varint_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("data");
	tcase_add_loop_test(tc, data_table, 0, (int)NELEM(data_cases));
	tcase_add_loop_test(tc, data_reserved_types, 0, 6);
	tcase_add_test(tc, data_ranges_and_flags);
	tcase_add_test(tc, data_long_string);
	suite_add_tcase(s, tc);

	tc = tcase_create("frame");
	tcase_add_loop_test(tc, frame_vectors, 0, (int)NELEM(vecs));
	tcase_add_loop_test(tc, frame_every_prefix, 0, (int)NELEM(vecs));
	tcase_add_test(tc, frame_sizes);
	tcase_add_test(tc, frame_back_to_back);
	tcase_add_loop_test(tc, frame_check_table, 0, (int)NELEM(check_cases));
	tcase_add_loop_test(tc, payload_every_truncation, 0, (int)NELEM(vecs));
	suite_add_tcase(s, tc);

	tc = tcase_create("hello");
	tcase_add_test(tc, hello_129);
	tcase_add_test(tc, hello_healthcheck);
	tcase_add_loop_test(tc, hello_negotiate_to_agent_hello, 0, 2);
	tcase_add_loop_test(tc, hello_table, 0, (int)NELEM(hello_cases));
	tcase_add_test(tc, hello_frame_errors);
	tcase_add_loop_test(tc, negotiate_table, 0, (int)NELEM(nego_cases));
	tcase_add_test(tc, agent_hello_encode);
	suite_add_tcase(s, tc);

	tc = tcase_create("notify");
	tcase_add_test(tc, notify_45_decode);
	tcase_add_test(tc, notify_multi);
	tcase_add_loop_test(tc, notify_bad_table, 0, (int)NELEM(notify_bad));
	tcase_add_test(tc, notify_frame_flags);
	suite_add_tcase(s, tc);

	tc = tcase_create("disconnect");
	tcase_add_test(tc, disconnect_decode);
	tcase_add_loop_test(tc, disconnect_table, 0, (int)NELEM(disc_cases));
	tcase_add_test(tc, agent_disconnect_encode);
	suite_add_tcase(s, tc);

	tc = tcase_create("ack");
	tcase_add_test(tc, ack_28);
	tcase_add_test(tc, ack_round_trip);
	tcase_add_test(tc, ack_invalid);
	tcase_add_loop_test(tc, action_bad_table, 0, (int)NELEM(action_bad));
	tcase_add_loop_test(tc, encoder_bounds, 0, ENC_COUNT);
	suite_add_tcase(s, tc);

	tc = tcase_create("names");
	tcase_add_loop_test(tc, status_str_table, 0, (int)NELEM(status_cases));
	tcase_add_test(tc, names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return hsdo_test_run(spop_suite());
}
