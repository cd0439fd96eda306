/* HAProxy's side of SPOP for tests: see spop_peer.h. */
#include <check.h>
#include <string.h>

#include "hsdo/spop.h"

#include "spop_peer.h"

/* ck_assert marks a point on every success: too slow for per-byte checks. */
#define REQUIRE(c) do { if (!(c)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c); } while (0)

void hsdo_test_wr_u8(struct hsdo_test_wr *w, uint8_t v)
{
	REQUIRE(w->n < sizeof(w->b));
	w->b[w->n++] = v;
}

void hsdo_test_wr_varint(struct hsdo_test_wr *w, uint64_t v)
{
	int n = hsdo_spop_varint_encode(v, w->b + w->n, sizeof(w->b) - w->n);

	REQUIRE(n > 0);
	w->n += (size_t)n;
}

void hsdo_test_wr_bytes(struct hsdo_test_wr *w, const void *p, size_t len)
{
	hsdo_test_wr_varint(w, len);
	REQUIRE(w->n + len <= sizeof(w->b));
	memcpy(w->b + w->n, p, len);
	w->n += len;
}

void hsdo_test_wr_name(struct hsdo_test_wr *w, const char *s)
{
	hsdo_test_wr_bytes(w, s, strlen(s));
}

void hsdo_test_wr_str(struct hsdo_test_wr *w, const char *s)
{
	hsdo_test_wr_u8(w, HSDO_SPOP_DATA_STRING);
	hsdo_test_wr_bytes(w, s, strlen(s));
}

void hsdo_test_wr_int(struct hsdo_test_wr *w, int64_t v)
{
	struct hsdo_spop_data d;
	int n;

	memset(&d, 0, sizeof(d));
	d.type = HSDO_SPOP_DATA_INT64;
	d.i = v;
	n = hsdo_spop_data_encode(&d, w->b + w->n, sizeof(w->b) - w->n);
	REQUIRE(n > 0);
	w->n += (size_t)n;
}

size_t hsdo_test_wr_begin(struct hsdo_test_wr *w, uint8_t type, uint32_t flags, uint64_t sid,
			  uint64_t fid)
{
	size_t at = w->n;

	w->n += 4;
	hsdo_test_wr_u8(w, type);
	hsdo_test_wr_u8(w, (uint8_t)(flags >> 24));
	hsdo_test_wr_u8(w, (uint8_t)(flags >> 16));
	hsdo_test_wr_u8(w, (uint8_t)(flags >> 8));
	hsdo_test_wr_u8(w, (uint8_t)flags);
	hsdo_test_wr_varint(w, sid);
	hsdo_test_wr_varint(w, fid);
	return at;
}

void hsdo_test_wr_end(struct hsdo_test_wr *w, size_t at)
{
	uint32_t len = (uint32_t)(w->n - at - 4);

	w->b[at] = (uint8_t)(len >> 24);
	w->b[at + 1] = (uint8_t)(len >> 16);
	w->b[at + 2] = (uint8_t)(len >> 8);
	w->b[at + 3] = (uint8_t)len;
}

void hsdo_test_wr_hello(struct hsdo_test_wr *w, const char *versions, int64_t max_frame,
			const char *caps, uint32_t flags, uint64_t sid)
{
	size_t at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_HAPROXY_HELLO, flags, sid, 0);

	if (versions != NULL) {
		hsdo_test_wr_name(w, "supported-versions");
		hsdo_test_wr_str(w, versions);
	}
	if (max_frame >= 0) {
		struct hsdo_spop_data d;

		hsdo_test_wr_name(w, "max-frame-size");
		memset(&d, 0, sizeof(d));
		d.type = HSDO_SPOP_DATA_UINT32;
		d.u = (uint64_t)max_frame;
		w->n += (size_t)hsdo_spop_data_encode(&d, w->b + w->n, sizeof(w->b) - w->n);
	}
	if (caps != NULL) {
		hsdo_test_wr_name(w, "capabilities");
		hsdo_test_wr_str(w, caps);
	}
	hsdo_test_wr_end(w, at);
}

void hsdo_test_wr_resp_msg(struct hsdo_test_wr *w, const char *msgname,
			   const struct hsdo_test_resp *r)
{
	hsdo_test_wr_name(w, msgname);
	hsdo_test_wr_u8(w, 4);
	hsdo_test_wr_name(w, "be_name");
	if (r->be != NULL)
		hsdo_test_wr_str(w, r->be);
	else
		hsdo_test_wr_u8(w, HSDO_SPOP_DATA_NULL);
	hsdo_test_wr_name(w, "srv_name");
	if (r->srv != NULL)
		hsdo_test_wr_str(w, r->srv);
	else
		hsdo_test_wr_u8(w, HSDO_SPOP_DATA_NULL);
	hsdo_test_wr_name(w, "srv_id");
	if (r->srv_id >= 0)
		hsdo_test_wr_int(w, r->srv_id);
	else
		hsdo_test_wr_u8(w, HSDO_SPOP_DATA_NULL);
	hsdo_test_wr_name(w, "status");
	if (r->status >= 0)
		hsdo_test_wr_int(w, r->status);
	else
		hsdo_test_wr_u8(w, HSDO_SPOP_DATA_NULL);
}

void hsdo_test_wr_notify(struct hsdo_test_wr *w, uint64_t sid, uint64_t fid,
			 const struct hsdo_test_resp *r)
{
	size_t at = hsdo_test_wr_begin(w, HSDO_SPOP_FRAME_NOTIFY, HSDO_SPOP_FLAG_FIN, sid, fid);

	hsdo_test_wr_resp_msg(w, "hsdo-response", r);
	hsdo_test_wr_end(w, at);
}
