/* DynamoDB JSON protocol (API version 20120810) for the slot table: request
 * builders and response parsers, pure (bytes in, structs or bytes out; no
 * I/O, clock or logging). The caller POSTs each body with
 * "X-Amz-Target: <req.target>" and "Content-Type: " HSDO_DDB_CONTENT_TYPE,
 * signs it (sigv4.h), and hands a 200 body to the matching parser or any
 * other body to hsdo_ddb_parse_error(). Every parser also maps an error
 * body ("__type") it is given, so feeding it the wrong status is harmless.
 *
 * Control item. BackendServerID 0 is not a slot: it carries the table's
 * Generation (N), bumped by every writer with a condition on the value it
 * read, so a client reads one item per cycle (GetItem, 1 RCU) and scans
 * only when it changed; it also carries the writer lease (LeaseHolder,
 * LeaseEpoch, LeaseExpiry: see below) and slot items written under a lease
 * carry its Epoch. So that an
 * original Python client scanning the table does not trip on it, it also
 * holds every attribute the original reads, as a free slot (IPAddress,
 * ServerName, ASG "none", Weight 0, BackendServerStatus "disabled"): the
 * original then only sends "set server <backend>/<base>0 state maint" (and
 * weight 0), which HAProxy answers "No such server." since a
 * server-template numbers from 1. The original *server* counts items and
 * exits when there are more than N (server.py:73-75): to roll back to it,
 * delete item 0 first.
 *
 * Strings from the caller (table names) are validated; all returned bodies
 * are NUL-terminated and owned by the caller. Like the item codec, these
 * functions route cJSON's process-wide allocation hooks through hsdo_malloc
 * (not thread-safe). */
#ifndef HSDO_DDB_H
#define HSDO_DDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hsdo/slot.h"
#include "hsdo/store.h"

#define HSDO_DDB_CONTENT_TYPE "application/x-amz-json-1.0"
#define HSDO_DDB_TARGET_PREFIX "DynamoDB_20120810."
/* The hash key of the table and the id of the control item. */
#define HSDO_DDB_KEY "BackendServerID"
#define HSDO_DDB_CONTROL_ID 0
/* Largest response body a parser accepts (a Scan page holds at most 1 MB of
 * item data; its JSON is bigger but not 8 times bigger). */
#define HSDO_DDB_BODY_MAX ((size_t)8 << 20)
/* Most pages one full-table read may take (a stuck LastEvaluatedKey loop). */
#define HSDO_DDB_PAGES_MAX 10000
#define HSDO_DDB_STATUS_LEN 40
/* An error's parts (hsdo_ddb_decode_error): 64 and 256 characters + "..." */
#define HSDO_DDB_CODE_LEN 68
#define HSDO_DDB_MESSAGE_LEN 260

/* A request: body is JSON from hsdo_malloc, target a static string such as
 * "DynamoDB_20120810.Scan". */
struct hsdo_ddb_req {
	char *body;
	size_t len;
	const char *target;
};

/* What DescribeTable says about the table. */
struct hsdo_ddb_table_info {
	char status[HSDO_DDB_STATUS_LEN];  /* "ACTIVE", "CREATING", ... */
	bool active;                       /* status == "ACTIVE" */
	uint64_t item_count;               /* approximate (updated ~6-hourly) */
	bool has_item_count;
};

/* One Scan page. slots (hsdo_malloc'd, n entries, response order) are the
 * decoded slot items; the control item, if on this page, gives generation
 * (0 when it has no Generation attribute). */
struct hsdo_ddb_page {
	struct hsdo_slot *slots;
	struct hsdo_strset *strs;  /* the slots' strings (NULL when no item) */
	size_t n;
	bool has_control;
	uint64_t generation;
	bool more;          /* LastEvaluatedKey present: scan again from it */
	uint32_t last_key;  /* its BackendServerID */
};

/* Merges Scan pages into one table (see hsdo_ddb_scan_*). */
struct hsdo_ddb_scan {
	struct hsdo_slot *slots;  /* unsorted until finish */
	struct hsdo_strset *strs; /* their strings (NULL before the first page) */
	size_t n, cap;
	size_t max_slots;         /* ids above it are refused */
	size_t pages;
	bool has_control;
	uint64_t generation;
};

/* Free r->body and zero r; NULL is a no-op. */
void hsdo_ddb_req_free(struct hsdo_ddb_req *r);

/* Builders: fill *out (caller frees with hsdo_ddb_req_free) and return 0,
 * or -HSDO_EINVAL (bad table name or argument, reason in err) or
 * -HSDO_ENOMEM; *out is zeroed on failure. */

/* DescribeTable {TableName}. */
int hsdo_ddb_build_describe_table(const char *table, struct hsdo_ddb_req *out,
				  char *err, size_t errlen);
/* CreateTable with hash key BackendServerID (N), PAY_PER_REQUEST: for
 * development and tests; production tables come from infrastructure code. */
int hsdo_ddb_build_create_table(const char *table, struct hsdo_ddb_req *out,
				char *err, size_t errlen);
/* Consistent Scan; prev NULL for the first page, else the previous page,
 * whose LastEvaluatedKey becomes ExclusiveStartKey (prev->more must be set). */
int hsdo_ddb_build_scan(const char *table, const struct hsdo_ddb_page *prev,
			struct hsdo_ddb_req *out, char *err, size_t errlen);
/* Consistent GetItem of item id (0: the control item, 1..HSDO_SLOTS_MAX). */
int hsdo_ddb_build_get_item(const char *table, uint32_t id, struct hsdo_ddb_req *out,
			    char *err, size_t errlen);
/* PutItem of slot s (hsdo_item_encode). With if_absent, the condition
 * attribute_not_exists(BackendServerID) creates a missing slot and never
 * overwrites one (a failed condition parses as -HSDO_ECONFLICT). */
int hsdo_ddb_build_put_slot(const char *table, const struct hsdo_slot *s, bool if_absent,
			    struct hsdo_ddb_req *out, char *err, size_t errlen);
/* UpdateItem of the control item: Generation := expected_gen + 1 only if it
 * is expected_gen (expected_gen 0 also matches a missing item or one with no
 * Generation), setting the free-slot attributes that keep original clients
 * safe and leaving any other attribute (leases) alone. */
int hsdo_ddb_build_update_control(const char *table, uint64_t expected_gen,
				  struct hsdo_ddb_req *out, char *err, size_t errlen);

/* ---- fencing and the writer lease (see hsdo/store.h, hsdo/store_ddb.h) ----
 *
 * Added attributes: on the control item, LeaseHolder (S), LeaseEpoch (N)
 * and LeaseExpiry (N, Unix ms); on a slot item written by a lease holder,
 * Epoch (N), the holder's epoch. An original client ignores all four. */
#define HSDO_DDB_ATTR_EPOCH        "Epoch"
#define HSDO_DDB_ATTR_LEASE_HOLDER "LeaseHolder"
#define HSDO_DDB_ATTR_LEASE_EPOCH  "LeaseEpoch"
#define HSDO_DDB_ATTR_LEASE_EXPIRY "LeaseExpiry"

/* Consistent Scan page of at most `limit` items (0: no Limit, as
 * hsdo_ddb_build_scan). */
int hsdo_ddb_build_scan_page(const char *table, const struct hsdo_ddb_page *prev,
			     uint32_t limit, struct hsdo_ddb_req *out, char *err, size_t errlen);
/* PutItem of slot s stamped with the writer's epoch (attribute Epoch), only
 * if the stored slot has no Epoch or one <= epoch:
 *   attribute_not_exists(Epoch) OR Epoch <= :e
 * so a deposed writer never overwrites what its successor stamped (the
 * failed condition parses as -HSDO_ECONFLICT). epoch 0: the unconditional
 * put of hsdo_ddb_build_put_slot(if_absent = false), no Epoch. */
int hsdo_ddb_build_put_slot_fenced(const char *table, const struct hsdo_slot *s,
				   uint64_t epoch, struct hsdo_ddb_req *out,
				   char *err, size_t errlen);
/* The commit of a write: hsdo_ddb_build_update_control, plus, when epoch
 * != 0, the condition LeaseEpoch = :epoch (the writer still holds the
 * lease). epoch 0 gives exactly hsdo_ddb_build_update_control's body. */
int hsdo_ddb_build_commit(const char *table, uint64_t expected_gen, uint64_t epoch,
			  struct hsdo_ddb_req *out, char *err, size_t errlen);
/* Take the lease for `me` (1..HSDO_LEASE_HOLDER_LEN-1 printable ASCII
 * bytes) when it is free or expired:
 *   SET LeaseHolder = :me, LeaseExpiry = :exp,
 *       LeaseEpoch = if_not_exists(LeaseEpoch, :now) + 1,
 *       Generation = if_not_exists(Generation, 0), <free-slot attributes>
 *   IF attribute_not_exists(LeaseHolder) OR attribute_not_exists(LeaseExpiry)
 *      OR LeaseExpiry <= :now
 * with ReturnValues ALL_NEW (parse with hsdo_ddb_parse_control). The epoch
 * grows by one on every take, so it changes whenever the holder does. The
 * first take on a control item starts from now_ms: slot items keep their
 * Epoch stamps when item 0 is deleted (a way back to the original server,
 * whose UpdateItem leaves them), and a later era must start above them. */
int hsdo_ddb_build_lease_take(const char *table, const char *me, int64_t now_ms,
			      int64_t expires_ms, struct hsdo_ddb_req *out,
			      char *err, size_t errlen);
/* Renew the lease `me` holds: SET LeaseExpiry = :exp IF LeaseHolder = :me
 * (AND LeaseEpoch = :epoch when epoch != 0), ReturnValues ALL_NEW. */
int hsdo_ddb_build_lease_renew(const char *table, const char *me, uint64_t epoch,
			       int64_t expires_ms, struct hsdo_ddb_req *out,
			       char *err, size_t errlen);

/* The control item as GetItem ({"Item": ...}, or {} when missing) or an
 * UpdateItem with ReturnValues ALL_NEW ({"Attributes": ...}) returns it. */
struct hsdo_ddb_control {
	bool exists;             /* the item is there */
	uint64_t generation;     /* 0 when absent */
	struct hsdo_lease lease; /* holder "", epoch 0, expires_ms 0 when none;
				  * taken_over is always false */
};

/* Parsers take len bytes (need not be NUL-terminated, at most
 * HSDO_DDB_BODY_MAX) and return 0, -HSDO_EPROTO (malformed; what and where
 * in err), -HSDO_ETOOBIG, -HSDO_ENOMEM, or the mapping of an error body as
 * hsdo_ddb_parse_error(). Outputs are written only on success. */

/* An error body {"__type": "...#Type", "message": "..."}: always negative:
 * ConditionalCheckFailedException -> -HSDO_ECONFLICT,
 * ResourceNotFoundException -> -HSDO_ENOTFOUND, throttling and 5xx types ->
 * -HSDO_EAGAIN (retry), any other or unparseable -> -HSDO_EAWS; err holds
 * "Type: message". */
int hsdo_ddb_parse_error(const char *buf, size_t len, char *err, size_t errlen);
/* The same error body taken apart: out->code is the type after any '#'
 * ("" when there is no __type), out->message its message ("" if none), both
 * printable ASCII (other bytes as '?') and cut with "..." when long. Returns
 * the same mapping as hsdo_ddb_parse_error, with "Type: message" in err. */
struct hsdo_ddb_error {
	char code[HSDO_DDB_CODE_LEN];
	char message[HSDO_DDB_MESSAGE_LEN];
};
int hsdo_ddb_decode_error(const char *buf, size_t len, struct hsdo_ddb_error *out,
			  char *err, size_t errlen);
/* DescribeTable: status and item count; -HSDO_EPROTO if the key schema is
 * not a single hash key BackendServerID of type N. */
int hsdo_ddb_parse_describe_table(const char *buf, size_t len,
				  struct hsdo_ddb_table_info *out, char *err, size_t errlen);
/* One Scan page into *out (free with hsdo_ddb_page_free). An item that fails
 * hsdo_item_decode fails the page, err naming its index and id. */
int hsdo_ddb_parse_scan(const char *buf, size_t len, struct hsdo_ddb_page *out,
			char *err, size_t errlen);
/* Free p->slots, p->strs and zero p; NULL is a no-op. */
void hsdo_ddb_page_free(struct hsdo_ddb_page *p);
/* GetItem of the control item: its Generation, 0 when the item is missing
 * or has no Generation (generation 0 is an unversioned table: see
 * hsdo/store.h). */
int hsdo_ddb_parse_get_control(const char *buf, size_t len, uint64_t *gen,
			       char *err, size_t errlen);

/* GetItem or UpdateItem (ALL_NEW) of the control item into *out. A
 * missing Generation reads as 0 (an item made by a lease take before any
 * write, or by hand). Lease attributes must have their
 * types (S, N, N), a holder at most HSDO_LEASE_HOLDER_LEN-1 bytes, an
 * expiry in 0..INT64_MAX, else -HSDO_EPROTO. */
int hsdo_ddb_parse_control(const char *buf, size_t len, struct hsdo_ddb_control *out,
			   char *err, size_t errlen);

/* Full-table read: init with the largest id allowed (0: HSDO_SLOTS_MAX),
 * add each page (copied; the page stays the caller's), then finish into
 * *out (hsdo_table_free), which requires ids dense 1..n and reports a
 * duplicate or missing id; the generation is the control item's, else 0.
 * finish empties sc whether or not it succeeds; _free releases what an
 * abandoned scan holds (both leave sc ready to reuse). */
void hsdo_ddb_scan_init(struct hsdo_ddb_scan *sc, size_t max_slots);
int hsdo_ddb_scan_add(struct hsdo_ddb_scan *sc, const struct hsdo_ddb_page *page,
		      char *err, size_t errlen);
int hsdo_ddb_scan_finish(struct hsdo_ddb_scan *sc, struct hsdo_table *out,
			 char *err, size_t errlen);
void hsdo_ddb_scan_free(struct hsdo_ddb_scan *sc);

/* ---- the health table (docs/health.md) -------------------------------------
 *
 * One item per client, hash key ClientId (S), the report item of report.h;
 * its Expires attribute (Unix s) is the table's TTL attribute, so DynamoDB
 * deletes the reports of clients gone for good. */
#define HSDO_DDB_REPORTS_KEY "ClientId"
#define HSDO_DDB_REPORTS_TTL "Expires"

struct hsdo_report;
struct hsdo_report_set;

/* CreateTable and DescribeTable's key check for a table whose hash key is
 * key of type key_type ("S", "N"); the slot table's forms above are these
 * with BackendServerID, N. */
int hsdo_ddb_build_create_table_key(const char *table, const char *key, const char *key_type,
				    struct hsdo_ddb_req *out, char *err, size_t errlen);
int hsdo_ddb_parse_describe_table_key(const char *buf, size_t len, const char *key,
				      const char *key_type, struct hsdo_ddb_table_info *out,
				      char *err, size_t errlen);
/* PutItem of a report (replacing the client's previous one). -HSDO_EINVAL
 * for a report failing hsdo_report_check. */
int hsdo_ddb_build_put_report(const char *table, const struct hsdo_report *r,
			      struct hsdo_ddb_req *out, char *err, size_t errlen);
/* Scan of the health table (eventually consistent), from the client id
 * start (NULL: the first page), at most limit items (0: no Limit). */
int hsdo_ddb_build_scan_reports(const char *table, const char *start, uint32_t limit,
				struct hsdo_ddb_req *out, char *err, size_t errlen);
/* One Scan page of reports appended to set (items that do not decode are
 * counted in set->bad and named, never fatal); next (nextlen >=
 * HSDO_REPORT_ID_LEN) gets the LastEvaluatedKey's client id, "" on the
 * last page. Errors as the other parsers; the set keeps what was added. */
int hsdo_ddb_parse_scan_reports(const char *buf, size_t len, struct hsdo_report_set *set,
				char *next, size_t nextlen, char *err, size_t errlen);
/* UpdateTimeToLive: enable TTL on attr. */
int hsdo_ddb_build_update_ttl(const char *table, const char *attr, struct hsdo_ddb_req *out,
			      char *err, size_t errlen);

#endif
