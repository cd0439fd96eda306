/* A fleet-health report: what one client (one HAProxy) thinks of each slot,
 * published to the server (docs/health.md). One report per client, replaced
 * at each write: in DynamoDB one item of the health table (HEALTH_TABLE_NAME,
 * hash key ClientId), in the file store one file <client id>.json in
 * <STORE_FILE_PATH>.health/. The codec is pure: structs <-> attribute-value
 * JSON (cJSON) and the file document; no clock, no I/O.
 *
 * Item (attribute-value JSON):
 *   ClientId    S  1..128 of [A-Za-z0-9._-], not "." or ".." (hash key)
 *   Version     N  1
 *   Generation  N  the slot table generation the client holds
 *   Written     N  when it was written, Unix ms
 *   Expires     N  when it stops counting, Unix s: the table's TTL attribute
 *   Slots       S  the entries, absent when there are none:
 *                  "<slot>:<verdict>:<check>:<responses>:<errors>" joined by
 *                  one space, ascending slot ids, verdict i|o|f (idle, ok,
 *                  failing), check -|u|d (none, up, down), e.g.
 *                  "3:o:-:412:0 7:f:d:120:100"
 * One string rather than a list of maps: DynamoDB bills item bytes, and
 * attribute names repeated per slot would triple them. Unknown attributes
 * are ignored; numbers are plain decimal integers.
 *
 * File: {"format":"hsdo-health-report","version":1,"report":<item>}.
 *
 * The codec routes cJSON's process-wide allocation hooks through
 * hsdo_malloc, as the item codec does (not thread-safe). */
#ifndef HSDO_REPORT_H
#define HSDO_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cJSON;

#define HSDO_REPORT_ID_LEN     129          /* CLIENT_ID, with NUL */
#define HSDO_REPORT_SLOTS_MAX  10000        /* entries in one report */
#define HSDO_REPORT_VERSION    1
#define HSDO_REPORT_FORMAT     "hsdo-health-report"
#define HSDO_REPORT_DOC_MAX    ((size_t)1 << 20)  /* largest file accepted */
/* Latest time the codec accepts: 9999-12-31 23:59:59 in Unix s. */
#define HSDO_REPORT_TIME_MAX_S INT64_C(253402300799)

/* What a client says of one slot. IDLE: too little traffic to judge and no
 * health check; such a slot is no vote. */
enum hsdo_verdict {
	HSDO_VERDICT_IDLE = 0,
	HSDO_VERDICT_OK,
	HSDO_VERDICT_FAILING,
	HSDO_VERDICT_COUNT
};

/* HAProxy's own health check of the slot's server, from `show servers
 * state`: NONE when the server has no (enabled) check or is in maint. */
enum hsdo_check {
	HSDO_CHECK_NONE = 0,
	HSDO_CHECK_UP,
	HSDO_CHECK_DOWN,
	HSDO_CHECK_COUNT
};

struct hsdo_report_slot {
	uint32_t slot;                /* 1..HSDO_SLOTS_MAX */
	enum hsdo_verdict verdict;
	enum hsdo_check check;
	uint32_t responses;           /* in the window, every backend */
	uint32_t errors;              /* of those, 5xx and no status; <= responses */
};

struct hsdo_report {
	char client_id[HSDO_REPORT_ID_LEN];
	uint64_t generation;
	int64_t written_ms;           /* Unix ms, 0..HSDO_REPORT_TIME_MAX_S * 1000 */
	int64_t expires_s;            /* Unix s, 0..HSDO_REPORT_TIME_MAX_S */
	struct hsdo_report_slot *slots; /* owned (hsdo_malloc); ascending, unique */
	size_t n;                     /* <= HSDO_REPORT_SLOTS_MAX */
};

/* "idle", "ok", "failing" / "none", "up", "down"; "unknown" out of range. */
const char *hsdo_verdict_str(enum hsdo_verdict v);
const char *hsdo_check_str(enum hsdo_check c);

/* True if id can name a client: 1..128 of [A-Za-z0-9._-], not "." or "..".
 * It is also a file name in the file store. */
bool hsdo_report_id_valid(const char *id);

/* 0 if r can be encoded and decodes back the same, else -HSDO_EINVAL naming
 * what is wrong. */
int hsdo_report_check(const struct hsdo_report *r, char *err, size_t errlen);

/* The item for r (a cJSON object the caller cJSON_Delete()s); NULL on
 * allocation failure or when r fails hsdo_report_check. */
struct cJSON *hsdo_report_encode(const struct hsdo_report *r);

/* Decode an item (borrowed) into *out (its slots allocated; free with
 * hsdo_report_free). 0, -HSDO_EPROTO naming the attribute and the reason,
 * -HSDO_ENOMEM; *out is written only on success. */
int hsdo_report_decode(const struct cJSON *item, struct hsdo_report *out,
		       char *err, size_t errlen);

/* The file document for r, NUL-terminated (length in *len), hsdo_free()d
 * by the caller; NULL on allocation failure or a report failing the check. */
char *hsdo_report_render_file(const struct hsdo_report *r, size_t *len);
/* Parse a file document (len bytes, NUL not needed, at most
 * HSDO_REPORT_DOC_MAX). Errors as hsdo_report_decode, -HSDO_ETOOBIG. */
int hsdo_report_parse_file(const char *buf, size_t len, struct hsdo_report *out,
			   char *err, size_t errlen);

/* A report counts until its expiry: now_ms < expires_s * 1000. */
bool hsdo_report_fresh(const struct hsdo_report *r, int64_t now_ms);

/* Deep copy (dst overwritten, not freed first). 0 or -HSDO_ENOMEM. */
int hsdo_report_copy(struct hsdo_report *dst, const struct hsdo_report *src);
/* Free r->slots and zero r; NULL is a no-op. */
void hsdo_report_free(struct hsdo_report *r);

/* A set of reports as a store read it. Reports that failed to decode are
 * counted and the first one named, never fatal: one broken client must not
 * blind the server to the others. */
struct hsdo_report_set {
	struct hsdo_report *v;
	size_t n, cap;
	size_t bad;
	char first_bad[256];
};
/* Move *r into the set (r is zeroed; the set owns its slots). 0, or
 * -HSDO_ENOMEM / -HSDO_ETOOBIG past HSDO_REPORT_SET_MAX (r then untouched). */
#define HSDO_REPORT_SET_MAX 100000
int hsdo_report_set_add(struct hsdo_report_set *s, struct hsdo_report *r);
/* Count one report that could not be read (where: a client id, a file
 * name; why: the decoder's reason). */
void hsdo_report_set_bad(struct hsdo_report_set *s, const char *where, const char *why);
/* Free every report and zero s; NULL is a no-op. */
void hsdo_report_set_free(struct hsdo_report_set *s);

#endif
