/* SPOP codec micro-benchmark, run by hand (build Release, no sanitizers):
 *   bench_spop [runs] [iterations per run]
 * Times, per operation, the median and best of `runs` runs:
 *   NOTIFY 45 B   the doc's request NOTIFY (src, method, path): frame
 *                 decode, notify_begin, every message and argument;
 *   NOTIFY 5 arg  an on-http-response NOTIFY (be_name, srv_name, srv_id,
 *                 status, dst as IPv6), same work;
 *   ACK 1 action  encode an ACK with one set-var (txn STRING "srv12");
 *   HELLO         decode the doc's HELLO, negotiate, encode AGENT-HELLO
 *                 (once per connection; for scale). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_util.h"
#include "hsdo/err.h"
#include "hsdo/spop.h"

#define PROG "bench_spop"

/* §1.7 of the SPOP brief, verbatim. */
static const uint8_t notify_45[] = {
	0x00, 0x00, 0x00, 0x2d, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x07, 0x72, 0x65, 0x71, 0x2d,
	0x6d, 0x73, 0x67, 0x03, 0x03, 0x73, 0x72, 0x63, 0x06, 0x7f, 0x00, 0x00, 0x01, 0x06, 0x6d, 0x65,
	0x74, 0x68, 0x6f, 0x64, 0x08, 0x03, 0x47, 0x45, 0x54, 0x04, 0x70, 0x61, 0x74, 0x68, 0x08, 0x01,
	0x2f,
};

/* §1.5: the normal HAPROXY-HELLO (129-byte body). */
static const char hello_129[] =
	"\x00\x00\x00\x81" "\x01" "\x00\x00\x00\x01" "\x00\x00"
	"\x12" "supported-versions" "\x08\x03" "2.0"
	"\x0e" "max-frame-size" "\x03\xfc\xf0\x06"
	"\x0c" "capabilities" "\x08\x10" "pipelining,async"
	"\x09" "engine-id" "\x08\x24" "3168f72c-717a-4fca-975c-495f0cacb120";

static volatile uint64_t sink;

struct wr {
	uint8_t b[256];
	size_t n;
};

static void wr_varint(struct wr *w, uint64_t v)
{
	int n = hsdo_spop_varint_encode(v, w->b + w->n, sizeof(w->b) - w->n);

	if (n < 0)
		bench_die(PROG, "varint", n);
	w->n += (size_t)n;
}

static void wr_name(struct wr *w, const char *s)
{
	wr_varint(w, strlen(s));
	memcpy(w->b + w->n, s, strlen(s));
	w->n += strlen(s);
}

static void wr_data(struct wr *w, const struct hsdo_spop_data *d)
{
	int n = hsdo_spop_data_encode(d, w->b + w->n, sizeof(w->b) - w->n);

	if (n < 0)
		bench_die(PROG, "data", n);
	w->n += (size_t)n;
}

/* NOTIFY sid=1795703520851 fid=2 "res-msg" with 5 arguments. */
static void make_notify5(struct wr *w)
{
	struct hsdo_spop_data d;

	memset(w, 0, sizeof(*w));
	w->n = 4;
	w->b[w->n++] = HSDO_SPOP_FRAME_NOTIFY;
	memcpy(w->b + w->n, "\x00\x00\x00\x01", 4);
	w->n += 4;
	wr_varint(w, 1795703520851ULL);
	wr_varint(w, 2);
	wr_name(w, "res-msg");
	w->b[w->n++] = 5;
	memset(&d, 0, sizeof(d));
	wr_name(w, "be_name");
	d.type = HSDO_SPOP_DATA_STRING;
	d.bytes = hsdo_spop_cstr("be_app");
	wr_data(w, &d);
	wr_name(w, "srv_name");
	d.bytes = hsdo_spop_cstr("srv12");
	wr_data(w, &d);
	wr_name(w, "srv_id");
	d.type = HSDO_SPOP_DATA_INT64;
	d.i = 12;
	wr_data(w, &d);
	wr_name(w, "status");
	d.i = 200;
	wr_data(w, &d);
	wr_name(w, "dst");
	d.type = HSDO_SPOP_DATA_IPV6;
	memset(d.ip, 0, sizeof(d.ip));
	d.ip[0] = 0x20;
	d.ip[1] = 0x01;
	d.ip[2] = 0x0d;
	d.ip[3] = 0xb8;
	d.ip[15] = 0x12;
	wr_data(w, &d);
	w->b[0] = (uint8_t)((w->n - 4) >> 24);
	w->b[1] = (uint8_t)((w->n - 4) >> 16);
	w->b[2] = (uint8_t)((w->n - 4) >> 8);
	w->b[3] = (uint8_t)(w->n - 4);
}

/* What the agent does per NOTIFY: cut, check, walk every argument. */
static void op_notify(const uint8_t *buf, size_t len)
{
	enum hsdo_spop_status st;
	struct hsdo_spop_frame f;
	struct hsdo_spop_iter it;
	struct hsdo_spop_msg msg;
	struct hsdo_spop_arg arg;
	uint64_t acc = 0;
	int rc = hsdo_spop_frame_decode(buf, len, HSDO_SPOP_FRAME_DEFAULT, &f);

	if (rc != (int)len || hsdo_spop_notify_begin(&f, &it, &st) != 0)
		bench_die(PROG, "notify", rc < 0 ? rc : -HSDO_EPROTO);
	while ((rc = hsdo_spop_msg_next(&it, &msg)) == 1)
		while (hsdo_spop_arg_next(&msg, &arg) == 1)
			acc += arg.value.type + arg.name.len;
	if (rc != 0)
		bench_die(PROG, "notify messages", rc);
	sink += acc + f.frame_id;
}

static uint8_t ack_buf[256];

static void op_ack(uint64_t fid)
{
	struct hsdo_spop_action a;
	int n;

	memset(&a, 0, sizeof(a));
	a.type = HSDO_SPOP_ACTION_SET_VAR;
	a.scope = HSDO_SPOP_SCOPE_TXN;
	a.name = hsdo_spop_cstr("srv");
	a.value.type = HSDO_SPOP_DATA_STRING;
	a.value.bytes = hsdo_spop_cstr("srv12");
	n = hsdo_spop_ack_encode(0, fid, &a, 1, ack_buf, sizeof(ack_buf));
	if (n < 0)
		bench_die(PROG, "ack", n);
	sink += (uint64_t)n + ack_buf[n - 1];
}

static void op_hello(void)
{
	enum hsdo_spop_status st;
	struct hsdo_spop_agent_hello r;
	struct hsdo_spop_frame f;
	struct hsdo_spop_hello h;
	int n = hsdo_spop_frame_decode((const uint8_t *)hello_129, sizeof(hello_129) - 1,
		HSDO_SPOP_FRAME_DEFAULT, &f);

	if (n < 0 || hsdo_spop_hello_decode(&f, &h, &st) != 0 ||
	    hsdo_spop_hello_negotiate(&h, HSDO_SPOP_FRAME_DEFAULT, &r, &st) != 0)
		bench_die(PROG, "hello", -HSDO_EPROTO);
	n = hsdo_spop_agent_hello_encode(&r, ack_buf, sizeof(ack_buf));
	if (n < 0)
		bench_die(PROG, "agent hello", n);
	sink += (uint64_t)n;
}

enum op { OP_NOTIFY45, OP_NOTIFY5, OP_ACK, OP_HELLO, OP_COUNT };

static const char *const op_name[OP_COUNT] = {
	[OP_NOTIFY45] = "decode NOTIFY 45 B, 3 args",
	[OP_NOTIFY5] = "decode NOTIFY 5 args",
	[OP_ACK] = "encode ACK, 1 set-var",
	[OP_HELLO] = "HELLO + negotiate + reply",
};

int main(int argc, char **argv)
{
	int runs = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 7;
	long iters = argc > 2 ? strtol(argv[2], NULL, 10) : 2000000;
	int64_t ns[101], med, best;
	struct wr n5;
	int op, r;
	long i;

	if (runs < 1 || runs > 101 || iters < 1) {
		fprintf(stderr, "usage: %s [runs 1..101] [iterations]\n", argv[0]);
		return 2;
	}
	make_notify5(&n5);
	printf("SPOP codec, %d runs of %ld operations each (median, best)\n", runs, iters);
	printf("%-28s | %6s | %9s | %9s | %12s\n", "operation", "bytes", "median ns", "best ns",
		"ops/s (med)");
	printf("-----------------------------+--------+-----------+-----------+-------------\n");
	for (op = 0; op < OP_COUNT; op++) {
		size_t bytes = 0;

		for (r = 0; r < runs; r++) {
			int64_t t0 = bench_mono_ns();

			switch (op) {
			case OP_NOTIFY45:
				for (i = 0; i < iters; i++)
					op_notify(notify_45, sizeof(notify_45));
				bytes = sizeof(notify_45);
				break;
			case OP_NOTIFY5:
				for (i = 0; i < iters; i++)
					op_notify(n5.b, n5.n);
				bytes = n5.n;
				break;
			case OP_ACK:
				for (i = 0; i < iters; i++)
					op_ack((uint64_t)i);
				bytes = 0;
				break;
			default:
				for (i = 0; i < iters; i++)
					op_hello();
				bytes = sizeof(hello_129) - 1;
				break;
			}
			ns[r] = bench_mono_ns() - t0;
		}
		med = bench_median(ns, (size_t)runs, &best);
		if (op == OP_ACK)
			bytes = (size_t)(ack_buf[3] + 4);
		printf("%-28s | %6zu | %9.1f | %9.1f | %12.0f\n", op_name[op], bytes,
			(double)med / (double)iters, (double)best / (double)iters,
			(double)iters * 1e9 / (double)med);
	}
	return sink == 42 ? 1 : 0;
}
