/* HAProxy's side of SPOP for tests: a frame writer for HAPROXY-HELLO,
 * NOTIFY (the on-http-response message of spoe/hsdo.spoe.conf) and any
 * hand-made frame, shared by the SPOE agent's suite and the fault suite.
 * A frame that does not fit aborts the current check test. */
#ifndef HSDO_TEST_SPOP_PEER_H
#define HSDO_TEST_SPOP_PEER_H

#include <stddef.h>
#include <stdint.h>

/* HAProxy 2.6's HAPROXY-HELLO, byte for byte (the SPOP brief, §1.5). */
#define HSDO_TEST_HELLO_129 \
	"\x00\x00\x00\x81" "\x01" "\x00\x00\x00\x01" "\x00\x00" \
	"\x12" "supported-versions" "\x08\x03" "2.0" \
	"\x0e" "max-frame-size" "\x03\xfc\xf0\x06" \
	"\x0c" "capabilities" "\x08\x10" "pipelining,async" \
	"\x09" "engine-id" "\x08\x24" "3168f72c-717a-4fca-975c-495f0cacb120"

struct hsdo_test_wr {
	uint8_t b[70000];
	size_t n;
};

/* A response as HAProxy's on-http-response message sends it: be_name,
 * srv_name (NULL: NULL data), srv_id (< 0: NULL), status (< 0: NULL). */
struct hsdo_test_resp {
	const char *be, *srv;
	int64_t srv_id, status;
};

void hsdo_test_wr_u8(struct hsdo_test_wr *w, uint8_t v);
void hsdo_test_wr_varint(struct hsdo_test_wr *w, uint64_t v);
/* A varint length, then the bytes. */
void hsdo_test_wr_bytes(struct hsdo_test_wr *w, const void *p, size_t len);
void hsdo_test_wr_name(struct hsdo_test_wr *w, const char *s);
/* Typed data: a STRING, an INT64. */
void hsdo_test_wr_str(struct hsdo_test_wr *w, const char *s);
void hsdo_test_wr_int(struct hsdo_test_wr *w, int64_t v);
/* Start a frame at w->n (returns where its length goes); end it there. */
size_t hsdo_test_wr_begin(struct hsdo_test_wr *w, uint8_t type, uint32_t flags, uint64_t sid,
			  uint64_t fid);
void hsdo_test_wr_end(struct hsdo_test_wr *w, size_t at);
/* A HAPROXY-HELLO; NULL (or max_frame < 0) leaves a key out. */
void hsdo_test_wr_hello(struct hsdo_test_wr *w, const char *versions, int64_t max_frame,
			const char *caps, uint32_t flags, uint64_t sid);
/* One response message named msgname inside a NOTIFY being written. */
void hsdo_test_wr_resp_msg(struct hsdo_test_wr *w, const char *msgname,
			   const struct hsdo_test_resp *r);
/* A NOTIFY frame with one "hsdo-response" message. */
void hsdo_test_wr_notify(struct hsdo_test_wr *w, uint64_t sid, uint64_t fid,
			 const struct hsdo_test_resp *r);

#endif
