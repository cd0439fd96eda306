/* SPOP codec: the framing HAProxy's `filter spoe` speaks to an agent (SPOA).
 * Pure: bytes in, structs out; structs in, bytes out. No sockets, clock or
 * logging, so every decoder can be driven at every input prefix and fuzzed.
 *
 * Decoded names, strings and binaries are BORROWED: struct hsdo_spop_bytes
 * points into the caller's frame buffer and is valid only while it is.
 * Nothing here allocates.
 *
 * Reference: docs/spoa.md ("The protocol, as the agent speaks it"), checked
 * against HAProxy 2.6.12 (doc/SPOE.txt §3, src/flt_spoe.c,
 * include/haproxy/intops.h). */
#ifndef HSDO_SPOP_H
#define HSDO_SPOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define HSDO_SPOP_VERSION        "2.0"  /* the only version 2.6 and 3.x accept */
#define HSDO_SPOP_FRAME_MIN      256u   /* smallest max-frame-size a peer may offer */
#define HSDO_SPOP_FRAME_DEFAULT  16380u /* HAProxy's default: tune.bufsize - 4 */
#define HSDO_SPOP_HEADER_MIN     7u     /* type + flags + two 1-byte varints */
#define HSDO_SPOP_LEN_SIZE       4u     /* the big-endian length before a frame */
#define HSDO_SPOP_VARINT_MAX     10u    /* bytes in the longest 64-bit varint */

/* FLAGS, a 32-bit big-endian field. HAProxy 2.6 sets FIN on every frame. */
#define HSDO_SPOP_FLAG_FIN   0x00000001u
#define HSDO_SPOP_FLAG_ABORT 0x00000002u

/* Capability bits parsed from, or announced in, a `capabilities` string. */
#define HSDO_SPOP_CAP_PIPELINING    0x1u
#define HSDO_SPOP_CAP_ASYNC         0x2u
#define HSDO_SPOP_CAP_FRAGMENTATION 0x4u /* parsed only: never announced */

/* Frame types (protocol numbers). */
enum hsdo_spop_frame_type {
	HSDO_SPOP_FRAME_UNSET = 0,               /* continuation fragment */
	HSDO_SPOP_FRAME_HAPROXY_HELLO = 1,
	HSDO_SPOP_FRAME_HAPROXY_DISCONNECT = 2,
	HSDO_SPOP_FRAME_NOTIFY = 3,
	HSDO_SPOP_FRAME_AGENT_HELLO = 101,
	HSDO_SPOP_FRAME_AGENT_DISCONNECT = 102,
	HSDO_SPOP_FRAME_ACK = 103,
};

/* Typed-data types: the low 4 bits of the type byte; 10..15 are reserved. */
enum hsdo_spop_data_type {
	HSDO_SPOP_DATA_NULL = 0,
	HSDO_SPOP_DATA_BOOL,
	HSDO_SPOP_DATA_INT32,
	HSDO_SPOP_DATA_UINT32,
	HSDO_SPOP_DATA_INT64,
	HSDO_SPOP_DATA_UINT64,
	HSDO_SPOP_DATA_IPV4,
	HSDO_SPOP_DATA_IPV6,
	HSDO_SPOP_DATA_STRING,
	HSDO_SPOP_DATA_BINARY,
	HSDO_SPOP_DATA_COUNT
};

/* Variable scopes of set-var / unset-var (the raw scope byte). */
enum hsdo_spop_scope {
	HSDO_SPOP_SCOPE_PROC = 0,
	HSDO_SPOP_SCOPE_SESS,
	HSDO_SPOP_SCOPE_TXN,
	HSDO_SPOP_SCOPE_REQ,
	HSDO_SPOP_SCOPE_RES,
	HSDO_SPOP_SCOPE_COUNT
};

/* ACK action types (protocol numbers). */
enum hsdo_spop_action_type {
	HSDO_SPOP_ACTION_SET_VAR = 1,   /* NB-ARGS 3: scope, name, value */
	HSDO_SPOP_ACTION_UNSET_VAR = 2, /* NB-ARGS 2: scope, name */
};

/* DISCONNECT status codes (protocol numbers); 14..98 and 100+ are free for
 * agent-defined codes. */
enum hsdo_spop_status {
	HSDO_SPOP_ST_NORMAL = 0,
	HSDO_SPOP_ST_IO = 1,
	HSDO_SPOP_ST_TIMEOUT = 2,
	HSDO_SPOP_ST_TOO_BIG = 3,
	HSDO_SPOP_ST_INVALID = 4,
	HSDO_SPOP_ST_NO_VSN = 5,
	HSDO_SPOP_ST_NO_FRAME_SIZE = 6,
	HSDO_SPOP_ST_NO_CAP = 7,
	HSDO_SPOP_ST_BAD_VSN = 8,
	HSDO_SPOP_ST_BAD_FRAME_SIZE = 9,
	HSDO_SPOP_ST_FRAG_NOT_SUPPORTED = 10,
	HSDO_SPOP_ST_INTERLACED_FRAMES = 11,
	HSDO_SPOP_ST_FRAMEID_NOTFOUND = 12,
	HSDO_SPOP_ST_RES = 13,
	HSDO_SPOP_ST_UNKNOWN = 99,
};

/* A borrowed byte slice (not NUL-terminated). */
struct hsdo_spop_bytes {
	const uint8_t *ptr;
	size_t len;
};

/* One typed value. Decoded STRING/BINARY point into the frame (borrowed). */
struct hsdo_spop_data {
	enum hsdo_spop_data_type type;
	union {
		bool b;                        /* BOOL */
		int64_t i;                     /* INT32, INT64 */
		uint64_t u;                    /* UINT32, UINT64 */
		uint8_t ip[16];                /* IPV4: ip[0..3], network order; IPV6 */
		struct hsdo_spop_bytes bytes;  /* STRING, BINARY */
	};
};

/* One frame, as cut from the stream by hsdo_spop_frame_decode. */
struct hsdo_spop_frame {
	uint8_t type;                  /* enum hsdo_spop_frame_type, or unknown */
	uint32_t flags;                /* HSDO_SPOP_FLAG_* */
	uint64_t stream_id;
	uint64_t frame_id;
	const uint8_t *payload;        /* borrowed, payload_len bytes */
	size_t payload_len;
};

/* Cursor over a KV list, a list of messages or a list of actions. Never
 * reads at or past `end`. */
struct hsdo_spop_iter {
	const uint8_t *p;
	const uint8_t *end;
};

/* One item of a KV list (HELLO, DISCONNECT). */
struct hsdo_spop_kv {
	struct hsdo_spop_bytes name;
	struct hsdo_spop_data value;
};

/* One NOTIFY message; iterate its arguments with hsdo_spop_arg_next. */
struct hsdo_spop_msg {
	struct hsdo_spop_bytes name;
	unsigned nb_args;
	struct hsdo_spop_iter args;    /* private: the remaining arguments */
	unsigned args_left;            /* private */
};

/* One message argument; an argument declared without name= has an empty name. */
struct hsdo_spop_arg {
	struct hsdo_spop_bytes name;
	struct hsdo_spop_data value;
};

/* One ACK action. `value` is used by SET_VAR only; a NULL value there makes
 * HAProxy unset the variable. */
struct hsdo_spop_action {
	enum hsdo_spop_action_type type;
	enum hsdo_spop_scope scope;
	struct hsdo_spop_bytes name;
	struct hsdo_spop_data value;
};

/* A decoded HAPROXY-HELLO. Keys are matched exactly (HAProxy itself matches
 * by prefix); unknown keys are skipped. A repeated key: the last one wins. */
struct hsdo_spop_hello {
	struct hsdo_spop_bytes versions;     /* "supported-versions", borrowed */
	uint64_t max_frame_size;             /* as sent, any integer type */
	struct hsdo_spop_bytes capabilities; /* raw string, borrowed; may be "" */
	unsigned caps;                       /* HSDO_SPOP_CAP_* found in it */
	struct hsdo_spop_bytes engine_id;    /* borrowed; len 0 when absent */
	bool has_engine_id;
	bool healthcheck;                    /* `option spop-check` probe */
};

/* What the agent answers in its AGENT-HELLO (version is always "2.0"). */
struct hsdo_spop_agent_hello {
	uint32_t max_frame_size;   /* negotiated: both directions from now on */
	unsigned caps;             /* announced: PIPELINING and/or ASYNC */
	bool healthcheck;          /* the HELLO was a health check: may close after */
};

/* A decoded HAPROXY-DISCONNECT (or AGENT-DISCONNECT). */
struct hsdo_spop_disconnect {
	uint32_t status_code;
	struct hsdo_spop_bytes message;    /* borrowed; len 0 when absent */
};

/* ---- names for logs ------------------------------------------------------------ */

/* The doc's text for a status code ("a timeout occurred"); "unknown error"
 * for codes SPOP does not define, as HAProxy prints them. Never NULL. */
const char *hsdo_spop_status_str(enum hsdo_spop_status status);
/* "HAPROXY-HELLO", "NOTIFY", "ACK"...; "unknown" otherwise. Never NULL. */
const char *hsdo_spop_frame_type_str(enum hsdo_spop_frame_type type);
/* "NULL", "BOOL", "INT32"...; "unknown" otherwise. Never NULL. */
const char *hsdo_spop_data_type_str(enum hsdo_spop_data_type type);
/* "proc", "sess", "txn", "req", "res"; "unknown" otherwise. Never NULL. */
const char *hsdo_spop_scope_str(enum hsdo_spop_scope scope);
/* "set-var", "unset-var"; "unknown" otherwise. Never NULL. */
const char *hsdo_spop_action_type_str(enum hsdo_spop_action_type type);

/* A NUL-terminated string as a slice (for names and STRING values). */
static inline struct hsdo_spop_bytes hsdo_spop_cstr(const char *s)
{
	struct hsdo_spop_bytes b = { (const uint8_t *)s, s != NULL ? strlen(s) : 0 };

	return b;
}

/* ---- varints and typed data ---------------------------------------------------- */

/* Encode v in HAProxy's varint (intops.h, not LEB128) into buf[0..len).
 * Returns the bytes written (1..10) or -HSDO_ETOOBIG. */
int hsdo_spop_varint_encode(uint64_t v, uint8_t *buf, size_t len);
/* Decode one varint from buf[0..len). Returns the bytes consumed,
 * -HSDO_EAGAIN if buf ends inside it, or -HSDO_EPROTO if it is longer than
 * 10 bytes or overflows 64 bits. Non-minimal forms are accepted, as HAProxy does. */
int hsdo_spop_varint_decode(const uint8_t *buf, size_t len, uint64_t *v);

/* Decode one TYPED-DATA from buf[0..len) into *out (STRING/BINARY borrowed).
 * Returns bytes consumed, -HSDO_EAGAIN if truncated, -HSDO_EPROTO for a
 * reserved type (10..15), a bad varint, or an INT32/UINT32 out of range. */
int hsdo_spop_data_decode(const uint8_t *buf, size_t len, struct hsdo_spop_data *out);
/* Encode *d as TYPED-DATA. Negative integers go out as 64-bit two's
 * complement (INT32 -1 takes 11 bytes). Returns bytes written,
 * -HSDO_ETOOBIG, or -HSDO_EINVAL (bad type, INT32/UINT32 out of range). */
int hsdo_spop_data_encode(const struct hsdo_spop_data *d, uint8_t *buf, size_t len);

/* ---- frames --------------------------------------------------------------------- */

/* Cut one frame from the start of buf[0..len). Returns the bytes consumed
 * (4 + length), -HSDO_EAGAIN while incomplete, -HSDO_ETOOBIG when the length
 * exceeds max_frame_size (decided from the 4 length bytes alone), or
 * -HSDO_EPROTO (length < 7, bad header varint). out->payload is borrowed. */
int hsdo_spop_frame_decode(const uint8_t *buf, size_t len, uint32_t max_frame_size,
	struct hsdo_spop_frame *out);
/* The status to DISCONNECT with after a negative frame_decode result:
 * TOO_BIG for -HSDO_ETOOBIG, INVALID for -HSDO_EPROTO, UNKNOWN otherwise. */
enum hsdo_spop_status hsdo_spop_frame_error_status(int rc);
/* Check a frame an agent receives: a HAProxy type (1..3), FIN set, ABORT
 * clear, stream-id and frame-id 0 on HELLO/DISCONNECT. 0, or -HSDO_EPROTO
 * with *status INVALID or FRAG_NOT_SUPPORTED (FIN clear, ABORT, type UNSET). */
int hsdo_spop_frame_check(const struct hsdo_spop_frame *f, enum hsdo_spop_status *status);

/* Start iterating over data (a frame payload); the iterator borrows it. */
void hsdo_spop_iter_init(struct hsdo_spop_iter *it, const uint8_t *data, size_t len);
/* Next KV item: 1 and *kv, 0 at the end, -HSDO_EPROTO if malformed. */
int hsdo_spop_kv_next(struct hsdo_spop_iter *it, struct hsdo_spop_kv *kv);

/* Decode a HAPROXY-HELLO (frame checked as above). 0, or -HSDO_EPROTO with
 * *status: INVALID (malformed, wrong value type), NO_VSN, NO_FRAME_SIZE or
 * NO_CAP (key missing; an empty capabilities string is fine). */
int hsdo_spop_hello_decode(const struct hsdo_spop_frame *f, struct hsdo_spop_hello *out,
	enum hsdo_spop_status *status);
/* Answer a HELLO: "2.0" must be in supported-versions (comma-separated,
 * spaces ignored), max-frame-size = min(our_max, HAProxy's) and >= 256;
 * announces PIPELINING only. 0, -HSDO_EPROTO with *status BAD_VSN or
 * BAD_FRAME_SIZE, or -HSDO_EINVAL if our_max < 256. */
int hsdo_spop_hello_negotiate(const struct hsdo_spop_hello *h, uint32_t our_max,
	struct hsdo_spop_agent_hello *reply, enum hsdo_spop_status *status);

/* Check a NOTIFY frame and point *it at its messages. 0, or -HSDO_EPROTO
 * with *status (see hsdo_spop_frame_check; wrong type is INVALID). */
int hsdo_spop_notify_begin(const struct hsdo_spop_frame *f, struct hsdo_spop_iter *it,
	enum hsdo_spop_status *status);
/* Next message: 1 and *msg (all its arguments already validated), 0 at the
 * end, -HSDO_EPROTO if malformed (NB-ARGS mismatch included): status INVALID. */
int hsdo_spop_msg_next(struct hsdo_spop_iter *it, struct hsdo_spop_msg *msg);
/* Next argument of msg: 1 and *arg, 0 after the last, -HSDO_EPROTO. */
int hsdo_spop_arg_next(struct hsdo_spop_msg *msg, struct hsdo_spop_arg *arg);

/* Decode a HAPROXY-DISCONNECT or AGENT-DISCONNECT: status-code (any
 * non-negative integer type, required) and message (STRING, optional).
 * 0, or -HSDO_EPROTO with *status INVALID / FRAG_NOT_SUPPORTED. */
int hsdo_spop_disconnect_decode(const struct hsdo_spop_frame *f,
	struct hsdo_spop_disconnect *out, enum hsdo_spop_status *status);

/* Next ACK action from an ACK payload: 1 and *a, 0 at the end, -HSDO_EPROTO
 * for an unknown type, a wrong NB-ARGS, a bad scope or a malformed field. */
int hsdo_spop_action_next(struct hsdo_spop_iter *it, struct hsdo_spop_action *a);

/* ---- encoders: length prefix included, never past buf[len) ---------------------
 * Pass len = min(buffer size, 4 + negotiated max-frame-size) to respect the
 * peer's limit. Each returns the frame's total size, -HSDO_ETOOBIG, or
 * -HSDO_EINVAL for a value the protocol cannot carry. */

/* AGENT-HELLO: version "2.0", max-frame-size (UINT32), capabilities built
 * from h->caps (PIPELINING, ASYNC; FRAGMENTATION is refused with EINVAL). */
int hsdo_spop_agent_hello_encode(const struct hsdo_spop_agent_hello *h,
	uint8_t *buf, size_t len);
/* ACK for (stream_id, frame_id) with n actions (n may be 0). */
int hsdo_spop_ack_encode(uint64_t stream_id, uint64_t frame_id,
	const struct hsdo_spop_action *actions, size_t n, uint8_t *buf, size_t len);
/* AGENT-DISCONNECT: status-code (UINT32) and message (STRING); a NULL
 * message sends hsdo_spop_status_str(status_code). */
int hsdo_spop_agent_disconnect_encode(uint32_t status_code, const char *message,
	uint8_t *buf, size_t len);

#endif
