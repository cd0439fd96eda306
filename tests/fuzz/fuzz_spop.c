/* Fuzz the SPOP codec: any bytes cut into frames under several max sizes;
 * each frame checked and decoded by type (HELLO then negotiate and encode
 * the answer, DISCONNECT, NOTIFY with every message and argument), and its
 * payload also walked as a KV list and an ACK action list. Decoded values
 * re-encode to bytes that decode to the same value, inside an ACK too.
 * Never crashes, never reads outside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hsdo/err.h"
#include "hsdo/spop.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(const uint8_t *p, size_t n, const uint8_t *lo, const uint8_t *hi)
{
	return n == 0 || (p >= lo && p <= hi && n <= (size_t)(hi - p));
}

static bool same_data(const struct hsdo_spop_data *a, const struct hsdo_spop_data *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case HSDO_SPOP_DATA_NULL:
		return true;
	case HSDO_SPOP_DATA_BOOL:
		return a->b == b->b;
	case HSDO_SPOP_DATA_INT32:
	case HSDO_SPOP_DATA_INT64:
		return a->i == b->i;
	case HSDO_SPOP_DATA_UINT32:
	case HSDO_SPOP_DATA_UINT64:
		return a->u == b->u;
	case HSDO_SPOP_DATA_IPV4:
		return memcmp(a->ip, b->ip, 4) == 0;
	case HSDO_SPOP_DATA_IPV6:
		return memcmp(a->ip, b->ip, 16) == 0;
	default:
		return a->bytes.len == b->bytes.len &&
		    (a->bytes.len == 0 || memcmp(a->bytes.ptr, b->bytes.ptr, a->bytes.len) == 0);
	}
}

/* A decoded value encodes, decodes back the same, and travels in an ACK. */
static void round_trip(const struct hsdo_spop_bytes *name, const struct hsdo_spop_data *d)
{
	static uint8_t buf[1 << 17];
	struct hsdo_spop_data back;
	struct hsdo_spop_action a, got;
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	int n;

	if ((d->type == HSDO_SPOP_DATA_STRING || d->type == HSDO_SPOP_DATA_BINARY) &&
	    d->bytes.len + name->len > sizeof(buf) - 64)
		return;
	n = hsdo_spop_data_encode(d, buf, sizeof(buf));
	if (n <= 0 || hsdo_spop_data_decode(buf, (size_t)n, &back) != n || !same_data(d, &back))
		abort();
	memset(&a, 0, sizeof(a));
	a.type = HSDO_SPOP_ACTION_SET_VAR;
	a.scope = HSDO_SPOP_SCOPE_TXN;
	a.name = *name;
	a.value = *d;
	n = hsdo_spop_ack_encode(0, 1, &a, 1, buf, sizeof(buf));
	if (n <= 0 || hsdo_spop_frame_decode(buf, (size_t)n, UINT32_MAX, &f) != n)
		abort();
	hsdo_spop_iter_init(&it, f.payload, f.payload_len);
	if (hsdo_spop_action_next(&it, &got) != 1 || !same_data(d, &got.value) ||
	    got.name.len != name->len || hsdo_spop_action_next(&it, &got) != 0)
		abort();
	/* one byte short is refused */
	if (hsdo_spop_ack_encode(0, 1, &a, 1, buf, (size_t)n - 1) != -HSDO_ETOOBIG)
		abort();
}

static void walk_kv(const struct hsdo_spop_frame *f)
{
	struct hsdo_spop_iter it;
	struct hsdo_spop_kv kv;
	const uint8_t *end = f->payload + f->payload_len;
	int rc;

	hsdo_spop_iter_init(&it, f->payload, f->payload_len);
	while ((rc = hsdo_spop_kv_next(&it, &kv)) == 1) {
		if (!inside(kv.name.ptr, kv.name.len, f->payload, end) ||
		    it.p > end || (unsigned)kv.value.type >= HSDO_SPOP_DATA_COUNT)
			abort();
		round_trip(&kv.name, &kv.value);
	}
	if (rc != 0 && rc != -HSDO_EPROTO)
		abort();
}

static void walk_actions(const struct hsdo_spop_frame *f)
{
	struct hsdo_spop_iter it;
	struct hsdo_spop_action a;
	int rc;

	hsdo_spop_iter_init(&it, f->payload, f->payload_len);
	while ((rc = hsdo_spop_action_next(&it, &a)) == 1)
		if ((unsigned)a.scope >= HSDO_SPOP_SCOPE_COUNT ||
		    (a.type != HSDO_SPOP_ACTION_SET_VAR && a.type != HSDO_SPOP_ACTION_UNSET_VAR))
			abort();
	if (rc != 0 && rc != -HSDO_EPROTO)
		abort();
}

static void walk_notify(const struct hsdo_spop_frame *f)
{
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;
	const uint8_t *end = f->payload + f->payload_len;
	struct hsdo_spop_iter it;
	struct hsdo_spop_msg msg;
	struct hsdo_spop_arg arg;
	unsigned k;
	int rc, ra;

	if (hsdo_spop_notify_begin(f, &it, &st) != 0) {
		if (st != HSDO_SPOP_ST_INVALID && st != HSDO_SPOP_ST_FRAG_NOT_SUPPORTED)
			abort();
		/* walk it anyway: the iterator must hold on any payload */
		hsdo_spop_iter_init(&it, f->payload, f->payload_len);
	}
	while ((rc = hsdo_spop_msg_next(&it, &msg)) == 1) {
		if (!inside(msg.name.ptr, msg.name.len, f->payload, end))
			abort();
		for (k = 0; (ra = hsdo_spop_arg_next(&msg, &arg)) == 1; k++) {
			if (!inside(arg.name.ptr, arg.name.len, f->payload, end))
				abort();
			round_trip(&arg.name, &arg.value);
		}
		/* msg_next validated every argument already */
		if (ra != 0 || k != msg.nb_args)
			abort();
	}
	if (rc != 0 && rc != -HSDO_EPROTO)
		abort();
}

static void check_hello(const struct hsdo_spop_frame *f)
{
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;
	struct hsdo_spop_agent_hello reply;
	struct hsdo_spop_hello h;
	uint8_t out[256];
	int rc = hsdo_spop_hello_decode(f, &h, &st);

	if (rc != 0) {
		if (rc != -HSDO_EPROTO || st == HSDO_SPOP_ST_NORMAL)
			abort();
		return;
	}
	rc = hsdo_spop_hello_negotiate(&h, HSDO_SPOP_FRAME_DEFAULT, &reply, &st);
	if (rc != 0) {
		if (rc != -HSDO_EPROTO ||
		    (st != HSDO_SPOP_ST_BAD_VSN && st != HSDO_SPOP_ST_BAD_FRAME_SIZE))
			abort();
		return;
	}
	if (reply.max_frame_size < HSDO_SPOP_FRAME_MIN || reply.max_frame_size > HSDO_SPOP_FRAME_DEFAULT ||
	    reply.max_frame_size > h.max_frame_size || (reply.caps & HSDO_SPOP_CAP_FRAGMENTATION))
		abort();
	if (hsdo_spop_agent_hello_encode(&reply, out, sizeof(out)) <= 0)
		abort();
}

static void check_disconnect(const struct hsdo_spop_frame *f)
{
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;
	struct hsdo_spop_disconnect d;
	uint8_t out[512];
	int rc = hsdo_spop_disconnect_decode(f, &d, &st);
	char msg[64];
	size_t n;

	if (rc != 0) {
		if (rc != -HSDO_EPROTO || (st != HSDO_SPOP_ST_INVALID && st != HSDO_SPOP_ST_FRAG_NOT_SUPPORTED))
			abort();
		return;
	}
	/* echo it back as an AGENT-DISCONNECT */
	n = d.message.len < sizeof(msg) - 1 ? d.message.len : sizeof(msg) - 1;
	if (n > 0)
		memcpy(msg, d.message.ptr, n);
	msg[n] = '\0';
	if (hsdo_spop_agent_disconnect_encode(d.status_code, msg, out, sizeof(out)) <= 0)
		abort();
}

static void check_frame(const struct hsdo_spop_frame *f)
{
	enum hsdo_spop_status st = HSDO_SPOP_ST_NORMAL;
	int rc = hsdo_spop_frame_check(f, &st);

	if (rc != 0 && (rc != -HSDO_EPROTO ||
	    (st != HSDO_SPOP_ST_INVALID && st != HSDO_SPOP_ST_FRAG_NOT_SUPPORTED)))
		abort();
	switch (f->type) {
	case HSDO_SPOP_FRAME_HAPROXY_HELLO:
		check_hello(f);
		break;
	case HSDO_SPOP_FRAME_HAPROXY_DISCONNECT:
	case HSDO_SPOP_FRAME_AGENT_DISCONNECT:
		check_disconnect(f);
		break;
	default:
		break;
	}
	walk_notify(f);
	walk_kv(f);
	walk_actions(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t maxes[] = { 0, 7, HSDO_SPOP_FRAME_MIN, HSDO_SPOP_FRAME_DEFAULT, UINT32_MAX };
	struct hsdo_spop_frame f;
	struct hsdo_spop_data d;
	uint64_t v;
	size_t i, off;
	int rc;

	for (i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		/* the stream as a sequence of frames */
		for (off = 0; off < size; off += (size_t)rc) {
			rc = hsdo_spop_frame_decode(data + off, size - off, maxes[i], &f);
			if (rc == -HSDO_EAGAIN || rc == -HSDO_ETOOBIG || rc == -HSDO_EPROTO)
				break;
			if (rc < (int)HSDO_SPOP_LEN_SIZE + (int)HSDO_SPOP_HEADER_MIN ||
			    (size_t)rc > size - off || f.payload < data + off ||
			    f.payload + f.payload_len != data + off + (size_t)rc)
				abort();
			/* the frame's own prefixes are incomplete */
			if (hsdo_spop_frame_decode(data + off, (size_t)rc - 1, maxes[i], &f) != -HSDO_EAGAIN)
				abort();
			(void)hsdo_spop_frame_decode(data + off, (size_t)rc, maxes[i], &f);
			if (i == sizeof(maxes) / sizeof(maxes[0]) - 1)
				check_frame(&f);
		}
	}
	/* the bytes as one varint and one typed value */
	rc = hsdo_spop_varint_decode(data, size, &v);
	if (rc > 0) {
		uint8_t b[10];
		int n = hsdo_spop_varint_encode(v, b, sizeof(b));
		uint64_t back;

		if (n <= 0 || n > rc || hsdo_spop_varint_decode(b, (size_t)n, &back) != n || back != v)
			abort();
	}
	rc = hsdo_spop_data_decode(data, size, &d);
	if (rc > 0) {
		struct hsdo_spop_bytes none = { NULL, 0 };

		round_trip(&none, &d);
	}
	return 0;
}
